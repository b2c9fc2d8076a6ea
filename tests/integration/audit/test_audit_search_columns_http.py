"""Issue 12 §2, replayed over real HTTP: an edited search column hides an access.

OPEKA asks for a citizen's evidence; the access shows in the citizen's own
``/v1/me/access-log`` and in the auditor's ``/v1/audit/entries?agency=opeka``.
Then one SQL statement rewrites the ``subject`` (and, in a second attack,
the ``actor_id``) search column of that entry: the access vanishes from both
views, since they search those columns. ``hub audit verify`` must fail and
name the index and the column; on main it said ``ok``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from hub.app import Services, build_services, create_app
from hub.cli import audit as audit_cli
from hub.config import Settings
from hub.persistence import migrate
from tests.common.clients import agency_token, post_evidence
from tests.common.server import free_port, serve


@dataclass
class Hub:
    url: str
    services: Services
    settings: Settings

    def get(self, path: str, token: str, **params: Any) -> dict[str, Any]:
        response = requests.get(
            self.url + path,
            headers={"Authorization": f"Bearer {token}"},
            params=params,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def hub(settings: Settings) -> Iterator[Hub]:
    port = free_port()
    settings = replace(settings, port=port, public_url=f"http://127.0.0.1:{port}")
    services = build_services(settings)
    migrate.upgrade(services.db)
    with serve(create_app(services=services), port=port) as url:
        yield Hub(url, services, settings)
    services.close()


def hub_audit_verify(settings: Settings) -> int:
    parser = argparse.ArgumentParser(prog="hub")
    audit_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["audit", "verify"])
    code: int = args.run(args, settings)
    return code


@pytest.mark.parametrize(("column", "forged"), [("subject", "afm:000000000"), ("actor_id", "efka")])
def test_an_edited_search_column_is_caught_by_verify(
    hub: Hub,
    keys_dir: Path,
    citizens: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    column: str,
    forged: str,
) -> None:
    citizen = next(c for c in citizens if not c.get("deceased"))
    response = post_evidence(
        hub.url,
        agency_token(hub.url, keys_dir, "opeka"),
        {
            "citizen": {"afm": citizen["afm"]},
            "evidence_type": "family-status",
            "purpose": "social-benefit-eligibility",
        },
    )
    assert response.status_code == 200, response.text
    index = response.json()["log_index"]
    tokens = hub.services.tokens
    mine = tokens.issue_citizen(citizen["afm"], citizen["amka"], citizen["name"]).access_token
    auditor = tokens.issue_auditor("dpa-inspector").access_token

    def seen() -> tuple[bool, bool]:
        own = hub.get("/v1/me/access-log", mine)["items"]
        searched = hub.get("/v1/audit/entries", auditor, agency="opeka")["items"]
        return (
            any(item.get("index") == index for item in own),
            any(item["index"] == index for item in searched),
        )

    assert seen() == (True, True)
    assert hub_audit_verify(hub.settings) == 0
    capsys.readouterr()

    with hub.services.db.session() as session:
        session.execute(
            sa.text(f"UPDATE audit_entries SET {column} = :v WHERE idx = :i"),  # noqa: S608
            {"v": forged, "i": index},
        )
    # The attack works on the views that read the column ...
    assert False in seen()
    # ... and verify catches and locates it.
    assert hub_audit_verify(hub.settings) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"FAILED: altered at index {index}: column {column} differs from its entry"
    ]
