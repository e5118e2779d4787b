"""The floor for runtime_bench: the same ONNX model in onnxruntime's own session, run in a
loop in process (no HTTP), at each batch size given, on the bench's own images (raw
little-endian f32), with the threads given (0: one per core). Prints one JSON line per batch size:
images per second, the median and p99 of a run's latency, and the first image's
probabilities (to check both runtimes compute the same model)."""

import json
import sys
import time

import numpy as np
import onnxruntime as ort

model, images, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
batches = [int(b) for b in sys.argv[4].split(",")]
options = ort.SessionOptions()
options.intra_op_num_threads = int(sys.argv[5])  # 0: onnxruntime's default, every core
session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
pool = np.fromfile(images, dtype="<f4").reshape(-1, 3, 224, 224)
for batch in batches:
    inputs = np.ascontiguousarray(pool[:batch])
    session.run(None, {"images": inputs})  # warm-up
    latencies = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        begin = time.perf_counter()
        out = session.run(None, {"images": inputs})[0]
        latencies.append(time.perf_counter() - begin)
    latencies.sort()
    elapsed = time.perf_counter() - started
    print(json.dumps({
        "batch": batch,
        "images_per_second": batch * len(latencies) / elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "first": out[0].tolist(),
    }), flush=True)
