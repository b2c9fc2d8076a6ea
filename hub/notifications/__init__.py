"""Citizens are told: a contact registry, a transactional outbox and its workers.

The package follows the feature layout: ``models`` (kinds, channels, modes,
statuses), ``events`` (which access-log entries notify), ``ports`` (what
the service needs: a store, a contact directory, channel senders),
``templates`` (Greek/English bodies), ``service`` (contacts, preferences,
the delivery workers) and ``errors``. Persistence lives in
:mod:`hub.persistence.outbox` and :mod:`hub.persistence.notifications`;
providers in ``adapters/notify_*.py``; ``hub.app`` wires them.

The outbox API other features use (stable)::

    from hub.persistence.outbox import enqueue_in

    with db.session() as session:
        ...  # the state change, e.g. a case's new status
        enqueue_in(session, "afm:123456789", "case_status",
                   {"agency": "opeka", "case_reference": "A-1", "status": "in-review"})

``enqueue_in(session, citizen_subject, kind, data, *, at=None,
not_before=None, dedupe_key=None)`` writes one event in the caller's
transaction: it is delivered only if that transaction commits. ``kind`` is
one of :data:`~hub.notifications.models.EVENT_KINDS`; ``data`` holds codes
only (agency id, purpose id, case reference, status, ``request_id``,
``consent_id``, ``code``) — templates turn them into words and links, and
no name, AFM, AMKA or evidence ever goes into a message. ``dedupe_key``
makes a repeated enqueue a no-op. Events from the access log (consent
requested/granted/refused/revoked, access under a legal basis, certificate
issued or checked) are written automatically by
:class:`~hub.persistence.outbox.OutboxWriter`, a writer of the access log.

Delivery: workers claim events and messages with ``SELECT … FOR UPDATE SKIP
LOCKED`` on PostgreSQL and a lease (``status='sending'`` until
``next_attempt_at``), so several nodes deliver each message once and a
node that dies mid-send leaves the message to be retried after the lease;
the message id is the idempotency key each provider receives, so a retry
after a crash is not sent twice.
"""

from __future__ import annotations
