import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';

/** Files of the `proto/` folder, found from `src/grpc` and from `dist/src/grpc` alike. */
function protoFile(name: string): string {
  return fileURLToPath(new URL(`${import.meta.url.includes('/dist/') ? '../../..' : '../..'}/proto/${name}`, import.meta.url));
}

/** `proto/loadbalancer.proto`. */
export const REDIRECT_PROTO_PATH = protoFile('loadbalancer.proto');

/**
 * The FileDescriptorSet that protoc compiles from the Redirect, health and reflection protos
 * (`proto/generate-descriptors.sh`; a test checks that it matches them).
 */
export const REFLECTION_DESCRIPTORS_PATH = protoFile('reflection-descriptors.binpb');

/**
 * Server reflection (v1 and v1alpha) for the Redirect, health and reflection services, so that
 * grpcurl and ghz work without the proto files.
 *
 * The descriptors are protoc's, not proto-loader's: protobufjs's conversion of a parsed file
 * back into a descriptor names map entry types wrongly (`Statuses` for `StatusesEntry`), and
 * Go's protobuf (grpcurl, ghz) then rejects the whole health file. @grpc/reflection reads only
 * the `fileDescriptorProtos` of the definition it is given and serves them as they are.
 */
export function createReflectionService(descriptorSet: Uint8Array = readFileSync(REFLECTION_DESCRIPTORS_PATH)): ReflectionService {
  const definition = {
    'protoc descriptors': { fileDescriptorProtos: splitFileDescriptorSet(descriptorSet) },
  } as unknown as PackageDefinition;
  return new ReflectionService(definition);
}

/**
 * The encoded FileDescriptorProtos of a FileDescriptorSet (`repeated FileDescriptorProto file = 1`),
 * byte for byte as protoc wrote them.
 */
export function splitFileDescriptorSet(set: Uint8Array): Buffer[] {
  const bytes = Buffer.from(set.buffer, set.byteOffset, set.byteLength);
  const files: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes[at++] !== 0x0a) throw new Error(`not a FileDescriptorSet: unexpected field tag at byte ${at - 1}`);
    let length = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++];
      if (byte === undefined || shift > 28) throw new Error('not a FileDescriptorSet: truncated length');
      length += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) break;
    }
    if (at + length > bytes.length) throw new Error('not a FileDescriptorSet: truncated file');
    files.push(bytes.subarray(at, at + length));
    at += length;
  }
  return files;
}
