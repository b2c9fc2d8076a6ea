"""The hub's side of witnessing: submit checkpoints, keep and publish cosignatures.

Each new checkpoint is sent to every configured witness with the C2SP
``add-checkpoint`` call (see :mod:`.witness`); the cosignatures that come
back are verified against the witness's key and stored beside the
checkpoint. A checkpoint with at least ``quorum`` cosignatures is published
as *witnessed*: the hub's signed note with the witnesses' lines appended.

Submission never runs on a request's path: :class:`WitnessSubmitter` works
in a background thread, woken when a checkpoint is signed and otherwise
retrying every ``retry_seconds`` while a witness still owes a cosignature.
On several nodes it runs under the cluster-wide singleton (``may_run``), so
that one node talks to the witnesses.

The submitter remembers, per witness, the size that witness last cosigned
(from the stored cosignatures, then from its 409 answers), because the
protocol asks the log for a consistency proof from exactly that size.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

from hub.audit.models import StoredCheckpoint
from hub.audit.ports import CheckpointStore
from hub.audit.service import AuditService
from hub.domain.auditlog.checkpoint import parse_note
from hub.domain.auditlog.errors import MalformedNote
from hub.domain.auditlog.witness import (
    CosignatureVerifier,
    format_add_checkpoint,
    with_cosignatures,
)
from hub.errors import HubError

__all__ = [
    "CosignatureStore",
    "StoredCosignature",
    "WitnessEndpoint",
    "WitnessReply",
    "WitnessSubmitter",
    "WitnessTransport",
    "WitnessedCheckpoint",
]

log = logging.getLogger(__name__)

_CONFLICT: Final = 409


@dataclass(frozen=True, slots=True)
class WitnessEndpoint:
    """A configured witness: its cosigning key and its submission prefix."""

    verifier: CosignatureVerifier
    url: str

    @property
    def name(self) -> str:
        return self.verifier.name


@dataclass(frozen=True, slots=True)
class WitnessReply:
    """A witness's HTTP answer: the status and the body text."""

    status: int
    body: str


@dataclass(frozen=True, slots=True)
class StoredCosignature:
    """One witness's cosignature line of the checkpoint of ``size``."""

    size: int
    witness: str
    line: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class WitnessedCheckpoint:
    """A checkpoint and the cosignature lines that make it witnessed."""

    checkpoint: StoredCheckpoint
    cosignatures: tuple[StoredCosignature, ...]

    @property
    def note(self) -> str:
        return with_cosignatures(self.checkpoint.note, (c.line for c in self.cosignatures))


@runtime_checkable
class WitnessTransport(Protocol):
    """Posts an add-checkpoint body; raises a :class:`HubError` if unreachable."""

    def add_checkpoint(self, url: str, body: str) -> WitnessReply: ...


@runtime_checkable
class CosignatureStore(Protocol):
    """Cosignatures kept beside the checkpoints they sign."""

    def add_cosignature(self, cosignature: StoredCosignature) -> None:
        """Keep a cosignature; one per checkpoint and witness (a later one wins)."""
        ...

    def cosigned_sizes(self) -> dict[str, int]:
        """The largest checkpoint size each witness cosigned."""
        ...

    def cosignatures_at(self, size: int) -> list[StoredCosignature]: ...

    def latest_witnessed(self, quorum: int, witnesses: Collection[str]) -> int | None:
        """The largest checkpoint size cosigned by at least ``quorum`` of ``witnesses``."""
        ...


class WitnessSubmitter:
    """Gets the latest checkpoint cosigned by the configured witnesses."""

    def __init__(
        self,
        *,
        audit: AuditService,
        checkpoints: CheckpointStore,
        cosignatures: CosignatureStore,
        witnesses: Sequence[WitnessEndpoint],
        transport: WitnessTransport,
        quorum: int,
        retry_seconds: float = 10.0,
        may_run: Callable[[], bool] = lambda: True,
    ) -> None:
        if not 1 <= quorum <= len(witnesses):
            raise ValueError("the quorum must be between 1 and the number of witnesses")
        self._audit = audit
        self._checkpoints = checkpoints
        self._store = cosignatures
        self.witnesses = tuple(witnesses)
        self._transport = transport
        self.quorum = quorum
        self.retry_seconds = retry_seconds
        self._may_run = may_run
        self._known: dict[str, int] | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- publication

    def latest_witnessed(self) -> WitnessedCheckpoint | None:
        """The largest checkpoint with a quorum of cosignatures, with them."""
        # Only the witnesses configured now count: one removed from
        # HUB_WITNESSES is no longer trusted, whatever it cosigned before.
        names = {w.name for w in self.witnesses}
        size = self._store.latest_witnessed(self.quorum, names)
        if size is None:
            return None
        checkpoint = self._checkpoints.checkpoint_at(size)
        if checkpoint is None:
            return None
        lines = tuple(c for c in self._store.cosignatures_at(size) if c.witness in names)
        return WitnessedCheckpoint(checkpoint, lines)

    # -- submission

    def submit_latest(self) -> int:
        """Send the latest checkpoint to each witness that has not cosigned it.

        Returns how many witnesses have cosigned it afterwards. Never raises
        a :class:`HubError`: a witness that is down is retried later.
        """
        latest = self._checkpoints.latest_checkpoint()
        if latest is None:
            return 0
        done = {c.witness for c in self._store.cosignatures_at(latest.size)}
        if self._known is None:
            self._known = self._store.cosigned_sizes()
        for witness in self.witnesses:
            if witness.name in done:
                continue
            try:
                if self._submit(witness, latest):
                    done.add(witness.name)
            except HubError as exc:
                log.warning(
                    "witness submission failed",
                    extra={"witness": witness.name, "error": exc.slug},
                )
        return len(done & {w.name for w in self.witnesses})

    def _submit(self, witness: WitnessEndpoint, latest: StoredCheckpoint) -> bool:
        assert self._known is not None  # noqa: S101 -- set by submit_latest.
        # Two attempts: the first may learn the witness's size from a 409.
        for _ in range(2):
            old = self._known.get(witness.name, 0)
            if old > latest.size:
                log.error(
                    "witness holds a larger tree than the log",
                    extra={"witness": witness.name, "tree_size": old},
                )
                return False
            proof = self._audit.consistency(old, latest.size).hashes if old > 0 else ()
            body = format_add_checkpoint(old, proof, latest.note)
            reply = self._transport.add_checkpoint(witness.url, body)
            if reply.status == 200:
                return self._keep(witness, latest, reply.body)
            if reply.status == _CONFLICT and reply.body.strip().isdigit():
                self._known[witness.name] = int(reply.body.strip())
                continue
            log.error(
                "witness refused the checkpoint",
                extra={"witness": witness.name, "status": reply.status, "tree_size": latest.size},
            )
            return False
        return False

    def _keep(self, witness: WitnessEndpoint, latest: StoredCheckpoint, body: str) -> bool:
        text = parse_note(latest.note)[0]
        try:
            _, signatures = parse_note(text + "\n" + body)
        except MalformedNote:
            log.error("witness answered no signature lines", extra={"witness": witness.name})
            return False
        for signature in signatures:
            timestamp = witness.verifier.timestamp_of(text, signature)
            if timestamp is None:
                continue
            self._store.add_cosignature(
                StoredCosignature(latest.size, witness.name, signature.to_line(), timestamp)
            )
            assert self._known is not None  # noqa: S101 -- set by submit_latest.
            self._known[witness.name] = latest.size
            log.info(
                "checkpoint cosigned", extra={"witness": witness.name, "tree_size": latest.size}
            )
            return True
        log.error("witness answered no valid cosignature", extra={"witness": witness.name})
        return False

    # -- the background thread

    def notify(self, _checkpoint: StoredCheckpoint | None = None) -> None:
        """Wake the thread: a checkpoint was signed."""
        self._wake.set()

    def start(self, may_run: Callable[[], bool] | None = None) -> None:
        """Run in a background thread; each round only when ``may_run()`` says so."""
        if self._thread is not None:
            return
        if may_run is not None:
            self._may_run = may_run
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="witness-submitter", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.retry_seconds)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                if self._may_run():
                    self.submit_latest()
            except HubError as exc:
                log.warning("witness submission postponed", extra={"error": exc.slug})

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
