"""The declarative base every table of the hub is mapped on.

Its own module so that each feature's models (``models``,
``certificate_models``, ``consent_models``) depend on it and on nothing else
of persistence; ``schema`` gathers them all for Alembic.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

__all__ = ["NAMING", "Base"]

# Stable constraint names let Alembic diff and migrate them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
