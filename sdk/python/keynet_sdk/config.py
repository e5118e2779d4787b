"""Job configuration from the environment (see docs/trainer-contract.md, "Environment").

Basic config precedence, highest first:

1. the individual variable: ``EPOCHS``, ``BATCH_SIZE``, ``LEARNING_RATE``, ``IMGSZ``, ``DEVICE``;
2. the ``CONFIG`` JSON: ``CONFIG["basic_config"][key]``, else ``CONFIG[key]`` (top level),
   with key ``epochs``, ``batch_size``, ``learning_rate``, ``imgsz`` or ``device``;
3. the legacy variables ``CONFIG_EPOCHS``, ``CONFIG_BATCH``, ``CONFIG_LR0``, ``CONFIG_IMGSZ``;
4. the defaults in ``DEFAULTS``.

An empty variable counts as unset. A value that does not parse (``EPOCHS=abc``) or is out
of range raises ``ConfigError`` naming where it came from; it never falls through to a
lower level.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from .errors import ConfigError

DEFAULTS: Dict[str, Any] = {
    "epochs": 10,
    "batch_size": 16,
    "learning_rate": 0.001,
    "imgsz": 640,
    "device": "cpu",
}

DEFAULT_INPUT_DIR = "/keynet/input"
DEFAULT_OUTPUT_DIR = "/keynet/output"
DEFAULT_EVENTS_PATH = "/keynet/events.jsonl"

# key -> (individual variable, legacy variable or None)
BASIC_SOURCES: Dict[str, Tuple[str, Optional[str]]] = {
    "epochs": ("EPOCHS", "CONFIG_EPOCHS"),
    "batch_size": ("BATCH_SIZE", "CONFIG_BATCH"),
    "learning_rate": ("LEARNING_RATE", "CONFIG_LR0"),
    "imgsz": ("IMGSZ", "CONFIG_IMGSZ"),
    "device": ("DEVICE", None),
}

_INT_RE = re.compile(r"^[+-]?\d+$")


def _env(environ: Optional[Mapping[str, str]]) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def _get(environ: Mapping[str, str], name: str) -> Optional[str]:
    value = environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value


# --- typed parsing -------------------------------------------------------------------


def _parse_int(source: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ConfigError(source, f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value):
            return int(value)
        raise ConfigError(source, f"expected an integer, got {value!r}")
    if isinstance(value, str) and _INT_RE.match(value.strip()):
        return int(value.strip())
    raise ConfigError(source, f"expected an integer, got {value!r}")


def _parse_float(source: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ConfigError(source, f"expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            raise ConfigError(source, f"expected a number, got {value!r}") from None
    else:
        raise ConfigError(source, f"expected a number, got {value!r}")
    if not math.isfinite(result):
        raise ConfigError(source, f"expected a finite number, got {value!r}")
    return result


def _parse_str(source: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ConfigError(source, f"expected a string, got {value!r}")
    result = str(value).strip()
    if not result:
        raise ConfigError(source, "must not be empty")
    return result


def _check_range(key: str, source: str, value: Any) -> Any:
    if key == "epochs" and value < 0:
        raise ConfigError(source, f"must be 0 or more, got {value}")
    if key == "imgsz" and value < 1:
        raise ConfigError(source, f"must be 1 or more, got {value}")
    if key == "batch_size" and value < 1 and value != -1:
        raise ConfigError(source, f"must be 1 or more (or -1 for automatic), got {value}")
    if key == "learning_rate" and value < 0:
        raise ConfigError(source, f"must not be negative, got {value}")
    return value


_PARSERS: Dict[str, Callable[[str, Any], Any]] = {
    "epochs": _parse_int,
    "batch_size": _parse_int,
    "learning_rate": _parse_float,
    "imgsz": _parse_int,
    "device": _parse_str,
}


# --- CONFIG JSON ---------------------------------------------------------------------


def get_config_json(environ: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """The ``CONFIG`` JSON object, ``{}`` when unset. Malformed JSON raises ``ConfigError``."""
    raw = _get(_env(environ), "CONFIG")
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ConfigError("CONFIG", f"not valid JSON ({exc})") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError("CONFIG", f"expected a JSON object, got {type(value).__name__}")
    return value


def _object_field(config: Mapping[str, Any], key: str, source: str) -> Dict[str, Any]:
    value = config.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(source, f"expected a JSON object, got {type(value).__name__}")
    return dict(value)


def get_basic_config(environ: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """``{"epochs": int, "batch_size": int, "learning_rate": float, "imgsz": int, "device": str}``."""
    env = _env(environ)
    config = get_config_json(env)
    nested = _object_field(config, "basic_config", "CONFIG.basic_config")
    result: Dict[str, Any] = {}
    for key, (variable, legacy) in BASIC_SOURCES.items():
        parse = _PARSERS[key]
        candidates = [(variable, _get(env, variable))]
        candidates.append((f"CONFIG.basic_config.{key}", nested.get(key)))
        candidates.append((f"CONFIG.{key}", config.get(key)))
        if legacy is not None:
            candidates.append((legacy, _get(env, legacy)))
        for source, raw in candidates:
            if raw is None:
                continue
            result[key] = _check_range(key, source, parse(source, raw))
            break
        else:
            result[key] = DEFAULTS[key]
    return result


def get_advanced_config(environ: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """``CONFIG["advanced_config"]``; the seed's ``ADVANCED_CONFIG`` JSON variable is the fallback."""
    env = _env(environ)
    config = get_config_json(env)
    if config.get("advanced_config") is not None:
        return _object_field(config, "advanced_config", "CONFIG.advanced_config")
    raw = _get(env, "ADVANCED_CONFIG")
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ConfigError("ADVANCED_CONFIG", f"not valid JSON ({exc})") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError("ADVANCED_CONFIG", "expected a JSON object")
    return value


def get_hyperparameters(environ: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """``CONFIG["hyperparameters"]`` (the same values also arrive as ``--name value`` flags; a
    switch, argparse ``store_true``, as a bare ``--name`` when true and not at all when false)."""
    config = get_config_json(environ)
    return _object_field(config, "hyperparameters", "CONFIG.hyperparameters")


def get_primary_metric(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """``CONFIG["primary_metric"]``, or ``None``."""
    value = get_config_json(environ).get("primary_metric")
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError("CONFIG.primary_metric", f"expected a string, got {value!r}")
    return value


def get_full_config(environ: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """Everything in one dict::

        {"basic_config": {...}, "advanced_config": {...},
         "hyperparameters": {...}, "primary_metric": str | None}
    """
    return {
        "basic_config": get_basic_config(environ),
        "advanced_config": get_advanced_config(environ),
        "hyperparameters": get_hyperparameters(environ),
        "primary_metric": get_primary_metric(environ),
    }


# --- job identity and folders ----------------------------------------------------------


def job_id(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    return _get(_env(environ), "JOB_ID")


def job_kind(environ: Optional[Mapping[str, str]] = None) -> str:
    """``training`` (the default when unset), ``inference``, ``export`` or ``validation``."""
    return _get(_env(environ), "JOB_KIND") or "training"


def task_type(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    value = _get(_env(environ), "TASK_TYPE")
    return value.strip().lower() if value else None


def framework(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    return _get(_env(environ), "FRAMEWORK")


def dataset_id(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    return _get(_env(environ), "DATASET_ID")


def model_name(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    return _get(_env(environ), "MODEL_NAME")


def input_dir(environ: Optional[Mapping[str, str]] = None) -> str:
    return _get(_env(environ), "KEYNET_INPUT_DIR") or DEFAULT_INPUT_DIR


def output_dir(environ: Optional[Mapping[str, str]] = None) -> str:
    return _get(_env(environ), "KEYNET_OUTPUT_DIR") or DEFAULT_OUTPUT_DIR


def events_path(environ: Optional[Mapping[str, str]] = None) -> str:
    return _get(_env(environ), "KEYNET_EVENTS") or DEFAULT_EVENTS_PATH


def callback(environ: Optional[Mapping[str, str]] = None) -> Optional[Tuple[str, str]]:
    """``(CALLBACK_URL, JOB_TOKEN)`` when both are set, else ``None``."""
    env = _env(environ)
    url, token = _get(env, "CALLBACK_URL"), _get(env, "JOB_TOKEN")
    if url and token:
        return url.strip(), token.strip()
    return None
