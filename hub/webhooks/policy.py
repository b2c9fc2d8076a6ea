"""Which URLs the hub will call back, checked at registration and again at delivery.

The hub sits inside a government network; a webhook URL is an instruction
to make a request from there. Without a policy an agency (or whoever holds
its key) could point the hub at loopback, at a private database, at a cloud
metadata service (169.254.169.254), and read the answers in the delivery
log. So, outside development:

* only ``https`` (the event and its signature are not for the wire to read);
* every address the host resolves to must be a global one; a private,
  loopback, link-local, multicast or reserved address is refused unless it
  lies in a network the operator allowed (``HUB_WEBHOOK_PRIVATE_NETWORKS``);
* when the operator lists hosts (``HUB_WEBHOOK_ALLOWED_HOSTS``), only those.

A name can resolve to a public address at registration and to 127.0.0.1 a
minute later (DNS rebinding), so the worker resolves and checks again before
each attempt and connects to exactly the address it checked.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from hub.errors import WebhookUrlRefused

if TYPE_CHECKING:
    from hub.config import Settings

__all__ = ["Resolver", "Target", "UrlPolicy", "resolve"]

_MAX_URL: Final = 2000

Resolver = Callable[[str, int], Sequence[str]]
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to for TCP, in the resolver's order."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise WebhookUrlRefused("The webhook host does not resolve.") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in found))


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: where to connect (an address that passed) and what to ask for."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """The rules a webhook URL must pass; :meth:`for_settings` builds the hub's."""

    require_https: bool = True
    allow_internal: bool = False
    allowed_hosts: tuple[str, ...] = ()
    private_networks: tuple[IpNetwork, ...] = ()
    resolver: Resolver = field(default=resolve, compare=False)

    @classmethod
    def for_settings(cls, settings: Settings, resolver: Resolver = resolve) -> UrlPolicy:
        """Development and tests call receivers on loopback over http; production never."""
        production = settings.is_production
        return cls(
            require_https=production,
            allow_internal=not production,
            allowed_hosts=settings.webhook_allowed_hosts,
            private_networks=tuple(
                ipaddress.ip_network(n, strict=False) for n in settings.webhook_private_networks
            ),
            resolver=resolver,
        )

    def check(self, url: str) -> Target:
        """The target of ``url``, or :class:`WebhookUrlRefused` saying which rule failed."""
        if len(url) > _MAX_URL:
            raise WebhookUrlRefused(f"The URL is longer than {_MAX_URL} characters.")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise WebhookUrlRefused("The URL cannot be parsed.") from exc
        scheme = parts.scheme.lower()
        if scheme not in ("https", "http"):
            raise WebhookUrlRefused("The URL must be https.")
        if scheme == "http" and self.require_https:
            raise WebhookUrlRefused("The URL must be https.")
        if parts.username is not None or parts.password is not None:
            raise WebhookUrlRefused("The URL must not carry credentials; use the signature.")
        if parts.fragment:
            raise WebhookUrlRefused("The URL must not have a fragment.")
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            raise WebhookUrlRefused("The URL has no host.")
        if self.allowed_hosts and not any(
            _host_matches(host, a.lower()) for a in self.allowed_hosts
        ):
            raise WebhookUrlRefused("The host is not on the hub's list of webhook hosts.")
        port = port or (443 if scheme == "https" else 80)
        addresses = tuple(self.resolver(host, port))
        if not addresses:
            raise WebhookUrlRefused("The webhook host does not resolve.")
        for address in addresses:
            self._check_address(address)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return Target(scheme=scheme, host=host, port=port, path=path, addresses=addresses)

    def _check_address(self, text: str) -> None:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError as exc:
            raise WebhookUrlRefused("The webhook host resolves to an unusable address.") from exc
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if self.allow_internal or (address.is_global and not address.is_multicast):
            return
        if any(address in network for network in self.private_networks):
            return
        raise WebhookUrlRefused(
            "The webhook host resolves to a loopback, private, link-local or reserved address."
        )


def _host_matches(host: str, allowed: str) -> bool:
    if allowed.startswith("*."):
        return host.endswith(allowed[1:])
    return host == allowed
