#!/usr/bin/env bash
# Compiles the descriptors that server reflection serves, with protoc, into
# proto/reflection-descriptors.binpb (a FileDescriptorSet): our loadbalancer.proto, and the health
# and reflection protos exactly as the installed grpc-health-check and @grpc/reflection packages
# ship them, under their canonical names (grpc/health/v1/health.proto, ...), as grpc-go serves them.
#
#   proto/generate-descriptors.sh           rewrite the file
#   proto/generate-descriptors.sh --check   exit 1 when the file differs from what protoc makes now
#
# Needs protoc (Debian: protobuf-compiler). test/grpc/reflection-descriptors.test.ts runs --check.
set -euo pipefail
cd "$(dirname "$0")/.."
out=proto/reflection-descriptors.binpb
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/grpc/health/v1" "$tree/grpc/reflection/v1" "$tree/grpc/reflection/v1alpha"
cp proto/loadbalancer.proto "$tree/"
cp node_modules/grpc-health-check/proto/health/v1/health.proto "$tree/grpc/health/v1/"
cp node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto "$tree/grpc/reflection/v1/"
cp node_modules/@grpc/reflection/build/proto/grpc/reflection/v1alpha/reflection.proto "$tree/grpc/reflection/v1alpha/"
protoc --proto_path="$tree" --include_imports --descriptor_set_out="$tree/set.binpb" \
  loadbalancer.proto grpc/health/v1/health.proto grpc/reflection/v1/reflection.proto grpc/reflection/v1alpha/reflection.proto
if [ "${1:-}" = --check ]; then
  if ! cmp -s "$tree/set.binpb" "$out"; then
    echo "$out does not match the .proto files: run proto/generate-descriptors.sh and commit the result" >&2
    exit 1
  fi
  echo "$out matches the .proto files"
else
  cp "$tree/set.binpb" "$out"
  echo "wrote $out ($(wc -c <"$out") bytes)"
fi
