"""Witnesses: cosigned checkpoints, so that even the operator cannot fork the log.

A signed checkpoint proves what the log *says*; it cannot prove that the
operator shows everyone the same log. A witness closes that gap: it keeps the
last checkpoint it saw of each log it follows, cosigns a new one only when a
consistency proof shows it extends that one, and never cosigns two
checkpoints of one log that contradict each other. A checkpoint carrying the
cosignatures of enough independent witnesses is one the operator could not
have shown differently to somebody else.

This module follows the C2SP specifications, so that other witnesses and
verifiers interoperate:

* ``tlog-cosignature`` (``cosignature/v1``): an Ed25519 signature over
  ``"cosignature/v1\\n" "time <POSIX seconds>\\n"`` followed by the checkpoint
  body; it travels as a note signature line whose blob is the 4-byte key id,
  the 8-byte big-endian timestamp and the 64-byte signature. The key id is
  SHA-256(name || "\\n" || 0x04 || public key)[:4]; keys are written as note
  ``vkey`` texts with signature type 0x04;
* ``tlog-witness``: the body of ``POST <prefix>/add-checkpoint`` is an
  ``old <size>`` line, at most 63 base64 consistency-proof lines, a blank
  line and the signed checkpoint; refusals use the statuses of
  :mod:`.errors` (404, 403, 400, 409 with the known size, 422).

:class:`Witness` is the witness's logic over the :class:`WitnessStore` port,
whose ``advance`` is an atomic compare-and-set so that two concurrent
submissions cannot roll the recorded size back.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from hub.domain.auditlog.checkpoint import (
    Checkpoint,
    NoteSignature,
    NoteVerifier,
    open_note,
    parse_note,
)
from hub.domain.auditlog.errors import (
    ForkRefused,
    InconsistentProof,
    MalformedKey,
    MalformedNote,
    NoteError,
    NotSignedByLog,
    ProofError,
    SizeConflict,
    UnknownLog,
    WitnessRefusal,
)
from hub.domain.auditlog.merkle import HASH_SIZE, check_consistency

__all__ = [
    "ALG_COSIGNATURE_V1",
    "MAX_PROOF_LINES",
    "SIZE_CONTENT_TYPE",
    "AddCheckpoint",
    "CosignatureSigner",
    "CosignatureVerifier",
    "Witness",
    "WitnessState",
    "WitnessStore",
    "WitnessedLog",
    "cosignature_message",
    "cosigner_key_id",
    "format_add_checkpoint",
    "parse_add_checkpoint",
    "parse_cosigner_key",
    "parse_cosigner_verifier",
    "with_cosignatures",
]

#: The signature type byte of Ed25519 ``cosignature/v1`` keys.
ALG_COSIGNATURE_V1: Final = 0x04
#: The most consistency-proof lines a request may carry (a tree of 2^63 leaves).
MAX_PROOF_LINES: Final = 63
#: The media type of a 409 answer's body: the tree size the witness holds.
SIZE_CONTENT_TYPE: Final = "text/x.tlog.size"
_SIG_PREFIX = "\u2014 "
_MAX_TIMESTAMP = 2**63 - 1

log = logging.getLogger(__name__)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc
    if _b64(raw) != text:
        raise ValueError("not canonical base64")
    return raw


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def cosigner_key_id(name: str, public_key: bytes) -> int:
    """SHA-256(name || 0x0A || 0x04 || public key)[:4], as a number."""
    digest = hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([ALG_COSIGNATURE_V1]) + public_key
    ).digest()
    return int.from_bytes(digest[:4], "big")


def cosignature_message(checkpoint_text: str, timestamp: int) -> bytes:
    """What a ``cosignature/v1`` signs: the header, the time line, the body."""
    return f"cosignature/v1\ntime {timestamp}\n{checkpoint_text}".encode()


@dataclass(frozen=True, slots=True)
class CosignatureVerifier:
    """A witness's public key, checking its ``cosignature/v1`` lines."""

    name: str
    public_key: bytes
    key_id: int = field(init=False)
    _key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _valid_name(self.name):
            raise MalformedKey("a key name must be non-empty, without spaces or '+'")
        try:
            key = Ed25519PublicKey.from_public_bytes(self.public_key)
        except ValueError as exc:
            raise MalformedKey("not an Ed25519 public key") from exc
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "key_id", cosigner_key_id(self.name, self.public_key))

    def to_text(self) -> str:
        """The vkey: ``<name>+<hex id>+<base64(0x04 || public key)>``."""
        material = _b64(bytes([ALG_COSIGNATURE_V1]) + self.public_key)
        return f"{self.name}+{self.key_id:08x}+{material}"

    def timestamp_of(self, checkpoint_text: str, signature: NoteSignature) -> int | None:
        """The cosignature's time if ``signature`` is a valid one by this key."""
        if signature.name != self.name or signature.key_id != self.key_id:
            return None
        blob = signature.signature
        if len(blob) != 8 + 64:
            return None
        timestamp = int.from_bytes(blob[:8], "big")
        if timestamp > _MAX_TIMESTAMP:
            return None
        try:
            self._key.verify(blob[8:], cosignature_message(checkpoint_text, timestamp))
        except InvalidSignature:
            return None
        return timestamp


@dataclass(frozen=True, slots=True)
class CosignatureSigner:
    """A witness's private key. Its repr shows no secret."""

    name: str
    private_key: Ed25519PrivateKey = field(repr=False, compare=False)

    @classmethod
    def generate(cls, name: str) -> CosignatureSigner:
        if not _valid_name(name):
            raise MalformedKey("a key name must be non-empty, without spaces or '+'")
        return cls(name, Ed25519PrivateKey.generate())

    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self.name, self.private_key.public_key().public_bytes_raw())

    def to_text(self) -> str:
        """``PRIVATE+KEY+<name>+<hex id>+<base64(0x04 || seed)>``; a secret."""
        seed = self.private_key.private_bytes_raw()
        key_id = self.verifier().key_id
        return f"PRIVATE+KEY+{self.name}+{key_id:08x}+{_b64(bytes([ALG_COSIGNATURE_V1]) + seed)}"

    def cosign(self, checkpoint_text: str, timestamp: int) -> NoteSignature:
        """The cosignature of a checkpoint body at ``timestamp``, as a note signature."""
        signature = self.private_key.sign(cosignature_message(checkpoint_text, timestamp))
        return NoteSignature(
            self.name, self.verifier().key_id, timestamp.to_bytes(8, "big") + signature
        )


def _key_parts(text: str, parts: int) -> list[str]:
    split = text.strip().split("+", parts - 1)
    if len(split) != parts:
        raise MalformedKey("a cosigner key has the form of a note key")
    return split


def _material(text: str) -> bytes:
    try:
        raw = _unb64(text)
    except ValueError as exc:
        raise MalformedKey("the key material is not base64") from exc
    if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
        raise MalformedKey("not an Ed25519 cosignature/v1 key (type 0x04)")
    return raw[1:]


def parse_cosigner_verifier(text: str) -> CosignatureVerifier:
    """Read a witness vkey ``<name>+<hex id>+<base64(0x04 || key)>``."""
    name, id_text, material = _key_parts(text, 3)
    verifier = CosignatureVerifier(name, _material(material))
    if id_text.lower() != f"{verifier.key_id:08x}":
        raise MalformedKey("the key id does not match the name and key")
    return verifier


def parse_cosigner_key(text: str) -> CosignatureSigner:
    """Read a witness private key written by :meth:`CosignatureSigner.to_text`."""
    private, key, name, id_text, material = _key_parts(text, 5)
    if (private, key) != ("PRIVATE", "KEY"):
        raise MalformedKey("a private key starts with PRIVATE+KEY+")
    signer = CosignatureSigner(name, Ed25519PrivateKey.from_private_bytes(_material(material)))
    if id_text.lower() != f"{signer.verifier().key_id:08x}":
        raise MalformedKey("the key id does not match the name and key")
    return signer


def with_cosignatures(note: str, lines: Iterable[str]) -> str:
    """The signed note with cosignature lines appended after its own."""
    return note + "".join(lines)


# -- the add-checkpoint request --------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    """A parsed ``add-checkpoint`` body: the old size, the proof, the note."""

    old_size: int
    proof: tuple[bytes, ...]
    note: str


def format_add_checkpoint(old_size: int, proof: Sequence[bytes], note: str) -> str:
    """The request body a log sends to a witness."""
    lines = [f"old {old_size}", *(_b64(h) for h in proof)]
    return "".join(line + "\n" for line in lines) + "\n" + note


def parse_add_checkpoint(body: str) -> AddCheckpoint:
    """Read a request body; :class:`WitnessRefusal` (400) for anything malformed."""
    head, sep, note = body.partition("\n\n")
    if not sep:
        raise WitnessRefusal("the body needs a blank line before the checkpoint")
    lines = head.split("\n")
    old_line, proof_lines = lines[0], lines[1:]
    size_text = old_line.removeprefix("old ")
    if (
        size_text == old_line
        or not size_text.isascii()
        or not size_text.isdigit()
        or size_text != str(int(size_text))
    ):
        raise WitnessRefusal("the first line is 'old <size>' in decimal")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise WitnessRefusal(f"at most {MAX_PROOF_LINES} consistency proof lines")
    proof: list[bytes] = []
    for line in proof_lines:
        try:
            raw = _unb64(line)
        except ValueError as exc:
            raise WitnessRefusal("a proof line is not base64") from exc
        if len(raw) != HASH_SIZE:
            raise WitnessRefusal("a proof line is not a 32-byte hash")
        proof.append(raw)
    return AddCheckpoint(int(size_text), tuple(proof), note)


# -- the witness ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WitnessedLog:
    """A log the witness follows: its origin and the key that signs it."""

    origin: str
    verifier: NoteVerifier

    @property
    def log_id(self) -> str:
        """The log's key in the witness's store: origin and key id."""
        return f"{self.origin}#{self.verifier.key_id:08x}"


@dataclass(frozen=True, slots=True)
class WitnessState:
    """The last checkpoint a witness cosigned for one log."""

    size: int
    root_hash: bytes
    note: str


@runtime_checkable
class WitnessStore(Protocol):
    """Where a witness keeps the last checkpoint per log; must survive restarts."""

    def latest(self, log_id: str) -> WitnessState | None: ...

    def advance(self, log_id: str, old_size: int | None, new: WitnessState) -> int | None:
        """Record ``new`` if the log's recorded size is still ``old_size``.

        ``None`` for ``old_size`` means "nothing recorded yet". Atomic: returns
        ``None`` when recorded, else the size recorded meanwhile.
        """
        ...


def _now_seconds() -> int:
    return int(dt.datetime.now(dt.UTC).timestamp())


class Witness:
    """A C2SP witness: verifies, checks consistency, records, cosigns."""

    def __init__(
        self,
        signer: CosignatureSigner,
        logs: Iterable[WitnessedLog],
        store: WitnessStore,
        clock: Callable[[], int] = _now_seconds,
    ) -> None:
        self.signer = signer
        self.logs = tuple(logs)
        self._store = store
        self._clock = clock

    def _find_log(self, note: str) -> tuple[WitnessedLog, Checkpoint]:
        try:
            text, _ = parse_note(note)
            checkpoint = Checkpoint.from_text(text)
        except MalformedNote as exc:
            raise WitnessRefusal(f"the checkpoint is malformed: {exc.detail}") from exc
        candidates = [entry for entry in self.logs if entry.origin == checkpoint.origin]
        if not candidates:
            raise UnknownLog("the witness does not follow this origin")
        for candidate in candidates:
            try:
                open_note(note, candidate.verifier)
            except NoteError:
                continue
            return candidate, checkpoint
        raise NotSignedByLog("no signature by a key of this log verifies")

    def add_checkpoint(self, body: str) -> str:
        """Handle one ``add-checkpoint`` body; the cosignature lines, or a refusal."""
        request = parse_add_checkpoint(body)
        followed, checkpoint = self._find_log(request.note)
        if request.old_size > checkpoint.size:
            raise WitnessRefusal("the old size is larger than the checkpoint's")
        state = self._store.latest(followed.log_id)
        known = 0 if state is None else state.size
        if request.old_size != known:
            raise SizeConflict(known)
        if state is not None and state.size == checkpoint.size:
            if state.root_hash != checkpoint.root_hash:
                log.warning(
                    "witness refused a fork",
                    extra={"origin": checkpoint.origin, "tree_size": checkpoint.size},
                )
                raise ForkRefused("another root hash at the size the witness holds")
        elif state is not None:
            try:
                check_consistency(
                    state.size,
                    checkpoint.size,
                    state.root_hash,
                    checkpoint.root_hash,
                    request.proof,
                )
            except ProofError as exc:
                log.warning(
                    "witness refused an inconsistent checkpoint",
                    extra={"origin": checkpoint.origin, "tree_size": checkpoint.size},
                )
                raise InconsistentProof(exc.detail) from exc
        elif request.proof:
            raise WitnessRefusal("a proof from size 0 must be empty")
        new = WitnessState(checkpoint.size, checkpoint.root_hash, request.note)
        current = self._store.advance(followed.log_id, None if state is None else known, new)
        if current is not None:
            raise SizeConflict(current)
        timestamp = self._clock()
        return self.signer.cosign(checkpoint.to_text(), timestamp).to_line()
