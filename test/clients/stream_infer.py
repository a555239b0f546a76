"""ModelStreamInfer as tritonclient.grpc drives it, against a running `loupe serve`.

What tritonclient.grpc's start_stream / async_stream_infer / stop_stream do, with stubs generated
from Loupe's vendored Triton protos (grpc_tools.protoc, into the directory given): a request
iterator fed from a queue, a thread reading the response stream and calling a callback per
response (an error when `error_message` is set, else the InferResult), and a stop that ends the
iterator and waits for the reader. Prints one JSON object: every callback's result in arrival
order and the unary ModelInfer answer for the same tensor, for the Node test to compare.

usage: stream_infer.py STUB_DIR HOST:PORT TENSOR_JSON
"""

import base64
import json
import queue
import sys
import threading

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
import grpc_service_pb2 as pb  # noqa: E402
import grpc_service_pb2_grpc as pb_grpc  # noqa: E402
import numpy as np  # noqa: E402


class RequestIterator:
    """tritonclient.grpc._utils._RequestIterator: yields what is queued until None."""

    def __init__(self, requests):
        self._requests = requests

    def __iter__(self):
        return self

    def __next__(self):
        request = self._requests.get()
        if request is None:
            raise StopIteration
        return request


class InferStream:
    """tritonclient.grpc._infer_stream._InferStream, reduced to what a non-decoupled model needs."""

    def __init__(self, stub, callback, timeout):
        self._requests = queue.Queue()
        self._callback = callback
        self._responses = stub.ModelStreamInfer(RequestIterator(self._requests), timeout=timeout)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.status = None

    def send(self, request):  # async_stream_infer
        self._requests.put(request)

    def close(self):  # stop_stream
        self._requests.put(None)
        self._reader.join(timeout=60)

    def _read(self):
        try:
            for response in self._responses:
                if response.error_message != "":
                    self._callback(None, response.error_message)
                else:
                    self._callback(response.infer_response, None)
            self.status = "OK"
        except grpc.RpcError as e:
            self.status = e.code().name
            self._callback(None, f"stream ended: {e.code().name}: {e.details()}")


def request(request_id, model, shape, raw):
    r = pb.ModelInferRequest(model_name=model, id=request_id)
    t = r.inputs.add()
    t.name, t.datatype = "input", "FP32"
    t.shape.extend(shape)
    r.raw_input_contents.append(raw)
    return r


def logits(response):
    return np.frombuffer(response.raw_output_contents[0], dtype=np.float32).tolist()


def main():
    address, tensor_file = sys.argv[2], sys.argv[3]
    with open(tensor_file) as f:
        spec = json.load(f)
    shape = [1] + spec["shape"]
    raw = np.asarray(spec["data"], dtype=np.float32).tobytes()
    channel = grpc.insecure_channel(address)
    stub = pb_grpc.GRPCInferenceServiceStub(channel)
    unary = stub.ModelInfer(request("unary-1", "fashion-mnist", shape, raw), timeout=60)

    results, done = [], threading.Event()
    expected = 0

    def callback(result, error):
        if error is not None:
            results.append({"error": error})
        else:
            results.append({"id": result.id, "model": result.model_name, "logits": logits(result)})
        if len(results) >= expected:
            done.set()

    stream = InferStream(stub, callback, timeout=60)
    sent = []
    for i in range(12):
        if i % 4 == 1:
            sent.append(request(f"py-bad-model-{i}", "nope", shape, raw))
        elif i % 4 == 3:
            sent.append(request(f"py-bad-shape-{i}", "fashion-mnist", shape, raw[:100]))
        else:
            sent.append(request(f"py-{i}", "fashion-mnist", shape, raw))
    expected = len(sent)
    for r in sent:
        stream.send(r)
    done.wait(timeout=60)
    stream.close()
    print(json.dumps({
        "status": stream.status,
        "unary": {"id": unary.id, "logits": logits(unary), "raw": base64.b64encode(unary.raw_output_contents[0]).decode()},
        "stream": results,
    }))


if __name__ == "__main__":
    main()
