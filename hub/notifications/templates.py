"""What a citizen reads: Greek and English bodies for each event kind.

A message says who (the agency's label from the catalogue), what kind of
event, why (the purpose's label) and where to look: a link to the hub's own
page, which requires sign-in. It never carries an AFM, an AMKA, a name or any
evidence — the event data holds codes only, and this module turns the codes
into the catalogue's words. Email gets a text and an HTML part; SMS and Viber
get the short text.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

from hub.domain.catalog import Catalog

__all__ = ["Rendered", "render", "render_code", "render_digest"]

_T = tuple[str, str]

_SUBJECTS: Final[dict[str, _T]] = {
    "consent_requested": ("Αίτημα συγκατάθεσης", "Consent request"),
    "consent_expiring": ("Η συγκατάθεσή σας λήγει σύντομα", "Your consent expires soon"),
    "consent_granted": ("Δώσατε συγκατάθεση", "You gave consent"),
    "consent_refused": ("Αρνηθήκατε αίτημα συγκατάθεσης", "You refused a consent request"),
    "consent_revoked": ("Ανακαλέσατε συγκατάθεση", "You revoked a consent"),
    "access": ("Πρόσβαση στα δεδομένα σας", "Access to your data"),
    "certificate_issued": ("Εκδόθηκε πιστοποιητικό", "A certificate was issued"),
    "certificate_checked": ("Ελέγχθηκε πιστοποιητικό σας", "One of your certificates was checked"),
    "case_status": ("Ενημέρωση για την υπόθεσή σας", "An update on your application"),
}

_LEADS: Final[dict[str, _T]] = {
    "consent_requested": (
        "Ο φορέας «{agency}» ζητά τη συγκατάθεσή σας για: {purpose}.",
        "{agency} asks for your consent for: {purpose}.",
    ),
    "consent_expiring": (
        "Η συγκατάθεσή σας προς τον φορέα «{agency}» για «{purpose}» λήγει σύντομα.",
        "Your consent to {agency} for “{purpose}” expires soon.",
    ),
    "consent_granted": (
        "Δώσατε συγκατάθεση στον φορέα «{agency}» για: {purpose}. "
        "Η απόδειξη συγκατάθεσης είναι διαθέσιμη στη θυρίδα σας.",
        "You gave consent to {agency} for: {purpose}. "
        "The consent receipt is available in your area.",
    ),
    "consent_refused": (
        "Αρνηθήκατε το αίτημα του φορέα «{agency}» για: {purpose}.",
        "You refused the request of {agency} for: {purpose}.",
    ),
    "consent_revoked": (
        "Ανακαλέσατε τη συγκατάθεσή σας προς τον φορέα «{agency}» για: {purpose}.",
        "You revoked your consent to {agency} for: {purpose}.",
    ),
    "access": (
        "Ο φορέας «{agency}» έλαβε δεδομένα σας ({what}) με νομική βάση, για: {purpose}.",
        "{agency} received data of yours ({what}) on a legal basis, for: {purpose}.",
    ),
    "certificate_issued": (
        "Εκδόθηκε πιστοποιητικό: {what}.",
        "A certificate was issued: {what}.",
    ),
    "certificate_checked": (
        "Κάποιος επαλήθευσε πιστοποιητικό σας ({what}).",
        "Someone verified one of your certificates ({what}).",
    ),
    "case_status": (
        "Ο φορέας «{agency}» ενημέρωσε την υπόθεσή σας: {status}.",
        "{agency} updated your application: {status}.",
    ),
    "case_missing": (
        "Ο φορέας «{agency}» χρειάζεται για την υπόθεσή σας: {what}, έως {deadline}.",
        "{agency} needs for your application: {what}, by {deadline}.",
    ),
}

_STATUSES: Final[dict[str, _T]] = {
    "received": ("παραλήφθηκε", "received"),
    "in_review": ("σε εξέταση", "in review"),
    "missing_document": ("λείπει δικαιολογητικό", "a document is missing"),
    "decided": ("εκδόθηκε απόφαση", "decided"),
    "closed": ("έκλεισε", "closed"),
}

_WORDS: Final[dict[str, _T]] = {
    "see": ("Δείτε τις λεπτομέρειες (απαιτείται σύνδεση):", "See the details (sign-in needed):"),
    "agency": ("ένας φορέας", "an agency"),
    "purpose": ("σκοπός που δεν κατονομάζεται", "an unnamed purpose"),
    "what": ("δεδομένα", "data"),
    "status": ("νέα κατάσταση", "a new status"),
    "footer": (
        "Μήνυμα του Κόμβου Διαλειτουργικότητας. Ρυθμίστε τις ειδοποιήσεις σας στη θυρίδα σας.",
        "A message from the Interoperability Hub. Choose your notifications in your area.",
    ),
    "digest": ("Σύνοψη ειδοποιήσεων", "Notification digest"),
    "digest_lead": ("Από την τελευταία σύνοψη:", "Since the last digest:"),
    "code_subject": ("Κωδικός επιβεβαίωσης", "Confirmation code"),
    "code_text": (
        "Ο κωδικός επιβεβαίωσης για τα στοιχεία επικοινωνίας σας είναι {code}. "
        "Ισχύει για {minutes} λεπτά. Αν δεν τον ζητήσατε, αγνοήστε αυτό το μήνυμα.",
        "Your confirmation code for your contact details is {code}. "
        "It is valid for {minutes} minutes. If you did not ask for it, ignore this message.",
    ),
}

_PATHS: Final[dict[str, str]] = {
    "consent_requested": "/me/requests",
    "consent_expiring": "/me/consents",
    "consent_granted": "/me/consents",
    "consent_refused": "/me/requests",
    "consent_revoked": "/me/consents",
    "access": "/me/history",
    "certificate_issued": "/me/certificates",
    "certificate_checked": "/me/checks",
    "case_status": "/me/cases",
}


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str
    #: The one-line form for SMS and Viber.
    short: str


def _pick(words: _T, language: str) -> str:
    return words[0] if language == "el" else words[1]


def _labels(catalog: Catalog, data: Mapping[str, Any], language: str) -> dict[str, str]:
    agency = catalog.agencies.get(str(data.get("agency") or ""))
    purpose = catalog.purposes.get(str(data.get("purpose") or ""))
    evidence = catalog.evidence_types.get(str(data.get("evidence_type") or ""))
    code = str(data.get("status") or "")
    # The catalogue's case statuses first (what agencies set), then ours.
    status = catalog.vocabulary.get("case_statuses", {}).get(code) or _STATUSES.get(
        code.replace("-", "_")
    )
    return {
        "agency": (
            (_pick(agency.labels, language) if agency.labels else agency.name)
            if agency
            else _pick(_WORDS["agency"], language)
        ),
        "purpose": (
            _pick(purpose.labels, language)
            if purpose and purpose.labels
            else _pick(_WORDS["purpose"], language)
        ),
        "what": (
            (evidence.title_el if language == "el" else evidence.title_en)
            if evidence
            else _pick(_WORDS["what"], language)
        ),
        "status": _pick(status, language) if status else _pick(_WORDS["status"], language),
        "deadline": _day(str(data.get("deadline") or ""), language),
    }


def _day(iso: str, language: str) -> str:
    """A deadline as people write it: 31/12/2026, or 31 Dec 2026."""
    try:
        value = dt.date.fromisoformat(iso[:10])
    except ValueError:
        return "—"
    return value.strftime("%d/%m/%Y") if language == "el" else value.strftime("%d %b %Y")


def link(public_url: str, kind: str, data: Mapping[str, Any], language: str) -> str:
    """The page of the hub that shows the event, behind sign-in."""
    path = _PATHS.get(kind, "/me")
    if kind == "consent_requested" and data.get("request_id"):
        path += "/" + quote(str(data["request_id"]), safe="")
    elif kind == "case_status" and data.get("case_reference"):
        path += "/" + quote(str(data["case_reference"]), safe="")
    suffix = "" if language == "el" else "?lang=en"
    return f"{public_url.rstrip('/')}{path}{suffix}"


def _lead(catalog: Catalog, kind: str, data: Mapping[str, Any], language: str) -> str:
    if kind == "case_status" and data.get("deadline") and data.get("evidence_type"):
        kind = "case_missing"
    template = _LEADS.get(kind)
    if template is None:
        return _pick(_WORDS["status"], language)
    return _pick(template, language).format(**_labels(catalog, data, language))


def _html(subject: str, paragraphs: Sequence[str], url: str, language: str) -> str:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    see = html.escape(_pick(_WORDS["see"], language))
    footer = html.escape(_pick(_WORDS["footer"], language))
    href = html.escape(url, quote=True)
    return (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head><body>{body}"
        f'<p>{see} <a href="{href}">{html.escape(url)}</a></p>'
        f"<p><small>{footer}</small></p></body></html>"
    )


def render(
    catalog: Catalog, public_url: str, kind: str, data: Mapping[str, Any], language: str
) -> Rendered:
    """The message for one event in ``language`` (``el`` or ``en``)."""
    language = "en" if language == "en" else "el"
    subject = _pick(_SUBJECTS.get(kind, _WORDS["status"]), language)
    lead = _lead(catalog, kind, data, language)
    url = link(public_url, kind, data, language)
    see = _pick(_WORDS["see"], language)
    footer = _pick(_WORDS["footer"], language)
    text = f"{lead}\n\n{see}\n{url}\n\n-- \n{footer}\n"
    return Rendered(
        subject=subject,
        text=text,
        html=_html(subject, [lead], url, language),
        short=f"{lead} {url}",
    )


def render_digest(
    catalog: Catalog,
    public_url: str,
    items: Sequence[tuple[str, Mapping[str, Any]]],
    language: str,
) -> Rendered:
    """One message for several events, each a line of its own."""
    language = "en" if language == "en" else "el"
    subject = _pick(_WORDS["digest"], language)
    leads = [_lead(catalog, kind, data, language) for kind, data in items]
    url = f"{public_url.rstrip('/')}/me/notifications" + ("" if language == "el" else "?lang=en")
    see = _pick(_WORDS["see"], language)
    footer = _pick(_WORDS["footer"], language)
    lines = "\n".join(f"- {lead}" for lead in leads)
    text = f"{_pick(_WORDS['digest_lead'], language)}\n{lines}\n\n{see}\n{url}\n\n-- \n{footer}\n"
    return Rendered(
        subject=subject,
        text=text,
        html=_html(subject, [_pick(_WORDS["digest_lead"], language), *leads], url, language),
        short=f"{subject}: {len(leads)}. {url}",
    )


def render_code(code: str, minutes: int, language: str) -> Rendered:
    """The one-time code that confirms a contact point."""
    language = "en" if language == "en" else "el"
    subject = _pick(_WORDS["code_subject"], language)
    text = _pick(_WORDS["code_text"], language).format(code=code, minutes=minutes)
    body = f'<!doctype html><html lang="{language}"><body><p>{html.escape(text)}</p></body></html>'
    return Rendered(subject=subject, text=text + "\n", html=body, short=text)
