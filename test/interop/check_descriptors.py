"""Loads a FileDescriptorSet into protobuf's C++ DescriptorPool (Debian's python3-protobuf), the
strict checks that protoc, grpcurl's and ghz's Go protobuf and upb share: a map entry must be
named <Field>Entry, every type a file refers to must resolve, and so on.

    /usr/bin/python3 check_descriptors.py SET SERVICE...

Adds the files in dependency order, then resolves every named service, each of its methods and
their input and output types. Also resolves every top-level message of every file by
its full name. Prints one JSON object: {"services": {name: [method, ...]}, "messages": [full name,
...]}, or exits 1 with the pool's own error on stderr.
"""
import json
import sys

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.internal import api_implementation


def main():
    if api_implementation.Type() == "python":
        sys.exit("the pure-Python protobuf checks less than C++ or upb; install Debian's python3-protobuf")
    path, services = sys.argv[1], sys.argv[2:]
    files = descriptor_pb2.FileDescriptorSet()
    with open(path, "rb") as f:
        files.ParseFromString(f.read())
    by_name = {file.name: file for file in files.file}
    pool = descriptor_pool.DescriptorPool()
    added = set()

    def add(name):
        if name in added:
            return
        if name not in by_name:
            sys.exit(f"{name}: imported but not served")
        for dependency in by_name[name].dependency:
            add(dependency)
        try:
            pool.Add(by_name[name])
        except Exception as error:  # TypeError or descriptor_pool errors, by backend
            sys.exit(f"{name}: {error}")
        added.add(name)

    for name in by_name:
        add(name)
    result = {"services": {}, "messages": []}
    for service_name in services:
        service = pool.FindServiceByName(service_name)
        methods = []
        for method in service.methods:
            pool.FindMessageTypeByName(method.input_type.full_name)
            pool.FindMessageTypeByName(method.output_type.full_name)
            methods.append(method.name)
        result["services"][service_name] = methods
    for file in files.file:
        for message in file.message_type:
            full_name = f"{file.package}.{message.name}" if file.package else message.name
            result["messages"].append(pool.FindMessageTypeByName(full_name).full_name)
    print(json.dumps(result))


main()
