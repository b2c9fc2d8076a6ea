"""The tamper-evident access log: an RFC 9162 Merkle tree with signed checkpoints.

Every access to citizen data is an :class:`AccessEntry` whose canonical bytes
become a leaf of an append-only Merkle tree. The hub signs checkpoints of the
tree in the C2SP formats; auditors fetch inclusion and consistency proofs and
verify an export offline. The package is pure: storage is the
:class:`NodeStore` port, implemented by the persistence layer.

* :mod:`.merkle` — the RFC hashing, proofs over lists, proof verification;
* :mod:`.tree` — the incremental tree over stored subtree hashes, O(log n);
* :mod:`.checkpoint` — checkpoints, signed notes, note keys;
* :mod:`.entry` — the log entry and its canonical bytes;
* :mod:`.verify` — offline verification of exports, locating tampering;
* :mod:`.gating` — consents and certificate status reconciled with the log;
* :mod:`.errors` — the package's leaves of the hub's error tree.
"""

from __future__ import annotations

from hub.domain.auditlog.checkpoint import (
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    parse_signer_key,
    parse_verifier_key,
    sign_checkpoint,
    verify_note,
)
from hub.domain.auditlog.entry import AccessEntry, Actor, entry_leaf_hash
from hub.domain.auditlog.errors import (
    BadSignature,
    MalformedKey,
    MalformedNote,
    NoteError,
    ProofError,
    TreeIntegrityError,
    UnknownKey,
)
from hub.domain.auditlog.merkle import (
    EMPTY_ROOT,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from hub.domain.auditlog.tree import (
    Frontier,
    InMemoryNodeStore,
    NodeStore,
    append,
    consistency_proof,
    inclusion_proof,
    root,
)
from hub.domain.auditlog.verify import (
    Fault,
    Finding,
    LogVerificationReport,
    locate_divergence,
    verify_checkpoint_consistency,
    verify_export,
)

__all__ = [
    "EMPTY_ROOT",
    "AccessEntry",
    "Actor",
    "BadSignature",
    "Checkpoint",
    "Fault",
    "Finding",
    "Frontier",
    "InMemoryNodeStore",
    "LogVerificationReport",
    "MalformedKey",
    "MalformedNote",
    "NodeStore",
    "NoteError",
    "NoteSigner",
    "NoteVerifier",
    "ProofError",
    "TreeIntegrityError",
    "UnknownKey",
    "append",
    "consistency_proof",
    "entry_leaf_hash",
    "inclusion_proof",
    "leaf_hash",
    "locate_divergence",
    "parse_signer_key",
    "parse_verifier_key",
    "root",
    "sign_checkpoint",
    "verify_checkpoint_consistency",
    "verify_consistency",
    "verify_export",
    "verify_inclusion",
    "verify_note",
]
