"""RFC 9162 Merkle tree hashing, proofs and their verification, on plain lists.

The access log commits to its entries with the Certificate Transparency tree
(RFC 9162 §2.1), so that anyone holding a signed root can check an entry's
inclusion or the append-only growth of the log without trusting the hub. This
module is the definition: leaf and node hashing, the tree head of a list of
leaves, the PATH and PROOF constructions of the RFC computed directly over a
list (right for tests and small tools, linear in the list), and the two
verification algorithms of §2.1.3.2 and §2.1.4.2, which are what auditors run.
The log itself uses :mod:`hub.domain.auditlog.tree`, which builds the same
proofs from stored subtree hashes in logarithmic time.

SHA-256 comes from :mod:`hashlib`: for many small inputs it is several times
faster than the ``cryptography`` hash object.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from hub.domain.auditlog.errors import ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "check_consistency",
    "consistency_path",
    "inclusion_path",
    "largest_power_of_two_below",
    "leaf_hash",
    "mth",
    "node_hash",
    "root_from_inclusion_proof",
    "root_of_leaf_hashes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32

#: The tree head of the empty log: the hash of the empty string (RFC 9162 §2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(entry: bytes) -> bytes:
    """The hash of one leaf: SHA-256(0x00 || entry)."""
    return _sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256(0x01 || left || right)."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """The k of RFC 9162: the largest power of two strictly smaller than ``n``.

    The RFC splits a list of ``n`` > 1 leaves at this point, so that the left
    part is always a perfect subtree.
    """
    if n < 2:
        raise ValueError("n must be at least 2")
    return 1 << ((n - 1).bit_length() - 1)


def root_of_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """The tree head of a list of leaf hashes.

    Hashing level by level and carrying an unpaired last node up unchanged
    gives exactly the RFC's recursive split at the largest power of two,
    without recursion.
    """
    if not hashes:
        return EMPTY_ROOT
    layer = list(hashes)
    sha = _sha256
    while len(layer) > 1:
        paired = [
            sha(_NODE_PREFIX + layer[i] + layer[i + 1]).digest()
            for i in range(0, len(layer) - 1, 2)
        ]
        if len(layer) % 2:
            paired.append(layer[-1])
        layer = paired
    return layer[0]


def mth(entries: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 §2.1.1: the tree head of a list of entries."""
    return root_of_leaf_hashes([leaf_hash(e) for e in entries])


def inclusion_path(hashes: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1 over a list of leaf hashes.

    The path lists the sibling hashes from the leaf up to the root.
    """
    if not 0 <= index < len(hashes):
        raise ProofError(f"leaf index {index} is outside a tree of size {len(hashes)}")
    path: list[bytes] = []
    lo, hi = 0, len(hashes)
    while hi - lo > 1:
        k = largest_power_of_two_below(hi - lo)
        if index < lo + k:
            path.append(root_of_leaf_hashes(hashes[lo + k : hi]))
            hi = lo + k
        else:
            path.append(root_of_leaf_hashes(hashes[lo : lo + k]))
            lo += k
    path.reverse()
    return path


def consistency_path(hashes: Sequence[bytes], first: int) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1 over a list of leaf hashes.

    It proves that the tree of the first ``first`` leaves is a prefix of the
    tree of all of them. The proof is empty when ``first`` is 0 or the whole
    list, since those are consistent by definition.
    """
    second = len(hashes)
    if not 0 <= first <= second:
        raise ProofError(f"cannot prove size {first} consistent with size {second}")
    if first in (0, second):
        return []
    # SUBPROOF(m, D[lo:hi], start) appends its own node after the nodes of
    # its recursion, so the nodes are collected top-down and then reversed.
    proof: list[bytes] = []
    lo, hi, start = 0, second, True
    while True:
        if first == hi:
            if not start:
                proof.append(root_of_leaf_hashes(hashes[lo:hi]))
            break
        k = largest_power_of_two_below(hi - lo)
        if first - lo <= k:
            proof.append(root_of_leaf_hashes(hashes[lo + k : hi]))
            hi = lo + k
        else:
            proof.append(root_of_leaf_hashes(hashes[lo : lo + k]))
            lo += k
            start = False
    proof.reverse()
    return proof


def root_from_inclusion_proof(
    index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root that an inclusion proof leads to (RFC 9162 §2.1.3.2).

    Raises :class:`ProofError` when the proof cannot belong to that leaf
    position and tree size, whatever the root.
    """
    if not 0 <= index < tree_size:
        raise ProofError(f"leaf index {index} is outside a tree of size {tree_size}")
    if len(leaf) != HASH_SIZE:
        raise ProofError("the leaf hash is not 32 bytes")
    sha = _sha256
    fn = index
    sn = tree_size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is too long")
        if len(p) != HASH_SIZE:
            raise ProofError("an inclusion proof hash is not 32 bytes")
        if fn & 1 or fn == sn:
            r = sha(_NODE_PREFIX + p + r).digest()
            # A last node without a right sibling is carried up unchanged.
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = sha(_NODE_PREFIX + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the inclusion proof is too short")
    return r


def verify_inclusion(
    index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows the leaf at ``index`` is in the tree ``root``."""
    try:
        return root_from_inclusion_proof(index, tree_size, leaf, proof) == root
    except ProofError:
        return False


def _check_trivial_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Settle the degenerate cases; True when nothing is left to check."""
    if not 0 <= first <= second:
        raise ProofError(f"size {first} cannot be a prefix of size {second}")
    if first == second:
        if proof:
            raise ProofError("a proof between equal sizes must be empty")
        if first_root != second_root:
            raise ProofError("equal sizes with different roots")
        return True
    if first == 0:
        if proof:
            raise ProofError("a proof from the empty tree must be empty")
        return True
    if not proof:
        raise ProofError("the consistency proof is empty")
    if any(len(p) != HASH_SIZE for p in proof):
        raise ProofError("a consistency proof hash is not 32 bytes")
    return False


def check_consistency(
    first: int,
    second: int,
    first_root: bytes,
    second_root: bytes,
    proof: Sequence[bytes],
) -> None:
    """Check a consistency proof (RFC 9162 §2.1.4.2); raise :class:`ProofError`.

    The degenerate cases follow the usual convention: equal sizes need equal
    roots and an empty proof; the empty tree is a prefix of every tree.
    """
    if _check_trivial_consistency(first, second, first_root, second_root, proof):
        return
    path = list(proof)
    # A perfect first tree is itself a node of the second; the RFC leaves
    # it out of the proof, and the verifier puts it back.
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    sha = _sha256
    fn = first - 1
    sn = second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = sha(_NODE_PREFIX + c + fr).digest()
            sr = sha(_NODE_PREFIX + c + sr).digest()
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = sha(_NODE_PREFIX + sr + c).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the consistency proof is too short")
    if fr != first_root:
        raise ProofError("the proof does not lead to the first root")
    if sr != second_root:
        raise ProofError("the proof does not lead to the second root")


def verify_consistency(
    first: int,
    second: int,
    first_root: bytes,
    second_root: bytes,
    proof: Sequence[bytes],
) -> bool:
    """Whether ``proof`` shows tree ``first_root`` is a prefix of ``second_root``."""
    try:
        check_consistency(first, second, first_root, second_root, proof)
    except ProofError:
        return False
    return True
