"""Signed checkpoints of the access log, in the C2SP formats.

A checkpoint is the hub's signed statement "the log had this many entries and
this tree head". Auditors keep them; a later checkpoint that is not an
extension of an earlier one proves the log was rewritten. We use the formats
of the transparency ecosystem rather than our own, so that existing tools and
witnesses can read them:

* the body is a C2SP ``tlog-checkpoint``: the origin line, the tree size in
  decimal, the root hash in base64, then optional extension lines, each line
  ending in a newline;
* it travels inside a C2SP ``signed-note``: the body, a blank line, then one
  line per signature, ``— <name> <base64(key id || signature)>``;
* signatures are Ed25519 (signature type 0x01); the 4-byte key id is the
  start of SHA-256(name || "\\n" || 0x01 || public key);
* keys are written as in Go's ``note`` package: the verifier key
  ``<name>+<hex id>+<base64(0x01 || public key)>`` and the signer key
  ``PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from hub.domain.auditlog.errors import (
    BadSignature,
    MalformedKey,
    MalformedNote,
    NoteError,
    UnknownKey,
)
from hub.domain.auditlog.merkle import HASH_SIZE

__all__ = [
    "ALG_ED25519",
    "Checkpoint",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "key_id",
    "open_note",
    "parse_note",
    "parse_signer_key",
    "parse_verifier_key",
    "sign_checkpoint",
    "sign_note",
    "verify_note",
]

#: The signature type byte of Ed25519 in C2SP signed notes.
ALG_ED25519 = 0x01

_SIG_PREFIX = "\u2014 "  # An em dash and a space open every signature line.
_MAX_SIGNATURES = 100  # As in Go's note package: bounds the work per note.
_MAX_TREE_SIZE = 2**64 - 1


def _is_valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def _has_control(text: str) -> bool:
    return any(c < " " and c != "\n" for c in text) or "\x7f" in text


def _b64decode(text: str) -> bytes:
    """Strict standard base64: the alphabet, the padding, one encoding only."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("not canonical base64")
    return raw


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def key_id(name: str, public_key: bytes, alg: int = ALG_ED25519) -> int:
    """The 32-bit key id of a note key: SHA-256(name || 0x0A || alg || key)[:4]."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """A public key that checks note signatures under a name."""

    name: str
    key_id: int
    public_key: bytes
    _key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _is_valid_name(self.name):
            raise MalformedKey("a key name must be non-empty, without spaces or '+'")
        if len(self.public_key) != 32:
            raise MalformedKey("an Ed25519 public key is 32 bytes")
        if key_id(self.name, self.public_key) != self.key_id:
            raise MalformedKey("the key id does not match the name and key")
        try:
            key = Ed25519PublicKey.from_public_bytes(self.public_key)
        except ValueError as exc:
            raise MalformedKey("not an Ed25519 public key") from exc
        object.__setattr__(self, "_key", key)

    @classmethod
    def from_public_key(cls, name: str, key: Ed25519PublicKey) -> NoteVerifier:
        raw = key.public_bytes_raw()
        if not _is_valid_name(name):
            raise MalformedKey("a key name must be non-empty, without spaces or '+'")
        return cls(name, key_id(name, raw), raw)

    def to_text(self) -> str:
        """The verifier key as published: ``<name>+<hex id>+<base64 key>``."""
        material = _b64encode(bytes([ALG_ED25519]) + self.public_key)
        return f"{self.name}+{self.key_id:08x}+{material}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, slots=True)
class NoteSigner:
    """A private key that signs notes under a name. Its repr shows no secret."""

    name: str
    key_id: int
    private_key: Ed25519PrivateKey = field(repr=False, compare=False)

    @classmethod
    def from_private_key(cls, name: str, key: Ed25519PrivateKey) -> NoteSigner:
        if not _is_valid_name(name):
            raise MalformedKey("a key name must be non-empty, without spaces or '+'")
        return cls(name, key_id(name, key.public_key().public_bytes_raw()), key)

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        return cls.from_private_key(name, Ed25519PrivateKey.generate())

    def verifier(self) -> NoteVerifier:
        return NoteVerifier.from_public_key(self.name, self.private_key.public_key())

    def to_text(self) -> str:
        """The signer key text of Go's note package; it is a secret."""
        seed = self.private_key.private_bytes_raw()
        material = _b64encode(bytes([ALG_ED25519]) + seed)
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{material}"

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


def _parse_key_id(text: str) -> int:
    if len(text) != 8 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise MalformedKey("a key id is 8 hexadecimal digits")
    return int(text, 16)


def _parse_key_material(text: str, what: str) -> bytes:
    try:
        raw = _b64decode(text)
    except ValueError as exc:
        raise MalformedKey(f"the {what} is not base64") from exc
    if len(raw) != 33:
        raise MalformedKey(f"the {what} has the wrong length")
    if raw[0] != ALG_ED25519:
        raise MalformedKey(f"the {what} is not an Ed25519 key")
    return raw[1:]


def parse_verifier_key(text: str) -> NoteVerifier:
    """Read a verifier key ``<name>+<hex id>+<base64(0x01 || public key)>``."""
    # The name holds no '+', but the base64 material may.
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise MalformedKey("a verifier key is <name>+<id>+<key>")
    name, id_text, material = parts
    if not _is_valid_name(name):
        raise MalformedKey("a key name must be non-empty, without spaces or '+'")
    return NoteVerifier(name, _parse_key_id(id_text), _parse_key_material(material, "verifier key"))


def parse_signer_key(text: str) -> NoteSigner:
    """Read a signer key ``PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>``."""
    parts = text.split("+", 4)
    if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
        raise MalformedKey("a signer key is PRIVATE+KEY+<name>+<id>+<key>")
    _, _, name, id_text, material = parts
    if not _is_valid_name(name):
        raise MalformedKey("a key name must be non-empty, without spaces or '+'")
    expected = _parse_key_id(id_text)
    seed = _parse_key_material(material, "signer key")
    signer = NoteSigner.from_private_key(name, Ed25519PrivateKey.from_private_bytes(seed))
    if signer.key_id != expected:
        raise MalformedKey("the key id does not match the name and key")
    return signer


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line of a note, its key id and raw signature decoded."""

    name: str
    key_id: int
    signature: bytes

    def to_line(self) -> str:
        blob = self.key_id.to_bytes(4, "big") + self.signature
        return f"{_SIG_PREFIX}{self.name} {_b64encode(blob)}\n"


def sign_note(text: str, signers: NoteSigner | Sequence[NoteSigner]) -> str:
    """The signed note: ``text``, a blank line, one signature line per signer."""
    if not text.endswith("\n") or text.endswith("\n\n") or _has_control(text):
        raise MalformedNote("note text must end in one newline and hold no control characters")
    if isinstance(signers, NoteSigner):
        signers = [signers]
    message = text.encode("utf-8")
    lines = [NoteSignature(s.name, s.key_id, s.sign(message)).to_line() for s in signers]
    return text + "\n" + "".join(lines)


def parse_note(note: str) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its text and its signatures, verifying nothing."""
    if _has_control(note):
        raise MalformedNote("a note holds no control characters but newlines")
    split = note.rfind("\n\n")
    if split < 0:
        raise MalformedNote("a note needs a blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise MalformedNote("a note must end with signature lines")
    signatures: list[NoteSignature] = []
    for line in block[:-1].split("\n"):
        if not line.startswith(_SIG_PREFIX):
            raise MalformedNote("a signature line starts with an em dash and a space")
        name, _, blob_text = line[len(_SIG_PREFIX) :].partition(" ")
        if not _is_valid_name(name):
            raise MalformedNote("a signature line names no valid key")
        try:
            blob = _b64decode(blob_text)
        except ValueError as exc:
            raise MalformedNote("a signature is not base64") from exc
        if len(blob) < 5:
            raise MalformedNote("a signature is too short")
        signatures.append(NoteSignature(name, int.from_bytes(blob[:4], "big"), blob[4:]))
        if len(signatures) > _MAX_SIGNATURES:
            raise MalformedNote("a note carries too many signatures")
    return text, signatures


def open_note(
    note: str, verifiers: NoteVerifier | Iterable[NoteVerifier]
) -> tuple[str, list[NoteSignature]]:
    """The text of a note and its signatures by known keys, all verified.

    Signatures by keys the caller does not know are skipped, as the format
    intends (witnesses add their own). A bad signature by a known key is an
    error, and so is a note with no signature by any known key.
    """
    known = (
        {(verifiers.name, verifiers.key_id): verifiers}
        if isinstance(verifiers, NoteVerifier)
        else {(v.name, v.key_id): v for v in verifiers}
    )
    text, signatures = parse_note(note)
    message = text.encode("utf-8")
    verified: list[NoteSignature] = []
    seen: set[tuple[str, int]] = set()
    for sig in signatures:
        key = (sig.name, sig.key_id)
        verifier = known.get(key)
        if verifier is None or key in seen:
            continue
        seen.add(key)
        if not verifier.verify(message, sig.signature):
            raise BadSignature(f"the signature by {sig.name} does not verify")
        verified.append(sig)
    if not verified:
        raise UnknownKey("the note carries no signature by a known key")
    return text, verified


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A C2SP tlog-checkpoint: the origin, the tree size and the tree head."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or _has_control(self.origin):
            raise MalformedNote("the origin is one non-empty line")
        if isinstance(self.size, bool) or not 0 <= self.size <= _MAX_TREE_SIZE:
            raise MalformedNote("the tree size is an unsigned 64-bit integer")
        if len(self.root_hash) != HASH_SIZE:
            raise MalformedNote("the root hash is 32 bytes")
        for line in self.extensions:
            if not line or "\n" in line or _has_control(line):
                raise MalformedNote("an extension is one non-empty line")
        # Accept any iterable of lines but keep the dataclass hashable.
        object.__setattr__(self, "extensions", tuple(self.extensions))

    @property
    def root_hex(self) -> str:
        return self.root_hash.hex()

    def to_text(self) -> str:
        """The checkpoint body, the text that is signed."""
        lines = [self.origin, str(self.size), _b64encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        """Read a checkpoint body; strict, so that one checkpoint has one text."""
        if not text.endswith("\n"):
            raise MalformedNote("a checkpoint ends with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise MalformedNote("a checkpoint has an origin, a size and a root hash")
        origin, size_text, root_text, *extensions = lines
        if not size_text.isascii() or not size_text.isdigit():
            raise MalformedNote("the tree size is a decimal number")
        if size_text != str(int(size_text)):
            raise MalformedNote("the tree size has leading zeroes")
        try:
            root_hash = _b64decode(root_text)
        except ValueError as exc:
            raise MalformedNote("the root hash is not base64") from exc
        return cls(origin, int(size_text), root_hash, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, name: str, private_key: Ed25519PrivateKey) -> str:
    """The checkpoint as a signed note, signed by ``private_key`` as ``name``."""
    return sign_note(checkpoint.to_text(), NoteSigner.from_private_key(name, private_key))


def verify_note(
    note: str,
    verifier: NoteVerifier | Iterable[NoteVerifier],
    *,
    origin: str | None = None,
) -> Checkpoint:
    """The checkpoint in a signed note, once a known key's signature verifies.

    Raises :class:`MalformedNote`, :class:`UnknownKey` or
    :class:`BadSignature`; with ``origin``, a checkpoint of another log is a
    :class:`NoteError` too.
    """
    text, _ = open_note(note, verifier)
    checkpoint = Checkpoint.from_text(text)
    if origin is not None and checkpoint.origin != origin:
        raise NoteError("the checkpoint belongs to another log")
    return checkpoint
