"""Structured JSON logging that never carries a personal identifier.

Application logs go to operators and log shippers, so they must never carry a
personal identifier: the hub logs masked references (``CitizenRef.masked()``),
never AFM, AMKA or names. Libraries do not know that rule — urllib3 logs the
whole URL of a registry answer it cannot parse (``/v1/owners/<afm>/…``),
fontTools logs glyph lists that follow the document text — so two defences
sit at the root, where every record passes whoever logged it:

* third-party loggers default to WARNING (only the hub's own loggers, ``hub``
  and ``adapters``, follow ``HUB_LOG_LEVEL``);
* :class:`RedactingFilter`, on every handler the hub or uvicorn installs,
  rewrites each record before it is formatted: 9- and 11-digit runs (the
  shapes of AFM and AMKA), query strings of URLs and percent-encoded path
  segments become ``[redacted]`` in the message, its arguments, the
  exception text and any extra field.

The request id travels in a context variable so every line logged while
serving a request carries it without threading it through.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.config
import re
import sys
from contextvars import ContextVar
from typing import Any

__all__ = [
    "REQUEST_ID",
    "JsonFormatter",
    "RedactingFilter",
    "configure_logging",
    "get_logger",
    "logging_config",
    "redact",
]

REQUEST_ID: ContextVar[str | None] = ContextVar("hub_request_id", default=None)

#: What replaces a redacted value.
REDACTED = "[redacted]"

# Attributes every LogRecord has; anything else passed in ``extra`` is a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

#: The hub's own loggers, which follow HUB_LOG_LEVEL; every other logger is a
#: library's and logs from WARNING up.
OWN_LOGGERS = ("hub", "adapters")

# An AFM has 9 digits, an AMKA 11; either may stand alone or inside a URL,
# a SOAP body or an exception text. Longer or shorter runs (timestamps, ports,
# byte counts) are left alone so the logs stay useful.
_IDENTIFIER = re.compile(r"(?<![0-9])(?:[0-9]{11}|[0-9]{9})(?![0-9])")
# A URL's query string may carry identifiers or names (``?afm=…&surname=…``).
_QUERY = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s?#'\"<>]*)\?[^\s#'\"<>)]*")
# Names in URL paths arrive percent-encoded (Greek letters): drop such segments.
_ENCODED_SEGMENT = re.compile(r"(?<=/)[^/\s?#'\"<>]*%[0-9A-Fa-f]{2}[^/\s?#'\"<>]*")


def redact(text: str) -> str:
    """``text`` with identifier-shaped values, URL queries and encoded segments removed."""
    text = _QUERY.sub(r"\1?" + REDACTED, text)
    text = _ENCODED_SEGMENT.sub(REDACTED, text)
    return _IDENTIFIER.sub(REDACTED, text)


def _redact_value(value: Any) -> Any:  # noqa: PLR0911 - one return per kind of value reads best
    """``value`` redacted, keeping its shape: numbers stay numbers, mappings mappings."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        # An integer can be an identifier too (an AFM parsed as a number).
        return REDACTED if redact(str(value)) != str(value) else value
    if isinstance(value, (bytes, bytearray)):
        return redact(bytes(value).decode("utf-8", "replace"))
    if isinstance(value, dict):
        return {redact(str(k)): _redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_redact_value(v) for v in value]
    return redact(str(value))


class RedactingFilter(logging.Filter):
    """Rewrites every record so that no identifier-shaped value leaves the process.

    The message is merged with its arguments first (a library may pass the
    identifier as an argument), the exception and stack texts are formatted
    and redacted here, so no formatter downstream can print the raw ones.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_hub_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # A library's broken format string must not lose the line.
            message = f"{record.msg!s} (unformattable arguments)"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and not key.startswith("_"):
                setattr(record, key, _redact_value(value))
        setattr(record, "_hub_redacted", True)  # noqa: B010 - not a LogRecord attribute
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
        return json.dumps(line, default=str, ensure_ascii=False)


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """The ``logging.config.dictConfig`` of the hub; uvicorn is given the same.

    One stderr handler with the JSON formatter and the redacting filter; the
    root (every library) at WARNING; the hub's loggers at ``level``.
    """
    quiet = {"level": "CRITICAL", "handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactingFilter}},
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": sys.stderr,
                "formatter": "json",
                "filters": ["redact"],
            }
        },
        "root": {"level": "WARNING", "handlers": ["stderr"]},
        "loggers": {
            **{name: {"level": level, "handlers": [], "propagate": True} for name in OWN_LOGGERS},
            # Connexion logs whole exceptions (with request data) at ERROR; the
            # hub logs its own structured line for every failure instead.
            "connexion": quiet,
            # uvicorn's access log would log paths; the hub logs each request once.
            "uvicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
            # uvicorn's own loggers keep the handlers this config gives the root.
            "uvicorn": {"level": "WARNING", "handlers": [], "propagate": True},
            "uvicorn.error": {"level": "WARNING", "handlers": [], "propagate": True},
        },
    }


def configure_logging(level: str = "INFO") -> None:
    """Send every logger's records, redacted, as JSON lines, to standard error.

    Handlers installed earlier by anyone (a library, a test runner) get the
    redacting filter too, so no route around it remains.
    """
    logging.config.dictConfig(logging_config(level))
    shield = RedactingFilter()
    known = logging.root.manager.loggerDict.values()
    loggers = [logging.getLogger(), *(x for x in known if isinstance(x, logging.Logger))]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(shield)


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)
