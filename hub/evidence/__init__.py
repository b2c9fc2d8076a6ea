"""Evidence: the once-only exchange an agency asks the hub for.

``models`` holds the values (the agency's request, the hub's answer, where
identities are resolved), ``ports`` what the exchange needs from outside
(registries, a sealer, a consent gate), ``service`` the orchestration
(:class:`~hub.evidence.service.EvidenceService`: policy, consent, identity,
fan-out, normalisation, minimisation, seal, log). ``factory`` builds the
registry clients and the service from settings. The API is in
``hub/api/evidence.py``; the registry clients in ``adapters/``.
"""
