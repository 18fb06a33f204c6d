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
        return self._time_text(record.created, record.msecs)

    def plain_line(self, name: str, message: str, created: float) -> str:
        """What `format` writes for a record of `name` without traceback, made at `created`."""
        return f"{self._time_text(created, _msecs(created))} {name} {message}"

    def _time_text(self, created: float, msecs: float) -> str:
        second = int(created)
        cached = self._second  # one tuple: threads swap it whole
        if cached[0] != second:
            cached = (second, time.strftime(self.default_time_format, self.converter(second)))
            self._second = cached
        return f"{cached[1]},{int(msecs):03d}"


def _msecs(created: float) -> float:
    """A record's `msecs` for its `created`, as `logging.LogRecord` works it out."""
    return int((created - int(created)) * 1000) + 0.0


class AccessHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """`serve`'s handler of access lines, which also takes a line without a `LogRecord`.

    Building a record and passing it down the logger tree cost more than the
    rest of the line; the request recorder hands the line here directly when
    this is the access logger's only handler (`emit_line`), and to logging
    otherwise (tests capturing records, other configurations).
    """

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        made = logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 0, "", (), None, "_record")
        self._template = dict(made.__dict__)

    def emit_line(self, line: str, created: float | None = None) -> None:
        """Write `line` as logging would write it, logged at INFO by the access logger.

        `created` is when (Unix seconds; default now). The text format is
        written without a record at all.
        """
        moment = time.time() if created is None else created
        formatter = self.formatter
        if isinstance(formatter, TextFormatter):
            text = formatter.plain_line(ACCESS_LOGGER, line, moment)
            with self.lock:  # type: ignore[union-attr]
                try:
                    self.stream.write(text + self.terminator)
                    self.flush()
                except Exception:  # as logging.StreamHandler.emit does
                    self.handleError(self._record(line, moment))
            return
        with self.lock:  # type: ignore[union-attr]
            self.emit(self._record(line, moment))

    def _record(self, line: str, created: float) -> logging.LogRecord:
        """A record of `line` without `LogRecord.__init__`'s lookups (thread, process, caller)."""
        record = logging.LogRecord.__new__(logging.LogRecord)
        record.__dict__.update(self._template)
        record.msg = line
        record.created = created
        record.msecs = _msecs(created)
        return record


def direct_access_handler(logger: logging.Logger) -> AccessHandler | None:
    """The handler taking lines directly, if it is the only place `logger`'s records go."""
    if logger.propagate or logger.filters or len(logger.handlers) != 1:
        return None
    handler = logger.handlers[0]
    if isinstance(handler, AccessHandler) and not handler.filters and handler.level <= logging.INFO:
        return handler
    return None


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
            },
            "access": {
                "()": AccessHandler,
                "formatter": "apixo_mock",
                "stream": "ext://sys.stderr",
            },
        },
        "loggers": {
            # granian's own loggers lose their stdout handlers and go through the root's.
            **{name: {"handlers": [], "propagate": True} for name in _GRANIAN_LOGGERS},
            ACCESS_LOGGER: {"handlers": ["access"], "propagate": False},
        },
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
