"""Signed checkpoints: the C2SP formats, byte for byte, and their failures.

The PeterNeumann key pair and signed note are the published example of Go's
golang.org/x/mod/sumdb/note package (note_test.go). Ed25519 signatures are
deterministic, so reproducing that note exactly shows our notes and keys are
the ones the Go ecosystem reads.
"""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.domain.auditlog.checkpoint import (
    Checkpoint,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    key_id,
    open_note,
    parse_note,
    parse_signer_key,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    verify_note,
)
from hub.domain.auditlog.errors import (
    BadSignature,
    MalformedKey,
    MalformedNote,
    NoteError,
    UnknownKey,
)
from hub.errors import BadRequest, HubError

GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n"
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqf"
    "qdngotpRZb6KE6RyyBwJnAM=\n"
)

ORIGIN = "oncehub.gov.gr/audit-log"
ROOT = bytes(range(32))


def _key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


SIGNER = NoteSigner.from_private_key(ORIGIN, _key(1))
VERIFIER = SIGNER.verifier()


def test_go_keys_parse_and_print_back() -> None:
    verifier = parse_verifier_key(GO_VKEY)
    assert verifier.name == "PeterNeumann"
    assert verifier.key_id == 0xC74F20A3
    assert verifier.to_text() == GO_VKEY
    signer = parse_signer_key(GO_SKEY)
    assert signer.to_text() == GO_SKEY
    assert signer.verifier() == verifier


def test_go_note_is_reproduced_byte_for_byte() -> None:
    assert sign_note(GO_TEXT, parse_signer_key(GO_SKEY)) == GO_NOTE
    text, sigs = open_note(GO_NOTE, parse_verifier_key(GO_VKEY))
    assert text == GO_TEXT
    assert [(s.name, s.key_id) for s in sigs] == [("PeterNeumann", 0xC74F20A3)]


def test_key_id_definition() -> None:
    public = _key(1).public_key().public_bytes_raw()
    assert VERIFIER.key_id == key_id(ORIGIN, public)
    assert VERIFIER.to_text().startswith(f"{ORIGIN}+{VERIFIER.key_id:08x}+")


def test_checkpoint_body_format() -> None:
    cp = Checkpoint(ORIGIN, 42, ROOT, ("ext one", "ext two"))
    body = cp.to_text()
    b64 = base64.b64encode(ROOT).decode()
    assert body == f"{ORIGIN}\n42\n{b64}\next one\next two\n"
    assert Checkpoint.from_text(body) == cp
    assert cp.root_hex == ROOT.hex()


def test_sign_and_verify_round_trip() -> None:
    cp = Checkpoint(ORIGIN, 7, ROOT)
    note = sign_checkpoint(cp, ORIGIN, _key(1))
    assert note.startswith(cp.to_text() + "\n\u2014 " + ORIGIN + " ")
    assert verify_note(note, VERIFIER) == cp
    assert verify_note(note, [VERIFIER], origin=ORIGIN) == cp
    with pytest.raises(NoteError):
        verify_note(note, VERIFIER, origin="another.log")


def test_wrong_key_is_unknown() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), ORIGIN, _key(2))
    with pytest.raises(UnknownKey):
        verify_note(note, VERIFIER)


def test_same_name_and_id_with_another_key_is_a_bad_signature() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), ORIGIN, _key(1))
    text, sigs = parse_note(note)
    forged = NoteSignature(ORIGIN, sigs[0].key_id, _key(2).sign(text.encode()))
    with pytest.raises(BadSignature):
        verify_note(text + "\n" + forged.to_line(), VERIFIER)


@pytest.mark.parametrize(
    ("old", "new"),
    [("\n7\n", "\n8\n"), (ORIGIN + "\n", ORIGIN + "x\n")],
)
def test_modified_body_fails(old: str, new: str) -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), ORIGIN, _key(1))
    with pytest.raises(BadSignature):
        verify_note(note.replace(old, new, 1), VERIFIER)


def test_modified_signature_fails() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), ORIGIN, _key(1))
    text, sigs = parse_note(note)
    sig = sigs[0]
    flipped = NoteSignature(sig.name, sig.key_id, bytes([sig.signature[0] ^ 1]) + sig.signature[1:])
    with pytest.raises(BadSignature):
        verify_note(text + "\n" + flipped.to_line(), VERIFIER)
    truncated = NoteSignature(sig.name, sig.key_id, sig.signature[:10])
    with pytest.raises(BadSignature):
        verify_note(text + "\n" + truncated.to_line(), VERIFIER)


def test_witness_signatures_by_unknown_keys_are_skipped() -> None:
    body = Checkpoint(ORIGIN, 7, ROOT).to_text()
    witness = NoteSigner.from_private_key("witness.example", _key(3))
    note = sign_note(body, [witness, SIGNER])
    assert verify_note(note, VERIFIER).size == 7
    _, sigs = open_note(note, [VERIFIER, witness.verifier()])
    assert {s.name for s in sigs} == {ORIGIN, "witness.example"}
    # A repeated signature line is checked once.
    line = note.split("\n\n", 1)[1].splitlines(keepends=True)[1]
    assert len(open_note(note + line, VERIFIER)[1]) == 1


@pytest.mark.parametrize(
    "note",
    [
        "",
        "no signature block\n",
        "text\n\n",
        "text\n\nnot a signature line\n",
        "text\n\n\u2014 name\n",
        "text\n\n\u2014 name !!!notbase64\n",
        "text\n\n\u2014 name AAAA\n",
        "text\n\n\u2014 na+me AAAAAAAA\n",
        "text\n\n\u2014 name AAAAAAAA",
        "te\x00xt\n\n\u2014 name AAAAAAAA\n",
    ],
)
def test_malformed_notes(note: str) -> None:
    with pytest.raises(MalformedNote):
        verify_note(note, VERIFIER)


def test_too_many_signatures() -> None:
    body = Checkpoint(ORIGIN, 7, ROOT).to_text()
    line = NoteSignature("w", 1, b"\x00" * 64).to_line()
    with pytest.raises(MalformedNote, match="too many"):
        parse_note(body + "\n" + line * 101)


@pytest.mark.parametrize(
    "body",
    [
        f"{ORIGIN}\n7\n",
        f"{ORIGIN}\n07\n{base64.b64encode(ROOT).decode()}\n",
        f"{ORIGIN}\n-7\n{base64.b64encode(ROOT).decode()}\n",
        f"{ORIGIN}\nseven\n{base64.b64encode(ROOT).decode()}\n",
        f"{ORIGIN}\n{2**64}\n{base64.b64encode(ROOT).decode()}\n",
        f"{ORIGIN}\n7\n{base64.b64encode(ROOT[:31]).decode()}\n",
        f"{ORIGIN}\n7\nnot base64!\n",
        f"{ORIGIN}\n7\n{base64.b64encode(ROOT).decode().rstrip('=')}\n",
        f"\n7\n{base64.b64encode(ROOT).decode()}\n",
        f"{ORIGIN}\n7\n{base64.b64encode(ROOT).decode()}\n\nlate extension\n",
        f"{ORIGIN}\n7\n{base64.b64encode(ROOT).decode()}",
    ],
)
def test_malformed_checkpoint_bodies(body: str) -> None:
    with pytest.raises(MalformedNote):
        Checkpoint.from_text(body)


def test_non_canonical_base64_root_is_refused() -> None:
    # The last character of a 32-byte base64 value carries two padding bits;
    # setting one gives a second spelling of the same root, which we refuse.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    b64 = base64.b64encode(ROOT).decode()
    bumped = b64[:42] + alphabet[alphabet.index(b64[42]) ^ 1] + b64[43:]
    assert base64.b64decode(bumped) == ROOT
    with pytest.raises(MalformedNote):
        Checkpoint.from_text(f"{ORIGIN}\n7\n{bumped}\n")


def test_signed_malformed_body_is_refused_after_the_signature() -> None:
    note = sign_note(f"{ORIGIN}\nseven\nAAAA\n", SIGNER)
    with pytest.raises(MalformedNote):
        verify_note(note, VERIFIER)


@pytest.mark.parametrize("text", ["no newline", "two\n\n", "ctrl\x01\n", ""])
def test_sign_note_refuses_bad_text(text: str) -> None:
    with pytest.raises(MalformedNote):
        sign_note(text, SIGNER)


def test_checkpoint_constructor_validates() -> None:
    with pytest.raises(MalformedNote):
        Checkpoint("", 1, ROOT)
    with pytest.raises(MalformedNote):
        Checkpoint(ORIGIN, -1, ROOT)
    with pytest.raises(MalformedNote):
        Checkpoint(ORIGIN, True, ROOT)
    with pytest.raises(MalformedNote):
        Checkpoint(ORIGIN, 1, b"short")
    with pytest.raises(MalformedNote):
        Checkpoint(ORIGIN, 1, ROOT, ("",))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "PeterNeumann",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20zz+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumanX+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+AhpC2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",
        "PeterNeumann+c74f20a3+not base64",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_malformed_verifier_keys(text: str) -> None:
    with pytest.raises(MalformedKey):
        parse_verifier_key(text)


@pytest.mark.parametrize(
    "text",
    [
        GO_VKEY,
        "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+Peter Neumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr",
        "PUBLIC+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
    ],
)
def test_malformed_signer_keys(text: str) -> None:
    with pytest.raises(MalformedKey):
        parse_signer_key(text)


def test_key_objects_validate_and_hide_secrets() -> None:
    with pytest.raises(MalformedKey):
        NoteVerifier("bad name", 0, b"\x00" * 32)
    with pytest.raises(MalformedKey):
        NoteVerifier("name", 0, b"\x00" * 31)
    with pytest.raises(MalformedKey):
        NoteSigner.from_private_key("a+b", _key(1))
    with pytest.raises(MalformedKey):
        NoteVerifier.from_public_key("", _key(1).public_key())
    generated = NoteSigner.generate("fresh")
    assert parse_signer_key(generated.to_text()).verifier() == generated.verifier()
    assert "private_key" not in repr(generated)
    assert GO_SKEY.rsplit("+", maxsplit=1)[-1] not in repr(parse_signer_key(GO_SKEY))


def test_errors_are_hub_errors_with_problem_types() -> None:
    for cls in (MalformedNote, MalformedKey, UnknownKey, BadSignature):
        err = cls("x")
        assert isinstance(err, NoteError)
        assert isinstance(err, BadRequest)
        assert isinstance(err, HubError)
        assert err.status == 400
        assert err.to_problem()["type"].endswith(cls.slug)
