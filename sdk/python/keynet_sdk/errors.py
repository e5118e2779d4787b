"""Exceptions raised by the SDK."""

from __future__ import annotations

from typing import Optional


class KeynetError(Exception):
    """Base class of every error the SDK raises."""


class ConfigError(KeynetError, ValueError):
    """A configuration value from the environment is missing or malformed.

    ``variable`` names the source, e.g. ``EPOCHS`` or ``CONFIG.basic_config.epochs``.
    """

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable}: {message}")
        self.variable = variable


class DatasetError(KeynetError):
    """The DICE dataset under the input folder is missing or malformed."""


class TransportError(KeynetError):
    """Events could not be delivered.

    ``status`` and ``body`` are set when the platform answered with an HTTP error.
    """

    def __init__(
        self,
        message: str,
        status: Optional[int] = None,
        body: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
