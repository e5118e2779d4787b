import os
import subprocess
import sys
import textwrap

import pytest

from conftest import read_jsonl

import keynet_sdk
from keynet_sdk import MemoryTransport, Trainer


def test_failure_is_reported_and_exits_non_zero(env, capsys):
    memory = MemoryTransport()
    client = Trainer(environ=env, transport=memory, echo_logs=False, register_atexit=False)

    def train():
        client.report_started(3)
        client.log_info("about to fail")
        raise ValueError("learning rate exploded")

    with pytest.raises(SystemExit) as caught:
        client.run(train)
    assert caught.value.code == 1
    events = memory.events
    assert [e["event"] for e in events] == ["started", "log", "failed"]
    failed = events[-1]
    assert failed["error_type"] == "ValueError"
    assert failed["message"] == "learning rate exploded"
    assert "Traceback (most recent call last)" in failed["traceback"]
    assert "learning rate exploded" in failed["traceback"]
    assert "ValueError" in capsys.readouterr().err


def test_success_returns_the_result_without_failed(env):
    memory = MemoryTransport()
    client = Trainer(environ=env, transport=memory, echo_logs=False, register_atexit=False)

    def train(epochs, metric="acc"):
        client.report_started(epochs)
        client.log_info("buffered")
        client.report_completed(epochs, metric, 0.9, {metric: 0.9})
        client.log_info("after completion")
        return "done"

    assert client.run(train, 2, metric="top1") == "done"
    assert [e["event"] for e in memory.events] == ["started", "log", "completed", "log"]


def test_returning_without_completed_warns(env):
    memory = MemoryTransport()
    client = Trainer(environ=env, transport=memory, echo_logs=False, register_atexit=False)
    client.run(lambda: None)
    assert memory.events[-1]["level"] == "WARNING"
    assert "report_completed" in memory.events[-1]["message"]


def test_already_reported_failure_is_not_repeated(env):
    memory = MemoryTransport()
    client = Trainer(environ=env, transport=memory, echo_logs=False, register_atexit=False)

    def train():
        client.report_failed("DataError", "no images")
        raise RuntimeError("stop")

    with pytest.raises(SystemExit):
        client.run(train)
    assert [e["event"] for e in memory.events] == ["failed"]


def test_sys_exit_non_zero_is_reported_and_re_raised(env):
    memory = MemoryTransport()
    client = Trainer(environ=env, transport=memory, echo_logs=False, register_atexit=False)
    with pytest.raises(SystemExit) as caught:
        client.run(lambda: sys.exit(3))
    assert caught.value.code == 3
    assert memory.events[-1]["error_type"] == "SystemExit"


def test_module_level_run_training_and_decorator(env, monkeypatch):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    first, second = MemoryTransport(), MemoryTransport()
    keynet_sdk.set_client(Trainer(transport=first, echo_logs=False, register_atexit=False))

    @keynet_sdk.entrypoint
    def main(value):
        raise KeyError(value)

    with pytest.raises(SystemExit) as caught:
        main("missing")
    assert caught.value.code == 1
    assert [(e["event"], e["error_type"]) for e in first.events] == [("failed", "KeyError")]

    keynet_sdk.set_client(Trainer(transport=second, echo_logs=False, register_atexit=False))
    with pytest.raises(SystemExit):
        keynet_sdk.run_training(lambda: 1 / 0)
    assert [(e["event"], e["error_type"]) for e in second.events] == [("failed", "ZeroDivisionError")]


def test_failure_wrapper_in_a_real_process(tmp_path):
    events = tmp_path / "events.jsonl"
    script = textwrap.dedent(
        """
        import keynet_sdk

        @keynet_sdk.entrypoint
        def main():
            keynet_sdk.report_started(2)
            keynet_sdk.log_info("epoch 1")
            raise MemoryError("CUDA out of memory")

        main()
        """
    )
    environment = dict(os.environ)
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    environment.update({"KEYNET_EVENTS": str(events), "PYTHONPATH": package_root})
    result = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True)
    assert result.returncode == 1
    assert "MemoryError: CUDA out of memory" in result.stderr
    lines = read_jsonl(events)
    assert [e["event"] for e in lines] == ["started", "log", "failed"]
    assert lines[-1]["error_type"] == "MemoryError"
    assert lines[-1]["message"] == "CUDA out of memory"
    assert [e["seq"] for e in lines] == [1, 2, 3]
