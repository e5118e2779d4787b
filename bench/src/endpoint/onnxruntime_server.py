"""The peer of endpoint_bench: what a user would stand up instead of a Keynet deployment, a
minimal Python HTTP server around onnxruntime. POST /infer with an image as the raw body;
it decodes it with Pillow, resizes it to the model's input (bilinear, exactly, as Keynet's
runtime does), maps and normalises the pixels as the spec says (the export metadata Keynet
reads, written out in full by the bench), runs onnxruntime's session on it and answers the
top 5 as JSON, in the shape of Keynet's answer.

Arguments: model.onnx spec.json intra-op-threads (0: onnxruntime's default, every core).
Prints one JSON line once it listens: its port and the versions it runs."""

import io
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import onnxruntime as ort
import PIL
from PIL import Image

model, spec_path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(spec_path) as file:
    spec = json.load(file)
options = ort.SessionOptions()
options.intra_op_num_threads = threads
session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
channels, height, width = spec["channels"], spec["height"], spec["width"]
low, high = spec["input_range"]
mean = np.array(spec["mean"], dtype=np.float32)
std = np.array(spec["std"], dtype=np.float32)
classes = spec["classes"]
if spec["resize"] != "bilinear":
    sys.exit("this server resizes bilinearly only")


def prepare(body):
    image = Image.open(io.BytesIO(body)).convert("L" if channels == 1 else "RGB")
    image = image.resize((width, height), Image.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32).reshape(height, width, channels)
    values = (low + pixels * ((high - low) / 255.0) - mean) / std
    if spec["layout"] == "NCHW":
        values = values.transpose(2, 0, 1)
    return np.ascontiguousarray(values[None], dtype=np.float32)


def top5(scores):
    if spec["output"] == "logits":
        scores = np.exp(scores - scores.max())
        scores = scores / scores.sum()
    best = np.argsort(-scores, kind="stable")[:5]
    return [
        {"class_id": classes[i]["id"], "class_name": classes[i]["name"], "score": float(scores[i])}
        for i in best
    ]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Keynet's server and clients do

    def answer(self, status, value):
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path != "/infer":
            return self.answer(404, {"error": "POST /infer"})
        try:
            inputs = prepare(body)
        except Exception as error:
            return self.answer(400, {"error": str(error)})
        scores = session.run([spec["output_name"]], {spec["input_name"]: inputs})[0][0]
        self.answer(200, {"predictions": top5(scores)})

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default listen backlog (5) drops 32 clients' connects
    daemon_threads = True


server = Server(("127.0.0.1", 0), Handler)
print(json.dumps({
    "port": server.server_address[1],
    "onnxruntime": ort.__version__,
    "pillow": PIL.__version__,
    "python": sys.version.split()[0],
}), flush=True)
server.serve_forever()
