"""The replay cache of client assertions, in the shared database.

A ``jti`` is inserted under a primary key; a second insert of the same one —
from this node or any other — fails, and that failure is the replay signal.
Expired rows are swept as new ones arrive.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from hub.errors import StorageError
from hub.persistence.db import Database
from hub.persistence.models import UsedAssertion

__all__ = ["SqlReplayCache"]


class SqlReplayCache:
    """:class:`hub.auth.ports.ReplayCache` on the hub's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def remember(self, issuer: str, jti: str, expires_at: dt.datetime) -> bool:
        now = dt.datetime.now(dt.UTC)
        session = self.db.sessions()
        try:
            with session.begin():
                session.execute(delete(UsedAssertion).where(UsedAssertion.expires_at < now))
                session.add(UsedAssertion(issuer=issuer, jti=jti, expires_at=expires_at))
        except IntegrityError:
            return False
        except SQLAlchemyError as exc:
            raise StorageError("the replay cache is unavailable") from exc
        finally:
            session.close()
        return True
