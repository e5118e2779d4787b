"""``Trainer``: configuration, datasets and event reporting for one job process."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import threading
from typing import Any, Dict, List, Mapping, Optional

from . import config as _config
from . import datasets as _datasets
from . import events as _events
from .events import SeqCounter, timestamp
from .transport import Event, Transport, transport_from_env

DEFAULT_LOG_BUFFER_SIZE = 50


class Trainer:
    """Everything a trainer needs, bound to one environment and one transport.

    ``environ`` defaults to the live ``os.environ``; ``transport`` defaults to the one the
    environment selects (HTTP when ``CALLBACK_URL`` and ``JOB_TOKEN`` are set, else the
    ``$KEYNET_EVENTS`` file), made on the first event.

    Log events are buffered (up to ``log_buffer_size``) and sent as one batch; an ERROR log
    and every other event first flush the buffer and go out with it at once, so batches
    always arrive in ``seq`` order. Remaining logs are flushed at interpreter exit.
    """

    def __init__(
        self,
        environ: Optional[Mapping[str, str]] = None,
        transport: Optional[Transport] = None,
        log_buffer_size: int = DEFAULT_LOG_BUFFER_SIZE,
        echo_logs: bool = True,
        register_atexit: bool = True,
    ) -> None:
        if log_buffer_size < 1:
            raise ValueError("log_buffer_size must be at least 1")
        self._environ = environ
        self._transport = transport
        self.log_buffer_size = log_buffer_size
        self.echo_logs = echo_logs
        self._buffer: List[Event] = []
        self._lock = threading.RLock()
        self._seq = SeqCounter()
        self._seq_ready = False
        self._sent: List[str] = []
        self._atexit_registered = False
        if register_atexit:
            atexit.register(self._flush_at_exit)
            self._atexit_registered = True

    # --- configuration -------------------------------------------------------------------

    @property
    def environ(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def get_basic_config(self) -> Dict[str, Any]:
        return _config.get_basic_config(self.environ)

    def get_advanced_config(self) -> Dict[str, Any]:
        return _config.get_advanced_config(self.environ)

    def get_hyperparameters(self) -> Dict[str, Any]:
        return _config.get_hyperparameters(self.environ)

    def get_full_config(self) -> Dict[str, Any]:
        return _config.get_full_config(self.environ)

    @property
    def primary_metric(self) -> Optional[str]:
        return _config.get_primary_metric(self.environ)

    @property
    def job_id(self) -> Optional[str]:
        return _config.job_id(self.environ)

    @property
    def job_kind(self) -> str:
        return _config.job_kind(self.environ)

    @property
    def task_type(self) -> Optional[str]:
        return _config.task_type(self.environ)

    @property
    def framework(self) -> Optional[str]:
        return _config.framework(self.environ)

    @property
    def dataset_id(self) -> Optional[str]:
        return _config.dataset_id(self.environ)

    @property
    def model_name(self) -> Optional[str]:
        return _config.model_name(self.environ)

    # --- folders and datasets --------------------------------------------------------------

    def input_dir(self) -> str:
        return _config.input_dir(self.environ)

    def dataset_dir(self) -> str:
        return os.path.join(self.input_dir(), "dataset")

    def output_dir(self) -> str:
        """``$KEYNET_OUTPUT_DIR`` (default ``/keynet/output``), created when missing."""
        path = _config.output_dir(self.environ)
        os.makedirs(path, exist_ok=True)
        return path

    def load_annotations(self, task_type: Optional[str] = None) -> Dict[str, Any]:
        return _datasets.load_annotations(self.dataset_dir(), task_type or self.task_type)

    def load_splits(self) -> Dict[str, List[str]]:
        return _datasets.load_splits(self.dataset_dir())

    def create_data_yaml(self, out_dir: str, link: bool = True) -> str:
        return _datasets.create_data_yaml(self.dataset_dir(), out_dir, self.task_type, link=link)

    def to_image_folder(self, out_dir: str, link: bool = True) -> str:
        return _datasets.to_image_folder(
            self.dataset_dir(), out_dir, self.task_type or "classification", link=link
        )

    # --- emitting --------------------------------------------------------------------------

    @property
    def transport(self) -> Transport:
        with self._lock:
            if self._transport is None:
                self._transport = transport_from_env(self.environ)
            return self._transport

    @property
    def sent_events(self) -> List[str]:
        """Names of the non-log events emitted so far, in order."""
        with self._lock:
            return list(self._sent)

    def emit(self, name: str, body: Mapping[str, Any]) -> Event:
        """Stamp an event with ``event``, ``seq`` and ``ts`` and deliver it (buffering logs)."""
        if name not in _events.EVENT_NAMES:
            raise ValueError(f"unknown event {name!r}")
        with self._lock:
            transport = self.transport
            if not self._seq_ready:
                self._seq.advance_past(transport.last_seq())
                self._seq_ready = True
            event: Event = {_events.EVENT_KEY: name, "seq": self._seq.next(), "ts": timestamp()}
            event.update(body)
            if name == _events.LOG and event["level"] != "ERROR":
                self._buffer.append(event)
                if len(self._buffer) >= self.log_buffer_size:
                    self._flush_locked()
                return event
            batch, self._buffer = self._buffer + [event], []
            transport.send(batch)
            if name != _events.LOG:
                self._sent.append(name)
            return event

    def _flush_locked(self) -> None:
        if self._buffer:
            batch, self._buffer = self._buffer, []
            self.transport.send(batch)

    def flush_logs(self) -> None:
        """Send buffered log lines now."""
        with self._lock:
            self._flush_locked()

    def close(self) -> None:
        """Flush and stop flushing at exit (for explicitly made clients)."""
        self.flush_logs()
        if self._atexit_registered:
            atexit.unregister(self._flush_at_exit)
            self._atexit_registered = False

    def _flush_at_exit(self) -> None:
        try:
            self.flush_logs()
        except Exception as exc:  # never mask the process's own exit status
            print(f"[keynet] could not flush logs at exit: {exc}", file=sys.stderr)

    # --- lifecycle --------------------------------------------------------------------------

    def report_started(self, total_epochs: int) -> Event:
        return self.emit(_events.STARTED, _events.started(total_epochs))

    def report_progress(
        self,
        epoch: int,
        total_epochs: int,
        metrics: Optional[Mapping[str, Any]] = None,
        step: Optional[int] = None,
    ) -> Event:
        return self.emit(_events.PROGRESS, _events.progress(epoch, total_epochs, metrics, step))

    def report_completed(
        self,
        best_epoch: int,
        best_metric: str,
        best_metric_value: Any,
        final_metrics: Optional[Mapping[str, Any]] = None,
    ) -> Event:
        return self.emit(
            _events.COMPLETED,
            _events.completed(best_epoch, best_metric, best_metric_value, final_metrics),
        )

    def report_failed(self, error_type: str, message: str, traceback: Optional[str] = None) -> Event:
        return self.emit(_events.FAILED, _events.failed(error_type, message, traceback))

    def report_inference_completed(self, results_path: str) -> Event:
        """``results_path`` (file or folder) is placed under the output folder if it is not
        there yet; the event carries it relative to the output folder."""
        relative = self._in_output_dir(results_path)
        return self.emit(_events.INFERENCE_COMPLETED, _events.inference_completed(relative))

    def report_export_completed(
        self, format: str, path: str, metadata: Optional[Mapping[str, Any]] = None
    ) -> Event:
        """Like ``report_inference_completed``, ``path`` ends up relative to the output folder."""
        relative = self._in_output_dir(path)
        return self.emit(_events.EXPORT_COMPLETED, _events.export_completed(format, relative, metadata))

    def upload_checkpoint(
        self,
        path: str,
        type: str = "best",
        epoch: Optional[int] = None,
        metrics: Optional[Mapping[str, Any]] = None,
    ) -> Event:
        """Emit a ``checkpoint`` event for ``path``.

        The platform uploads checkpoints from the output folder: a file outside it is first
        copied to ``<output>/<type><suffix>`` (``best.pt``, ``last.pt`` …). The event's
        ``path`` is relative to the output folder.
        """
        if type not in _events.CHECKPOINT_TYPES:
            raise ValueError(f"checkpoint type must be 'best' or 'last', got {type!r}")
        if epoch is None:
            raise TypeError("upload_checkpoint() needs the epoch")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"checkpoint {path} does not exist")
        suffix = os.path.splitext(os.fspath(path))[1]
        relative = self._in_output_dir(path, copy_name=f"{type}{suffix}")
        return self.emit(_events.CHECKPOINT, _events.checkpoint(relative, type, epoch, metrics))

    def _in_output_dir(self, path: str, copy_name: Optional[str] = None) -> str:
        """``path`` relative to the output folder, copying it there first when it is outside."""
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path} does not exist")
        out = os.path.realpath(self.output_dir())
        real = os.path.realpath(path)
        if os.path.commonpath([out, real]) != out:
            dest = os.path.join(out, copy_name or os.path.basename(real.rstrip(os.sep)))
            _copy_atomically(real, dest)
            real = dest
        relative = os.path.relpath(real, out).replace(os.sep, "/")
        if relative == ".":
            raise ValueError(f"{path} is the output folder itself; name a file or folder inside it")
        return relative

    def run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """``run_training`` with this client: see ``keynet_sdk.runner.run_training``."""
        from .runner import run_with_client

        return run_with_client(self, fn, args, kwargs)

    # --- logs -------------------------------------------------------------------------------

    def log(self, level: str, message: str, metadata: Optional[Mapping[str, Any]] = None) -> Event:
        return self._log(level, message, metadata, echo=self.echo_logs)

    def _log(self, level: str, message: str, metadata: Optional[Mapping[str, Any]], echo: bool) -> Event:
        body = _events.log(level, message, metadata)
        if echo:
            print(f"[keynet] {body['level']} {body['message']}", file=sys.stderr, flush=True)
        return self.emit(_events.LOG, body)

    def log_debug(self, message: str, metadata: Optional[Mapping[str, Any]] = None) -> Event:
        return self.log("DEBUG", message, metadata)

    def log_info(self, message: str, metadata: Optional[Mapping[str, Any]] = None) -> Event:
        return self.log("INFO", message, metadata)

    def log_warning(self, message: str, metadata: Optional[Mapping[str, Any]] = None) -> Event:
        return self.log("WARNING", message, metadata)

    def log_error(self, message: str, metadata: Optional[Mapping[str, Any]] = None) -> Event:
        return self.log("ERROR", message, metadata)


KeynetClient = Trainer


def _copy_atomically(source: str, dest: str) -> None:
    """Copy a file or folder to ``dest`` through a temporary name, replacing what was there."""
    parent = os.path.dirname(dest)
    os.makedirs(parent, exist_ok=True)
    if os.path.isdir(source):
        staging = tempfile.mkdtemp(prefix=".keynet-", dir=parent)
        os.rmdir(staging)
        shutil.copytree(source, staging)
        if os.path.lexists(dest):
            if os.path.isdir(dest) and not os.path.islink(dest):
                shutil.rmtree(dest)
            else:
                os.remove(dest)
        os.replace(staging, dest)
        return
    fd, staging = tempfile.mkstemp(prefix=".keynet-", dir=parent)
    os.close(fd)
    try:
        shutil.copy2(source, staging)
        if os.path.isdir(dest) and not os.path.islink(dest):
            shutil.rmtree(dest)
        os.replace(staging, dest)
    except BaseException:
        if os.path.exists(staging):
            os.remove(staging)
        raise
