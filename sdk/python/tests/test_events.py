import datetime as dt
import math
import os
import re
import threading

import pytest

import keynet_sdk
from keynet_sdk import MemoryTransport, Trainer

STAMPS = {"event", "seq", "ts"}
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)$")


def fields(event):
    return set(event) - STAMPS


def test_started(client, memory):
    event = client.report_started(total_epochs=5)
    assert memory.events == [event]
    assert event["event"] == "started"
    assert fields(event) == {"total_epochs"}
    assert event["total_epochs"] == 5


def test_progress(client, memory):
    event = client.report_progress(2, 5, {"loss": 0.25, "mAP50": 0.5})
    assert event["event"] == "progress"
    assert fields(event) == {"epoch", "total_epochs", "metrics"}
    assert (event["epoch"], event["total_epochs"]) == (2, 5)
    assert event["metrics"] == {"loss": 0.25, "mAP50": 0.5}
    with_step = client.report_progress(epoch=2, total_epochs=5, metrics={"loss": 0.2}, step=40)
    assert fields(with_step) == {"epoch", "total_epochs", "metrics", "step"}
    assert with_step["step"] == 40
    assert memory.events == [event, with_step]


def test_progress_metrics_drop_nan_and_convert_scalars(client):
    class Scalar:  # a numpy/torch-like 0-d value
        def item(self):
            return 0.75

    event = client.report_progress(1, 1, {"loss": float("nan"), "acc": Scalar(), "n": 3, "inf": math.inf})
    assert event["metrics"] == {"acc": 0.75, "n": 3}
    with pytest.raises(TypeError):
        client.report_progress(1, 1, {"loss": "low"})


def test_log(client, memory):
    event = client.log("info", "hello")
    assert event["event"] == "log"
    assert fields(event) == {"level", "message"}
    assert (event["level"], event["message"]) == ("INFO", "hello")
    with_metadata = client.log("WARNING", "careful", {"gpu": 0, "path": "x"})
    assert fields(with_metadata) == {"level", "message", "metadata"}
    assert with_metadata["metadata"] == {"gpu": 0, "path": "x"}
    levels = [client.log_debug("d"), client.log_info("i"), client.log_warning("w"), client.log_error("e")]
    assert [e["level"] for e in levels] == ["DEBUG", "INFO", "WARNING", "ERROR"]
    assert client.log("warn", "alias")["level"] == "WARNING"
    with pytest.raises(ValueError):
        client.log("LOUD", "x")
    client.flush_logs()
    assert [e["message"] for e in memory.events] == ["hello", "careful", "d", "i", "w", "e", "alias"]


def test_checkpoint_under_output_dir(client, memory, env):
    out = client.output_dir()
    os.makedirs(os.path.join(out, "weights"))
    path = os.path.join(out, "weights", "best.pt")
    with open(path, "wb") as handle:
        handle.write(b"weights")
    event = client.upload_checkpoint(path, "best", 3, {"mAP50": 0.9})
    assert event["event"] == "checkpoint"
    assert fields(event) == {"path", "type", "epoch", "metrics"}
    assert event["path"] == "weights/best.pt"
    assert (event["type"], event["epoch"], event["metrics"]) == ("best", 3, {"mAP50": 0.9})
    without_metrics = client.upload_checkpoint(path, type="last", epoch=4)
    assert fields(without_metrics) == {"path", "type", "epoch"}
    assert memory.events == [event, without_metrics]


def test_checkpoint_outside_output_dir_is_copied(client, tmp_path):
    source = tmp_path / "elsewhere" / "model_final.pt"
    source.parent.mkdir()
    source.write_bytes(b"last weights")
    event = client.upload_checkpoint(str(source), "last", 9)
    assert event["path"] == "last.pt"
    copied = os.path.join(client.output_dir(), "last.pt")
    with open(copied, "rb") as handle:
        assert handle.read() == b"last weights"
    assert source.exists()


def test_checkpoint_rejects_bad_arguments(client, tmp_path):
    path = tmp_path / "w.pt"
    path.write_bytes(b"x")
    with pytest.raises(ValueError):
        client.upload_checkpoint(str(path), "middle", 1)
    with pytest.raises(TypeError):
        client.upload_checkpoint(str(path), "best")
    with pytest.raises(FileNotFoundError):
        client.upload_checkpoint(str(tmp_path / "missing.pt"), "best", 1)


def test_completed(client):
    event = client.report_completed(7, "mAP50-95", 0.61, {"mAP50-95": 0.6, "loss": 0.1})
    assert event["event"] == "completed"
    assert fields(event) == {"best_epoch", "best_metric", "best_metric_value", "final_metrics"}
    assert (event["best_epoch"], event["best_metric"], event["best_metric_value"]) == (7, "mAP50-95", 0.61)
    assert event["final_metrics"] == {"mAP50-95": 0.6, "loss": 0.1}


def test_failed(client):
    event = client.report_failed("ValueError", "bad input")
    assert event["event"] == "failed"
    assert fields(event) == {"error_type", "message"}
    with_traceback = client.report_failed("OOM", "out of memory", "Traceback ...")
    assert fields(with_traceback) == {"error_type", "message", "traceback"}
    assert (with_traceback["error_type"], with_traceback["message"], with_traceback["traceback"]) == (
        "OOM",
        "out of memory",
        "Traceback ...",
    )


def test_inference_completed(client, tmp_path):
    results = os.path.join(client.output_dir(), "predictions.json")
    with open(results, "w") as handle:
        handle.write("[]")
    event = client.report_inference_completed(results)
    assert event["event"] == "inference_completed"
    assert fields(event) == {"results_path"}
    assert event["results_path"] == "predictions.json"
    # a folder outside the output dir is copied in
    folder = tmp_path / "preds"
    folder.mkdir()
    (folder / "a.json").write_text("{}")
    event = client.report_inference_completed(str(folder))
    assert event["results_path"] == "preds"
    assert os.path.isfile(os.path.join(client.output_dir(), "preds", "a.json"))


def test_export_completed(client):
    path = os.path.join(client.output_dir(), "model.onnx")
    with open(path, "wb") as handle:
        handle.write(b"onnx")
    event = client.report_export_completed("onnx", path, {"opset": 17, "imgsz": [640, 640]})
    assert event["event"] == "export_completed"
    assert fields(event) == {"format", "path", "metadata"}
    assert (event["format"], event["path"], event["metadata"]) == ("onnx", "model.onnx", {"opset": 17, "imgsz": [640, 640]})
    assert client.report_export_completed("onnx", path)["metadata"] == {}


def test_every_event_has_seq_and_rfc3339_ts(client, memory):
    client.report_started(2)
    client.log_info("a")
    client.report_progress(1, 2, {"loss": 1.0})
    client.log_error("b")
    client.report_completed(1, "loss", 1.0, {})
    events = memory.events
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5]
    assert [e["event"] for e in events] == ["started", "log", "progress", "log", "completed"]
    for event in events:
        assert RFC3339_UTC.match(event["ts"]), event["ts"]
        parsed = dt.datetime.fromisoformat(event["ts"].replace("Z", "+00:00"))
        assert parsed.utcoffset() == dt.timedelta(0)


def test_seq_is_unique_and_ordered_under_threads(env):
    memory = MemoryTransport()
    client = Trainer(environ=env, transport=memory, echo_logs=False, register_atexit=False, log_buffer_size=7)
    threads_count, per_thread = 8, 60
    barrier = threading.Barrier(threads_count)

    def work(index):
        barrier.wait()
        for i in range(per_thread):
            if i % 10 == 0:
                client.report_progress(i, per_thread, {"thread": index})
            else:
                client.log_info(f"{index}-{i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.flush_logs()
    seqs = [event["seq"] for event in memory.events]
    assert seqs == list(range(1, threads_count * per_thread + 1))
    for batch in memory.batches:
        assert [e["seq"] for e in batch] == sorted(e["seq"] for e in batch)


def test_module_level_report_functions_use_default_client(env, monkeypatch, tmp_path):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    memory = MemoryTransport()
    keynet_sdk.set_client(Trainer(transport=memory, echo_logs=False, register_atexit=False))
    keynet_sdk.report_started(3)
    keynet_sdk.log_info("x")
    keynet_sdk.log("DEBUG", "y", {"k": 1})
    keynet_sdk.flush_logs()
    keynet_sdk.report_progress(1, 3, {"loss": 0.5}, step=10)
    checkpoint = tmp_path / "c.pt"
    checkpoint.write_bytes(b"c")
    keynet_sdk.upload_checkpoint(str(checkpoint), "best", 1)
    keynet_sdk.report_completed(1, "loss", 0.5, {"loss": 0.5})
    assert [e["event"] for e in memory.events] == ["started", "log", "log", "progress", "checkpoint", "completed"]
    assert memory.events[4]["path"] == "best.pt"
    assert keynet_sdk.output_dir() == env["KEYNET_OUTPUT_DIR"]


def test_long_texts_are_cut_to_fit_the_platform_event_limit(client):
    from keynet_sdk.transport import encode_event

    huge = "é" * 100_000
    log = client.log_error(huge)
    failed = client.report_failed("RecursionError", huge, "Traceback\n" + "  frame\n" * 20_000 + "RecursionError: deep")
    for event in (log, failed):
        assert len(encode_event(event).encode("utf-8")) < 64 * 1024
    assert log["message"].endswith("[truncated]")
    assert failed["traceback"].endswith("RecursionError: deep")
    assert client.log_info("short")["message"] == "short"


def test_output_folder_itself_is_not_a_result_path(client):
    with pytest.raises(ValueError):
        client.report_inference_completed(client.output_dir())
