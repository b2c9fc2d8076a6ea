"""Every word a page asks for exists in Greek and in English."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from adapters.sandbox.population import TAGS
from hub.consent.models import ConsentStatus, RequestStatus
from hub.domain.sealing.report import Status, SubIndication
from hub.web.i18n import _WORDS, has_words, translate

TEMPLATES = Path(__file__).resolve().parents[3] / "hub" / "web" / "templates"
SOURCES = TEMPLATES.parent
_LITERAL = re.compile(r"""\bt\(\s*["']([a-z0-9_.]+)["']\s*\)""")


def _used_keys() -> set[str]:
    keys: set[str] = set()
    for path in [*TEMPLATES.glob("*.html"), *SOURCES.glob("*.py")]:
        keys.update(_LITERAL.findall(path.read_text(encoding="utf-8")))
    # Keys a template names through a variable.
    keys.update({"err_401", "err_404", "err_422", "err_500", "signin_auditor_name"})
    return keys


def _dynamic_keys() -> set[str]:
    statuses = {
        *typing.get_args(ConsentStatus),
        *typing.get_args(RequestStatus),
        "valid",
        "revoked",
    }
    return {
        *(f"status_{s}" for s in statuses),
        *(f"verdict_{s}" for s in Status),
        *(f"verdict_{s}_text" for s in Status),
        *(f"tag_{t}" for t in TAGS),
        # Every failure the verifiers report has its own words but the catch-all.
        *(f"reason_{s}" for s in SubIndication if s is not SubIndication.GENERIC),
        "reason_generic",
    }


def test_templates_find_their_literal_keys() -> None:
    used = _used_keys()
    assert len(used) > 50, "the pattern no longer finds the keys the templates use"
    assert sorted(used - _WORDS.keys()) == []


def test_keys_built_from_domain_values_exist() -> None:
    assert sorted(_dynamic_keys() - _WORDS.keys()) == []


@pytest.mark.parametrize("key", sorted(_WORDS))
def test_every_key_has_two_real_texts(key: str) -> None:
    greek, english = _WORDS[key]
    assert greek.strip()
    assert english.strip()
    assert translate(key, "el") == greek
    assert translate(key, "en") == english


def test_greek_is_greek() -> None:
    greek_letters = re.compile("[α-ωΑ-Ωά-ώ]")
    not_greek = [
        k for k, (el, _en) in _WORDS.items() if not greek_letters.search(el) and k != "afm"
    ]
    # Only the language switch speaks the other language, on purpose.
    assert not_greek == ["switch_language", "switch_language_label"]


def test_an_unknown_key_shows_itself() -> None:
    assert translate("no_such_key", "el") == "no_such_key"
    assert not has_words("no_such_key")
    assert has_words("reason_generic")
