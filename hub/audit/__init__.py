"""Audit: the access log every feature writes, and what auditors do with it.

``models`` holds the values (logged entries, checkpoints, proofs, pages),
``ports`` what the log and the audit service need from storage and from a
signer, ``service`` the rules (:class:`~hub.audit.service.AuditService`:
search, checkpoints, inclusion and consistency proofs). ``keys`` signs
checkpoints with the key store's LOG key, ``witnessing`` submits them to
witnesses, ``memory`` is an in-memory log for tests and tools. ``factory``
builds them from settings and the hub's database. The Merkle tree, the
signed-note formats and offline verification are pure and live in
:mod:`hub.domain.auditlog`; persistence in ``hub/persistence/auditlog.py``
and ``hub/persistence/audit_queries.py``; the API in ``hub/api/audit.py``.
"""
