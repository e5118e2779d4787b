import json
import os
import subprocess
import sys
import textwrap

from conftest import read_jsonl

import keynet_sdk


def test_49_logs_stay_buffered_and_the_50th_sends_one_batch(client, memory):
    for i in range(49):
        client.log_info(f"line {i}")
    assert memory.batches == []
    client.log_info("line 49")
    assert len(memory.batches) == 1
    batch = memory.batches[0]
    assert len(batch) == 50
    assert [e["message"] for e in batch] == [f"line {i}" for i in range(50)]
    assert [e["seq"] for e in batch] == list(range(1, 51))


def test_120_logs_make_two_full_batches_and_a_remainder_on_flush(client, memory):
    for i in range(120):
        client.log_debug(str(i))
    assert [len(b) for b in memory.batches] == [50, 50]
    client.flush_logs()
    assert [len(b) for b in memory.batches] == [50, 50, 20]
    client.flush_logs()  # nothing left: no empty batch
    assert len(memory.batches) == 3


def test_error_log_is_sent_at_once_with_the_buffer_before_it(client, memory):
    client.log_info("a")
    client.log_warning("b")
    assert memory.batches == []
    client.log_error("boom")
    assert len(memory.batches) == 1
    assert [(e["level"], e["message"]) for e in memory.batches[0]] == [
        ("INFO", "a"),
        ("WARNING", "b"),
        ("ERROR", "boom"),
    ]
    client.log_error("again")
    assert [e["message"] for e in memory.batches[1]] == ["again"]


def test_lifecycle_events_flush_the_log_buffer_first(client, memory):
    client.log_info("before start")
    client.report_started(2)
    client.log_info("epoch 1 running")
    client.report_progress(1, 2, {"loss": 1})
    client.report_progress(2, 2, {"loss": 0.5})
    assert [[(e["event"], e["seq"]) for e in batch] for batch in memory.batches] == [
        [("log", 1), ("started", 2)],
        [("log", 3), ("progress", 4)],
        [("progress", 5)],
    ]


def test_buffer_size_is_configurable(env):
    memory = keynet_sdk.MemoryTransport()
    client = keynet_sdk.Trainer(environ=env, transport=memory, log_buffer_size=3, echo_logs=False, register_atexit=False)
    for i in range(7):
        client.log_info(str(i))
    assert [len(b) for b in memory.batches] == [3, 3]


def test_logs_are_echoed_to_stderr(env, capsys):
    memory = keynet_sdk.MemoryTransport()
    client = keynet_sdk.Trainer(environ=env, transport=memory, register_atexit=False)
    client.log_warning("visible in container logs")
    assert "WARNING visible in container logs" in capsys.readouterr().err


def _run_script(tmp_path, source, extra_env):
    environment = dict(os.environ)
    environment.update(extra_env)
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    environment["PYTHONPATH"] = package_root + os.pathsep + environment.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source)],
        env=environment,
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
    )


def test_buffered_logs_are_flushed_at_exit(tmp_path):
    events = tmp_path / "events.jsonl"
    result = _run_script(
        tmp_path,
        """
        import keynet_sdk
        keynet_sdk.report_started(1)
        for i in range(3):
            keynet_sdk.log_info(f"line {i}")
        """,
        {"KEYNET_EVENTS": str(events), "KEYNET_OUTPUT_DIR": str(tmp_path / "out")},
    )
    assert result.returncode == 0, result.stderr
    lines = read_jsonl(events)
    assert [(e["event"], e.get("message")) for e in lines] == [
        ("started", None),
        ("log", "line 0"),
        ("log", "line 1"),
        ("log", "line 2"),
    ]
    assert [e["seq"] for e in lines] == [1, 2, 3, 4]


def test_a_second_process_continues_the_seq_of_the_events_file(tmp_path):
    events = tmp_path / "events.jsonl"
    environment = {"KEYNET_EVENTS": str(events)}
    for _ in range(2):
        result = _run_script(tmp_path, "import keynet_sdk; keynet_sdk.report_started(1); keynet_sdk.log_info('x')", environment)
        assert result.returncode == 0, result.stderr
    assert [e["seq"] for e in read_jsonl(events)] == [1, 2, 3, 4]
