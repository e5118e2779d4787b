import socket

import pytest

from keynet_sdk import HttpTransport, Trainer, TransportError
from keynet_sdk.transport import transport_from_env


def event(seq, name="started", **fields):
    body = {"event": name, "seq": seq, "ts": "2025-01-01T00:00:00.000000Z"}
    body.update(fields)
    return body


def test_post_has_auth_header_and_json_array_body(server):
    transport = HttpTransport(server.url + "/", "secret-token", sleep=lambda s: None)
    transport.send([event(1, total_epochs=3), event(2, "log", level="INFO", message="hi")])
    assert len(server.requests) == 1
    request = server.requests[0]
    assert request.method == "POST"
    assert request.path == "/events"
    assert request.headers["authorization"] == "Bearer secret-token"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == [event(1, total_epochs=3), event(2, "log", level="INFO", message="hi")]


def test_callback_url_with_a_path_prefix(server):
    HttpTransport(server.url + "/api/jobs/7", "t").send([event(1)])
    assert server.requests[0].path == "/api/jobs/7/events"


def test_retries_on_503_then_succeeds(server):
    server.responses = [(503, "busy"), (503, "still busy")]
    waits = []
    transport = HttpTransport(server.url, "t", attempts=4, backoff=0.5, sleep=waits.append)
    transport.send([event(1)])
    assert len(server.requests) == 3
    assert all(r.json() == [event(1)] for r in server.requests)
    assert waits == [0.5, 1.0]


def test_gives_up_after_the_attempts_on_5xx(server):
    server.responses = [(500, "a"), (502, "b"), (503, "c")]
    transport = HttpTransport(server.url, "t", attempts=3, sleep=lambda s: None)
    with pytest.raises(TransportError) as caught:
        transport.send([event(1)])
    assert len(server.requests) == 3
    assert "3 attempts" in str(caught.value)


def test_no_retry_on_401_and_error_has_status_and_body(server):
    server.responses = [(401, '{"error":"bad token"}')]
    waits = []
    transport = HttpTransport(server.url, "wrong", sleep=waits.append)
    with pytest.raises(TransportError) as caught:
        transport.send([event(1)])
    assert len(server.requests) == 1
    assert waits == []
    assert caught.value.status == 401
    assert caught.value.body == '{"error":"bad token"}'
    assert "401" in str(caught.value) and "bad token" in str(caught.value)


def test_no_retry_on_other_4xx(server):
    server.responses = [(422, "malformed")]
    with pytest.raises(TransportError) as caught:
        HttpTransport(server.url, "t", sleep=lambda s: None).send([event(1)])
    assert caught.value.status == 422
    assert len(server.requests) == 1


def test_connection_errors_are_retried_then_raised():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    waits = []
    transport = HttpTransport(f"http://127.0.0.1:{port}", "t", attempts=3, backoff=0.1, sleep=waits.append)
    with pytest.raises(TransportError) as caught:
        transport.send([event(1)])
    assert waits == [0.1, 0.2]
    assert caught.value.status is None


def test_client_uses_http_when_callback_url_and_token_are_set(server, env):
    env.update({"CALLBACK_URL": server.url, "JOB_TOKEN": "tok"})
    assert isinstance(transport_from_env(env), HttpTransport)
    client = Trainer(environ=env, echo_logs=False, register_atexit=False)
    client.report_started(1)
    for i in range(3):
        client.log_info(f"l{i}")
    assert len(server.requests) == 1  # logs are buffered
    client.log_error("bad")
    client.report_progress(1, 1, {"acc": 1.0})
    for i in range(50):
        client.log_debug(str(i))
    client.report_completed(1, "acc", 1.0, {"acc": 1.0})
    batches = server.event_batches()
    assert [[e["event"] for e in b] for b in batches] == [
        ["started"],
        ["log", "log", "log", "log"],
        ["progress"],
        ["log"] * 50,
        ["completed"],
    ]
    assert [e["seq"] for b in batches for e in b] == list(range(1, 58))
    assert all(r.headers["authorization"] == "Bearer tok" for r in server.requests)
    # no events file when the HTTP transport is used
    import os

    assert not os.path.exists(env["KEYNET_EVENTS"])


def test_client_raises_transport_error_on_4xx(server, env):
    env.update({"CALLBACK_URL": server.url, "JOB_TOKEN": "tok"})
    server.responses = [(403, "forbidden")]
    client = Trainer(environ=env, echo_logs=False, register_atexit=False)
    with pytest.raises(TransportError) as caught:
        client.report_started(1)
    assert caught.value.status == 403
