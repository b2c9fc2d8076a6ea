"""Certificate issuance under a per-citizen limit, in a bounded pool of workers.

The API and the citizen's pages issue certificates through the same gate, so
one limit and one pool hold whichever way a citizen asks. It lives beside the
services (not in ``hub.api`` or ``hub.web``) because both front ends use it.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

from hub.errors import ServerBusy, TooManyRequests

if TYPE_CHECKING:
    from hub.auth.models import CitizenPrincipal
    from hub.certificates.models import IssuedCertificate
    from hub.certificates.service import CertificateService
    from hub.domain.ports import RateLimiter

__all__ = ["IssuanceGate"]

#: What a busy hub tells a client to wait, in seconds: about one issuance.
_BUSY_RETRY_AFTER = 2


class IssuanceGate:
    """Issues certificates with a per-citizen limit, in a bounded pool of workers.

    Issuing renders a PDF with an embedded font and seals it: tens of
    milliseconds of CPU each, held under the interpreter lock. Unbounded, one
    citizen asking for sixty at once fills every worker thread and starves
    the event loop (``/healthz`` took seconds). So:

    * each citizen may ask for ``limit`` certificates per ``window`` seconds,
      counted in the shared database so the limit holds across nodes (429);
    * issuances run on ``workers`` threads of their own, never on the event
      loop or the framework's shared thread pool, and at most ``queue`` more
      wait for a turn; beyond that the answer is 503 with ``Retry-After``.
    """

    def __init__(self, limiter: RateLimiter | None, *, workers: int, queue: int) -> None:
        self.limiter = limiter
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="certificates")
        self._slots = threading.BoundedSemaphore(workers + queue)

    def _check_limit(self, holder: CitizenPrincipal) -> None:
        if self.limiter is None:
            return
        # The counter's key is a digest, so the table holds no identifier.
        key = hashlib.sha256(f"afm:{holder.afm}".encode()).hexdigest()[:40]
        wait = self.limiter.hit(key)
        if wait is not None:
            raise TooManyRequests(
                f"Too many certificates asked for; try again in {wait} seconds.",
                retry_after=wait,
            )

    async def issue(
        self,
        service: CertificateService,
        holder: CitizenPrincipal,
        evidence_type: str,
        request_id: str | None,
    ) -> IssuedCertificate:
        """Issue one certificate for ``holder``, or refuse at once (429, 503)."""
        # The citizen's allowance first, so that one citizen's burst is
        # refused as theirs (429) and cannot fill the queue for everyone (503).
        await run_in_threadpool(self._check_limit, holder)
        if not self._slots.acquire(blocking=False):
            raise ServerBusy(
                "Every certificate worker is busy; try again shortly.",
                retry_after=_BUSY_RETRY_AFTER,
            )
        try:
            # The worker sees the request's context (its request id for the logs).
            context = contextvars.copy_context()
            future = self._pool.submit(
                context.run, service.issue, holder, evidence_type, request_id
            )
        except BaseException:
            self._slots.release()
            raise
        # The slot is freed when the work ends, not when the client stops
        # waiting: a client that hangs up must not let the queue grow.
        future.add_done_callback(lambda _: self._slots.release())
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
