import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/**
 * OpenTelemetry tracing of the gRPC server: a span per call. Must run before @grpc/grpc-js is
 * loaded, so that the instrumentation can wrap it; main.ts imports the gRPC layer only after.
 * The OTLP exporter reads the standard OTEL_EXPORTER_OTLP_* variables itself.
 */
export async function startTracing(serviceName: string, exporter?: SpanExporter): Promise<NodeTracerProvider> {
  const spanExporter = exporter ?? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    // A given exporter (tests) gets every span at once; the OTLP one gets batches.
    spanProcessors: [exporter ? new SimpleSpanProcessor(spanExporter) : new BatchSpanProcessor(spanExporter)],
  });
  provider.register();
  registerInstrumentations({ tracerProvider: provider, instrumentations: [new GrpcInstrumentation()] });
  return provider;
}
