"""Spending a one-time consent is part of the consent gate's type.

Before, the evidence service spent a consent only if its gate happened to
be a ``ConsentLedger`` (checked with ``isinstance`` at run time), so a gate
without ``record_use`` type-checked and let a one-time consent serve many
requests. ``record_use`` is now a member of ``ConsentGate`` itself: mypy
refuses such a gate, and the service always calls it.
"""

from __future__ import annotations

from pathlib import Path

from mypy import api as mypy_api

ROOT = Path(__file__).resolve().parents[3]

_GATE_WITHOUT_RECORD_USE = """
from hub.domain.catalog import Purpose
from hub.evidence.service import ConsentGate, EvidenceService
from hub.domain.identity import CitizenRef


class AuthoriseOnly:
    def authorise(
        self,
        *,
        agency_id: str,
        purpose: Purpose,
        evidence_type: str,
        citizen: CitizenRef,
        consent_id: str | None,
    ) -> str:
        return "consent-1"


gate: ConsentGate = AuthoriseOnly()
"""


def test_a_gate_that_cannot_spend_a_consent_does_not_type_check(tmp_path: Path) -> None:
    source = tmp_path / "gate_without_record_use.py"
    source.write_text(_GATE_WITHOUT_RECORD_USE)
    out, err, status = mypy_api.run(
        [
            "--strict",
            "--no-incremental",
            "--follow-imports=silent",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            str(source),
        ]
    )
    assert status == 1, out + err
    assert "record_use" in out, out
