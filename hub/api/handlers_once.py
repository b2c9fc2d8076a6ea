"""Connexion's handler wrapping, built once per operation instead of per request.

Connexion 3.3 wraps a handler anew on every request. ``AsyncOperation.fn``
makes a new ``StarletteDecorator``, whose wrapper calls ``decorate`` (three
wrapper layers and ``inspect.signature`` of the handler) and builds the
operation's URI parser, then drops all of it when the request ends. None of
it depends on the request: the handler, the operation and the parameter
definitions are fixed when the API is added. Under the evidence load that
rebuilding was ~7 % of the event loop's time (py-spy, bench/RESULTS.md).

:func:`install`, run by :mod:`hub._patches` only for the connexion versions
it was written against, makes ``AsyncOperation.fn`` return one wrapper per
operation. The wrapper decorates the handler on first use and keeps the URI
parser of the operation it was built for; per request it does what
connexion's own wrapper does with them: build the request from the current
scope and receive channel, and call the decorated handler. Outside that
range connexion's own ``fn`` runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from connexion.apps.asynchronous import AsyncOperation
from connexion.context import operation, receive, scope
from connexion.decorators import StarletteDecorator

__all__ = ["PreparedHandler", "install"]

_ATTRIBUTE = "_hub_prepared_handler"


class PreparedHandler:
    """One operation's handler, decorated once, called per request."""

    def __init__(self, decorator: StarletteDecorator, function: Callable[..., Any]) -> None:
        self._decorator = decorator
        self._decorated = decorator.decorate(function)
        # The URI parser with the operation it was built for (connexion's
        # context names the operation being served; one route, one operation).
        self._parser: tuple[object, Any] | None = None

    async def __call__(self) -> Any:
        current = operation._get_current_object()
        kept = self._parser
        if kept is None or kept[0] is not current:
            kept = (current, self._decorator.uri_parser)
            self._parser = kept
        request = self._decorator.framework.get_request(
            uri_parser=kept[1], scope=scope, receive=receive
        )
        return await self._decorated(request)


def _prepared(self: AsyncOperation) -> Callable[[], Awaitable[Any]]:
    handler: PreparedHandler | None = getattr(self, _ATTRIBUTE, None)
    if handler is None:
        # Built on the event loop, where every request of the app is served,
        # so two requests cannot build it at once.
        decorator = StarletteDecorator(
            pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )
        handler = PreparedHandler(decorator, self._fn)
        setattr(self, _ATTRIBUTE, handler)
    return handler


def install() -> None:
    """Make connexion's ``AsyncOperation.fn`` one prepared handler per operation."""
    AsyncOperation.fn = property(_prepared)
