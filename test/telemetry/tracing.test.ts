import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { SpanKind } from '@opentelemetry/api';
import t from 'tap';
// Tracing must start before @grpc/grpc-js loads: everything that imports it comes after, dynamically.
import { startTracing } from '../../src/telemetry/tracing.js';

const exporter = new InMemorySpanExporter();
const provider = await startTracing('video-balancer-test', exporter);
t.teardown(() => provider.shutdown());

const { GrpcServer } = await import('../../src/grpc/grpc-server.js');
const { CallStats } = await import('../../src/grpc/call-stats.js');
const { RedirectRouter } = await import('../../src/routing/redirect-router.js');
const { loadConfig } = await import('../../src/config/config.js');
const { createLogger } = await import('../../src/logging/logger.js');
const { RedirectClient } = await import('../helpers/redirect-client.js');

t.test('one server span per Redirect call, with its gRPC status', async (t) => {
  const config = loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0' });
  const server = new GrpcServer({
    host: config.grpcHost,
    port: 0,
    router: new RedirectRouter(config.routing),
    logger: createLogger('silent'),
    connectionLimits: config.connection,
    stats: new CallStats(),
    tls: undefined,
  });
  const port = await server.listen();
  t.teardown(() => server.drain(1000));
  const client = new RedirectClient(port, { ownConnection: true });
  t.teardown(() => client.close());
  const calls = 5;
  for (let i = 0; i < calls; i++) await client.redirect('http://s1.origin-cluster/video/1.ts');
  await client.redirect('ftp://x/y');
  await provider.forceFlush();
  const serverSpans = exporter.getFinishedSpans().filter((span) => span.kind === SpanKind.SERVER);
  t.equal(serverSpans.length, calls + 1, 'one server span per call');
  t.ok(serverSpans.every((span) => span.name === 'grpc.loadBalancer.loadBalancer/Redirect'), serverSpans.map((s) => s.name).join(', '));
  const codes = serverSpans.map((span) => span.attributes['rpc.grpc.status_code']);
  t.same(codes, [0, 0, 0, 0, 0, 3], 'OK five times, then INVALID_ARGUMENT (3)');
  t.equal(serverSpans[0]?.resource.attributes['service.name'], 'video-balancer-test');
});

t.test('the service exports spans over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set', async (t) => {
  const { createServer } = await import('node:http');
  const { startService } = await import('../helpers/service-process.js');
  const bodies: Array<{ path: string | undefined; type: string | undefined; body: Buffer }> = [];
  const collector = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push({ path: request.url, type: request.headers['content-type'], body: Buffer.concat(chunks) });
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  t.teardown(() => collector.close());
  const endpoint = `http://127.0.0.1:${(collector.address() as { port: number }).port}`;
  const service = await startService({ WORKERS: '1', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '100' });
  t.teardown(() => service.stop());
  t.ok(service.logs.some((l) => l.msg === 'tracing gRPC calls with OpenTelemetry'), 'the worker says tracing is on');
  const client = new RedirectClient(service.port, { ownConnection: true });
  t.teardown(() => client.close());
  t.equal((await client.redirect('http://s1.origin-cluster/video/1.ts')).code, 0);
  const deadline = Date.now() + 10_000;
  while (!bodies.some((b) => b.body.includes('loadBalancer.loadBalancer/Redirect')) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const traces = bodies.find((b) => b.body.includes('loadBalancer.loadBalancer/Redirect'));
  t.equal(traces?.path, '/v1/traces', 'posted to the collector');
  t.equal(traces?.type, 'application/json', 'OTLP/HTTP with JSON bodies');
  t.ok(traces?.body.includes('video-balancer'), 'with the service name');
});
