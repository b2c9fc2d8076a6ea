"""Factories for test data the suites build again and again.

A test names only what its check depends on; the factory fills in the rest
with values that vary by a counter, so a log built from them has several
agencies, actions, outcomes and citizens to search and count by.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hub.domain.auditlog.entry import AccessEntry, Actor

__all__ = ["T0", "access_entry"]

#: When the factories' logs begin.
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def access_entry(
    i: int,
    *,
    start: dt.datetime = T0,
    step: dt.timedelta = dt.timedelta(minutes=1),
    agency: str | None = None,
    **fields: Any,
) -> AccessEntry:
    """Entry ``i`` of a varied access log; any field of ``AccessEntry`` can be given.

    By default: three agencies in turn, evidence requests and consent grants
    alternating, one in five denied, four citizens, one official per entry.
    """
    values: dict[str, Any] = {
        "time": start + step * i,
        "actor": Actor("agency", agency or f"agency-{i % 3}", official=f"official-{i}"),
        "action": "evidence.request" if i % 2 else "consent.grant",
        "outcome": "denied" if i % 5 == 0 else "granted",
        "subject": f"afm:{100000000 + i % 4}",
        "evidence_type": "tax-clearance",
        "purpose": "benefit" if i % 2 else "housing",
        "request_id": f"req-{i}",
    }
    values.update(fields)
    return AccessEntry(**values)
