import { readFileSync } from 'node:fs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import t from 'tap';
import { REFLECTION_DESCRIPTORS_PATH, splitFileDescriptorSet } from '../../src/grpc/reflection.js';

t.test('the checked-in set splits into the four files protoc compiled, byte for byte', async (t) => {
  const set = readFileSync(REFLECTION_DESCRIPTORS_PATH);
  const files = splitFileDescriptorSet(set);
  const decoded = (descriptor as any).FileDescriptorSet.decode(set).file.map((f: any) => (descriptor as any).FileDescriptorProto.encode(f).finish());
  t.equal(files.length, 4);
  t.same(
    files.map((bytes) => (descriptor as any).FileDescriptorProto.decode(bytes).name),
    ['loadbalancer.proto', 'grpc/health/v1/health.proto', 'grpc/reflection/v1/reflection.proto', 'grpc/reflection/v1alpha/reflection.proto'],
  );
  t.same(files.map((f) => f.length), decoded.map((f: Uint8Array) => f.length));
});

t.test('a length of two or more varint bytes is read whole', async (t) => {
  const file = Buffer.alloc(300, 1);
  t.same(splitFileDescriptorSet(Buffer.concat([Buffer.from([0x0a, 0xac, 0x02]), file])), [file]);
});

t.test('bytes that are not a FileDescriptorSet are refused with what is wrong', async (t) => {
  t.throws(() => splitFileDescriptorSet(Buffer.from([0x12, 0x00])), /unexpected field tag at byte 0/);
  t.throws(() => splitFileDescriptorSet(Buffer.from([0x0a, 0x80])), /truncated length/);
  t.throws(() => splitFileDescriptorSet(Buffer.from([0x0a, 0x05, 0x01])), /truncated file/);
  t.throws(() => splitFileDescriptorSet(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])), /truncated length/);
});
