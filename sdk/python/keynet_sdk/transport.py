"""Where events go: a JSON-lines file (the default) or the platform's HTTP callback."""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from . import config as _config
from .errors import TransportError

Event = Dict[str, Any]


def encode_event(event: Mapping[str, Any]) -> str:
    """One event as compact JSON (no NaN: the bodies are sanitised before)."""
    return json.dumps(event, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class Transport:
    """Delivers a batch of events, in order. Raises ``TransportError`` on failure."""

    def send(self, events: Sequence[Event]) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def last_seq(self) -> int:
        """The highest ``seq`` already delivered by an earlier process of the job, if known."""
        return 0

    def describe(self) -> str:
        return type(self).__name__


class FileTransport(Transport):
    """Appends one JSON line per event to ``path``; each batch is written, flushed and
    fsync'ed before ``send`` returns. The parent folder is created when missing."""

    def __init__(self, path: str) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()

    def send(self, events: Sequence[Event]) -> None:
        if not events:
            return
        data = "".join(encode_event(event) + "\n" for event in events).encode("utf-8")
        with self._lock:
            try:
                parent = os.path.dirname(os.path.abspath(self.path))
                os.makedirs(parent, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    view = memoryview(data)
                    while view:
                        written = os.write(fd, view)
                        view = view[written:]
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise TransportError(f"cannot write events to {self.path}: {exc}") from exc

    def last_seq(self) -> int:
        """Highest ``seq`` in the file, so a second process of the same job (``train.py``
        then ``export.py``) continues the numbering instead of repeating it."""
        highest = 0
        try:
            with open(self.path, "r", encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    try:
                        seq = json.loads(line).get("seq")
                    except (ValueError, AttributeError):
                        continue
                    if isinstance(seq, int) and not isinstance(seq, bool):
                        highest = max(highest, seq)
        except OSError:
            return 0
        return highest

    def describe(self) -> str:
        return f"file {self.path}"


class HttpTransport(Transport):
    """``POST {callback_url}/events`` with ``Authorization: Bearer {token}`` and a JSON array.

    Connection errors, timeouts and 5xx answers are retried (``attempts`` in all, waiting
    ``backoff``, 2×``backoff``, 4×``backoff`` … seconds between them); any other non-2xx
    answer, 4xx included, raises ``TransportError`` at once with its status and body.
    """

    def __init__(
        self,
        callback_url: str,
        token: str,
        attempts: int = 4,
        backoff: float = 0.5,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.url = callback_url.rstrip("/") + "/events"
        self._token = token
        self.attempts = attempts
        self.backoff = backoff
        self.timeout = timeout
        self._sleep = sleep

    def send(self, events: Sequence[Event]) -> None:
        if not events:
            return
        body = ("[" + ",".join(encode_event(event) for event in events) + "]").encode("utf-8")
        last_error = ""
        for attempt in range(self.attempts):
            if attempt:
                self._sleep(self.backoff * (2 ** (attempt - 1)))
            request = urllib.request.Request(
                self.url,
                data=body,
                method="POST",
                headers={
                    "Authorization": f"Bearer {self._token}",
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    response.read()
                    return
            except urllib.error.HTTPError as exc:
                status = exc.code
                text = _read_body(exc)
                if 500 <= status <= 599:
                    last_error = f"HTTP {status}: {text}"
                    continue
                raise TransportError(
                    f"POST {self.url} failed with HTTP {status}: {text}", status=status, body=text
                ) from None
            except (urllib.error.URLError, http.client.HTTPException, OSError, socket.timeout) as exc:
                last_error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
                continue
        raise TransportError(
            f"POST {self.url} failed after {self.attempts} attempts; last error {last_error}"
        )

    def describe(self) -> str:
        return f"http {self.url}"


def _read_body(exc: urllib.error.HTTPError) -> str:
    try:
        return exc.read().decode("utf-8", errors="replace")
    except Exception:
        return ""
    finally:
        try:
            exc.close()
        except Exception:
            pass


class MemoryTransport(Transport):
    """Keeps batches in memory: for trainer authors' own unit tests."""

    def __init__(self) -> None:
        self.batches: List[List[Event]] = []
        self._lock = threading.Lock()

    def send(self, events: Sequence[Event]) -> None:
        with self._lock:
            self.batches.append([dict(event) for event in events])

    @property
    def events(self) -> List[Event]:
        with self._lock:
            return [event for batch in self.batches for event in batch]


def transport_from_env(environ: Optional[Mapping[str, str]] = None) -> Transport:
    """HTTP when ``CALLBACK_URL`` and ``JOB_TOKEN`` are both set, else the events file."""
    callback = _config.callback(environ)
    if callback is not None:
        return HttpTransport(*callback)
    return FileTransport(_config.events_path(environ))
