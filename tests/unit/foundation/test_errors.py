from __future__ import annotations

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
