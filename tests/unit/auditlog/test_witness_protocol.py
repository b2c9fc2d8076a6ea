"""The witness protocol's pure parts: keys, cosignatures, request bodies, settings."""

from __future__ import annotations

import base64

import pytest

from hub.config import Settings
from hub.domain.auditlog.checkpoint import Checkpoint, NoteSignature
from hub.domain.auditlog.errors import MalformedKey, WitnessRefusal
from hub.domain.auditlog.witness import (
    CosignatureSigner,
    cosigner_key_id,
    format_add_checkpoint,
    parse_add_checkpoint,
    parse_cosigner_key,
    parse_cosigner_verifier,
)
from hub.errors import ConfigError

BODY = Checkpoint("example.org/log", 7, b"\x11" * 32).to_text()


def test_keys_round_trip_and_use_the_cosignature_type() -> None:
    signer = CosignatureSigner.generate("witness.example/w1")
    verifier = parse_cosigner_verifier(signer.verifier().to_text())
    assert verifier == signer.verifier()
    assert verifier.key_id == cosigner_key_id("witness.example/w1", verifier.public_key)
    again = parse_cosigner_key(signer.to_text())
    assert again.verifier() == verifier
    assert "PRIVATE" not in repr(signer)
    # A log key (type 0x01) is not a cosigner key.
    name, id_text, _ = signer.verifier().to_text().split("+", 2)
    material = base64.b64encode(b"\x01" + verifier.public_key).decode()
    log_like = f"{name}+{id_text}+{material}"
    with pytest.raises(MalformedKey):
        parse_cosigner_verifier(log_like)


def test_a_cosignature_verifies_only_for_its_body_and_key() -> None:
    signer = CosignatureSigner.generate("witness.example/w1")
    signature = signer.cosign(BODY, 1_700_000_000)
    verifier = signer.verifier()
    assert verifier.timestamp_of(BODY, signature) == 1_700_000_000
    other = Checkpoint("example.org/log", 8, b"\x11" * 32).to_text()
    assert verifier.timestamp_of(other, signature) is None
    # The timestamp is signed: changing it breaks the signature.
    moved = NoteSignature(
        signature.name,
        signature.key_id,
        (1_700_000_001).to_bytes(8, "big") + signature.signature[8:],
    )
    assert verifier.timestamp_of(BODY, moved) is None
    stranger = CosignatureSigner.generate("witness.example/w1").verifier()
    assert stranger.timestamp_of(BODY, signature) is None


def test_request_bodies_round_trip_and_malformed_ones_are_refused() -> None:
    note = BODY + "\n\u2014 example.org/log AAAA\n"
    parsed = parse_add_checkpoint(format_add_checkpoint(3, [b"\x01" * 32, b"\x02" * 32], note))
    assert (parsed.old_size, parsed.proof, parsed.note) == (3, (b"\x01" * 32, b"\x02" * 32), note)
    for bad in (
        "old 3\n" + note,  # no blank line before the checkpoint
        "old -1\n\n" + note,
        "old 03\n\n" + note,
        "new 3\n\n" + note,
        "old 3\nAAAA\n\n" + note,  # a proof line that is not a hash
        "old 3\n" + "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n" * 64 + "\n" + note,
    ):
        with pytest.raises(WitnessRefusal):
            parse_add_checkpoint(bad)


def test_settings_read_witnesses_and_check_the_quorum() -> None:
    one = CosignatureSigner.generate("w1.example").verifier().to_text()
    two = CosignatureSigner.generate("w2.example").verifier().to_text()
    settings = Settings.from_env(
        {
            "HUB_WITNESSES": f"{one} https://w1.example/ ;\n{two} http://127.0.0.1:9",
            "HUB_WITNESS_QUORUM": "1",
        }
    )
    assert settings.witnesses == ((one, "https://w1.example"), (two, "http://127.0.0.1:9"))
    assert settings.effective_witness_quorum == 1
    # No quorum given: every witness must cosign.
    assert (
        Settings.from_env(
            {"HUB_WITNESSES": f"{one} https://a; {two} https://b"}
        ).effective_witness_quorum
        == 2
    )
    for env in (
        {"HUB_WITNESSES": one},
        {"HUB_WITNESSES": f"{one} ftp://w1"},
        {"HUB_WITNESSES": f"{one} https://a; {one} https://b"},
        {"HUB_WITNESSES": f"{one} https://a", "HUB_WITNESS_QUORUM": "2"},
        {"HUB_WITNESSES": "nonsense https://a"},
    ):
        with pytest.raises(ConfigError):
            Settings.from_env(env)
