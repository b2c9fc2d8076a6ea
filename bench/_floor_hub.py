"""The hub with a no-op evidence service: the floor of the evidence endpoint.

``python -m bench._floor_hub [--no-response-validation] serve`` serves the
hub's own app (``hub.app.create_app``: the same OpenAPI document, security
scheme and bearer function, request and response validation, middleware and
uvicorn configuration as ``python -m hub serve``), taking its settings from
the environment as the hub does, with one difference: the evidence service
answers every request with the answer it got for the first one. The first
request goes through the real service (registry call, access log, seal), so
the canned answer is a real, valid evidence answer; every later request
costs what the web stack, connexion's validation, the security check and
the handler's parsing and shaping cost, and nothing of the evidence itself.

With ``--no-response-validation`` connexion is told not to validate the
answers (only in this bench process, for one ``create_app``), to show what
that validation costs; the hub itself always validates them.

Nothing here changes the hub: the stand-in is put into a copy of the
:class:`~hub.services.Services` the hub builds.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn
from connexion import AsyncApp

from hub.app import HubApp, build_services, create_app
from hub.cli._http import server_config
from hub.config import Settings
from hub.logs import configure_logging
from hub.services import Services

__all__ = ["CannedEvidence", "floor_app", "main"]


class CannedEvidence:
    """Evidence that answers every request with the first real answer.

    ``answer`` may be given up front (tests); otherwise the first request is
    passed to ``real`` and its answer kept.
    """

    def __init__(self, real: Any, answer: Any = None) -> None:
        self._real = real
        self._lock = threading.Lock()
        self.answer = answer
        self.real_calls = 0

    def request(self, principal: Any, request: Any, request_id: str | None = None) -> Any:
        if self.answer is None:
            with self._lock:
                if self.answer is None:
                    self.real_calls += 1
                    self.answer = self._real.request(principal, request, request_id)
        return self.answer


@contextlib.contextmanager
def _responses_unvalidated() -> Iterator[None]:
    """For the duration: every ``AsyncApp.add_api`` is told not to validate responses."""
    own = AsyncApp.__dict__.get("add_api")  # None: inherited from connexion's AbstractApp
    original = AsyncApp.add_api

    def add_api(self: AsyncApp, *args: Any, **kwargs: Any) -> Any:
        kwargs["validate_responses"] = False
        return original(self, *args, **kwargs)

    AsyncApp.add_api = add_api
    try:
        yield
    finally:
        if own is None:
            del AsyncApp.add_api
        else:
            AsyncApp.add_api = own


def floor_app(
    services: Services, *, validate_responses: bool = True
) -> tuple[HubApp, CannedEvidence]:
    """The hub's app over ``services`` with the evidence service canned."""
    canned = CannedEvidence(services.evidence)
    floored = dataclasses.replace(services, evidence=canned)  # type: ignore[arg-type]
    with contextlib.nullcontext() if validate_responses else _responses_unvalidated():
        app = create_app(services=floored)
    return app, canned


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._floor_hub")
    parser.add_argument("--no-response-validation", action="store_true")
    parser.add_argument("command", choices=["serve"])
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    services = build_services(settings)
    try:
        app, _ = floor_app(services, validate_responses=not args.no_response_validation)
        uvicorn.Server(server_config(app, settings)).run()
    finally:
        services.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
