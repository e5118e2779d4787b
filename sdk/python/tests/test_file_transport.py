import json

import pytest

from conftest import read_jsonl

from keynet_sdk import FileTransport, Trainer, TransportError
from keynet_sdk.transport import transport_from_env


def test_client_without_callback_writes_jsonl_to_keynet_events(env, tmp_path):
    client = Trainer(environ=env, echo_logs=False, register_atexit=False)
    assert isinstance(client.transport, FileTransport)
    client.report_started(2)
    client.log_info("héllo ünïcode", {"nan": float("nan")})
    client.report_progress(1, 2, {"loss": 0.5})
    client.report_completed(1, "loss", 0.5, {"loss": 0.5})
    path = tmp_path / "events.jsonl"
    raw = path.read_text(encoding="utf-8")
    assert raw.endswith("\n")
    lines = raw.splitlines()
    assert len(lines) == 4
    for line in lines:
        json.loads(line)  # each line is a JSON object on its own
    events = read_jsonl(path)
    assert [e["event"] for e in events] == ["started", "log", "progress", "completed"]
    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    assert events[1]["message"] == "héllo ünïcode"
    assert events[1]["metadata"] == {"nan": None}
    assert "NaN" not in raw


def test_file_transport_appends_and_creates_the_folder(tmp_path):
    path = tmp_path / "deep" / "folder" / "events.jsonl"
    transport = FileTransport(str(path))
    transport.send([{"event": "started", "seq": 1, "ts": "t", "total_epochs": 1}])
    transport.send([{"event": "log", "seq": 2, "ts": "t", "level": "INFO", "message": "a"},
                    {"event": "log", "seq": 3, "ts": "t", "level": "INFO", "message": "b"}])
    assert [e["seq"] for e in read_jsonl(path)] == [1, 2, 3]
    assert transport.last_seq() == 3


def test_last_seq_skips_malformed_lines(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"seq": 4}\nnot json\n[1]\n{"seq": "9"}\n{"seq": 2}\n')
    assert FileTransport(str(path)).last_seq() == 4
    assert FileTransport(str(tmp_path / "missing.jsonl")).last_seq() == 0


def test_unwritable_path_raises_transport_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    transport = FileTransport(str(blocker / "events.jsonl"))
    with pytest.raises(TransportError):
        transport.send([{"event": "started", "seq": 1, "ts": "t", "total_epochs": 1}])


def test_transport_selection(tmp_path):
    assert isinstance(transport_from_env({"KEYNET_EVENTS": str(tmp_path / "e")}), FileTransport)
    # both variables are needed for HTTP
    assert isinstance(transport_from_env({"CALLBACK_URL": "http://x"}), FileTransport)
    assert isinstance(transport_from_env({"JOB_TOKEN": "t"}), FileTransport)
    assert transport_from_env({}).path == "/keynet/events.jsonl"
