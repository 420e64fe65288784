#!/usr/bin/env python3
"""A Lethe client in Python, from the .proto files alone.

Generate the stubs with protoc 3.21 and gRPC's Python plugin (Debian 12: packages
protobuf-compiler, protobuf-compiler-grpc, python3-grpcio; not python3-grpc-tools, whose
protoc 3.5 rejects proto3 `optional`). Leave out proto/grpc/health: its generated package
`grpc.health.v1` would shadow grpcio's own `grpc` package. This client calls the health
service by its method path instead.

    protoc -I proto -I /usr/include --python_out=gen --grpc_python_out=gen \
        --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \
        proto/lethe/v1/*.proto proto/google/rpc/*.proto
    PYTHONPATH=gen LETHE_TOKEN=lethe_... python3 docs/examples/python_client.py \
        --server 127.0.0.1:7443

It checks health per service, asks who it is, lists the models, and shows how to read
the machine-readable error (google.rpc.Status with google.rpc.ErrorInfo in the
grpc-status-details-bin trailer). Each result is printed as one JSON line.
"""
import argparse
import json
import os
import sys

import grpc

from google.rpc import error_details_pb2, status_pb2
from lethe.v1 import common_pb2, models_pb2, models_pb2_grpc, tokens_pb2, tokens_pb2_grpc
from lethe.v1 import unlearning_pb2, unlearning_pb2_grpc


def emit(**fields):
    print(json.dumps(fields, sort_keys=True), flush=True)


def health(channel, service):
    """grpc.health.v1.Health/Check without generated code: HealthCheckRequest has one
    string field (1), HealthCheckResponse one enum field (1; 1 = SERVING)."""
    name = service.encode()
    request = (b"\x0a" + bytes([len(name)]) + name) if name else b""
    check = channel.unary_unary("/grpc.health.v1.Health/Check")
    try:
        reply = check(request, timeout=5)
    except grpc.RpcError as e:
        return e.code().name
    return "SERVING" if reply == b"\x08\x01" else "NOT_SERVING"


def error_info(error):
    """The google.rpc.ErrorInfo of a failed call, or None."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return info
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=os.environ.get("LETHE_SERVER", "localhost:7443"))
    parser.add_argument("--token", default=os.environ.get("LETHE_TOKEN", ""))
    parser.add_argument("--tls-ca", help="PEM of the server's CA; plaintext when absent")
    args = parser.parse_args()

    if args.tls_ca:
        with open(args.tls_ca, "rb") as f:
            channel = grpc.secure_channel(args.server, grpc.ssl_channel_credentials(f.read()))
    else:
        channel = grpc.insecure_channel(args.server)
    auth = [("authorization", "Bearer " + args.token)]

    for service in ("", "lethe.v1.Unlearning", "lethe.v1.Models", "lethe.v1.Audit",
                    "lethe.v1.Tokens"):
        emit(step="health", service=service, status=health(channel, service))

    me = tokens_pb2_grpc.TokensStub(channel).WhoAmI(
        tokens_pb2.WhoAmIRequest(), metadata=auth, timeout=10)
    emit(step="whoami", name=me.name, role=common_pb2.Role.Name(me.role))

    models = models_pb2_grpc.ModelsStub(channel).ListModels(
        models_pb2.ListModelsRequest(), metadata=auth, timeout=10)
    emit(step="models", names=[m.name for m in models.models])

    # A request the server refuses: branch on ErrorInfo.reason, never on the message.
    unlearning = unlearning_pb2_grpc.UnlearningStub(channel)
    request = unlearning_pb2.SubmitForgetRequestRequest(
        request_id="123e4567-e89b-42d3-a456-426614174000",
        model="no-such-model",
        items=unlearning_pb2.ItemsTarget(item_ids=["train/1"]),
        legal_ground=unlearning_pb2.LEGAL_GROUND_OTHER,
        legal_ground_text="   ")
    try:
        unlearning.SubmitForgetRequest(request, metadata=auth, timeout=10)
        emit(step="refused", code="OK")
    except grpc.RpcError as e:
        info = error_info(e)
        emit(step="refused", code=e.code().name, message=e.details(),
             reason=info.reason if info else None, domain=info.domain if info else None,
             metadata=dict(info.metadata) if info else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
