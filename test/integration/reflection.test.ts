import { createRequire } from 'node:module';
import { credentials, loadPackageDefinition, type ClientDuplexStream } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import t from 'tap';
import { startService } from '../helpers/service-process.js';

const require = createRequire(import.meta.url);
const reflectionRoot = require.resolve('@grpc/reflection').replace(/build[\\/]src[\\/]index\.js$/, 'build/proto/');

const service = await startService({ WORKERS: '1' });
t.teardown(() => service.stop());

interface ReflectionResponse {
  list_services_response?: { service: Array<{ name: string }> };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}

/** Asks the server one reflection question over the given protocol version, as grpcurl does. */
async function ask(version: 'v1' | 'v1alpha', request: object): Promise<ReflectionResponse> {
  const definition = loadSync(`grpc/reflection/${version}/reflection.proto`, { keepCase: true, includeDirs: [reflectionRoot] });
  const pkg = loadPackageDefinition(definition) as any;
  const Client = pkg.grpc.reflection[version].ServerReflection;
  const client = new Client(`127.0.0.1:${service.port}`, credentials.createInsecure());
  try {
    return await new Promise((resolve, reject) => {
      const call: ClientDuplexStream<object, ReflectionResponse> = client.ServerReflectionInfo();
      call.on('data', (response: ReflectionResponse) => {
        resolve(response);
        call.end();
      });
      call.on('error', reject);
      call.write(request);
    });
  } finally {
    client.close();
  }
}

for (const version of ['v1', 'v1alpha'] as const) {
  t.test(`reflection ${version} lists the services`, async (t) => {
    const response = await ask(version, { list_services: '' });
    const names = response.list_services_response?.service.map((s) => s.name) ?? [];
    t.ok(names.includes('loadBalancer.loadBalancer'), names.join(', '));
    t.ok(names.includes('grpc.health.v1.Health'), 'the health service too');
  });

  t.test(`reflection ${version} resolves the Redirect method's descriptor`, async (t) => {
    const response = await ask(version, { file_containing_symbol: 'loadBalancer.loadBalancer' });
    const files = (response.file_descriptor_response?.file_descriptor_proto ?? []).map(
      (bytes) => (descriptor as any).FileDescriptorProto.decode(bytes) as any,
    );
    const file = files.find((f) => f.package === 'loadBalancer');
    t.ok(file, 'a file for package loadBalancer');
    const method = file.service.find((s: any) => s.name === 'loadBalancer')?.method?.[0];
    t.match(method, { name: 'Redirect', inputType: '.loadBalancer.Request', outputType: '.loadBalancer.Response' });
    const request = file.messageType.find((m: any) => m.name === 'Request');
    t.match(request.field[0], { name: 'video', number: 1, type: 9 /* TYPE_STRING */ });
    const responseType = file.messageType.find((m: any) => m.name === 'Response');
    t.match(responseType.field[0], { name: 'redirect', number: 1, type: 9 });
  });
}
