"""Email notifications over SMTP, with the standard library's ``smtplib``.

Connections are kept open and reused (a TLS handshake and a login per
message would dominate the cost), one per send in progress: each worker
thread takes an idle connection or opens one, and puts it back when its
send is done, so no thread waits for another's send. A kept connection the
server has closed is reopened once. STARTTLS and authentication are
configured, never guessed: with ``starttls`` set, a server that does not
offer it is an error, not a silent downgrade.

A send has a hard deadline, ``timeout`` seconds from its start to the
server's last reply (``HUB_SMTP_TIMEOUT``): a socket timeout bounds each
read, not the exchange, and a server that answers one byte at a time could
hold a send for ever while the message's lease ran out and another worker
sent it again. The connection's socket is registered with the process's
watchdog (``adapters._deadline``), which shuts it down when the deadline
passes; the TLS handshake, which no shutdown reaches, is bounded by what is
left of the deadline as its socket's timeout.

Each message carries its idempotency key as its ``Message-ID`` (and
``X-Hub-Idempotency-Key``), so a receiving system that deduplicates — the
sandbox mailbox does — sees a retry as the same message. SMTP errors become
:class:`~hub.errors.DeliveryError`; 5xx answers (address refused) are
permanent, 4xx, network failures and the deadline are not.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
import threading
from email.message import EmailMessage
from email.utils import formatdate

from adapters._deadline import WATCHDOG, Watch
from hub.errors import ConfigError, DeliveryError
from hub.notifications.models import Channel, Outgoing

__all__ = ["SmtpSender"]


class _WatchedSMTP(smtplib.SMTP):
    """An SMTP connection whose socket is under the current send's deadline."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        # As smtplib's own, and registered before the server's greeting is
        # read: a server that dribbles its banner is under the deadline too.
        sock = socket.create_connection((host, port), timeout, self.source_address)
        WATCHDOG.register(sock)
        return sock


def _close(smtp: smtplib.SMTP) -> None:
    """Drop a connection without a word: it failed, or the deadline cut it."""
    with contextlib.suppress(OSError):
        smtp.close()


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
        #: The most one send may take (the port's deadline): the timeout.
        self.deadline = timeout
        # Guards the idle connections only; no send runs under it.
        self._lock = threading.Lock()
        self._idle: list[smtplib.SMTP] = []

    def _connect(self) -> smtplib.SMTP:
        left = WATCHDOG.remaining()
        timeout = self.timeout if left is None else max(0.001, min(self.timeout, left))
        smtp = _WatchedSMTP(self.host, self.port, timeout=timeout)
        try:
            if self.starttls:
                # The handshake is bounded as a whole by its socket's timeout.
                left = WATCHDOG.remaining()
                if left is not None and smtp.sock is not None:
                    smtp.sock.settimeout(max(0.001, min(self.timeout, left)))
                smtp.starttls(context=self._context)
                # Now ``smtp.sock`` is the TLS socket: under the deadline too.
                WATCHDOG.register(smtp)
            if self.username:
                smtp.login(self.username, self._password or "")
        except BaseException:
            _close(smtp)
            raise
        if smtp.sock is not None:
            smtp.sock.settimeout(self.timeout)
        return smtp

    def _take(self) -> smtplib.SMTP | None:
        with self._lock:
            return self._idle.pop() if self._idle else None

    def _give_back(self, smtp: smtplib.SMTP, watch: Watch) -> None:
        if watch.expired:
            # The watchdog may have shut its socket: it cannot be reused.
            _close(smtp)
            return
        with self._lock:
            self._idle.append(smtp)

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
        with WATCHDOG.watch(self.deadline) as watch:
            try:
                kept = self._take()
                if kept is not None:
                    try:
                        return self._send_on(kept, mail, watch)
                    except smtplib.SMTPServerDisconnected:
                        # A kept connection the server closed: reconnect once.
                        if watch.expired:
                            raise
                return self._send_on(self._connect(), mail, watch)
            except (smtplib.SMTPException, OSError) as exc:
                raise self._mapped(exc, watch) from exc

    def _mapped(self, exc: smtplib.SMTPException | OSError, watch: Watch) -> DeliveryError:
        if watch.expired:
            # A socket shut mid-reply can read as a short, odd reply too.
            return self._late()
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            return DeliveryError("the SMTP server refused the address", permanent=True)
        if isinstance(exc, smtplib.SMTPResponseException):
            return DeliveryError(
                f"the SMTP server answered {exc.smtp_code}",
                permanent=500 <= exc.smtp_code < 600,
            )
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return DeliveryError("the SMTP server closed the connection")
        return DeliveryError(f"the SMTP server is unreachable ({type(exc).__name__})")

    def _send_on(self, smtp: smtplib.SMTP, mail: EmailMessage, watch: Watch) -> str:
        """Send on ``smtp``, kept for the next send if it is still good."""
        try:
            # A kept connection belongs to this send's deadline now.
            WATCHDOG.register(smtp)
            smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused:
            # smtplib reset the transaction: the connection is still good.
            self._give_back(smtp, watch)
            raise
        except BaseException:
            _close(smtp)
            raise
        # Accepted, even if just as the deadline passed (the lease's margin
        # covers that): calling it a failure would send it again.
        self._give_back(smtp, watch)
        return str(mail["Message-ID"])

    def _late(self) -> DeliveryError:
        return DeliveryError(f"the SMTP server did not answer within {self.deadline:g} s")

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for smtp in idle:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                _close(smtp)
