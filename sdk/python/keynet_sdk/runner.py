"""Run a training function so that a crash becomes a ``failed`` event and a non-zero exit."""

from __future__ import annotations

import functools
import sys
import traceback as _traceback
from typing import Any, Callable, Dict, Tuple, TypeVar

from . import events as _events

F = TypeVar("F", bound=Callable[..., Any])


def _terminal_sent(client: Any) -> bool:
    return any(name in _events.TERMINAL_EVENTS for name in client.sent_events)


def _report_failure(client: Any, error_type: str, message: str, tb: str) -> None:
    try:
        client.flush_logs()
    except Exception as exc:
        print(f"[keynet] could not flush logs: {exc}", file=sys.stderr)
    if _terminal_sent(client):
        return
    try:
        client.report_failed(error_type, message, tb)
    except Exception as exc:
        print(f"[keynet] could not report the failure: {exc}", file=sys.stderr)


def run_with_client(client: Any, fn: Callable[..., Any], args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
    try:
        result = fn(*args, **kwargs)
    except SystemExit as exc:
        code = exc.code
        if code is None or code == 0:
            raise
        tb = _traceback.format_exc()
        _report_failure(client, "SystemExit", f"exited with status {code}", tb)
        raise
    except BaseException as exc:
        tb = _traceback.format_exc()
        print(tb, file=sys.stderr, end="")
        message = str(exc) or type(exc).__name__
        _report_failure(client, type(exc).__name__, message, tb)
        sys.exit(130 if isinstance(exc, KeyboardInterrupt) else 1)
    client.flush_logs()
    if not _terminal_sent(client):
        client.log_warning(
            "the training function returned without report_completed (or "
            "report_inference_completed / report_export_completed); the platform will mark "
            "the job failed"
        )
        client.flush_logs()
    return result


def run_training(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn(*args, **kwargs)`` with the default client.

    If it raises, the traceback is printed, a ``failed`` event is reported with
    ``error_type`` = the exception's class name, ``message`` = ``str(exc)`` and the
    traceback (unless a terminal event was already sent), and the process exits with
    status 1 (130 for ``KeyboardInterrupt``). ``sys.exit(non-zero)`` is reported as
    ``SystemExit`` and re-raised. On a normal return the log buffer is flushed and the
    result returned.
    """
    from . import get_client

    return run_with_client(get_client(), fn, args, kwargs)


def entrypoint(fn: F) -> F:
    """Decorator form of ``run_training``::

        @keynet_sdk.entrypoint
        def main(): ...

        if __name__ == "__main__":
            main()
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return run_training(fn, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
