"""The SQL stores of witnessing against their ports, and the witness's compare-and-set."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from hub.audit.witnessing import CosignatureStore, StoredCosignature
from hub.domain.auditlog.witness import WitnessState, WitnessStore
from hub.persistence import migrate
from hub.persistence.db import Database
from hub.persistence.witnesses import SqlCosignatureStore, SqlWitnessStore


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    migrate.upgrade(database)
    yield database
    database.dispose()


def state(size: int, fill: int) -> WitnessState:
    return WitnessState(size, bytes([fill]) * 32, f"note {size}\n")


def test_the_stores_implement_their_ports(db: Database) -> None:
    assert isinstance(SqlWitnessStore(db), WitnessStore)
    assert isinstance(SqlCosignatureStore(db), CosignatureStore)


def test_advance_is_a_compare_and_set(db: Database) -> None:
    store = SqlWitnessStore(db)
    assert store.latest("log#1") is None
    assert store.advance("log#1", None, state(5, 1)) is None
    # A second "first" record loses, and learns the size recorded.
    assert store.advance("log#1", None, state(3, 2)) == 5
    assert store.advance("log#1", 4, state(9, 3)) == 5
    assert store.advance("log#1", 5, state(9, 3)) is None
    assert store.latest("log#1") == state(9, 3)
    assert store.latest("log#2") is None


def test_racing_submissions_cannot_roll_the_size_back(db: Database) -> None:
    store = SqlWitnessStore(db)
    store.advance("log#1", None, state(10, 0))
    results: list[int | None] = []
    barrier = threading.Barrier(8)

    def submit(size: int) -> None:
        barrier.wait()
        results.append(store.advance("log#1", 10, state(size, size)))

    threads = [threading.Thread(target=submit, args=(11 + n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    winners = [r for r in results if r is None]
    assert len(winners) == 1, results
    latest = store.latest("log#1")
    assert latest is not None
    assert all(r == latest.size for r in results if r is not None)


def test_only_configured_witnesses_count_towards_the_quorum(db: Database) -> None:
    store = SqlCosignatureStore(db)
    for size, witness in ((5, "w1"), (5, "w2"), (8, "w1"), (8, "gone")):
        store.add_cosignature(StoredCosignature(size, witness, f"— {witness} x\n", 1))
    assert store.latest_witnessed(2, {"w1", "w2"}) == 5
    assert store.latest_witnessed(2, {"w1", "w2", "gone"}) == 8
    assert store.latest_witnessed(1, {"w2"}) == 5
    assert store.latest_witnessed(3, {"w1", "w2"}) is None
    assert store.cosigned_sizes() == {"w1": 8, "w2": 5, "gone": 8}
    # A witness that cosigns one size again replaces its line.
    store.add_cosignature(StoredCosignature(5, "w1", "— w1 y\n", 2))
    assert [c.line for c in store.cosignatures_at(5)] == ["— w1 y\n", "— w2 x\n"]
