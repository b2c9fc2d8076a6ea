"""The auditor's side of the access log: checkpoints, proofs and searches.

The tree, the checkpoint format and the offline verifier say *what* the log
proves; this module is what the hub does with them while it runs. It signs
checkpoints of the stored tree (every N entries, after T seconds with new
entries, and whenever an auditor asks), serves them, answers RFC 9162
inclusion and consistency proofs against the stored subtree hashes, and lets
auditors search the entries.

Storage stays behind three small ports, so that the service is as pure as
the rest of :mod:`hub.domain.auditlog`:

* :class:`TreeReader` opens a read of the node store (a
  :class:`~hub.domain.auditlog.tree.NodeStore`); proofs are computed here,
  from the nodes it returns, with the plans of :mod:`.tree`;
* :class:`CheckpointStore` keeps signed checkpoints, one per tree size;
* :class:`EntryStore` finds logged entries by index or by filters.

The signing key is the :class:`LogSigner` port: anything with a note key
name, a key id and an Ed25519 ``sign``. :class:`~.checkpoint.NoteSigner`
satisfies it, and so does the key store adapter in :mod:`hub.audit.keys`,
so the private key can stay in an HSM.

Entries are listed **newest first**: an auditor usually starts from recent
accesses, and a cursor that only moves towards smaller indices is stable
while the log grows. The cursor is opaque to clients (base64url of the last
index served); the page ends with ``next = None``.

Every search and read by an auditor is itself an access to citizens' data,
so when the service holds the access log it records one ``audit.search`` or
``audit.read`` entry naming the auditor.
"""

from __future__ import annotations

import binascii
import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Final

from hub.audit.models import (
    CheckpointPage,
    CheckpointPolicy,
    ConsistencyProof,
    EntryPage,
    EntryQuery,
    InclusionProof,
    LoggedEntry,
    StoredCheckpoint,
)
from hub.audit.ports import (
    AccessLog,
    CheckpointStore,
    EntryStore,
    LogSigner,
    OverlapSigner,
    TreeReader,
)
from hub.domain.auditlog.checkpoint import Checkpoint, NoteSignature, NoteVerifier, verify_note
from hub.domain.auditlog.entry import AccessEntry, Actor
from hub.domain.auditlog.errors import ProofError, TreeIntegrityError
from hub.domain.auditlog.merkle import EMPTY_ROOT
from hub.domain.auditlog.tree import plan_consistency, plan_inclusion, plan_root
from hub.domain.encoding import b64url, unb64url
from hub.errors import HubError, NotFound, ValidationFailed

__all__ = [
    "DEFAULT_ORIGIN",
    "MAX_PAGE",
    "TIME_EXTENSION",
    "AuditService",
    "CheckpointTimer",
    "checkpoint_time",
    "decode_cursor",
    "encode_cursor",
    "sign_checkpoint_with",
    "time_extension",
]

#: The checkpoint origin: the log's name, equal to the note key's name.
DEFAULT_ORIGIN: Final = "oncehub.gov.gr/log"
#: The prefix of the extension line that carries a checkpoint's signed time.
TIME_EXTENSION: Final = "time "
#: The largest page of entries or checkpoints one call returns.
MAX_PAGE: Final = 200
_DEFAULT_PAGE: Final = 50

log = logging.getLogger(__name__)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- helpers -----------------------------------------------------------------------


def sign_checkpoint_with(checkpoint: Checkpoint, signer: LogSigner) -> str:
    """The checkpoint as a C2SP signed note, signed through the port.

    :func:`~.checkpoint.sign_checkpoint` needs the private key itself; this
    needs only a ``sign`` call, which is all an HSM offers.
    """
    text = checkpoint.to_text()
    message = text.encode("utf-8")
    signature = NoteSignature(signer.name, signer.key_id, signer.sign(message))
    # During a log key rotation's overlap the old key signs too (a C2SP note
    # may carry several signatures), so monitors that know only it keep going.
    overlap = signer.overlap_signatures(message) if isinstance(signer, OverlapSigner) else ()
    return text + "\n" + signature.to_line() + "".join(s.to_line() for s in overlap)


def time_extension(moment: dt.datetime) -> str:
    """The checkpoint extension line that signs when the checkpoint was made.

    C2SP checkpoints allow extension lines after the root hash; this one,
    ``time <RFC 3339 UTC with microseconds>``, puts the stored
    ``created_at`` under the signature, so that ``hub audit verify`` can
    check that cell too.
    """
    return TIME_EXTENSION + moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def checkpoint_time(checkpoint: Checkpoint) -> dt.datetime | None:
    """The signed creation time of a checkpoint; ``None`` if it carries none."""
    for line in checkpoint.extensions:
        if line.startswith(TIME_EXTENSION):
            text = line[len(TIME_EXTENSION) :]
            if not text.endswith("Z"):
                return None
            try:
                return dt.datetime.fromisoformat(text[:-1] + "+00:00")
            except ValueError:
                return None
    return None


def encode_cursor(index: int) -> str:
    """An opaque page cursor: base64url of the last index served."""
    return b64url(str(index).encode("ascii"))


def decode_cursor(cursor: str) -> int:
    """The index a cursor carries; :class:`ValidationFailed` for anything else."""
    try:
        raw = unb64url(cursor)
        text = raw.decode("ascii")
    except (binascii.Error, ValueError) as exc:
        raise ValidationFailed("the cursor is not one this hub issued") from exc
    if not text.isdigit() or len(text) > 20 or encode_cursor(int(text)) != cursor:
        raise ValidationFailed("the cursor is not one this hub issued")
    return int(text)


def _page_limit(limit: int | None) -> int:
    if limit is None:
        return _DEFAULT_PAGE
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed(f"limit must be between 1 and {MAX_PAGE}")
    return limit


def _beyond(size: int, current: int) -> ProofError:
    return ProofError(f"tree size {size} is beyond the log, which holds {current} entries")


# -- the service -------------------------------------------------------------------


class AuditService:
    """Checkpoints, proofs and searches over the stored access log."""

    def __init__(
        self,
        *,
        tree: TreeReader,
        checkpoints: CheckpointStore,
        entries: EntryStore,
        signer: LogSigner,
        origin: str = DEFAULT_ORIGIN,
        policy: CheckpointPolicy | None = None,
        access_log: AccessLog | None = None,
        clock: Callable[[], dt.datetime] = _now,
    ) -> None:
        self._tree = tree
        self._checkpoints = checkpoints
        self._entries = entries
        self._signer = signer
        self._verifier = signer.verifier()
        self.origin = origin
        self.policy = policy or CheckpointPolicy()
        self._access_log = access_log
        self._clock = clock
        # The latest checkpoint this process knows of, so that the check
        # after every append costs no query; another process may have made a
        # newer one, which costs at most one redundant checkpoint.
        self._lock = threading.Lock()
        self._latest: StoredCheckpoint | None = None
        # Held by the one thread checking whether a due checkpoint is still due.
        self._checkpointing = threading.Lock()
        self._latest_loaded = False
        self._listeners: list[Callable[[StoredCheckpoint], None]] = []

    def add_checkpoint_listener(self, listener: Callable[[StoredCheckpoint], None]) -> None:
        """Call ``listener`` with each checkpoint this process signs (the witnesses')."""
        self._listeners.append(listener)

    # -- keys and checkpoints

    @property
    def verifier(self) -> NoteVerifier:
        return self._verifier

    def log_key(self) -> str:
        """The note verifier key: ``<name>+<hex id>+<base64 key>``."""
        return self._verifier.to_text()

    def make_checkpoint(self) -> tuple[StoredCheckpoint, bool]:
        """Sign the tree as it stands now; the flag says whether it is new.

        When a checkpoint of the current size exists (the log did not grow,
        or another hub process was quicker) that one is returned.
        """
        with self._tree.reading() as store:
            size = store.size()
            plan = plan_root(size)
            nodes = store.get_nodes(plan.keys) if plan.keys else {}
        # Outside the read: SQLite allows one transaction at a time.
        existing = self._checkpoints.checkpoint_at(size)
        if existing is not None:
            self._remember(existing)
            return existing, False
        hashes = plan.assemble(nodes)
        root_hash = hashes[0] if hashes else EMPTY_ROOT
        now = self._clock().astimezone(dt.UTC)
        body = Checkpoint(self.origin, size, root_hash, (time_extension(now),))
        note = sign_checkpoint_with(body, self._signer)
        # A wrongly wired key must not publish checkpoints nobody can verify.
        verify_note(note, self._verifier, origin=self.origin)
        stored, created = self._checkpoints.add_checkpoint(
            StoredCheckpoint(size, root_hash, note, now)
        )
        self._remember(stored)
        if created:
            log.info("audit checkpoint signed", extra={"tree_size": size})
            for listener in self._listeners:
                listener(stored)
        return stored, created

    def _remember(self, checkpoint: StoredCheckpoint) -> None:
        with self._lock:
            if self._latest is None or checkpoint.size >= self._latest.size:
                self._latest = checkpoint
            self._latest_loaded = True

    def _known_latest(self) -> StoredCheckpoint | None:
        with self._lock:
            if self._latest_loaded:
                return self._latest
        latest = self._checkpoints.latest_checkpoint()
        if latest is not None:
            self._remember(latest)
        else:
            with self._lock:
                self._latest_loaded = True
        return latest

    def maybe_checkpoint(self, size: int | None = None) -> StoredCheckpoint | None:
        """Make a checkpoint if the policy says one is due; return it if made.

        ``size`` is the log's size when the caller knows it (right after an
        append); otherwise the store is asked.
        """
        if size is None:
            with self._tree.reading() as store:
                size = store.size()
        now = self._clock()
        if not self.policy.due(size, self._known_latest(), now):
            return None
        # When one is due, every request that commits sees it due at once:
        # one thread of this process makes it, the others go on (it covers
        # their entries, or the next append or the timer tries again).
        if not self._checkpointing.acquire(blocking=False):
            return None
        try:
            # Another process may have made one meanwhile: ask the store itself.
            latest = self._checkpoints.latest_checkpoint()
            if latest is not None:
                self._remember(latest)
            if not self.policy.due(size, latest, now):
                return None
            checkpoint, created = self.make_checkpoint()
        finally:
            self._checkpointing.release()
        return checkpoint if created else None

    def note_appended(self, size: int) -> None:
        """Called after an append commits; signs a checkpoint when one is due.

        Never raises a hub error: the entry is already durable and the
        request that wrote it must still get its answer. The timer retries.
        """
        try:
            self.maybe_checkpoint(size)
        except HubError as exc:
            log.warning("audit checkpoint postponed", extra={"error": exc.slug})

    def latest_checkpoint(self) -> StoredCheckpoint:
        latest = self._checkpoints.latest_checkpoint()
        if latest is None:
            raise NotFound("The access log has no signed checkpoint yet.")
        self._remember(latest)
        return latest

    def checkpoint_history(
        self, *, cursor: str | None = None, limit: int | None = None
    ) -> CheckpointPage:
        """Signed checkpoints, the largest first, a page at a time."""
        size = _page_limit(limit)
        below = None if cursor is None else decode_cursor(cursor)
        found = self._checkpoints.checkpoints(below=below, limit=size + 1)
        items = tuple(found[:size])
        more = len(found) > size
        return CheckpointPage(items, encode_cursor(items[-1].size) if more else None)

    # -- proofs

    def inclusion(self, index: int, tree_size: int) -> InclusionProof:
        """The RFC 9162 inclusion proof of leaf ``index`` in the tree of ``tree_size``."""
        plan = plan_inclusion(index, tree_size)
        head = plan_root(tree_size)
        with self._tree.reading() as store:
            current = store.size()
            if tree_size > current:
                raise _beyond(tree_size, current)
            nodes = store.get_nodes({*plan.keys, *head.keys, (0, index)})
        leaf = nodes.get((0, index))
        if leaf is None:
            raise TreeIntegrityError(f"the node store lacks leaf {index}")
        return InclusionProof(
            index=index,
            tree_size=tree_size,
            leaf_hash=leaf,
            root_hash=head.assemble(nodes)[0],
            hashes=tuple(plan.assemble(nodes)),
        )

    def consistency(self, first: int, second: int) -> ConsistencyProof:
        """The RFC 9162 proof that tree ``first`` is a prefix of tree ``second``."""
        plan = plan_consistency(first, second)
        old, new = plan_root(first), plan_root(second)
        with self._tree.reading() as store:
            current = store.size()
            if second > current:
                raise _beyond(second, current)
            keys = {*plan.keys, *old.keys, *new.keys}
            nodes = store.get_nodes(keys) if keys else {}
        old_root = old.assemble(nodes)
        new_root = new.assemble(nodes)
        return ConsistencyProof(
            first=first,
            second=second,
            first_root=old_root[0] if old_root else EMPTY_ROOT,
            second_root=new_root[0] if new_root else EMPTY_ROOT,
            hashes=tuple(plan.assemble(nodes)),
        )

    # -- entries

    def search(
        self,
        query: EntryQuery,
        *,
        cursor: str | None = None,
        limit: int | None = None,
        auditor: str | None = None,
        request_id: str | None = None,
    ) -> EntryPage:
        """Entries matching ``query``, newest first, one page at a time."""
        size = _page_limit(limit)
        below = None if cursor is None else decode_cursor(cursor)
        found = self._entries.find_entries(query, below=below, limit=size + 1)
        items = tuple(found[:size])
        more = len(found) > size
        self._record_read(auditor, "audit.search", query.citizen, request_id)
        return EntryPage(items, encode_cursor(items[-1].index) if more else None)

    def entry(
        self, index: int, *, auditor: str | None = None, request_id: str | None = None
    ) -> LoggedEntry:
        """The entry at ``index``; :class:`NotFound` beyond the log."""
        if index < 0:
            raise NotFound(f"The access log has no entry {index}.")
        found = self._entries.entry_at(index)
        if found is None:
            raise NotFound(f"The access log has no entry {index}.")
        subject = found.entry.get("subject")
        self._record_read(
            auditor, "audit.read", subject if isinstance(subject, str) else None, request_id
        )
        return found

    def _record_read(
        self, auditor: str | None, action: str, subject: str | None, request_id: str | None
    ) -> None:
        if auditor is None or self._access_log is None:
            return
        self._access_log.record(
            AccessEntry(
                time=self._clock(),
                actor=Actor("auditor", auditor),
                action=action,
                outcome="granted",
                subject=subject,
                request_id=request_id,
            )
        )


class CheckpointTimer:
    """Signs due checkpoints in a background thread, for the T-seconds rule.

    Appends check the policy themselves (see :meth:`AuditService.note_appended`);
    the timer covers a log that stops growing before ``every`` entries.
    """

    def __init__(
        self,
        service: AuditService,
        interval: float | None = None,
        *,
        may_run: Callable[[], bool] = lambda: True,
    ) -> None:
        self.service = service
        self.interval = interval if interval is not None else service.policy.seconds
        # On several nodes only the holder of the cluster-wide singleton signs
        # by the clock (see hub.persistence.singleton); the others wait.
        self._may_run = may_run
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="audit-checkpoints", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if self._may_run():
                    self.service.maybe_checkpoint()
            except HubError as exc:
                log.warning("audit checkpoint postponed", extra={"error": exc.slug})

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
