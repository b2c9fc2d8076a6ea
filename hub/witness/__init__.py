"""Witnessing over HTTP: the witness server and the hub's client of witnesses.

* :mod:`.app` — the small ASGI application of ``hub witness serve``;
* :mod:`.client` — the hub's transport for ``add-checkpoint`` calls.

The protocol and the checks live in :mod:`hub.domain.auditlog.witness`.
"""
