"""Drives a TorchServe-compatible server the way TorchServe's users do, with implementations
independent of servebench: Python's grpcio (stubs generated here from proto/torchserve.proto) and
urllib for REST. Prints one JSON object of what each call got back, for tests/torchserve_compat.rs.

usage: torchserve_client.py REST_URL GRPC_ADDR MODEL IMAGE
"""

import base64
import json
import pathlib
import sys
import tempfile
import urllib.error
import urllib.request

import grpc
from grpc_tools import protoc

ROOT = pathlib.Path(__file__).resolve().parents[2]


def stubs(out):
    """Generates the Python stubs of servebench's proto into out and imports them."""
    well_known = pathlib.Path(protoc.__file__).parent / "_proto"
    code = protoc.main([
        "protoc", f"-I{ROOT / 'proto'}", f"-I{well_known}", f"--python_out={out}",
        f"--grpc_python_out={out}", "torchserve.proto", "google/rpc/status.proto",
    ])
    if code != 0:
        sys.exit(f"protoc failed with {code}")
    sys.path.insert(0, str(out))
    import torchserve_pb2
    import torchserve_pb2_grpc
    return torchserve_pb2, torchserve_pb2_grpc


def as_torchserve_writes(body, newline):
    """Whether body is byte for byte what TorchServe would send for the same JSON: its Python
    backend's json.dumps(answer, indent=2) for a prediction, its frontend's pretty printing
    (the same shape for these flat objects) and a newline for everything else."""
    return body == (json.dumps(json.loads(body), indent=2) + ("\n" if newline else "")).encode()


def rest(method, url, body=None, content_type=None):
    request = urllib.request.Request(url, data=body, method=method)
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    prediction = status == 200 and "/predictions/" in url
    return {"status": status, "body": json.loads(text),
            "as_torchserve_writes": as_torchserve_writes(text, newline=not prediction)}


def form(field, data):
    boundary = "python-urllib-form-3f1c"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
            f"filename=\"image.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode()
    body += data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def grpc_call(call, request):
    try:
        response = call(request)
        return {"code": "OK", "prediction": json.loads(response.prediction),
                "as_torchserve_writes": as_torchserve_writes(response.prediction, newline=False)}
    except grpc.RpcError as error:
        return {"code": error.code().name, "message": error.details()}


def main():
    rest_url, grpc_addr, model, image_path = sys.argv[1:5]
    image = pathlib.Path(image_path).read_bytes()
    out = {}
    predictions = f"{rest_url}/predictions/{model}"
    out["rest_ping"] = rest("GET", f"{rest_url}/ping")
    out["rest_put_raw"] = rest("PUT", predictions, image)
    out["rest_multipart"] = rest("POST", predictions, *form("data", image))
    out["rest_base64"] = rest("POST", predictions, json.dumps(base64.b64encode(image).decode()).encode(),
                              "application/json")
    out["rest_unknown_model"] = rest("POST", f"{rest_url}/predictions/no_such_model", image)
    out["rest_corrupt"] = rest("POST", predictions, image[: len(image) // 2])
    out["rest_wrong_field"] = rest("POST", predictions, *form("picture", image))

    with tempfile.TemporaryDirectory() as generated:
        pb2, pb2_grpc = stubs(generated)
        from google.protobuf import empty_pb2
        with grpc.insecure_channel(grpc_addr) as channel:
            stub = pb2_grpc.InferenceAPIsServiceStub(channel)
            health = stub.Ping(empty_pb2.Empty()).health
            out["grpc_ping"] = {"body": json.loads(health),
                                "as_torchserve_writes": as_torchserve_writes(health.encode(), newline=False)}
            request = lambda **kw: pb2.PredictionsRequest(**{"model_name": model, **kw})
            out["grpc_predictions"] = grpc_call(stub.Predictions, request(input={"data": image}))
            try:
                out["grpc_stream"] = [json.loads(r.prediction)
                                      for r in stub.StreamPredictions(request(input={"data": image}))]
            except grpc.RpcError as error:
                out["grpc_stream"] = {"code": error.code().name, "message": error.details()}
            out["grpc_unknown_model"] = grpc_call(stub.Predictions,
                                                  pb2.PredictionsRequest(model_name="nope", input={"data": image}))
            out["grpc_wrong_key"] = grpc_call(stub.Predictions, request(input={"picture": image}))
            out["grpc_corrupt"] = grpc_call(stub.Predictions, request(input={"data": image[:100]}))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
