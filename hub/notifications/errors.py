"""The errors of notifications, leaves of the hub's one error tree.

They live in :mod:`hub.errors` (every problem type in one place) and are
named here so that the feature's code reads them from its own package:
``InvalidContact`` (400: a malformed email or mobile number, or a wrong,
expired or exhausted code — one answer for all, so nothing can be learnt
about which) and ``DeliveryError`` (a provider did not take a message;
``permanent`` when retrying cannot help).
"""

from __future__ import annotations

from hub.errors import DeliveryError, InvalidContact

__all__ = ["DeliveryError", "InvalidContact"]
