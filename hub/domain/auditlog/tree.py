"""The incremental log tree: appends and proofs in O(log n) over stored nodes.

Recomputing a tree head over ten million entries for every proof is out of
the question, so the log stores the hash of every *perfect* subtree once it is
complete, keyed by ``(level, index)``: the node covers the leaves
``[index * 2**level, (index + 1) * 2**level)``. Such a node never changes once
written, so the store is append-only like the log. Every node a proof needs is
either one of those, or a right-edge subtree of a smaller tree, whose hash is
folded from at most ``log2 n`` perfect ones.

Storage stays behind the :class:`NodeStore` port. A proof is first *planned*
from the sizes alone (:func:`plan_inclusion`, :func:`plan_consistency`,
:func:`plan_root`), the plan names every node it needs, the store fetches them
in one batch, and the plan assembles the proof. An SQL table
``(level, idx, hash)`` therefore answers each proof with one query, and the
CPU work is a few dozen hashes.

Appending uses the :class:`Frontier`: the hashes of the perfect subtrees
along the right edge of the tree, one per set bit of its size. A group commit
fetches the frontier once, appends its whole batch and writes the new nodes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeAlias, runtime_checkable

from hub.domain.auditlog.errors import ProofError, TreeIntegrityError
from hub.domain.auditlog.merkle import EMPTY_ROOT, HASH_SIZE

__all__ = [
    "Frontier",
    "InMemoryNodeStore",
    "Node",
    "NodeKey",
    "NodeStore",
    "ProofPlan",
    "append",
    "consistency_proof",
    "frontier_keys",
    "inclusion_proof",
    "leaf_hashes",
    "plan_consistency",
    "plan_inclusion",
    "plan_root",
    "range_keys",
    "root",
]

#: ``(level, index)`` of a perfect subtree.
NodeKey: TypeAlias = tuple[int, int]
#: ``(level, index, hash)``: one row of the node store.
Node: TypeAlias = tuple[int, int, bytes]

_sha256 = hashlib.sha256
_NODE_PREFIX = b"\x01"


@runtime_checkable
class NodeStore(Protocol):
    """Where the hashes of complete perfect subtrees are kept.

    Implementations must be append-only: a node, once written, never
    changes. Methods are batched so that a database answers each call with
    one query.
    """

    def size(self) -> int:
        """The number of leaves whose level-0 nodes are stored."""
        ...

    def get_nodes(self, keys: Collection[NodeKey]) -> Mapping[NodeKey, bytes]:
        """The stored hashes of ``keys``; absent keys are left out."""
        ...

    def put_nodes(self, nodes: Iterable[Node]) -> None:
        """Store new nodes, typically those returned by :func:`append`."""
        ...


class InMemoryNodeStore:
    """A :class:`NodeStore` in a dict, for tests, tools and offline checks.

    It counts its reads (``get_calls`` and ``keys_fetched``) so that tests
    can show that proofs touch O(log n) nodes in one batch. ``nodes`` is
    public so that tamper tests can corrupt it on purpose.
    """

    def __init__(self) -> None:
        self.nodes: dict[NodeKey, bytes] = {}
        self._size = 0
        self.get_calls = 0
        self.keys_fetched = 0

    def size(self) -> int:
        return self._size

    def get_nodes(self, keys: Collection[NodeKey]) -> dict[NodeKey, bytes]:
        self.get_calls += 1
        self.keys_fetched += len(keys)
        nodes = self.nodes
        return {k: nodes[k] for k in keys if k in nodes}

    def put_nodes(self, nodes: Iterable[Node]) -> None:
        stored = self.nodes
        size = self._size
        for level, index, digest in nodes:
            key = (level, index)
            old = stored.get(key)
            if old is not None and old != digest:
                raise TreeIntegrityError(f"node {key} already holds a different hash")
            stored[key] = digest
            if level == 0 and index >= size:
                size = index + 1
        self._size = size

    def reset_counters(self) -> None:
        self.get_calls = 0
        self.keys_fetched = 0


def frontier_keys(size: int) -> list[NodeKey]:
    """The perfect subtrees that make up a tree of ``size`` leaves, left to right.

    There is one per set bit of ``size``, the largest first.
    """
    return range_keys(0, size)


def range_keys(start: int, end: int) -> list[NodeKey]:
    """The perfect subtrees covering leaves ``[start, end)``, left to right.

    ``start`` must be a multiple of the largest power of two not above
    ``end - start``; every subtree the RFC constructions use is of that kind.
    """
    width = end - start
    if width < 0:
        raise ValueError("a range cannot end before it starts")
    if width and start & ((1 << (width.bit_length() - 1)) - 1):
        raise ValueError(f"range [{start}, {end}) is not aligned")
    return _edge_keys(start, width)


def _edge_keys(pos: int, width: int) -> list[NodeKey]:
    # One perfect subtree per set bit of the width, the largest first.
    keys: list[NodeKey] = []
    while width:
        level = width.bit_length() - 1
        keys.append((level, pos >> level))
        pos += 1 << level
        width -= 1 << level
    return keys


def _fold_hashes(hashes: Sequence[bytes]) -> bytes:
    # The RFC splits at the largest power of two, so a run of perfect
    # subtrees of decreasing size hashes right to left.
    digest = hashes[-1]
    for h in reversed(hashes[:-1]):
        digest = _sha256(_NODE_PREFIX + h + digest).digest()
    return digest


def _missing(key: object) -> TreeIntegrityError:
    return TreeIntegrityError(
        f"the node store lacks node {key}: the tree size is beyond "
        "the stored log, or the store lost nodes"
    )


@dataclass(frozen=True, slots=True)
class ProofPlan:
    """Which stored nodes a proof needs, and how to combine them.

    ``keys`` lists the nodes to fetch, in proof order. Most proof hashes are
    one stored node; a right-edge subtree is a run of several, folded into
    one hash. ``folds`` gives each such run as ``(start, length)`` in
    ``keys``. A proof has at most one fold, so assembling one is a lookup
    per key and a handful of hashes.
    """

    keys: tuple[NodeKey, ...]
    folds: tuple[tuple[int, int], ...] = ()

    @property
    def components(self) -> list[tuple[NodeKey, ...]]:
        """The keys grouped by the proof hash they make, for reading."""
        out: list[tuple[NodeKey, ...]] = []
        runs = dict(self.folds)
        pos = 0
        while pos < len(self.keys):
            length = runs.get(pos, 1)
            out.append(self.keys[pos : pos + length])
            pos += length
        return out

    def assemble(self, nodes: Mapping[NodeKey, bytes]) -> list[bytes]:
        """The proof hashes, from the fetched nodes."""
        try:
            hashes = [nodes[k] for k in self.keys]
        except KeyError as exc:
            raise _missing(exc.args[0]) from exc
        # Right to left, so that earlier runs keep their positions.
        for start, length in reversed(self.folds):
            hashes[start : start + length] = [_fold_hashes(hashes[start : start + length])]
        return hashes


class _Builder:
    """Collects the keys and fold runs of a plan."""

    __slots__ = ("folds", "keys")

    def __init__(self) -> None:
        self.keys: list[NodeKey] = []
        self.folds: list[tuple[int, int]] = []

    def edge(self, start: int, end: int) -> None:
        run = _edge_keys(start, end - start)
        if len(run) > 1:
            self.folds.append((len(self.keys), len(run)))
        self.keys.extend(run)

    def plan(self) -> ProofPlan:
        return ProofPlan(tuple(self.keys), tuple(self.folds))


def plan_root(tree_size: int) -> ProofPlan:
    """The plan for the tree head of ``tree_size`` leaves (one hash).

    The empty tree needs no node; its head is :data:`EMPTY_ROOT`.
    """
    if tree_size < 0:
        raise ProofError("a tree size cannot be negative")
    builder = _Builder()
    if tree_size:
        builder.edge(0, tree_size)
    return builder.plan()


def _path_up(builder: _Builder, level: int, index: int, tree_size: int) -> None:
    """The siblings of node ``(level, index)`` and of its ancestors, bottom-up.

    Seen level by level, the RFC tree is the perfect tree cut at
    ``tree_size``: a sibling entirely beyond the cut does not exist (the node
    is carried up unchanged), and a sibling straddling it is a right-edge
    subtree, folded from the perfect subtrees it is made of. Only the first
    sibling to the right can straddle, so a path has at most one fold.
    """
    keys = builder.keys
    top = (tree_size - 1).bit_length()
    while level < top:
        sibling = index ^ 1
        start = sibling << level
        if start < tree_size:
            if start + (1 << level) <= tree_size:
                keys.append((level, sibling))
            else:
                builder.edge(start, tree_size)
        level += 1
        index >>= 1


def plan_inclusion(index: int, tree_size: int) -> ProofPlan:
    """The plan for PATH(index, D[tree_size]), siblings from the leaf up."""
    if not 0 <= index < tree_size:
        raise ProofError(f"leaf index {index} is outside a tree of size {tree_size}")
    builder = _Builder()
    _path_up(builder, 0, index, tree_size)
    return builder.plan()


def plan_consistency(first: int, second: int) -> ProofPlan:
    """The plan for PROOF(first, D[second]) of RFC 9162 §2.1.4.1.

    Unrolling the RFC's SUBPROOF gives a short description: take the
    largest perfect subtree that ends where the first tree ends (the last
    subtree of its decomposition); the proof is that subtree, unless it is
    the whole first tree, followed by its inclusion path in the second tree.
    """
    if not 0 <= first <= second:
        raise ProofError(f"cannot prove size {first} consistent with size {second}")
    builder = _Builder()
    if first in (0, second):
        return builder.plan()
    level = (first & -first).bit_length() - 1
    index = (first >> level) - 1
    if index:
        builder.keys.append((level, index))
    _path_up(builder, level, index, second)
    return builder.plan()


def _run(store: NodeStore, plan: ProofPlan) -> list[bytes]:
    return plan.assemble(store.get_nodes(plan.keys) if plan.keys else {})


def root(store: NodeStore, tree_size: int) -> bytes:
    """The tree head of the first ``tree_size`` leaves of the stored log."""
    hashes = _run(store, plan_root(tree_size))
    return hashes[0] if hashes else EMPTY_ROOT


def inclusion_proof(store: NodeStore, index: int, tree_size: int) -> list[bytes]:
    """The inclusion proof of leaf ``index`` in the tree of ``tree_size`` leaves."""
    return _run(store, plan_inclusion(index, tree_size))


def consistency_proof(store: NodeStore, first: int, second: int) -> list[bytes]:
    """The proof that the tree of ``first`` leaves is a prefix of ``second``."""
    return _run(store, plan_consistency(first, second))


def leaf_hashes(store: NodeStore, start: int, end: int) -> list[bytes]:
    """The stored leaf hashes of ``[start, end)``, in one batch."""
    keys = [(0, i) for i in range(start, end)]
    nodes = store.get_nodes(keys)
    try:
        return [nodes[k] for k in keys]
    except KeyError as exc:
        raise TreeIntegrityError(f"the node store lacks leaf {exc.args[0][1]}") from exc


class Frontier:
    """The right edge of a tree: enough to append leaves and compute the head.

    It holds the hashes of the perfect subtrees that make up the tree, the
    largest (leftmost) first, one per set bit of the size: at most 64
    hashes for any log that will ever exist.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0:
            raise ValueError("a tree size cannot be negative")
        if len(hashes) != size.bit_count():
            raise ValueError(f"a tree of size {size} has {size.bit_count()} frontier hashes")
        if any(len(h) != HASH_SIZE for h in hashes):
            raise ValueError("frontier hashes are 32 bytes")
        self._size = size
        self._hashes = list(hashes)

    @classmethod
    def from_store(cls, store: NodeStore, size: int | None = None) -> Frontier:
        """The frontier of the stored tree, read in one batch."""
        if size is None:
            size = store.size()
        keys = frontier_keys(size)
        nodes = store.get_nodes(keys) if keys else {}
        try:
            return cls(size, [nodes[k] for k in keys])
        except KeyError as exc:
            raise TreeIntegrityError(f"the node store lacks frontier node {exc.args[0]}") from exc

    @property
    def size(self) -> int:
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        return tuple(self._hashes)

    def keys(self) -> list[NodeKey]:
        return frontier_keys(self._size)

    def append(self, leaf: bytes) -> list[Node]:
        """Append one leaf hash; return the nodes it completes, leaf first."""
        return self.extend((leaf,))

    def extend(self, leaves: Iterable[bytes]) -> list[Node]:
        """Append leaf hashes; return every node they complete, in order.

        Appending ``k`` leaves completes fewer than ``2k`` nodes, so a batch
        costs O(k) hashes after the O(log n) read of the frontier.
        """
        batch = list(leaves)
        # Check first, so that a bad hash leaves the frontier untouched.
        if any(len(leaf) != HASH_SIZE for leaf in batch):
            raise ValueError("leaf hashes are 32 bytes")
        sha = _sha256
        prefix = _NODE_PREFIX
        stack = self._hashes
        size = self._size
        out: list[Node] = []
        emit = out.append
        for leaf in batch:
            emit((0, size, leaf))
            digest = leaf
            level = 0
            index = size
            # Each trailing 1 bit of the old size is a left sibling waiting
            # on the stack that this leaf completes.
            carry = size
            while carry & 1:
                digest = sha(prefix + stack.pop() + digest).digest()
                level += 1
                index >>= 1
                carry >>= 1
                emit((level, index, digest))
            stack.append(digest)
            size += 1
        self._size = size
        return out

    def root(self) -> bytes:
        """The tree head of the tree this frontier describes."""
        hashes = self._hashes
        if not hashes:
            return EMPTY_ROOT
        digest = hashes[-1]
        for h in reversed(hashes[:-1]):
            digest = _sha256(_NODE_PREFIX + h + digest).digest()
        return digest

    def copy(self) -> Frontier:
        return Frontier(self._size, self._hashes)


def append(store: NodeStore, leaves: Sequence[bytes], *, size: int | None = None) -> list[Node]:
    """The nodes to write to append ``leaves`` to the stored tree.

    Nothing is written: the caller stores the nodes in the same transaction
    as the entries. ``size`` is the current tree size when the caller already
    holds it (from the locked log head); otherwise the store is asked.
    """
    frontier = Frontier.from_store(store, size)
    return frontier.extend(leaves)
