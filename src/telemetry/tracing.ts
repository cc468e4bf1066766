import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, TracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace';

/**
 * OpenTelemetry tracing of the gRPC server: a span per call. Must run before @grpc/grpc-js is
 * loaded, so that the instrumentation can wrap it; main.ts imports the gRPC layer only after.
 * The OTLP exporter reads the standard OTEL_EXPORTER_OTLP_* variables itself.
 */
export async function startTracing(serviceName: string, exporter?: SpanExporter): Promise<TracerProvider> {
  const spanExporter = exporter ?? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    // A given exporter (tests) gets every span at once; the OTLP one gets batches.
    spanProcessors: [exporter ? new SimpleSpanProcessor({ exporter: spanExporter }) : new BatchSpanProcessor({ exporter: spanExporter })],
  });
  // What SDK 2's NodeTracerProvider.register() did: async context, W3C trace context and baggage
  // (so a caller's traceparent makes our span its child), and the global provider.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  trace.setGlobalTracerProvider(provider);
  registerInstrumentations({ tracerProvider: provider, instrumentations: [new GrpcInstrumentation()] });
  return provider;
}
