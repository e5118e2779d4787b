"""Forward Python ``logging`` records to the job's ``log`` events."""

from __future__ import annotations

import logging
from typing import Any, Optional


def _level(levelno: int) -> str:
    if levelno >= logging.ERROR:
        return "ERROR"
    if levelno >= logging.WARNING:
        return "WARNING"
    if levelno >= logging.INFO:
        return "INFO"
    return "DEBUG"


class KeynetLogHandler(logging.Handler):
    """A ``logging.Handler`` that emits each record as a ``log`` event (not echoed to
    stderr: other handlers already print). ``metadata`` carries the logger name."""

    def __init__(self, client: Optional[Any] = None, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            from . import get_client

            return get_client()
        return self._client

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info:
                message = message + "\n" + logging.Formatter().formatException(record.exc_info)
            self.client._log(_level(record.levelno), message, {"logger": record.name}, echo=False)
        except Exception:
            self.handleError(record)


def install_log_handler(
    logger: Optional[logging.Logger] = None, level: int = logging.INFO, client: Optional[Any] = None
) -> KeynetLogHandler:
    """Attach a ``KeynetLogHandler`` to ``logger`` (the root logger by default)."""
    handler = KeynetLogHandler(client, level)
    (logger or logging.getLogger()).addHandler(handler)
    return handler
