"""Structured JSON logging with the request id of the request being served.

Application logs go to operators and log shippers, so they must never carry a
personal identifier: log masked references (``CitizenRef.masked()``), never
AFM, AMKA or names. The request id travels in a context variable so every
line logged while serving a request carries it without threading it through.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from contextvars import ContextVar
from typing import Any

__all__ = ["REQUEST_ID", "JsonFormatter", "configure_logging", "get_logger"]

REQUEST_ID: ContextVar[str | None] = ContextVar("hub_request_id", default=None)

# Attributes every LogRecord has; anything else passed in ``extra`` is a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


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


def configure_logging(level: str = "INFO") -> None:
    """Send every logger's records, as JSON lines, to standard error."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Connexion logs whole exceptions (with request data) at ERROR; the hub
    # logs its own structured line for every failure instead.
    logging.getLogger("connexion").setLevel(logging.CRITICAL)
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # Registry URLs can carry identifiers (/v1/owners/{afm}/…); urllib3 and
    # zeep log URLs and bodies at DEBUG, so they never log below WARNING.
    for name in ("urllib3", "zeep", "requests"):
        logging.getLogger(name).setLevel(logging.WARNING)


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)
