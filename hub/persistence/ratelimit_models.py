"""The shared rate-limit counters' table.

Its own module: the counters serve the token endpoint and the public
verification endpoints alike, so they belong to no one feature (they used to
sit among the certificate tables). ``schema.py`` gathers it with the others.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.persistence.base import Base

__all__ = ["RateLimitRow"]


class RateLimitRow(Base):
    """Requests counted for one key in one fixed window, shared by all nodes."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_rate_limits_window_start", "window_start"),)
