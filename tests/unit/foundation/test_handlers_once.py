"""Connexion handlers are wrapped once per operation, and each request still gets its own values."""

from __future__ import annotations

from typing import Any

import pytest
from connexion import AsyncApp
from connexion.apps.asynchronous import AsyncOperation
from connexion.decorators import parameter

from hub import _patches
from hub.api import handlers_once

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "probe", "version": "1"},
    "paths": {
        "/items/{item}": {
            "post": {
                "operationId": "tests.unit.foundation.test_handlers_once.echo",
                "parameters": [
                    {"name": "item", "in": "path", "required": True, "schema": {"type": "integer"}},
                    {"name": "tag", "in": "query", "schema": {"type": "string"}},
                ],
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": {"n": {"type": "integer"}}}
                        }
                    }
                },
                "responses": {"200": {"description": "echo"}},
            }
        },
        "/other": {
            "get": {
                "operationId": "tests.unit.foundation.test_handlers_once.other",
                "responses": {"200": {"description": "other"}},
            }
        },
    },
}


def echo(item: int, body: dict[str, Any], tag: str | None = None) -> dict[str, Any]:
    return {"item": item, "tag": tag, "n": body.get("n")}


def other() -> dict[str, str]:
    return {"other": "yes"}


def test_the_patch_is_in_place_for_the_locked_connexion() -> None:
    assert _patches.apply()["connexion-handler-once"] is True
    assert AsyncOperation.fn.fget is handlers_once._prepared


def test_each_request_gets_its_own_values_and_the_handler_is_inspected_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _patches.apply()
    inspected: list[str] = []
    real = parameter.inspect_function_arguments

    def counting(function: Any) -> Any:
        inspected.append(function.__name__)
        return real(function)

    monkeypatch.setattr(parameter, "inspect_function_arguments", counting)
    app = AsyncApp(__name__)
    app.add_api(SPEC)
    with app.test_client() as client:
        answers = [
            client.post(f"/items/{number}", params={"tag": f"t{number}"}, json={"n": number * 10})
            for number in range(1, 6)
        ]
        untagged = client.post("/items/9", json={})
        others = [client.get("/other") for _ in range(3)]
    assert [a.json() for a in answers] == [
        {"item": number, "tag": f"t{number}", "n": number * 10} for number in range(1, 6)
    ]
    assert untagged.json() == {"item": 9, "tag": None, "n": None}
    assert all(o.json() == {"other": "yes"} for o in others)
    # Connexion's own code inspected the handler on every request (9 here).
    assert sorted(inspected) == ["echo", "other"]
