"""Event bodies as docs/trainer-contract.md ("Events") defines them, and the stamps every
event carries.

Each event is one JSON object::

    {"event": "<name>", "seq": 1, "ts": "2025-01-01T00:00:00.000000Z", ...fields}

``event`` names the event (``type`` is taken: it is a field of ``checkpoint``), ``seq``
counts 1, 2, 3 … and ``ts`` is the RFC 3339 UTC time the event was made. Optional fields
that are not given are left out rather than sent as ``null``.
"""

from __future__ import annotations

import datetime as _dt
import math
import numbers
import os
import threading
from typing import Any, Dict, Mapping, Optional

EVENT_KEY = "event"

STARTED = "started"
PROGRESS = "progress"
LOG = "log"
CHECKPOINT = "checkpoint"
COMPLETED = "completed"
FAILED = "failed"
INFERENCE_COMPLETED = "inference_completed"
EXPORT_COMPLETED = "export_completed"

EVENT_NAMES = (
    STARTED,
    PROGRESS,
    LOG,
    CHECKPOINT,
    COMPLETED,
    FAILED,
    INFERENCE_COMPLETED,
    EXPORT_COMPLETED,
)
TERMINAL_EVENTS = (COMPLETED, FAILED, INFERENCE_COMPLETED, EXPORT_COMPLETED)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_LEVEL_ALIASES = {"WARN": "WARNING", "CRITICAL": "ERROR", "FATAL": "ERROR"}

CHECKPOINT_TYPES = ("best", "last")

# The platform refuses events over 64 KiB: long texts are cut (UTF-8 bytes) to stay under it.
MAX_MESSAGE_BYTES = 16 * 1024
MAX_TRACEBACK_BYTES = 32 * 1024
TRUNCATED = " …[truncated]"


def truncate(text: str, limit: int, keep_tail: bool = False) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes (plus a marker); the head is kept, or the
    tail for tracebacks, whose last lines matter most."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    if keep_tail:
        return "[truncated]… " + data[-limit:].decode("utf-8", errors="ignore")
    return data[:limit].decode("utf-8", errors="ignore") + TRUNCATED


def timestamp(now: Optional[_dt.datetime] = None) -> str:
    """RFC 3339 in UTC with microseconds and a ``Z`` suffix."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    return now.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SeqCounter:
    """Thread-safe 1, 2, 3 … counter."""

    def __init__(self, start: int = 1) -> None:
        self._next = start
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            value = self._next
            self._next += 1
            return value

    def advance_past(self, seq: int) -> None:
        """Make the next value at least ``seq + 1``."""
        with self._lock:
            self._next = max(self._next, seq + 1)


def normalize_level(level: Any) -> str:
    name = str(level).strip().upper()
    name = _LEVEL_ALIASES.get(name, name)
    if name not in LOG_LEVELS:
        raise ValueError(f"unknown log level {level!r} (use one of {', '.join(LOG_LEVELS)})")
    return name


def _number(name: str, value: Any) -> Optional[float]:
    """A metric value as a JSON number; ``None`` for NaN and infinities."""
    if not isinstance(value, numbers.Number) and callable(getattr(value, "item", None)):
        value = value.item()  # numpy / torch scalars
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        result = float(value)
        return result if math.isfinite(result) else None
    raise TypeError(f"metric {name!r} must be a number, got {type(value).__name__}")


def metrics_dict(metrics: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """``{name: number}``. NaN and infinite values are left out (JSON has no such numbers)."""
    if metrics is None:
        return {}
    if not isinstance(metrics, Mapping):
        raise TypeError(f"metrics must be a mapping of name to number, got {type(metrics).__name__}")
    result: Dict[str, Any] = {}
    for key, value in metrics.items():
        number = _number(str(key), value)
        if number is not None:
            result[str(key)] = number
    return result


def to_jsonable(value: Any) -> Any:
    """Best-effort conversion of metadata to plain JSON (NaN becomes ``null``)."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if callable(getattr(value, "tolist", None)):  # numpy arrays and scalars, tensors
        return to_jsonable(value.tolist())
    if callable(getattr(value, "item", None)):
        try:
            return to_jsonable(value.item())
        except Exception:  # pragma: no cover - odd objects
            pass
    return str(value)


def _int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if callable(getattr(value, "item", None)):
            return _int(name, value.item())
        raise TypeError(f"{name} must be an integer, got {value!r}")
    return int(value)


# --- bodies (without event/seq/ts) ------------------------------------------------------


def started(total_epochs: int) -> Dict[str, Any]:
    return {"total_epochs": _int("total_epochs", total_epochs)}


def progress(
    epoch: int, total_epochs: int, metrics: Optional[Mapping[str, Any]], step: Optional[int] = None
) -> Dict[str, Any]:
    body: Dict[str, Any] = {
        "epoch": _int("epoch", epoch),
        "total_epochs": _int("total_epochs", total_epochs),
        "metrics": metrics_dict(metrics),
    }
    if step is not None:
        body["step"] = _int("step", step)
    return body


def log(level: Any, message: Any, metadata: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    body: Dict[str, Any] = {
        "level": normalize_level(level),
        "message": truncate(str(message), MAX_MESSAGE_BYTES),
    }
    if metadata is not None:
        body["metadata"] = to_jsonable(metadata)
    return body


def checkpoint(
    path: str, type: str, epoch: int, metrics: Optional[Mapping[str, Any]] = None
) -> Dict[str, Any]:
    if type not in CHECKPOINT_TYPES:
        raise ValueError(f"checkpoint type must be 'best' or 'last', got {type!r}")
    body: Dict[str, Any] = {"path": path, "type": type, "epoch": _int("epoch", epoch)}
    if metrics is not None:
        body["metrics"] = metrics_dict(metrics)
    return body


def completed(
    best_epoch: int,
    best_metric: str,
    best_metric_value: Any,
    final_metrics: Optional[Mapping[str, Any]] = None,
) -> Dict[str, Any]:
    return {
        "best_epoch": _int("best_epoch", best_epoch),
        "best_metric": str(best_metric),
        "best_metric_value": _number("best_metric_value", best_metric_value),
        "final_metrics": metrics_dict(final_metrics),
    }


def failed(error_type: str, message: str, traceback: Optional[str] = None) -> Dict[str, Any]:
    body: Dict[str, Any] = {
        "error_type": truncate(str(error_type), 1024),
        "message": truncate(str(message), MAX_MESSAGE_BYTES),
    }
    if traceback is not None:
        body["traceback"] = truncate(str(traceback), MAX_TRACEBACK_BYTES, keep_tail=True)
    return body


def inference_completed(results_path: str) -> Dict[str, Any]:
    return {"results_path": str(results_path)}


def export_completed(
    format: str, path: str, metadata: Optional[Mapping[str, Any]] = None
) -> Dict[str, Any]:
    return {"format": str(format), "path": str(path), "metadata": to_jsonable(metadata or {})}
