"""Persistence: the database engine, typed models, repositories and migrations.

Only this package imports SQLAlchemy. Repositories implement the domain's
ports and translate SQLAlchemy errors into :class:`hub.errors.StorageError`.
"""
