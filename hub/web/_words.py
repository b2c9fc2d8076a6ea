"""The catalogue's codes as people read them, and moments as people expect them.

The hub keeps codes (``opeka``, ``evidence.request``, ``consent-required``,
``M``) because machines and the access log need stable values. People need
words: the catalogue (specs/catalog) carries them in Greek and English, and
:class:`Words` looks them up for one page's language. A code the catalogue
does not name is shown with its section's generic words, never as it is, so
a new code never puts an internal name or an English word on a Greek page.

Moments are shown in Athens time with the zone named, because a verifier
abroad reads the page too; calendar dates (a birth date, a consent's last
day) as Greek readers write them, 31/12/2026, and in English as 31 Dec 2026.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Final
from zoneinfo import ZoneInfo

from hub.domain.catalog import Catalog, Labels
from hub.web.i18n import Language, translate

__all__ = ["ATHENS", "Words", "day", "moment", "parse_day"]

#: The hub's civil time. The ``tzdata`` dependency supplies the zone where the
#: system has no zone files (slim containers), so this never falls back to UTC.
ATHENS: Final[dt.tzinfo] = ZoneInfo("Europe/Athens")

_MONTHS_EN: Final = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip
_ISO_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_GREEK_DATE: Final = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


def _as_moment(value: Any) -> dt.datetime | dt.date | None:
    if isinstance(value, dt.datetime | dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            if _ISO_DATE.match(value):
                return dt.date.fromisoformat(value)
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _offset(local: dt.datetime) -> str:
    """``UTC+2``, ``UTC+3``: the offset as people write it."""
    delta = local.utcoffset() or dt.timedelta(0)
    hours, rest = divmod(int(delta.total_seconds()), 3600)
    minutes = rest // 60
    return f"UTC{hours:+d}" + (f":{minutes:02d}" if minutes else "")


def day(value: Any, language: Language) -> str:
    """A calendar date: ``31/12/2026`` in Greek, ``31 Dec 2026`` in English."""
    found = _as_moment(value)
    if found is None:
        return "—" if value in (None, "") else str(value)
    if isinstance(found, dt.datetime):
        aware = found if found.tzinfo else found.replace(tzinfo=dt.UTC)
        found = aware.astimezone(ATHENS).date()
    if language == "el":
        return found.strftime("%d/%m/%Y")
    return f"{found.day} {_MONTHS_EN[found.month - 1]} {found.year}"


def moment(value: Any, language: Language) -> str:
    """A moment in Athens time with the zone named: ``31/12/2026 14:05 (ώρα Ελλάδας, UTC+2)``."""
    found = _as_moment(value)
    if found is None:
        return "—" if value in (None, "") else str(value)
    if not isinstance(found, dt.datetime):
        return day(found, language)
    aware = found if found.tzinfo else found.replace(tzinfo=dt.UTC)
    local = aware.astimezone(ATHENS)
    zone = translate("athens_time", language)
    return f"{day(local.date(), language)}, {local:%H:%M} ({zone}, {_offset(local)})"


def parse_day(text: str) -> dt.date | None:
    """A date as a person types it: ``31/12/2026`` (also ``31.12.2026``) or ``2026-12-31``."""
    value = text.strip()
    try:
        if _ISO_DATE.match(value):
            return dt.date.fromisoformat(value)
        found = _GREEK_DATE.match(value)
        if found:
            return dt.date(int(found.group(3)), int(found.group(2)), int(found.group(1)))
    except ValueError:
        return None
    return None


class Words:
    """The catalogue's words in one language, for one page."""

    def __init__(self, catalog: Catalog, language: Language) -> None:
        self.catalog = catalog
        self.language = language

    def translate(self, key: str) -> str:
        """One of the page's own messages (hub/web/i18n.py)."""
        return translate(key, self.language)

    def pick(self, labels: Labels) -> str:
        return labels[0] if self.language == "el" else labels[1]

    def term(self, section: str, code: str | None) -> str:
        """A code of a vocabulary section (actions, outcomes, reasons, ...) as words."""
        words = self.catalog.vocabulary.get(section, {})
        found = words.get(code or "") or words.get("_other")
        return self.pick(found) if found else translate("unnamed", self.language)

    def agency(self, agency_id: str | None) -> str:
        agency = self.catalog.agencies.get(agency_id or "")
        if agency is None:
            return self.term("actors", "agency")
        return self.pick(agency.labels) if agency.labels else agency.name

    def purpose(self, purpose_id: str | None) -> str:
        if not purpose_id:
            return "—"
        purpose = self.catalog.purposes.get(purpose_id)
        if purpose is not None and purpose.labels:
            return self.pick(purpose.labels)
        if purpose_id == "holder-request":
            return self.term("legal_bases", purpose_id)
        return translate("purpose_other", self.language)

    def legal_basis(self, basis: str | None, purpose_id: str | None = None) -> str:
        """The basis as words: a purpose's law by its labels, others by the vocabulary."""
        if not basis:
            return "—"
        purpose = self.catalog.purposes.get(purpose_id or "")
        if purpose is not None and purpose.legal_basis == basis and purpose.legal_basis_labels:
            return self.pick(purpose.legal_basis_labels)
        for known in self.catalog.purposes.values():
            if known.legal_basis == basis and known.legal_basis_labels:
                return self.pick(known.legal_basis_labels)
        return self.term("legal_bases", basis)

    def evidence_type(self, evidence_type: str | None) -> str:
        found = self.catalog.evidence_types.get(evidence_type or "")
        if found is None:
            return "—" if not evidence_type else translate("type_other", self.language)
        return found.title_el if self.language == "el" else found.title_en

    def field(self, evidence_type: str | None, name: str) -> str:
        """A field's label; ``type.field`` (as consents log them) names the type too."""
        kind, dot, rest = name.partition(".")
        if dot and kind in self.catalog.evidence_types:
            return f"{self.field(kind, rest)} ({self.evidence_type(kind)})"
        found = self.catalog.evidence_types.get(evidence_type or "")
        labels = found.labels.get(name) if found else None
        if labels is None:
            # A field of another type of the same name (a relative's given name).
            labels = next(
                (t.labels[name] for t in self.catalog.evidence_types.values() if name in t.labels),
                None,
            )
        return self.pick(labels) if labels else translate("field_other", self.language)

    def value(self, evidence_type: str, name: str, value: Any) -> str | list[str]:
        """An evidence value as a person reads it; a list of records becomes lines."""
        if isinstance(value, list):
            return [self._item(evidence_type, name, item) for item in value] or ["—"]
        if isinstance(value, dict):
            return self._record(evidence_type, value)
        return self._scalar(evidence_type, name, value)

    def _item(self, evidence_type: str, name: str, item: Any) -> str:
        if isinstance(item, dict):
            return self._record(evidence_type, item)
        return self._scalar(evidence_type, name, item)

    def _record(self, evidence_type: str, record: Mapping[str, Any]) -> str:
        return " · ".join(
            f"{self.field(evidence_type, k)}: {self._nested(evidence_type, k, v)}"
            for k, v in record.items()
        )

    def _nested(self, evidence_type: str, name: str, value: Any) -> str:
        shown = self.value(evidence_type, name, value)
        return ", ".join(shown) if isinstance(shown, list) else shown

    def _scalar(self, evidence_type: str, name: str, value: Any) -> str:
        if value is None or value == "":
            return "—"
        if isinstance(value, bool):
            return translate("yes" if value else "no", self.language)
        if isinstance(value, float):
            # 100.0 reads 100; a Greek reader writes 132,5 where English writes 132.5.
            text = f"{value:.2f}".rstrip("0").rstrip(".")
            return text.replace(".", ",") if self.language == "el" else text
        if isinstance(value, str):
            found = self.catalog.evidence_types.get(evidence_type)
            codes = found.values.get(name) if found else None
            if codes is not None:
                labels = codes.get(value)
                return self.pick(labels) if labels else translate("value_other", self.language)
            if _ISO_DATE.match(value):
                return day(value, self.language)
        return str(value)

    def subject(self, subject: str | None) -> str:
        """``afm:123456789`` as ``ΑΦΜ 123456789``."""
        if not subject:
            return "—"
        kind, _, number = subject.partition(":")
        return f"{self.term('subjects', kind)} {number}".strip()

    def actor(self, actor: Mapping[str, Any] | None) -> str:
        """Who acted: their kind, and their name where one is kept."""
        actor = actor or {}
        kind = str(actor.get("kind") or "system")
        ident = actor.get("id")
        if kind == "agency":
            text = f"{self.term('actors', kind)}: {self.agency(ident)}"
        elif kind in ("verifier", "citizen") and (not ident or ident == "anonymous"):
            text = f"{self.term('actors', kind)}: {self.term('actors', 'anonymous')}"
        elif kind == "citizen":
            text = f"{self.term('actors', kind)}: {self.subject(str(ident))}"
        elif ident and kind in ("auditor", "operator", "verifier"):
            text = f"{self.term('actors', kind)}: {ident}"
        else:
            text = self.term("actors", kind)
        official = actor.get("official")
        return f"{text} ({official})" if official else text
