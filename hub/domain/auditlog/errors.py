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

A witness (:mod:`.witness`) refuses a checkpoint with the status codes of the
C2SP tlog-witness protocol::

    WitnessRefusal (400)           the add-checkpoint request is malformed
    ├── UnknownLog (404)           the witness does not follow this origin
    ├── NotSignedByLog (403)       no signature by a key of that log verifies
    ├── SizeConflict (409)         "old" is not the size the witness holds;
    │                              ``known_size`` says which it holds
    ├── ForkRefused (409)          same size as the witness holds, other root
    └── InconsistentProof (422)    the consistency proof does not verify
"""

from __future__ import annotations

from hub.errors import BadRequest, HubError

__all__ = [
    "BadSignature",
    "ForkRefused",
    "InconsistentProof",
    "MalformedKey",
    "MalformedNote",
    "NotSignedByLog",
    "NoteError",
    "ProofError",
    "SizeConflict",
    "TreeIntegrityError",
    "UnknownKey",
    "UnknownLog",
    "WitnessRefusal",
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


class WitnessRefusal(BadRequest):
    """A witness will not cosign: the request is malformed (or a subclass says why)."""

    slug = "witness-refused"
    title = "Checkpoint refused by the witness"


class UnknownLog(WitnessRefusal):
    status = 404
    slug = "witness-unknown-log"
    title = "The witness does not follow this log"


class NotSignedByLog(WitnessRefusal):
    status = 403
    slug = "witness-unsigned"
    title = "The checkpoint carries no valid signature of the log"


class SizeConflict(WitnessRefusal):
    """The old size is not the witness's; ``known_size`` is the one it holds."""

    status = 409
    slug = "witness-size-conflict"
    title = "The witness holds another tree size"

    def __init__(self, known_size: int) -> None:
        super().__init__(f"the witness holds tree size {known_size}", known_size=known_size)
        self.known_size = known_size


class ForkRefused(WitnessRefusal):
    status = 409
    slug = "witness-fork"
    title = "The checkpoint contradicts the tree head the witness holds"


class InconsistentProof(WitnessRefusal):
    status = 422
    slug = "witness-inconsistent"
    title = "The consistency proof does not verify"
