"""Agency webhooks: the hub calls an agency back when something of theirs changes.

Agencies register HTTPS endpoints for event types (consent decisions on
their own requests, case events) and read each delivery's attempts. Every
event is written as a delivery row in the same transaction as the change
that caused it (a durable queue in the hub's database), and a worker sends
it signed as the Standard Webhooks specification says, retrying with
exponential backoff and jitter until it is delivered or dead-lettered.

``models`` holds the values, ``signing`` the Standard Webhooks signature,
``policy`` which URLs the hub will call, ``delivery`` the HTTP client with a
hard deadline, ``service`` the agency's operations and ``worker`` the
delivery loop. Persistence lives in ``hub/persistence/webhooks.py``.
"""
