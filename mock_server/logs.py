"""Log lines of `serve`: the mock's, granian's and waitress's, one format, all on stderr.

`--log-format text` writes `time logger message`; `--log-format json` writes
one JSON object per line, whoever logs: `{"time", "level", "logger",
"message"}`, with an access line's fields (method, path, status...) in
place of "message", and any traceback as an "exception" string.
"""

from __future__ import annotations

import json
import logging
import logging.config
import sys
import threading
import time
from datetime import datetime, timezone
from types import TracebackType
from typing import Any

from .settings import Settings

TEXT_FORMAT = "%(asctime)s %(name)s %(message)s"
ACCESS_LOGGER = "apixo_mock.access"
# granian logs through these two (its Rust side as "_granian").
_GRANIAN_LOGGERS = ("_granian", "granian.access")


class TextFormatter(logging.Formatter):
    """`TEXT_FORMAT`, with the time text made once per second rather than once per line.

    `logging.Formatter` renders `asctime` with `localtime` and `strftime` on
    every record: the largest part of writing an access line.
    """

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)
        self._second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """`YYYY-MM-DD HH:MM:SS,mmm` in local time, as `logging.Formatter` writes it."""
        second = int(record.created)
        cached = self._second  # one tuple: threads swap it whole
        if cached[0] != second:
            cached = (second, time.strftime(self.default_time_format, self.converter(second)))
            self._second = cached
        return f"{cached[1]},{int(record.msecs):03d}"


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as `{"time", "level", "logger", "message"}` (access fields inlined)."""
        moment = datetime.fromtimestamp(record.created, tz=timezone.utc)
        entry: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        message = record.getMessage()
        fields = _json_object(message) if record.name == ACCESS_LOGGER else None
        entry.update(fields if fields is not None else {"message": message})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def dict_config(settings: Settings) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the whole process; granian's worker applies it too."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter} if settings.log_format == "json" else {"()": TextFormatter}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"apixo_mock": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "apixo_mock",
                "stream": "ext://sys.stderr",
            }
        },
        # granian's own loggers lose their stdout handlers and go through the root's.
        "loggers": {name: {"handlers": [], "propagate": True} for name in _GRANIAN_LOGGERS},
        "root": {"handlers": ["stderr"], "level": "INFO"},
    }


def configure_logging(settings: Settings) -> None:
    """Every log line in the chosen format on stderr; in JSON, uncaught errors and warnings too."""
    logging.config.dictConfig(dict_config(settings))
    # No format of `serve` shows a record's thread or process: skip looking them up per record.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    if settings.log_format == "json":
        logging.captureWarnings(True)
        sys.excepthook = _log_uncaught
        threading.excepthook = _log_thread_uncaught


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _log_uncaught(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    logging.getLogger("apixo_mock").critical("uncaught %s", kind.__name__, exc_info=error)


def _log_thread_uncaught(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or isinstance(args.exc_value, SystemExit):
        return
    name = args.thread.name if args.thread is not None else "?"
    logging.getLogger("apixo_mock").error(
        "uncaught %s in thread %s", args.exc_type.__name__, name, exc_info=args.exc_value
    )
