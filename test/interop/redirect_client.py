"""Calls Redirect with grpcio (the C-core gRPC client) for each URL on the command line.

Prints one JSON object per call: {"code": "OK", "redirect": ...} or {"code": ..., "details": ...}.
The messages are encoded by hand, so no generated code or protoc is needed.
"""
import json
import sys

import grpc


def encode_string_field(value: bytes) -> bytes:
    if not value:
        return b""
    length, varint = len(value), bytearray()
    while length > 0x7F:
        varint.append((length & 0x7F) | 0x80)
        length >>= 7
    varint.append(length)
    return b"\x0a" + bytes(varint) + value


def decode_string_field(message: bytes) -> str:
    if not message:
        return ""
    assert message[0] == 0x0A, "field 1, length-delimited"
    length, shift, offset = 0, 0, 1
    while True:
        byte = message[offset]
        length |= (byte & 0x7F) << shift
        offset += 1
        shift += 7
        if byte < 0x80:
            break
    return message[offset:offset + length].decode("utf-8")


def main() -> None:
    target, videos = sys.argv[1], sys.argv[2:]
    with grpc.insecure_channel(target) as channel:
        redirect = channel.unary_unary(
            "/loadBalancer.loadBalancer/Redirect",
            request_serializer=encode_string_field,
            response_deserializer=decode_string_field,
        )
        for video in videos:
            try:
                answer = redirect(video.encode("utf-8"), timeout=10)
                print(json.dumps({"code": "OK", "redirect": answer}))
            except grpc.RpcError as error:
                print(json.dumps({"code": error.code().name, "details": error.details()}))


if __name__ == "__main__":
    main()
