"""Consent: an agency asks, the citizen previews, decides, and may revoke.

``models`` holds the values (requests, consents, previews), ``ports`` what
the feature needs from storage and from the evidence service, ``service``
the rules (:class:`~hub.consent.service.ConsentService`, and the
:class:`~hub.consent.service.StoredConsentGate` the evidence service asks).
``factory`` builds them from settings and the hub's database. Persistence
lives in ``hub/persistence/consents.py``; the API in ``hub/api/consent.py``.
"""
