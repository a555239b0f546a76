"""Model control as tritonclient.grpc sends it (load_model/unload_model), with Debian's grpcio.

Usage: model_control.py <stubs dir> <host:port> <admin key>. Prints one JSON object of what it saw.
The requests are built exactly as tritonclient/grpc/_client.py builds them.
"""
import json
import sys

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
import grpc_service_pb2 as pb  # noqa: E402
import grpc_service_pb2_grpc as pb_grpc  # noqa: E402

address, key = sys.argv[2], sys.argv[3]
stub = pb_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(address))
admin = [("authorization", f"Bearer {key}")]
out = {}


def ready(name):
    return stub.ModelReady(pb.ModelReadyRequest(name=name), metadata=admin).ready


def load_model(name, config=None, files=None):
    request = pb.RepositoryModelLoadRequest(model_name=name)
    if config is not None:
        request.parameters["config"].string_param = config
    if files is not None:
        for path, content in files.items():
            request.parameters[path].bytes_param = content
    stub.RepositoryModelLoad(request=request, metadata=admin)


def unload_model(name, unload_dependents=False, metadata=admin):
    request = pb.RepositoryModelUnloadRequest(model_name=name)
    request.parameters["unload_dependents"].bool_param = unload_dependents
    stub.RepositoryModelUnload(request=request, metadata=metadata)


out["ready_before"] = ready("other")
load_model("other")
out["ready_after_load"] = ready("other")
load_model("other", config=json.dumps({"max_batch_size": 7}))
config = stub.ModelConfig(pb.ModelConfigRequest(name="other"), metadata=admin).config
out["max_batch_size"] = config.max_batch_size
unload_model("other")
out["ready_after_unload"] = ready("other")
index = stub.RepositoryIndex(pb.RepositoryIndexRequest(), metadata=admin).models
out["index"] = [[m.name, m.version, m.state, m.reason] for m in index]
try:
    load_model("other", files={"file:1/model.onnx": b"\x08\x01"})
except grpc.RpcError as e:
    out["files"] = [e.code().name, e.details()]
try:
    unload_model("other", metadata=[])
except grpc.RpcError as e:
    out["no_key"] = e.code().name
print(json.dumps(out))
