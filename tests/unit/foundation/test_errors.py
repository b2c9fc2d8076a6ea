from __future__ import annotations

import re

from hub import errors
from hub.errors import PROBLEM_BASE, ConsentRequired, HubError


def _leaves() -> list[type[HubError]]:
    return [
        obj for obj in vars(errors).values() if isinstance(obj, type) and issubclass(obj, HubError)
    ]


def test_every_error_has_a_distinct_stable_type() -> None:
    slugs = [cls.slug for cls in _leaves()]
    assert len(slugs) == len(set(slugs))
    for cls in _leaves():
        assert 400 <= cls.status <= 599
        assert cls().type_uri == PROBLEM_BASE + cls.slug


def test_problem_document_carries_rfc9457_members_and_extensions() -> None:
    problem = ConsentRequired(
        "ask the citizen", consent_request_url="/v1/consent-requests"
    ).to_problem("/v1/evidence")
    assert problem == {
        "type": PROBLEM_BASE + "consent-required",
        "title": "Consent required",
        "status": 403,
        "detail": "ask the citizen",
        "instance": "/v1/evidence",
        "consent_request_url": "/v1/consent-requests",
    }


def test_all_is_honest() -> None:
    exported = set(errors.__all__)
    assert {cls.__name__ for cls in _leaves()} <= exported
    for name in exported:
        assert hasattr(errors, name)


def test_every_error_speaks_greek_of_its_own() -> None:
    greek = re.compile("[α-ωΑ-Ωά-ώ]")
    for cls in _leaves():
        # Each leaf names itself; inheriting its parent's Greek would blur two problems.
        assert "title_el" in vars(cls), cls.__name__
        assert "detail_el" in vars(cls), cls.__name__
        assert greek.search(cls.title_el), cls.__name__
        assert greek.search(cls.detail_el), cls.__name__
    titles = [cls.title_el for cls in _leaves()]
    assert len(titles) == len(set(titles))


def test_a_greek_problem_keeps_its_type_and_extensions() -> None:
    error = ConsentRequired("ask the citizen", consent_request_url="/v1/consent-requests")
    problem = error.to_problem("/v1/evidence", "el")
    assert problem["type"] == PROBLEM_BASE + "consent-required"
    assert problem["title"] == "Χρειάζεται συγκατάθεση"
    assert problem["detail"] == ConsentRequired.detail_el
    assert problem["consent_request_url"] == "/v1/consent-requests"
    assert error.to_problem("/v1/evidence")["detail"] == "ask the citizen"
