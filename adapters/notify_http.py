"""SMS and Viber notifications through a provider's JSON-over-HTTP API.

The API shape (the sandbox gateway speaks it; most aggregators offer the
same with different names)::

    POST <url>
    Authorization: Bearer <token>
    Idempotency-Key: <message id>
    {"channel": "sms", "to": "+3069…", "text": "…", "sender": "GOV.GR",
     "callback_url": "https://hub/v1/notifications/receipts"}
    -> 200/201/202 {"id": "<provider message id>"}

The provider must treat a repeated ``Idempotency-Key`` as the same message.
Delivery receipts come back to ``callback_url``, signed (see
``hub.api.notifications``). 4xx answers (but 408 and 429) are permanent;
5xx, 408, 429, timeouts and connection errors are retried.

A send has a hard deadline, ``timeout`` seconds from the connect to the
answer's last byte (``HUB_SMS_TIMEOUT``, ``HUB_VIBER_TIMEOUT``), kept by
the process's watchdog (``adapters._deadline``) as for registries: a
``requests`` timeout bounds each read, and a gateway that answers a byte at
a time would otherwise hold the send past its lease. Sends from several
worker threads share the session's connection pool and never wait for each
other (the pool opens another connection rather than block). An answer is
read up to 64 KiB: a gateway answers with a message id, nothing larger.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from adapters._deadline import WATCHDOG, DeadlineAdapter
from hub.errors import DeliveryError
from hub.notifications.models import Channel, Outgoing

__all__ = ["JsonGatewaySender"]

_RETRYABLE = frozenset({408, 425, 429})
#: The largest answer read from a gateway, whose answer is a message id.
MAX_ANSWER_BYTES = 64 * 1024


class JsonGatewaySender:
    """:class:`hub.notifications.ports.ChannelSender` for one channel of a JSON gateway."""

    def __init__(
        self,
        channel: Channel,
        url: str,
        *,
        token: str | None,
        sender: str,
        callback_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.channel = channel
        self.url = url
        self._token = token
        self.sender = sender
        self.callback_url = callback_url
        self.timeout = timeout
        #: The most one send may take (the port's deadline): the timeout.
        self.deadline = timeout
        self._http = requests.Session()
        adapter = DeadlineAdapter(max_retries=0)
        self._http.mount("http://", adapter)
        self._http.mount("https://", adapter)

    def send(self, message: Outgoing) -> str:
        headers = {"Idempotency-Key": message.key, "Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        body: dict[str, Any] = {
            "channel": self.channel,
            "to": message.to,
            "text": message.text,
            "sender": self.sender,
        }
        if self.callback_url:
            body["callback_url"] = self.callback_url
        with WATCHDOG.watch(self.deadline) as watch:
            try:
                answer = self._http.post(
                    self.url, json=body, headers=headers, timeout=self.timeout, stream=True
                )
                content = self._bounded(answer)
            except requests.RequestException as exc:
                if watch.expired or isinstance(exc, requests.Timeout):
                    raise self._late() from exc
                raise DeliveryError(
                    f"the {self.channel} gateway is unreachable ({type(exc).__name__})"
                ) from exc
        try:
            return self._provider_id(answer.status_code, content)
        except DeliveryError as exc:
            # A socket shut mid-answer can read as a short, complete one.
            if watch.expired:
                raise self._late() from exc
            raise

    def _bounded(self, answer: requests.Response) -> bytes:
        """The answer's body, refused past :data:`MAX_ANSWER_BYTES` (a gateway answers an id)."""
        body = bytearray()
        try:
            for chunk in answer.iter_content(16 * 1024):
                body.extend(chunk)
                if len(body) > MAX_ANSWER_BYTES:
                    raise DeliveryError(f"the {self.channel} gateway sent an oversized answer")
        finally:
            answer.close()
        return bytes(body)

    def _provider_id(self, status: int, content: bytes) -> str:
        if status >= 400:
            raise DeliveryError(
                f"the {self.channel} gateway answered {status}",
                permanent=status < 500 and status not in _RETRYABLE,
            )
        # An answer with an id counts, even if the deadline passed as it
        # ended (the lease's margin covers that): calling it a failure would
        # send the message again.
        try:
            found = json.loads(content)
            ident = found["id"]
        except (ValueError, KeyError, TypeError) as exc:
            raise DeliveryError(f"the {self.channel} gateway answered without an id") from exc
        if not isinstance(ident, str) or not ident:
            raise DeliveryError(f"the {self.channel} gateway answered without an id")
        return ident[:128]

    def _late(self) -> DeliveryError:
        return DeliveryError(
            f"the {self.channel} gateway did not answer within {self.deadline:g} s"
        )

    def close(self) -> None:
        self._http.close()
