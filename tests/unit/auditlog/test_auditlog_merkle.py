"""RFC 9162 hashing and proofs over lists, against published test vectors.

The vectors are the classic eight-leaf Certificate Transparency test data,
as given in transparency-dev/merkle, file proof/verify_test.go (the
``leaves``, ``roots``, ``inclusionProofs`` and ``consistencyProofs`` tables;
that file numbers leaves from 1, we number them from 0).
"""

from __future__ import annotations

import hashlib

import pytest

from hub.domain.auditlog.errors import ProofError
from hub.domain.auditlog.merkle import (
    EMPTY_ROOT,
    check_consistency,
    consistency_path,
    inclusion_path,
    largest_power_of_two_below,
    leaf_hash,
    mth,
    node_hash,
    root_from_inclusion_proof,
    root_of_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
LEAF_HASHES = [leaf_hash(x) for x in LEAVES]

# ROOTS[n - 1] is the tree head of the first n leaves.
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]


def _h(*hexes: str) -> list[bytes]:
    return [bytes.fromhex(x) for x in hexes]


# (leaf index from 0, tree size, path)
INCLUSION_VECTORS = [
    (
        0,
        8,
        _h(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        5,
        8,
        _h(
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (2, 3, _h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")),
    (
        1,
        5,
        _h(
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
    (0, 1, []),
]

# (first size, second size, proof)
CONSISTENCY_VECTORS = [
    (
        1,
        8,
        _h(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        6,
        8,
        _h(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (
        2,
        5,
        _h(
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
    (
        6,
        7,
        _h(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (1, 1, []),
]

SOME_HASH = hashlib.sha256(b"some other hash").digest()


def test_empty_tree_root_is_hash_of_empty_string() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert mth([]) == EMPTY_ROOT
    assert root_of_leaf_hashes([]) == EMPTY_ROOT


def test_leaf_and_node_hashing_use_domain_separation() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert (
        node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )
    # A leaf can never pass for an interior node with the same bytes.
    assert leaf_hash(b"a" * 32 + b"b" * 32) != node_hash(b"a" * 32, b"b" * 32)


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_published_vectors(size: int) -> None:
    assert mth(LEAVES[:size]) == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS)
def test_inclusion_paths_match_the_published_vectors(
    index: int, size: int, path: list[bytes]
) -> None:
    assert inclusion_path(LEAF_HASHES[:size], index) == path
    assert verify_inclusion(index, size, LEAF_HASHES[index], path, ROOTS[size - 1])


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY_VECTORS)
def test_consistency_proofs_match_the_published_vectors(
    first: int, second: int, proof: list[bytes]
) -> None:
    assert consistency_path(LEAF_HASHES[:second], first) == proof
    assert verify_consistency(first, second, ROOTS[first - 1], ROOTS[second - 1], proof)


def _inclusion_corruptions(
    index: int, size: int, path: list[bytes], leaf: bytes, root: bytes
) -> list[tuple[int, int, bytes, list[bytes], bytes]]:
    probes = [
        (index - 1, size, leaf, path, root),
        (index + 1, size, leaf, path, root),
        (index ^ 2, size, leaf, path, root),
        (index, size * 2, leaf, path, root),
        (index, size // 2, leaf, path, root),
        (index, size, SOME_HASH, path, root),
        (index, size, leaf, path, EMPTY_ROOT),
        (index, size, leaf, [*path, b""], root),
        (index, size, leaf, [*path, root], root),
        (index, size, leaf, [root, *path], root),
    ]
    for i in range(len(path)):
        flipped = [*path]
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        probes.append((index, size, leaf, flipped, root))
    if path:
        probes.append((index, size, leaf, path[:-1], root))
    return probes


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS[:4])
def test_corrupted_inclusion_proofs_fail(index: int, size: int, path: list[bytes]) -> None:
    leaf, root = LEAF_HASHES[index], ROOTS[size - 1]
    for probe in _inclusion_corruptions(index, size, path, leaf, root):
        assert not verify_inclusion(*probe), probe


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY_VECTORS[:4])
def test_corrupted_consistency_proofs_fail(first: int, second: int, proof: list[bytes]) -> None:
    r1, r2 = ROOTS[first - 1], ROOTS[second - 1]
    probes = [
        (first - 1, second, r1, r2, proof),
        (first + 1, second, r1, r2, proof),
        (first ^ 2, second, r1, r2, proof),
        (first, second * 2, r1, r2, proof),
        (first, second // 2, r1, r2, proof),
        (first, second, SOME_HASH, r2, proof),
        (first, second, r1, SOME_HASH, proof),
        (first, second, r2, r1, proof),
        (first, second, r1, r2, []),
        (first, second, r1, r2, [*proof, b""]),
        (first, second, r1, r2, [*proof, r1]),
        (first, second, r1, r2, [r2, *proof]),
        (first, second, r1, r2, [proof[0], *proof]),
        (first, second, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        flipped = [*proof]
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        probes.append((first, second, r1, r2, flipped))
    for probe in probes:
        assert not verify_consistency(*probe), probe[:2]


def test_degenerate_consistency_cases() -> None:
    r1, r2 = ROOTS[0], ROOTS[1]
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert verify_consistency(0, 5, EMPTY_ROOT, ROOTS[4], [])
    assert verify_consistency(3, 3, ROOTS[2], ROOTS[2], [])
    assert not verify_consistency(3, 3, ROOTS[2], ROOTS[3], [])
    assert not verify_consistency(3, 3, ROOTS[2], ROOTS[2], [r1])
    assert not verify_consistency(0, 1, EMPTY_ROOT, r1, [r1])
    assert not verify_consistency(2, 1, r2, r1, [])
    assert not verify_consistency(1, 2, r1, r2, [])
    with pytest.raises(ProofError):
        check_consistency(1, 2, r1, r2, [b"short"])


def test_inclusion_proof_rejects_impossible_positions() -> None:
    with pytest.raises(ProofError):
        root_from_inclusion_proof(0, 0, LEAF_HASHES[0], [])
    with pytest.raises(ProofError):
        root_from_inclusion_proof(2, 1, LEAF_HASHES[0], [])
    with pytest.raises(ProofError):
        root_from_inclusion_proof(0, 1, b"short", [])
    with pytest.raises(ProofError):
        root_from_inclusion_proof(0, 2, LEAF_HASHES[0], [b"short"])
    with pytest.raises(ProofError):
        inclusion_path(LEAF_HASHES, 8)
    with pytest.raises(ProofError):
        consistency_path(LEAF_HASHES, 9)


def test_single_leaf_tree_root_is_the_leaf_hash() -> None:
    assert verify_inclusion(0, 1, LEAF_HASHES[0], [], LEAF_HASHES[0])
    assert not verify_inclusion(0, 1, LEAF_HASHES[0], [], LEAF_HASHES[1])


def test_largest_power_of_two_below() -> None:
    assert [largest_power_of_two_below(n) for n in range(2, 10)] == [1, 2, 2, 4, 4, 4, 4, 8]
    with pytest.raises(ValueError, match="at least 2"):
        largest_power_of_two_below(1)
