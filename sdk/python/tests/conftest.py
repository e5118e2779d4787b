from __future__ import annotations

import http.server
import json
import os
import threading
from typing import Any, Dict, List, Optional, Tuple

import pytest

import keynet_sdk
from keynet_sdk import MemoryTransport, Trainer

# Variables the SDK reads; cleared from os.environ for every test.
SDK_VARIABLES = [
    "JOB_ID", "JOB_KIND", "TASK_TYPE", "FRAMEWORK", "MODEL_NAME", "DATASET_ID",
    "EPOCHS", "BATCH_SIZE", "LEARNING_RATE", "IMGSZ", "DEVICE", "CONFIG", "ADVANCED_CONFIG",
    "CONFIG_EPOCHS", "CONFIG_BATCH", "CONFIG_LR0", "CONFIG_IMGSZ",
    "KEYNET_INPUT_DIR", "KEYNET_OUTPUT_DIR", "KEYNET_EVENTS", "CALLBACK_URL", "JOB_TOKEN",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in SDK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    keynet_sdk.set_client(None)
    yield
    old = keynet_sdk.set_client(None)
    if old is not None:
        old.close()


@pytest.fixture
def env(tmp_path) -> Dict[str, str]:
    """An environment whose folders are under tmp_path."""
    return {
        "JOB_ID": "job-1",
        "KEYNET_INPUT_DIR": str(tmp_path / "input"),
        "KEYNET_OUTPUT_DIR": str(tmp_path / "output"),
        "KEYNET_EVENTS": str(tmp_path / "events.jsonl"),
    }


@pytest.fixture
def memory() -> MemoryTransport:
    return MemoryTransport()


@pytest.fixture
def client(env, memory) -> Trainer:
    return Trainer(environ=env, transport=memory, echo_logs=False, register_atexit=False)


def read_jsonl(path) -> List[Dict[str, Any]]:
    with open(path, "r", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


# --- a real HTTP server that records requests ---------------------------------------------


class RecordedRequest:
    def __init__(self, method: str, path: str, headers: Dict[str, str], body: bytes) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class RecordingServer:
    """Answers each request with the next (status, body) of ``responses`` (200 when empty)."""

    def __init__(self) -> None:
        self.requests: List[RecordedRequest] = []
        self.responses: List[Tuple[int, str]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with server._lock:
                    server.requests.append(
                        RecordedRequest("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    status, text = server.responses.pop(0) if server.responses else (200, '{"ok":true}')
                payload = text.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def event_batches(self) -> List[List[Dict[str, Any]]]:
        return [request.json() for request in self.requests]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def server():
    recording = RecordingServer()
    yield recording
    recording.close()


# --- a small DICE dataset -------------------------------------------------------------------


def write_dice(
    root,
    task: str,
    classes: List[Tuple[int, str]],
    images: List[Dict[str, Any]],
    annotations: List[Dict[str, Any]],
    splits: Dict[str, List[Any]],
    file_name: Optional[str] = None,
) -> str:
    """Write a DICE dataset under ``root`` (image files hold placeholder bytes)."""
    root = os.fspath(root)
    os.makedirs(os.path.join(root, "images"), exist_ok=True)
    for image in images:
        path = os.path.join(root, "images", *image["file_name"].split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(b"\x89PNG placeholder " + image["file_name"].encode())
    document = {
        "classes": [{"id": class_id, "name": name} for class_id, name in classes],
        "images": images,
        "annotations": annotations,
    }
    with open(os.path.join(root, file_name or f"annotations_{task}.json"), "w") as handle:
        json.dump(document, handle)
    with open(os.path.join(root, "splits.json"), "w") as handle:
        json.dump(splits, handle)
    return root
