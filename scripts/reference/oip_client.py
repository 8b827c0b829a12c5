"""Drives an Open Inference Protocol server (KServe v2, Triton) the way their users do, with
implementations independent of servebench: NVIDIA's tritonclient from PyPI (its HTTP client, and
its gRPC client with the stubs Triton generates from its own grpc_service.proto), and, for what
tritonclient cannot send (a JPEG inside JSON, broken bodies), urllib with requests written from
the specification. Prints one JSON object of what each call got back, for tests/oip_compat.rs.

usage: oip_client.py REST_HOST:PORT GRPC_HOST:PORT MODEL IMAGE TENSOR BODY_LIMIT
  TENSOR: the image preprocessed, FP32 [1, 3, 224, 224], little-endian
"""

import base64
import json
import pathlib
import sys
import urllib.error
import urllib.request

import grpc
import numpy as np
import tritonclient.grpc as triton_grpc
import tritonclient.http as triton_http
from tritonclient.grpc import service_pb2, service_pb2_grpc
from tritonclient.utils import InferenceServerException


def failure(error):
    """What a tritonclient call failed with: its HTTP status or gRPC code, and message."""
    return {"ok": False, "status": error.status(), "message": error.message()}


def call(function):
    try:
        return function()
    except InferenceServerException as error:
        return failure(error)


def scores(result):
    """The scores output of a tritonclient result, flat, with its shape and datatype."""
    out = result.get_output("scores")
    array = result.as_numpy("scores")
    datatype = out["datatype"] if isinstance(out, dict) else out.datatype
    shape = out["shape"] if isinstance(out, dict) else list(out.shape)
    if datatype == "BYTES":
        data = [e.decode() if isinstance(e, bytes) else str(e) for e in array.flatten()]
    else:
        data = [float(value) for value in array.flatten()]
    return {"ok": True, "datatype": datatype, "shape": list(shape), "data": data}


def raw_rest(url, body, headers=None, method="POST"):
    request = urllib.request.Request(url, data=body, method=method)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request) as response:
            status, text, headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, text, headers = error.code, error.read(), error.headers
    try:
        body = json.loads(text)
    except ValueError:
        body = {"not_json": len(text)}
    return {"status": status, "body": body, "content_type": headers.get("Content-Type"),
            "server_timing": headers.get("Server-Timing")}


def http_calls(url, model, image, tensor, limit):
    out = {}
    client = triton_http.InferenceServerClient(url=url, network_timeout=120.0)
    out["http_live"] = client.is_server_live()
    out["http_ready"] = client.is_server_ready()
    out["http_model_ready"] = client.is_model_ready(model)
    out["http_unknown_model_ready"] = client.is_model_ready("no_such_model")
    out["http_server_metadata"] = client.get_server_metadata()
    out["http_model_metadata"] = client.get_model_metadata(model)

    def infer(name, datatype, shape, data, binary, outputs):
        value = triton_http.InferInput(name, shape, datatype)
        value.set_data_from_numpy(data, binary_data=binary)
        return call(lambda: scores(client.infer(model, [value], outputs=outputs)))

    jpeg = np.array([image], dtype=np.object_)
    out["http_image_binary"] = infer("image", "BYTES", [1], jpeg, True,
                                     [triton_http.InferRequestedOutput("scores", binary_data=True)])
    out["http_tensor_binary"] = infer("tensor", "FP32", list(tensor.shape), tensor, True,
                                      [triton_http.InferRequestedOutput("scores", binary_data=True)])
    out["http_tensor_json"] = infer("tensor", "FP32", list(tensor.shape), tensor, False,
                                    [triton_http.InferRequestedOutput("scores", binary_data=False)])
    out["http_classification"] = infer(
        "image", "BYTES", [1], jpeg, True,
        [triton_http.InferRequestedOutput("scores", binary_data=False, class_count=5)])
    out["http_two_images"] = infer("image", "BYTES", [2], np.array([image, image], dtype=np.object_),
                                   True, [triton_http.InferRequestedOutput("scores", binary_data=True)])
    unknown = triton_http.InferInput("image", [1], "BYTES")
    unknown.set_data_from_numpy(jpeg, binary_data=True)
    out["http_unknown_model"] = call(lambda: client.infer("no_such_model", [unknown]))
    out["http_wrong_datatype"] = infer("image", "FP32", list(tensor.shape), tensor, True, None)
    out["http_wrong_shape"] = infer("tensor", "FP32", [1, 3, 224, 112],
                                    tensor[:, :, :, :112].copy(), True, None)
    out["http_corrupt_image"] = infer("image", "BYTES", [1],
                                      np.array([image[: len(image) // 2]], dtype=np.object_), True, None)

    infer_url = f"http://{url}/v2/models/{model}/infer"
    # A JPEG inside JSON: base64 text, with the input's content_type saying so.
    body = json.dumps({"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES",
                                   "parameters": {"content_type": "base64"},
                                   "data": [base64.b64encode(image).decode()]}]}).encode()
    got = raw_rest(infer_url, body, {"Content-Type": "application/json"})
    if got["status"] == 200:
        got["body"] = {"outputs": [{key: output[key] for key in ("name", "datatype", "shape", "data")}
                                   for output in got["body"]["outputs"]]}
    out["rest_image_base64_json"] = got
    out["rest_malformed_json"] = raw_rest(infer_url, b'{"inputs": [', {"Content-Type": "application/json"})
    # The JSON says 16 bytes of binary data follow; 8 do.
    header = json.dumps({"inputs": [{"name": "tensor", "shape": [1, 4], "datatype": "FP32",
                                     "parameters": {"binary_data_size": 16}}]}).encode()
    out["rest_binary_size_mismatch"] = raw_rest(
        infer_url, header + b"\0" * 8, {"Inference-Header-Content-Length": str(len(header))})
    out["rest_oversized"] = raw_rest(infer_url, b" " * (limit + 1), {"Content-Type": "application/json"})
    out["rest_unknown_path"] = raw_rest(f"http://{url}/v2/nothing_here", None, method="GET")
    # Still serving everyone after all that.
    out["http_after_errors"] = infer("image", "BYTES", [1], jpeg, True, None)
    return out


def grpc_calls(url, model, image, tensor, limit):
    out = {}
    client = triton_grpc.InferenceServerClient(url=url)
    out["grpc_live"] = client.is_server_live()
    out["grpc_ready"] = client.is_server_ready()
    out["grpc_model_ready"] = client.is_model_ready(model)
    metadata = client.get_server_metadata()
    out["grpc_server_metadata"] = {"name": metadata.name, "version": metadata.version,
                                   "extensions": list(metadata.extensions)}
    metadata = client.get_model_metadata(model)
    out["grpc_model_metadata"] = {
        "name": metadata.name, "versions": list(metadata.versions), "platform": metadata.platform,
        "inputs": [{"name": t.name, "datatype": t.datatype, "shape": list(t.shape)} for t in metadata.inputs],
        "outputs": [{"name": t.name, "datatype": t.datatype, "shape": list(t.shape)} for t in metadata.outputs],
    }

    def infer(name, datatype, shape, data, outputs=None, model_name=model):
        value = triton_grpc.InferInput(name, shape, datatype)
        value.set_data_from_numpy(data)
        return call(lambda: scores(client.infer(model_name, [value], outputs=outputs)))

    jpeg = np.array([image], dtype=np.object_)
    out["grpc_image"] = infer("image", "BYTES", [1], jpeg)
    out["grpc_tensor"] = infer("tensor", "FP32", list(tensor.shape), tensor)
    out["grpc_classification"] = infer("image", "BYTES", [1], jpeg,
                                       [triton_grpc.InferRequestedOutput("scores", class_count=5)])
    out["grpc_unknown_model"] = infer("image", "BYTES", [1], jpeg, model_name="no_such_model")
    out["grpc_wrong_datatype"] = infer("image", "FP32", list(tensor.shape), tensor)
    out["grpc_wrong_shape"] = infer("tensor", "FP32", [1, 3, 224, 112], tensor[:, :, :, :112].copy())

    # Typed contents, which tritonclient never sends: Triton's own generated messages, by hand.
    with grpc.insecure_channel(url, options=[("grpc.max_send_message_length", 2 * limit),
                                             ("grpc.max_receive_message_length", 2 * limit)]) as channel:
        stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
        request = service_pb2.ModelInferRequest(model_name=model, id="typed-1")
        value = request.inputs.add(name="tensor", datatype="FP32", shape=list(tensor.shape))
        value.contents.fp32_contents.extend(tensor.flatten().tolist())
        try:
            response, rpc = stub.ModelInfer.with_call(request)
            output = response.outputs[0]
            timing = dict(rpc.initial_metadata()).get("server-timing")
            out["grpc_tensor_typed"] = {"ok": True, "id": response.id, "name": output.name,
                                        "server_timing": timing,
                                        "datatype": output.datatype, "shape": list(output.shape),
                                        "raw": len(response.raw_output_contents),
                                        "data": list(output.contents.fp32_contents)}
        except grpc.RpcError as error:
            out["grpc_tensor_typed"] = {"ok": False, "code": error.code().name, "message": error.details()}
        oversized = service_pb2.ModelInferRequest(model_name=model, raw_input_contents=[b"\0" * (limit + 1)])
        oversized.inputs.add(name="image", datatype="BYTES", shape=[1])
        try:
            stub.ModelInfer(oversized)
            out["grpc_oversized"] = {"ok": True}
        except grpc.RpcError as error:
            out["grpc_oversized"] = {"ok": False, "code": error.code().name, "message": error.details()}
    out["grpc_after_errors"] = infer("image", "BYTES", [1], jpeg)
    return out


def main():
    rest_url, grpc_url, model, image_path, tensor_path, limit = sys.argv[1:7]
    image = pathlib.Path(image_path).read_bytes()
    tensor = np.frombuffer(pathlib.Path(tensor_path).read_bytes(), dtype="<f4").reshape(1, 3, 224, 224)
    out = {}
    out.update(http_calls(rest_url, model, image, tensor, int(limit)))
    out.update(grpc_calls(grpc_url, model, image, tensor, int(limit)))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
