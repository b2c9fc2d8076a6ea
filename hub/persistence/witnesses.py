"""SQL implementations of the witnessing ports.

:class:`SqlCosignatureStore` keeps the cosignatures the hub received
(:class:`~hub.audit.witnessing.CosignatureStore`);
:class:`SqlWitnessStore` is a witness's memory of each log
(:class:`~hub.domain.auditlog.witness.WitnessStore`). Its ``advance`` is one
conditional ``UPDATE`` (or an ``INSERT`` guarded by the primary key), so two
submissions racing on one log cannot both win, on SQLite or PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from hub.audit.witnessing import StoredCosignature
from hub.domain.auditlog.witness import WitnessState
from hub.errors import StorageError
from hub.persistence.db import Database
from hub.persistence.witness_models import AuditCosignature, WitnessLogRow

__all__ = ["SqlCosignatureStore", "SqlWitnessStore"]


def _cosignature(row: AuditCosignature) -> StoredCosignature:
    return StoredCosignature(int(row.size), row.witness, row.line, int(row.timestamp))


class SqlCosignatureStore:
    """Cosignatures in ``audit_cosignatures``, one per checkpoint and witness."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_cosignature(self, cosignature: StoredCosignature) -> None:
        with self._db.session() as session:
            row = session.get(AuditCosignature, (cosignature.size, cosignature.witness))
            if row is None:
                session.add(
                    AuditCosignature(
                        size=cosignature.size,
                        witness=cosignature.witness,
                        line=cosignature.line,
                        timestamp=cosignature.timestamp,
                    )
                )
            else:
                row.line = cosignature.line
                row.timestamp = cosignature.timestamp

    def cosigned_sizes(self) -> dict[str, int]:
        with self._db.session() as session:
            rows = session.execute(
                select(AuditCosignature.witness, func.max(AuditCosignature.size)).group_by(
                    AuditCosignature.witness
                )
            ).all()
        return {str(name): int(size) for name, size in rows}

    def cosignatures_at(self, size: int) -> list[StoredCosignature]:
        with self._db.session() as session:
            rows = session.scalars(
                select(AuditCosignature)
                .where(AuditCosignature.size == size)
                .order_by(AuditCosignature.witness)
            ).all()
            return [_cosignature(row) for row in rows]

    def latest_witnessed(self, quorum: int, witnesses: Collection[str]) -> int | None:
        with self._db.session() as session:
            size = session.scalar(
                select(AuditCosignature.size)
                .where(AuditCosignature.witness.in_(list(witnesses)))
                .group_by(AuditCosignature.size)
                .having(func.count() >= quorum)
                .order_by(AuditCosignature.size.desc())
                .limit(1)
            )
        return None if size is None else int(size)


class SqlWitnessStore:
    """A witness's last cosigned checkpoint per log, in ``witness_logs``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def latest(self, log_id: str) -> WitnessState | None:
        with self._db.session() as session:
            row = session.get(WitnessLogRow, log_id)
            if row is None:
                return None
            return WitnessState(int(row.size), bytes(row.root_hash), row.note)

    def advance(self, log_id: str, old_size: int | None, new: WitnessState) -> int | None:
        now = dt.datetime.now(dt.UTC)
        try:
            with self._db.session() as session:
                if old_size is None:
                    session.add(
                        WitnessLogRow(
                            log_id=log_id,
                            size=new.size,
                            root_hash=new.root_hash,
                            note=new.note,
                            updated_at=now,
                        )
                    )
                    return None
                result = session.execute(
                    update(WitnessLogRow)
                    .where(WitnessLogRow.log_id == log_id, WitnessLogRow.size == old_size)
                    .values(size=new.size, root_hash=new.root_hash, note=new.note, updated_at=now)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    return None
        except StorageError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
        # Another submission recorded first: report the size it left.
        current = self.latest(log_id)
        return 0 if current is None else current.size
