"""Errors of the access log, as leaves of the hub's one error tree.

The log raises only for misuse and for a broken store; a verifier that finds
tampering in an export returns a report instead, because a fault in the data
is the answer to the auditor's question, not a failure of the tool. The
leaves hang under the hub's own classes so that the API and the CLI treat
them like any other ``HubError``::

    HubError (500)
    └── TreeIntegrityError (500)   the node store lacks or contradicts a node
    BadRequest (400)
    ├── ProofError (400)           a proof request or a proof is malformed
    └── NoteError (400)            a signed note or a key cannot be used
        ├── MalformedNote (400)    the text is not a well-formed note/checkpoint
        ├── MalformedKey (400)     a signer or verifier key text is malformed
        ├── UnknownKey (400)       no signature by a key the verifier knows
        └── BadSignature (400)     a known key's signature does not verify
"""

from __future__ import annotations

from hub.errors import BadRequest, HubError

__all__ = [
    "BadSignature",
    "MalformedKey",
    "MalformedNote",
    "NoteError",
    "ProofError",
    "TreeIntegrityError",
    "UnknownKey",
]


class TreeIntegrityError(HubError):
    """The node store lacks a node it must hold, or holds a different one."""

    slug = "log-integrity"
    title = "Access log integrity failure"


class ProofError(BadRequest):
    """A proof was asked for impossible sizes, or a given proof is malformed."""

    slug = "invalid-proof"
    title = "Invalid Merkle proof"


class NoteError(BadRequest):
    """A signed note, checkpoint or key cannot be used."""

    slug = "invalid-note"
    title = "Invalid signed note"


class MalformedNote(NoteError):
    slug = "malformed-note"
    title = "Malformed signed note"


class MalformedKey(NoteError):
    slug = "malformed-key"
    title = "Malformed note key"


class UnknownKey(NoteError):
    slug = "unknown-key"
    title = "Note not signed by a known key"


class BadSignature(NoteError):
    slug = "bad-signature"
    title = "Note signature does not verify"
