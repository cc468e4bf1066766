import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { credentials, loadPackageDefinition, type ClientDuplexStream } from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer, loadSync } from '@grpc/proto-loader';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import t from 'tap';
import { startService } from '../helpers/service-process.js';

const require = createRequire(import.meta.url);
const reflectionRoot = require.resolve('@grpc/reflection').replace(/build[\\/]src[\\/]index\.js$/, 'build/proto/');
/** Debian's python3-protobuf (C++ backend) installs for the system interpreter. */
const PYTHON = '/usr/bin/python3';
const CHECKER = fileURLToPath(new URL('../interop/check_descriptors.py', import.meta.url));
const EXPECTED_SERVICES = [
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
  'loadBalancer.loadBalancer',
];

const service = await startService({ WORKERS: '1' });
t.teardown(() => service.stop());

interface ReflectionResponse {
  list_services_response?: { service: Array<{ name: string }> };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}

/** One reflection stream, as grpcurl keeps it: questions asked one after another, answers in order. */
class ReflectionSession {
  private readonly client: any;
  private readonly call: ClientDuplexStream<object, ReflectionResponse>;
  private readonly waiting: Array<{ resolve: (r: ReflectionResponse) => void; reject: (e: Error) => void }> = [];

  constructor(version: 'v1' | 'v1alpha') {
    const definition = loadSync(`grpc/reflection/${version}/reflection.proto`, { keepCase: true, includeDirs: [reflectionRoot] });
    const Client = (loadPackageDefinition(definition) as any).grpc.reflection[version].ServerReflection;
    this.client = new Client(`127.0.0.1:${service.port}`, credentials.createInsecure());
    this.call = this.client.ServerReflectionInfo();
    this.call.on('data', (response: ReflectionResponse) => this.waiting.shift()?.resolve(response));
    this.call.on('error', (error: Error) => this.waiting.splice(0).forEach((w) => w.reject(error)));
  }

  ask(request: object): Promise<ReflectionResponse> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.call.write(request);
    });
  }

  close(): void {
    this.call.end();
    this.client.close();
  }
}

const decodeFile = (bytes: Buffer): any => (descriptor as any).FileDescriptorProto.decode(bytes);

/**
 * What grpcurl does before `describe`: for every listed service, the file that declares it, then
 * every file those import, by name. Returns the files as served, by name.
 */
async function fetchAllFiles(session: ReflectionSession, services: readonly string[]): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const take = (response: ReflectionResponse, asked: string): string[] => {
    if (response.error_response) throw new Error(`${asked}: ${response.error_response.error_message}`);
    const imports: string[] = [];
    for (const bytes of response.file_descriptor_response?.file_descriptor_proto ?? []) {
      const file = decodeFile(bytes);
      if (!files.has(file.name)) files.set(file.name, bytes);
      imports.push(...(file.dependency ?? []));
    }
    return imports;
  };
  let pending: string[] = [];
  for (const name of services) pending.push(...take(await session.ask({ file_containing_symbol: name }), name));
  while (pending.length > 0) {
    const name = pending.shift() as string;
    if (!files.has(name)) pending.push(...take(await session.ask({ file_by_filename: name }), name));
  }
  return files;
}

/** A FileDescriptorSet: each file as field 1 (length-delimited). */
function encodeFileDescriptorSet(files: Iterable<Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    const length: number[] = [];
    for (let n = file.length; ; n >>>= 7) {
      if (n < 0x80) {
        length.push(n);
        break;
      }
      length.push((n & 0x7f) | 0x80);
    }
    parts.push(Buffer.from([0x0a, ...length]), file);
  }
  return Buffer.concat(parts);
}

const hasStrictTools =
  spawnSync(PYTHON, ['-c', 'from google.protobuf.internal import api_implementation as a; assert a.Type() != "python"'], { stdio: 'ignore' })
    .status === 0 && spawnSync('protoc', ['--version'], { stdio: 'ignore' }).status === 0;
// CI installs both, so there a missing tool fails the test instead of skipping it.
const skip = !hasStrictTools && !process.env['CI'] ? 'needs protoc and python3-protobuf (apt-get install protobuf-compiler python3-protobuf)' : false;

for (const version of ['v1', 'v1alpha'] as const) {
  t.test(`reflection ${version} lists the Redirect, health and reflection services`, async (t) => {
    const session = new ReflectionSession(version);
    t.teardown(() => session.close());
    const response = await session.ask({ list_services: '' });
    const names = response.list_services_response?.service.map((s) => s.name) ?? [];
    t.same([...names].sort(), EXPECTED_SERVICES);
  });

  t.test(`reflection ${version} resolves the Redirect method's descriptor`, async (t) => {
    const session = new ReflectionSession(version);
    t.teardown(() => session.close());
    const response = await session.ask({ file_containing_symbol: 'loadBalancer.loadBalancer' });
    const files = (response.file_descriptor_response?.file_descriptor_proto ?? []).map(decodeFile);
    const file = files.find((f) => f.package === 'loadBalancer');
    t.ok(file, 'a file for package loadBalancer');
    t.equal(file.name, 'loadbalancer.proto');
    const method = file.service.find((s: any) => s.name === 'loadBalancer')?.method?.[0];
    t.match(method, { name: 'Redirect', inputType: '.loadBalancer.Request', outputType: '.loadBalancer.Response' });
    const request = file.messageType.find((m: any) => m.name === 'Request');
    t.match(request.field[0], { name: 'video', number: 1, type: 9 /* TYPE_STRING */ });
    const responseType = file.messageType.find((m: any) => m.name === 'Response');
    t.match(responseType.field[0], { name: 'redirect', number: 1, type: 9 });
  });

  t.test(`every file reflection ${version} serves loads into strict protobuf (C++ DescriptorPool and protoc)`, { skip }, async (t) => {
    const session = new ReflectionSession(version);
    t.teardown(() => session.close());
    const listed = (await session.ask({ list_services: '' })).list_services_response?.service.map((s) => s.name) ?? [];
    const files = await fetchAllFiles(session, listed);
    t.same([...files.keys()].sort(), [
      'grpc/health/v1/health.proto',
      'grpc/reflection/v1/reflection.proto',
      'grpc/reflection/v1alpha/reflection.proto',
      'loadbalancer.proto',
    ]);
    const health = decodeFile(files.get('grpc/health/v1/health.proto') as Buffer);
    const list = health.messageType.find((m: any) => m.name === 'HealthListResponse');
    t.same(
      list.nestedType.map((m: any) => m.name),
      ['StatusesEntry'],
      'the map entry of HealthListResponse.statuses has the name Go, C++ and upb require',
    );

    const setPath = join(mkdtempSync(join(tmpdir(), 'reflection-')), 'served.binpb');
    writeFileSync(setPath, encodeFileDescriptorSet(files.values()));
    const { stdout } = await promisify(execFile)(PYTHON, [CHECKER, setPath, ...listed], { timeout: 30_000 });
    const resolved = JSON.parse(stdout) as { services: Record<string, string[]>; messages: string[] };
    t.same(resolved.services, {
      'grpc.health.v1.Health': ['Check', 'Watch', 'List'],
      'grpc.reflection.v1.ServerReflection': ['ServerReflectionInfo'],
      'grpc.reflection.v1alpha.ServerReflection': ['ServerReflectionInfo'],
      'loadBalancer.loadBalancer': ['Redirect'],
    });
    const served = [...files.values()].flatMap((bytes) => {
      const file = decodeFile(bytes);
      return file.messageType.map((m: any) => `${file.package}.${m.name}`);
    });
    t.same(resolved.messages.sort(), served.sort(), 'every message type of every file resolves');
    t.ok(resolved.messages.includes('grpc.health.v1.HealthListResponse'));
    // protoc rebuilds each file from the served descriptors in its own pool, and fails on any it rejects.
    await promisify(execFile)('protoc', [`--descriptor_set_in=${setPath}`, '--descriptor_set_out=/dev/null', ...files.keys()], {
      timeout: 30_000,
    });
  });
}

t.test('a client built only from the served descriptors calls health Check and List, and Redirect', async (t) => {
  const session = new ReflectionSession('v1');
  t.teardown(() => session.close());
  const files = await fetchAllFiles(session, ['grpc.health.v1.Health', 'loadBalancer.loadBalancer']);
  const pkg = loadPackageDefinition(loadFileDescriptorSetFromBuffer(encodeFileDescriptorSet(files.values()), { keepCase: true, enums: String })) as any;
  const address = `127.0.0.1:${service.port}`;
  const health = new pkg.grpc.health.v1.Health(address, credentials.createInsecure());
  const redirect = new pkg.loadBalancer.loadBalancer(address, credentials.createInsecure());
  t.teardown(() => {
    health.close();
    redirect.close();
  });
  const call = (client: any, method: string, request: object) =>
    promisify((req: object, done: (e: Error | null, r: any) => void) => client[method](req, done))(request);
  t.same(await call(health, 'Check', { service: '' }), { status: 'SERVING' });
  // protobufjs, built from descriptors, reads the map as its entries (the same bytes on the wire).
  const list = await call(health, 'List', {});
  t.same(list.statuses, [
    { key: '', value: { status: 'SERVING' } },
    { key: 'loadBalancer.loadBalancer', value: { status: 'SERVING' } },
  ]);
  const answer = await call(redirect, 'Redirect', { video: 'http://s1.origin-cluster/video/123/x.m3u8' });
  t.match(answer.redirect, /\/s1\/video\/123\/x\.m3u8$/);
});

t.test('the served descriptors are the ones protoc compiles from the .proto files now', { skip }, async (t) => {
  const script = fileURLToPath(new URL('../../proto/generate-descriptors.sh', import.meta.url));
  const { stdout } = await promisify(execFile)('bash', [script, '--check'], { timeout: 30_000 });
  t.match(stdout, /matches the \.proto files/);
});
