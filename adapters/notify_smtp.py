"""Email notifications over SMTP, with the standard library's ``smtplib``.

One connection is kept open and reused (a TLS handshake and a login per
message would dominate the cost); it is reopened when the server has closed
it. STARTTLS and authentication are configured, never guessed: with
``starttls`` set, a server that does not offer it is an error, not a
silent downgrade. Each message carries its idempotency key as its
``Message-ID`` (and ``X-Hub-Idempotency-Key``), so a receiving system that
deduplicates — the sandbox mailbox does — sees a retry as the same message.
SMTP errors become :class:`~hub.errors.DeliveryError`; 5xx answers
(address refused) are permanent, 4xx and network failures are not.
"""

from __future__ import annotations

import smtplib
import ssl
import threading
from email.message import EmailMessage
from email.utils import formatdate

from hub.errors import ConfigError, DeliveryError
from hub.notifications.models import Channel, Outgoing

__all__ = ["SmtpSender"]


class SmtpSender:
    """:class:`hub.notifications.ports.ChannelSender` for email."""

    channel: Channel = "email"

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        sender: str,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        context: ssl.SSLContext | None = None,
    ) -> None:
        if "@" not in sender:
            raise ConfigError("HUB_SMTP_FROM must be an email address")
        self.host, self.port = host, port
        self.sender = sender
        self.starttls = starttls
        self.username, self._password = username, password
        self.timeout = timeout
        self._context = context or ssl.create_default_context()
        self._domain = sender.rpartition("@")[2]
        self._lock = threading.Lock()
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls:
                smtp.starttls(context=self._context)
            if self.username:
                smtp.login(self.username, self._password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _message(self, message: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = f"<{message.key}@{self._domain}>"
        mail["X-Hub-Idempotency-Key"] = message.key
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        return mail

    def send(self, message: Outgoing) -> str:
        mail = self._message(message)
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._smtp is None:
                        self._smtp = self._connect()
                    self._smtp.send_message(mail)
                    return str(mail["Message-ID"])
                except smtplib.SMTPServerDisconnected as exc:
                    # A kept connection the server closed: reconnect once.
                    self._drop()
                    if attempt == 2:
                        raise DeliveryError("the SMTP server closed the connection") from exc
                except smtplib.SMTPRecipientsRefused as exc:
                    raise DeliveryError(
                        "the SMTP server refused the address", permanent=True
                    ) from exc
                except smtplib.SMTPResponseException as exc:
                    self._drop()
                    raise DeliveryError(
                        f"the SMTP server answered {exc.smtp_code}",
                        permanent=500 <= exc.smtp_code < 600,
                    ) from exc
                except (smtplib.SMTPException, OSError) as exc:
                    self._drop()
                    raise DeliveryError(
                        f"the SMTP server is unreachable ({type(exc).__name__})"
                    ) from exc
        raise DeliveryError("the SMTP server closed the connection")  # pragma: no cover

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def close(self) -> None:
        with self._lock:
            self._drop()
