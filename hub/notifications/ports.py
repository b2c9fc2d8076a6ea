"""What the notification service needs from the world, as protocols.

A channel sender delivers one rendered message to a provider (an SMTP
server, an SMS or Viber gateway) and honours the idempotency key; a contact
directory (the national contact registry, or its sandbox) knows the contact
points citizens registered elsewhere. ``hub.app`` wires the implementations.
"""

from __future__ import annotations

from typing import Protocol

from hub.notifications.models import Channel, ContactPoints, Outgoing

__all__ = ["ChannelSender", "ContactDirectory"]


class ChannelSender(Protocol):
    """Hands messages of one channel to its provider."""

    channel: Channel

    def send(self, message: Outgoing) -> str:
        """Deliver ``message``; the provider's message id.

        Raises :class:`~hub.errors.DeliveryError` (``permanent`` when trying
        again cannot help). Sending the same ``message.key`` twice must not
        reach the citizen twice.
        """
        ...

    def close(self) -> None: ...


class ContactDirectory(Protocol):
    """A registry of contact points kept outside the hub."""

    def lookup(self, subject: str) -> ContactPoints | None:
        """The contact points of ``afm:…``/``amka:…``, or None if unknown."""
        ...
