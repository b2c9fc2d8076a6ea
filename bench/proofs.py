"""Inclusion proofs at 10^4, 10^6 and 10^7 entries against the hashes they are made of.

The trees are built with the hub's own :class:`~hub.domain.auditlog.tree.Frontier`
(in batches, as group commit would) and kept in a :class:`LevelNodeStore`: one
flat byte array of 32-byte hashes per tree level. That is the same
``(level, index) -> hash`` mapping as the hub's node table and as
:class:`~hub.domain.auditlog.tree.InMemoryNodeStore`, at 32 bytes a node
instead of a dict entry, so ten million leaves (twenty million nodes,
640 MB) fit. The largest tree is built once and cached under
``var/bench/`` as ``tree-<size>.bin``; later runs map the file.

Proofs are made with :func:`~hub.domain.auditlog.tree.inclusion_proof`
(plan, one batched fetch, assemble) for random leaves and checked with
:func:`~hub.domain.auditlog.merkle.verify_inclusion` against the tree head.
The floor of a proof is the time of one SHA-256 over a 64-byte input times
the number of hashes in it; the proof's growth from 10^4 to 10^7 entries is
shown next to the growth of ``log2 n``.
"""

from __future__ import annotations

import hashlib
import mmap
import random
import struct
import time
from collections.abc import Collection, Iterable
from pathlib import Path

from bench.config import BenchConfig
from bench.report import Figure, Target
from bench.stats import log_growth, percentile, timed_rate
from hub.domain.auditlog.merkle import verify_inclusion
from hub.domain.auditlog.tree import Frontier, Node, NodeKey, inclusion_proof, root
from hub.persistence import migrate
from hub.persistence.auditlog import SqlNodeStore
from hub.persistence.db import Database

__all__ = ["LevelNodeStore", "build_tree", "load_or_build", "measure_proofs"]

_MAGIC = b"HUBTREE1"
_HEADER = struct.Struct("<8sQI32s")
_COUNT = struct.Struct("<Q")
_BUILD_BATCH = 1 << 16
PROOF_TARGET = Target("< 1 ms at 10^7", "<=", 1000.0)
#: Leaves of the SQLite node tables: the large one is cached, the small one cheap.
SQL_TREE_SIZE = 10**6
SQL_SMALL_SIZE = 10**4


class LevelNodeStore:
    """A read-mostly :class:`~hub.domain.auditlog.tree.NodeStore` of flat per-level arrays.

    Level ``l`` holds the hashes of nodes ``(l, 0), (l, 1), …`` back to back.
    Nodes must be put in index order per level, which is how
    :meth:`Frontier.extend` produces them.
    """

    def __init__(self, levels: list[bytes | bytearray | memoryview] | None = None) -> None:
        self.levels: list[bytes | bytearray | memoryview] = levels or []
        self._backing: mmap.mmap | None = None

    def size(self) -> int:
        return len(self.levels[0]) // 32 if self.levels else 0

    def get_nodes(self, keys: Collection[NodeKey]) -> dict[NodeKey, bytes]:
        levels = self.levels
        found: dict[NodeKey, bytes] = {}
        for key in keys:
            level, index = key
            if level < len(levels):
                data = levels[level]
                start = index * 32
                if start + 32 <= len(data):
                    found[key] = bytes(data[start : start + 32])
        return found

    def put_nodes(self, nodes: Iterable[Node]) -> None:
        levels = self.levels
        for level, index, digest in nodes:
            while len(levels) <= level:
                levels.append(bytearray())
            data = levels[level]
            if not isinstance(data, bytearray) or len(data) != index * 32:
                raise ValueError(f"node ({level}, {index}) is out of order for this store")
            data += digest

    def save(self, path: Path, tree_size: int, head: bytes) -> None:
        """Write the levels to ``path`` (atomically, through a temporary file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        with partial.open("wb") as handle:
            handle.write(_HEADER.pack(_MAGIC, tree_size, len(self.levels), head))
            for data in self.levels:
                handle.write(_COUNT.pack(len(data) // 32))
            for data in self.levels:
                handle.write(data)
        partial.replace(path)

    @classmethod
    def open(cls, path: Path) -> tuple[LevelNodeStore, int, bytes]:
        """Map a saved store; returns it with its tree size and head."""
        with path.open("rb") as handle:
            backing = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        magic, tree_size, count, head = _HEADER.unpack_from(backing, 0)
        if magic != _MAGIC:
            backing.close()
            raise ValueError(f"{path} is not a cached bench tree")
        offset = _HEADER.size
        counts = [_COUNT.unpack_from(backing, offset + i * 8)[0] for i in range(count)]
        offset += count * 8
        view = memoryview(backing)
        levels: list[bytes | bytearray | memoryview] = []
        for nodes in counts:
            levels.append(view[offset : offset + nodes * 32])
            offset += nodes * 32
        store = cls(levels)
        store._backing = backing
        return store, int(tree_size), bytes(head)


def _leaf(number: int) -> bytes:
    """The leaf hash of entry ``number``: deterministic, so a cache can be checked."""
    return hashlib.sha256(b"\x00bench-entry-%d" % number).digest()


def build_tree(size: int) -> tuple[LevelNodeStore, bytes]:
    """A tree of ``size`` leaves built with the hub's Frontier; the store and its head."""
    store = LevelNodeStore()
    frontier = Frontier()
    for start in range(0, size, _BUILD_BATCH):
        leaves = [_leaf(n) for n in range(start, min(start + _BUILD_BATCH, size))]
        store.put_nodes(frontier.extend(leaves))
    return store, frontier.root()


def load_or_build(size: int, cache: Path, *, build: bool) -> tuple[LevelNodeStore, bytes] | None:
    """The cached tree of ``size`` leaves; built and saved when missing and ``build``."""
    path = cache / f"tree-{size}.bin"
    if path.exists():
        try:
            store, cached_size, head = LevelNodeStore.open(path)
        except (ValueError, OSError, struct.error):
            path.unlink()
        else:
            if cached_size == size and store.size() == size:
                return store, head
            path.unlink()
    if not build:
        return None
    began = time.perf_counter()
    store, head = build_tree(size)
    store.save(path, size, head)
    print(f"  built and cached a tree of {size:,} leaves in {time.perf_counter() - began:.0f} s")
    return store, head


def _sha64_seconds(seconds: float) -> float:
    """Seconds per SHA-256 of a 64-byte input (with the hub's 1-byte node prefix)."""
    left, right = b"\x11" * 32, b"\x22" * 32
    sha = hashlib.sha256
    rate = timed_rate(lambda: sha(b"\x01" + left + right).digest(), seconds=seconds, batch=1000)
    return rate.seconds_per_call


def _measure_one(
    store: LevelNodeStore, head: bytes, size: int, samples: int, seconds: float
) -> tuple[float, float, float, float]:
    """Mean and p99 proof time, mean verify time (all µs) and mean proof length."""
    rng = random.Random(size)
    indexes = [rng.randrange(size) for _ in range(samples)]
    if root(store, size) != head:
        raise RuntimeError(f"the tree of {size} leaves does not match its head")
    proofs = [inclusion_proof(store, i, size) for i in indexes]
    for index, proof in zip(indexes, proofs, strict=True):
        if not verify_inclusion(index, size, _leaf(index), proof, head):
            raise RuntimeError(f"the proof of leaf {index} in {size} does not verify")
    times: list[float] = []
    clock = time.perf_counter
    deadline = clock() + seconds
    while clock() < deadline or not times:
        for index in indexes:
            began = clock()
            inclusion_proof(store, index, size)
            times.append(clock() - began)
    leaves = [_leaf(i) for i in indexes]
    began = clock()
    for index, leaf, proof in zip(indexes, leaves, proofs, strict=True):
        verify_inclusion(index, size, leaf, proof, head)
    verify = (clock() - began) / len(indexes)
    mean_length = sum(len(p) for p in proofs) / len(proofs)
    us = [t * 1e6 for t in times]
    return sum(us) / len(us), percentile(us, 99), verify * 1e6, mean_length


def _sql_tree(config: BenchConfig, size: int) -> Database | None:
    """A migrated SQLite database whose ``audit_nodes`` hold a tree of ``size`` leaves.

    Small tables are always built; the large one only when the run may build
    caches (a full run), and then kept under the cache directory.
    """
    path = config.cache_dir / f"nodes-{size}.db"
    done = path.with_suffix(".done")
    if done.exists():
        return Database(f"sqlite:///{path}")
    if size > SQL_SMALL_SIZE and not config.build_cached:
        return None
    began = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_suffix(".db-wal"), path.with_suffix(".db-shm")):
        stale.unlink(missing_ok=True)
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    frontier = Frontier()
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        for start in range(0, size, _BUILD_BATCH):
            leaves = [_leaf(n) for n in range(start, min(start + _BUILD_BATCH, size))]
            cursor.executemany(
                "INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)",
                frontier.extend(leaves),
            )
        cursor.execute("COMMIT")
        cursor.close()
    finally:
        connection.close()
    done.write_text(frontier.root().hex())
    if size > SQL_SMALL_SIZE:
        print(
            f"  built and cached an SQLite node table of {size:,} leaves "
            f"in {time.perf_counter() - began:.0f} s"
        )
    return db


def _measure_sql(config: BenchConfig, sha_us: float) -> list[Figure]:
    """Proofs through the hub's SqlNodeStore: one query per proof, as the API serves them."""
    figures: list[Figure] = []
    means: dict[int, float] = {}
    rng = random.Random(7)
    for size in (SQL_SMALL_SIZE, SQL_TREE_SIZE):
        db = _sql_tree(config, size)
        if db is None:
            print(f"  no cached SQLite node table of {size:,} leaves: skipped")
            continue
        indexes = [rng.randrange(size) for _ in range(min(config.proof_samples, 500))]
        try:
            with db.session() as session:
                store = SqlNodeStore(session)
                head = root(store, size)
                for index in indexes[:20]:
                    proof = inclusion_proof(store, index, size)
                    if not verify_inclusion(index, size, _leaf(index), proof, head):
                        raise RuntimeError(f"the SQL proof of leaf {index} does not verify")
                times: list[float] = []
                lengths = 0
                # Bounded by the clock as well as by the samples: a slow
                # store must not stretch the run.
                deadline = time.perf_counter() + config.crypto_seconds
                for index in indexes:
                    began = time.perf_counter()
                    lengths += len(inclusion_proof(store, index, size))
                    times.append(time.perf_counter() - began)
                    if began > deadline and len(times) >= 3:
                        break
        finally:
            db.dispose()
        us = [t * 1e6 for t in times]
        length = lengths / len(times)
        means[size] = sum(us) / len(us)
        figures.append(
            Figure(
                f"inclusion proof n={size:.0e}".replace("+0", ""),
                "make proof, SqlNodeStore on SQLite (mean)",
                sum(us) / len(us),
                "µs",
                f"SHA-256(64 B) × {length:.1f} hashes",
                sha_us * length,
                note="one SELECT … IN per proof, as the audit API serves them",
            )
        )
    if len(means) == 2:
        figures.append(
            Figure(
                "inclusion proof growth",
                f"SqlNodeStore proof time n={SQL_TREE_SIZE:.0e} / n={SQL_SMALL_SIZE:.0e}".replace(
                    "+0", ""
                ),
                means[SQL_TREE_SIZE] / means[SQL_SMALL_SIZE],
                "×",
                "log2 n growth",
                log_growth(SQL_SMALL_SIZE, SQL_TREE_SIZE),
                note="far above 1: the query's cost grows with the table, not with log n",
            )
        )
    return figures


def measure_proofs(config: BenchConfig) -> list[Figure]:
    """Proof figures for every configured size that is available."""
    figures: list[Figure] = []
    sha_us = _sha64_seconds(min(1.0, config.crypto_seconds)) * 1e6
    means: dict[int, float] = {}
    for size in config.proof_sizes:
        if size in config.cached_sizes:
            found = load_or_build(size, config.cache_dir, build=config.build_cached)
            if found is None:
                print(f"  no cached tree of {size:,} leaves: skipped (a full run builds it)")
                continue
            store, head = found
        else:
            store, head = build_tree(size)
        mean, p99, verify, length = _measure_one(
            store, head, size, config.proof_samples, config.crypto_seconds
        )
        means[size] = mean
        floor = sha_us * length
        section = f"inclusion proof n={size:.0e}".replace("+0", "")
        big = size >= 10**7
        figures += [
            Figure(
                section,
                "make proof (mean)",
                mean,
                "µs",
                f"SHA-256(64 B) × {length:.1f} hashes",
                floor,
                target=PROOF_TARGET if big else None,
            ),
            Figure(section, "make proof (p99)", p99, "µs"),
            Figure(
                section,
                "verify proof (mean)",
                verify,
                "µs",
                f"SHA-256(64 B) × {length:.1f} hashes",
                floor,
            ),
        ]
    figures += _measure_sql(config, sha_us)
    sizes = sorted(means)
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        figures.append(
            Figure(
                "inclusion proof growth",
                f"proof time n={large:.0e} / n={small:.0e}".replace("+0", ""),
                means[large] / means[small],
                "×",
                "log2 n growth",
                log_growth(small, large),
                note="a ratio near 1 means the cost grows like log n",
            )
        )
    return figures
