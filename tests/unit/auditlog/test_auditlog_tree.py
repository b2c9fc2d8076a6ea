"""The incremental tree against a brute-force RFC 9162 reference.

The reference below is written straight from the RFC's recursive
definitions (MTH, PATH, PROOF/SUBPROOF) and shares no code with the hub,
so an error in the incremental construction cannot hide in both.
Efficiency is shown by counting node reads, never by timing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable

import pytest

from hub.domain.auditlog.errors import ProofError, TreeIntegrityError
from hub.domain.auditlog.merkle import (
    EMPTY_ROOT,
    verify_consistency,
    verify_inclusion,
)
from hub.domain.auditlog.tree import (
    Frontier,
    InMemoryNodeStore,
    Node,
    NodeKey,
    NodeStore,
    append,
    consistency_proof,
    frontier_keys,
    inclusion_proof,
    leaf_hashes,
    plan_consistency,
    plan_inclusion,
    plan_root,
    range_keys,
    root,
)

# --- the reference, from the RFC text ------------------------------------


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(hashes: list[bytes]) -> bytes:
    if not hashes:
        return _sha(b"")
    if len(hashes) == 1:
        return hashes[0]
    k = _k(len(hashes))
    return _sha(b"\x01" + ref_mth(hashes[:k]) + ref_mth(hashes[k:]))


def ref_path(m: int, hashes: list[bytes]) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = _k(len(hashes))
    if m < k:
        return [*ref_path(m, hashes[:k]), ref_mth(hashes[k:])]
    return [*ref_path(m - k, hashes[k:]), ref_mth(hashes[:k])]


def ref_subproof(m: int, hashes: list[bytes], complete: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if complete else [ref_mth(hashes)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, hashes[:k], complete), ref_mth(hashes[k:])]
    return [*ref_subproof(m - k, hashes[k:], False), ref_mth(hashes[:k])]


def ref_proof(m: int, hashes: list[bytes]) -> list[bytes]:
    return ref_subproof(m, hashes, True) if 0 < m < len(hashes) else []


# --- helpers ----------------------------------------------------------------


def _leaves(n: int, salt: bytes = b"") -> list[bytes]:
    return [_sha(b"\x00" + salt + i.to_bytes(8, "big")) for i in range(n)]


def _store(hashes: list[bytes], batch: int = 0) -> InMemoryNodeStore:
    store = InMemoryNodeStore()
    step = batch or max(1, len(hashes))
    for i in range(0, len(hashes), step):
        store.put_nodes(append(store, hashes[i : i + step]))
    return store


class SyntheticStore:
    """A store of any size that answers every key with a made-up hash.

    Its hashes do not add up, so proofs from it do not verify; it exists to
    count the reads of a proof at sizes too big to build in a test.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self.get_calls = 0
        self.keys: list[NodeKey] = []

    def size(self) -> int:
        return self._size

    def get_nodes(self, keys: Collection[NodeKey]) -> dict[NodeKey, bytes]:
        self.get_calls += 1
        self.keys.extend(keys)
        for level, index in keys:
            assert (index + 1) << level <= self._size, "asked for an incomplete subtree"
        return {k: _sha(repr(k).encode()) for k in keys}

    def put_nodes(self, nodes: Iterable[Node]) -> None:
        raise AssertionError("read-only")


# --- correctness ------------------------------------------------------------

MAX = 64
HASHES = _leaves(MAX)
STORE = _store(HASHES, batch=5)


def test_in_memory_store_implements_the_port() -> None:
    assert isinstance(InMemoryNodeStore(), NodeStore)
    assert isinstance(SyntheticStore(1), NodeStore)


def test_empty_tree() -> None:
    store = InMemoryNodeStore()
    assert store.size() == 0
    assert root(store, 0) == EMPTY_ROOT
    assert Frontier().root() == EMPTY_ROOT
    assert consistency_proof(store, 0, 0) == []
    assert store.get_calls == 0


@pytest.mark.parametrize("size", range(1, MAX + 1))
def test_roots_and_inclusion_proofs_match_reference(size: int) -> None:
    prefix = HASHES[:size]
    expected_root = ref_mth(prefix)
    assert root(STORE, size) == expected_root
    for index in range(size):
        proof = inclusion_proof(STORE, index, size)
        assert proof == ref_path(index, prefix), (index, size)
        assert verify_inclusion(index, size, prefix[index], proof, expected_root)


@pytest.mark.parametrize("second", range(1, MAX + 1))
def test_consistency_proofs_match_reference(second: int) -> None:
    prefix = HASHES[:second]
    second_root = ref_mth(prefix)
    for first in range(second + 1):
        proof = consistency_proof(STORE, first, second)
        assert proof == ref_proof(first, prefix), (first, second)
        assert verify_consistency(first, second, ref_mth(prefix[:first]), second_root, proof)


@pytest.mark.parametrize("batch", [1, 2, 3, 7, 16, 64])
def test_batch_size_does_not_change_the_tree(batch: int) -> None:
    store = _store(HASHES, batch=batch)
    assert store.nodes == STORE.nodes
    assert store.size() == MAX


def test_append_writes_only_complete_perfect_subtrees() -> None:
    for (level, index), digest in STORE.nodes.items():
        start, end = index << level, (index + 1) << level
        assert end <= MAX
        assert digest == ref_mth(HASHES[start:end])
    # A tree of n leaves has fewer than 2n complete subtrees.
    assert len(STORE.nodes) == 2 * MAX - 1


def test_append_with_known_size_skips_the_size_query() -> None:
    store = _store(HASHES[:10])
    nodes = append(store, HASHES[10:12], size=10)
    store.put_nodes(nodes)
    assert root(store, 12) == ref_mth(HASHES[:12])


def test_frontier_tracks_the_root() -> None:
    frontier = Frontier()
    for n, digest in enumerate(HASHES, start=1):
        frontier.append(digest)
        assert frontier.size == n
        assert frontier.root() == ref_mth(HASHES[:n])
        assert len(frontier.hashes) == n.bit_count()
    loaded = Frontier.from_store(STORE, 37)
    assert loaded.root() == ref_mth(HASHES[:37])
    assert loaded.keys() == frontier_keys(37)
    copy = loaded.copy()
    copy.append(HASHES[37])
    assert loaded.size == 37
    assert copy.root() == ref_mth(HASHES[:38])


def test_frontier_rejects_bad_input_and_stays_intact() -> None:
    with pytest.raises(ValueError, match="frontier hashes"):
        Frontier(3, [HASHES[0]])
    with pytest.raises(ValueError, match="negative"):
        Frontier(-1)
    with pytest.raises(ValueError, match="32 bytes"):
        Frontier(1, [b"short"])
    frontier = Frontier.from_store(STORE, 5)
    with pytest.raises(ValueError, match="32 bytes"):
        frontier.extend([HASHES[5], b"short"])
    assert frontier.size == 5
    assert frontier.root() == ref_mth(HASHES[:5])


def test_range_keys() -> None:
    assert range_keys(0, 0) == []
    assert range_keys(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert range_keys(8, 11) == [(1, 4), (0, 10)]
    assert frontier_keys(6) == [(2, 0), (1, 2)]
    with pytest.raises(ValueError, match="aligned"):
        range_keys(1, 3)
    with pytest.raises(ValueError, match="before"):
        range_keys(3, 1)


def test_leaf_hashes_reads_one_batch() -> None:
    STORE.reset_counters()
    assert leaf_hashes(STORE, 3, 9) == HASHES[3:9]
    assert STORE.get_calls == 1
    with pytest.raises(TreeIntegrityError):
        leaf_hashes(STORE, 60, 70)


def test_proof_arguments_are_checked() -> None:
    with pytest.raises(ProofError):
        inclusion_proof(STORE, 5, 5)
    with pytest.raises(ProofError):
        inclusion_proof(STORE, -1, 5)
    with pytest.raises(ProofError):
        consistency_proof(STORE, 6, 5)
    with pytest.raises(ProofError):
        root(STORE, -1)


def test_beyond_the_stored_log_is_an_integrity_error() -> None:
    with pytest.raises(TreeIntegrityError):
        root(STORE, MAX + 1)
    with pytest.raises(TreeIntegrityError):
        inclusion_proof(STORE, 0, MAX + 3)
    with pytest.raises(TreeIntegrityError):
        inclusion_proof(STORE, 0, MAX + 1)
    with pytest.raises(TreeIntegrityError):
        Frontier.from_store(InMemoryNodeStore(), 3)


def test_store_is_append_only() -> None:
    store = _store(HASHES[:4])
    store.put_nodes([(0, 1, HASHES[1])])  # Writing the same hash again is harmless.
    with pytest.raises(TreeIntegrityError):
        store.put_nodes([(0, 1, HASHES[2])])


# --- efficiency, by counting ------------------------------------------------


def _log2_ceil(n: int) -> int:
    return (n - 1).bit_length()


@pytest.mark.slow
def test_a_million_leaves_prove_in_one_batch_of_log_n_nodes() -> None:
    n = 1_000_000
    hashes = _leaves(n, b"big")
    store = InMemoryNodeStore()
    writes = 0
    for i in range(0, n, 50_000):
        nodes = append(store, hashes[i : i + 50_000])
        writes += len(nodes)
        store.put_nodes(nodes)
    # Each append read only the frontier: one batch, at most log2 n keys.
    assert store.get_calls == n // 50_000 - 1  # The first append, on the empty tree, reads nothing.
    assert store.keys_fetched <= (n // 50_000) * _log2_ceil(n)
    assert writes == 2 * n - n.bit_count()

    size_root = root(store, n)
    for size in (n, n - 1, 999_937, 524_288, 524_289):
        for index in (0, 1, size // 3, size // 2, size - 2, size - 1):
            store.reset_counters()
            proof = inclusion_proof(store, index, size)
            assert store.get_calls == 1
            assert store.keys_fetched <= 2 * _log2_ceil(size)
            assert len(proof) <= _log2_ceil(size)
            if size == n:
                assert verify_inclusion(index, size, hashes[index], proof, size_root)
        for first in (1, 3, size // 2, size - 1):
            store.reset_counters()
            proof = consistency_proof(store, first, size)
            assert store.get_calls == 1
            assert store.keys_fetched <= 2 * _log2_ceil(size) + 1
            if size == n:
                first_root = root(store, first)
                assert verify_consistency(first, size, first_root, size_root, proof)


@pytest.mark.parametrize("size", [10_000_000, 2**40 + 12_345, 2**63 - 1])
def test_proofs_at_huge_sizes_need_log_n_keys(size: int) -> None:
    for index in (0, size // 3, size // 2 + 1, size - 1):
        store = SyntheticStore(size)
        proof = inclusion_proof(store, index, size)
        assert store.get_calls == 1
        assert len(set(store.keys)) == len(store.keys) <= 2 * _log2_ceil(size)
        assert len(proof) <= _log2_ceil(size)
    for first in (1, 7, size // 2, size - 1):
        store = SyntheticStore(size)
        consistency_proof(store, first, size)
        assert store.get_calls == 1
        assert len(store.keys) <= 2 * _log2_ceil(size) + 1
    store = SyntheticStore(size)
    root(store, size)
    assert store.get_calls == 1
    assert len(store.keys) == size.bit_count()


def test_plans_name_the_keys_before_any_read() -> None:
    plan = plan_inclusion(5, 7)
    # Leaf 4, the right-edge subtree [6, 7) and the left half [0, 4).
    assert list(plan.keys) == [(0, 4), (0, 6), (2, 0)]
    plan = plan_consistency(6, 7)
    assert list(plan.keys) == [(1, 2), (0, 6), (2, 0)]
    assert list(plan_consistency(4, 8).keys) == [(2, 1)]
    # The right edge [0, 7) is one proof hash folded from three subtrees.
    assert plan_root(7).components == [((2, 0), (1, 2), (0, 6))]
    assert plan_inclusion(0, 7).components == [((0, 1),), ((1, 1),), ((1, 2), (0, 6))]
