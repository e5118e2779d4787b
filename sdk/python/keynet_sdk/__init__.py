"""Keynet trainer SDK: configuration, datasets and lifecycle events for trainer images.

Module-level functions act on a default ``Trainer`` made on first use from ``os.environ``;
make a ``Trainer`` (alias ``KeynetClient``) yourself for explicit control.
See README.md, and the trainer contract: docs/trainer-contract.md in the Keynet repository.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, List, Mapping, Optional

from .client import DEFAULT_LOG_BUFFER_SIZE, KeynetClient, Trainer
from .config import DEFAULTS
from .datasets import yolo_bbox
from .errors import ConfigError, DatasetError, KeynetError, TransportError
from .events import EVENT_KEY, LOG_LEVELS
from .log_handler import KeynetLogHandler, install_log_handler
from .runner import entrypoint, run_training
from .transport import FileTransport, HttpTransport, MemoryTransport, Transport

__version__ = "0.1.0"

_default: Optional[Trainer] = None
_default_lock = threading.Lock()


def get_client() -> Trainer:
    """The default client, made on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Trainer()
        return _default


def set_client(client: Optional[Trainer]) -> Optional[Trainer]:
    """Replace the default client (``None``: make a new one on next use); returns the old one.
    The old client's buffered logs are flushed."""
    global _default
    with _default_lock:
        old, _default = _default, client
    if old is not None and old is not client:
        old.close()
    return old


# --- configuration --------------------------------------------------------------------------


def get_basic_config() -> Dict[str, Any]:
    return get_client().get_basic_config()


def get_advanced_config() -> Dict[str, Any]:
    return get_client().get_advanced_config()


def get_hyperparameters() -> Dict[str, Any]:
    return get_client().get_hyperparameters()


def get_full_config() -> Dict[str, Any]:
    return get_client().get_full_config()


def primary_metric() -> Optional[str]:
    return get_client().primary_metric


def job_id() -> Optional[str]:
    return get_client().job_id


def job_kind() -> str:
    return get_client().job_kind


def task_type() -> Optional[str]:
    return get_client().task_type


def framework() -> Optional[str]:
    return get_client().framework


def dataset_id() -> Optional[str]:
    return get_client().dataset_id


def model_name() -> Optional[str]:
    return get_client().model_name


# --- folders and datasets -----------------------------------------------------------------


def input_dir() -> str:
    return get_client().input_dir()


def dataset_dir() -> str:
    return get_client().dataset_dir()


def output_dir() -> str:
    return get_client().output_dir()


def load_annotations(task_type: Optional[str] = None) -> Dict[str, Any]:
    return get_client().load_annotations(task_type)


def load_splits() -> Dict[str, List[str]]:
    return get_client().load_splits()


def create_data_yaml(out_dir: str, link: bool = True) -> str:
    return get_client().create_data_yaml(out_dir, link=link)


def to_image_folder(out_dir: str, link: bool = True) -> str:
    return get_client().to_image_folder(out_dir, link=link)


# --- events ---------------------------------------------------------------------------------


def report_started(total_epochs: int) -> Dict[str, Any]:
    return get_client().report_started(total_epochs)


def report_progress(
    epoch: int,
    total_epochs: int,
    metrics: Optional[Mapping[str, Any]] = None,
    step: Optional[int] = None,
) -> Dict[str, Any]:
    return get_client().report_progress(epoch, total_epochs, metrics, step)


def report_completed(
    best_epoch: int,
    best_metric: str,
    best_metric_value: Any,
    final_metrics: Optional[Mapping[str, Any]] = None,
) -> Dict[str, Any]:
    return get_client().report_completed(best_epoch, best_metric, best_metric_value, final_metrics)


def report_failed(error_type: str, message: str, traceback: Optional[str] = None) -> Dict[str, Any]:
    return get_client().report_failed(error_type, message, traceback)


def report_inference_completed(results_path: str) -> Dict[str, Any]:
    return get_client().report_inference_completed(results_path)


def report_export_completed(
    format: str, path: str, metadata: Optional[Mapping[str, Any]] = None
) -> Dict[str, Any]:
    return get_client().report_export_completed(format, path, metadata)


def upload_checkpoint(
    path: str,
    type: str = "best",
    epoch: Optional[int] = None,
    metrics: Optional[Mapping[str, Any]] = None,
) -> Dict[str, Any]:
    return get_client().upload_checkpoint(path, type, epoch, metrics)


def log(level: str, message: str, metadata: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    return get_client().log(level, message, metadata)


def log_debug(message: str, metadata: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    return get_client().log_debug(message, metadata)


def log_info(message: str, metadata: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    return get_client().log_info(message, metadata)


def log_warning(message: str, metadata: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    return get_client().log_warning(message, metadata)


def log_error(message: str, metadata: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    return get_client().log_error(message, metadata)


def flush_logs() -> None:
    get_client().flush_logs()


__all__ = [
    "ConfigError",
    "DEFAULTS",
    "DEFAULT_LOG_BUFFER_SIZE",
    "DatasetError",
    "EVENT_KEY",
    "FileTransport",
    "HttpTransport",
    "KeynetClient",
    "KeynetError",
    "KeynetLogHandler",
    "LOG_LEVELS",
    "MemoryTransport",
    "Trainer",
    "Transport",
    "TransportError",
    "create_data_yaml",
    "dataset_dir",
    "dataset_id",
    "entrypoint",
    "flush_logs",
    "framework",
    "get_advanced_config",
    "get_basic_config",
    "get_client",
    "get_full_config",
    "get_hyperparameters",
    "input_dir",
    "install_log_handler",
    "job_id",
    "job_kind",
    "load_annotations",
    "load_splits",
    "log",
    "log_debug",
    "log_error",
    "log_info",
    "log_warning",
    "model_name",
    "output_dir",
    "primary_metric",
    "report_completed",
    "report_export_completed",
    "report_failed",
    "report_inference_completed",
    "report_progress",
    "report_started",
    "run_training",
    "set_client",
    "task_type",
    "to_image_folder",
    "upload_checkpoint",
    "yolo_bbox",
]
