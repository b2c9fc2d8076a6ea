"""Two hub logs, real witness processes, and a forged fork the witness refuses.

Each witness is ``python -m hub witness serve`` as an operating-system
process with its own SQLite database and a key made by ``hub witness init``.
Each hub log is a hub with its own database and its own log key, served over
HTTP on loopback; the hubs submit checkpoints with the C2SP ``add-checkpoint``
call, exactly as in production (by ``submit_latest`` or the background
thread). The fork is a second database signed with log A's own key but with
a different history: what an operator rewriting its database would hold.
Finally the published notes are checked with Go's ``golang.org/x/mod/sumdb/note``.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from hub.cli.keys import ensure_keys
from hub.config import Settings
from hub.domain.auditlog.checkpoint import parse_note, parse_verifier_key, verify_note
from hub.domain.auditlog.entry import AccessEntry
from hub.domain.auditlog.witness import format_add_checkpoint, parse_cosigner_verifier
from hub.persistence.auditlog import SqlAccessLog
from hub.services import Services
from tests.common.factories import access_entry
from tests.common.server import free_port, serve_hub

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
ORIGIN = "oncehub.gov.gr/log"
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@dataclass
class WitnessProcess:
    """``hub witness serve`` with a key from ``hub witness init``."""

    directory: Path
    name: str
    logs: list[str]
    port: int = field(default_factory=free_port)
    vkey: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def init(self) -> str:
        done = _hub("witness", "init", "--name", self.name, "--key", str(self.key_file))
        assert done.returncode == 0, done.stderr
        self.vkey = done.stdout.strip()
        return self.vkey

    @property
    def key_file(self) -> Path:
        return self.directory / f"{self.name.replace('/', '_')}.key"

    def start(self) -> None:
        args = ["witness", "serve", "--key", str(self.key_file), "--port", str(self.port)]
        args += [
            "--database",
            f"sqlite:///{self.directory / (self.name.replace('/', '_') + '.db')}",
        ]
        for vkey in self.logs:
            args += ["--log", vkey]
        with (self.directory / f"{self.name.replace('/', '_')}.log").open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hub", *args],
                cwd=ROOT,
                env=_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the witness exited at start-up"
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.05)
        raise AssertionError("the witness did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_LOG_LEVEL"] = "WARNING"
    return env


def _hub(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", *args],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def entry(i: int, who: str = "efka") -> AccessEntry:
    return access_entry(
        i,
        start=T0,
        agency=who,
        action="evidence.request",
        outcome="granted",
        subject=f"afm:{100000000 + i % 3}",
        evidence_type=None,
        purpose="housing",
        request_id=f"req-{who}-{i}",
    )


def grow(services: Services, start: int, end: int, who: str = "efka") -> int:
    """Append entries ``start..end-1`` and sign a checkpoint; its size."""
    log = SqlAccessLog(services.db)
    for i in range(start, end):
        log.record(entry(i, who))
    checkpoint, _ = services.audit.make_checkpoint()
    return checkpoint.size


def _keys(directory: Path) -> Path:
    ensure_keys(Settings.for_tests(directory.parent, keys_dir=directory))
    return directory


def _log_vkey(keys_dir: Path) -> str:
    """The log verifier key of a key store, as ``/v1/audit/log-key`` serves it."""
    from hub.audit.keys import KeyStoreLogSigner  # noqa: PLC0415
    from hub.domain.sealing import keystore  # noqa: PLC0415

    return KeyStoreLogSigner(keystore.load(keys_dir)).verifier().to_text()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("witnessing")
    keys_a = _keys(base / "keys-a")
    keys_b = _keys(base / "keys-b")
    w1 = WitnessProcess(base, "witness.test/w1", [])
    w2 = WitnessProcess(base, "witness.test/w2", [])
    w1.init()
    w2.init()
    yield {"base": base, "keys_a": keys_a, "keys_b": keys_b, "w1": w1, "w2": w2}
    w1.stop()
    w2.stop()


def _settings(
    tmp: Path, name: str, keys_dir: Path, witnesses: list[WitnessProcess], quorum: int
) -> Settings:
    return Settings.for_tests(
        tmp / name,
        database_url=f"sqlite:///{tmp / name / 'hub.db'}",
        keys_dir=keys_dir,
        witnesses=tuple((w.vkey, w.url) for w in witnesses),
        witness_quorum=quorum,
        witness_retry_seconds=0.2,
    )


def _witnessed(url: str) -> requests.Response:
    return requests.get(f"{url}/v1/audit/checkpoint/witnessed", timeout=10)


def test_two_logs_one_witness_a_forged_fork_and_a_quorum(
    world: dict[str, Any], tmp_path: Path
) -> None:
    w1: WitnessProcess = world["w1"]
    w2: WitnessProcess = world["w2"]
    with (
        serve_hub(_settings(tmp_path, "a", world["keys_a"], [w1, w2], 2)) as (url_a, hub_a, _),
        serve_hub(_settings(tmp_path, "b", world["keys_b"], [w1], 1)) as (url_b, hub_b, _),
    ):
        key_a = requests.get(f"{url_a}/v1/audit/log-key", timeout=10).text.strip()
        key_b = requests.get(f"{url_b}/v1/audit/log-key", timeout=10).text.strip()
        assert key_a != key_b
        assert key_a.startswith(ORIGIN + "+")
        # Both witnesses follow both logs; w2 is down at first.
        w1.logs = w2.logs = [key_a, key_b]
        w1.start()
        submit_a = hub_a.witnessing
        submit_b = hub_b.witnessing
        assert submit_a is not None
        assert submit_b is not None

        # Log A at 5: w1 cosigns, w2 is unreachable: below the quorum of 2.
        assert grow(hub_a, 0, 5) == 5
        assert submit_a.submit_latest() == 1
        assert _witnessed(url_a).status_code == 404

        # Log B, same origin, its own key: the witness keeps it apart.
        assert grow(hub_b, 0, 3, who="dypa") == 3
        assert submit_b.submit_latest() == 1
        published_b = _witnessed(url_b)
        assert published_b.status_code == 200, published_b.text

        # w2 comes up; log A grows; the background thread gets both cosignatures.
        w2.start()
        submit_a.start()
        try:
            assert grow(hub_a, 5, 12) == 12
            deadline = time.monotonic() + 20
            while _witnessed(url_a).status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            submit_a.stop()
        published_a = _witnessed(url_a).text
        checkpoint = verify_note(published_a, parse_verifier_key(key_a), origin=ORIGIN)
        assert checkpoint.size == 12
        body, signatures = parse_note(published_a)
        for witness in (w1, w2):
            verifier = parse_cosigner_verifier(witness.vkey)
            stamps = [verifier.timestamp_of(body, s) for s in signatures]
            assert any(t is not None and abs(t - time.time()) < 300 for t in stamps), witness.name
        # Log B's key does not verify log A's note: the witness signed each for its own log.
        with pytest.raises(Exception, match="known key"):
            verify_note(published_a, parse_verifier_key(key_b))

        # The fork: log A's key, a rewritten history, served by another database.
        forged_settings = _settings(tmp_path, "forged", world["keys_a"], [w1], 1)
        with serve_hub(forged_settings) as (url_f, hub_f, _):
            assert grow(hub_f, 0, 15, who="forged") == 15
            forged = hub_f.witnessing
            assert forged is not None
            # It learns w1's size from a 409, then its proof from 12 fails: 422.
            assert forged.submit_latest() == 0
            assert _witnessed(url_f).status_code == 404
            # At w1's own size with another root: refused as a fork (409).
            fork_12 = hub_f.audit.consistency(12, 15)
            note_12 = _forged_note_at(hub_f, 12)
            refused = requests.post(
                f"{w1.url}/add-checkpoint",
                data=format_add_checkpoint(12, (), note_12).encode(),
                timeout=10,
            )
            assert refused.status_code == 409, refused.text
            assert fork_12.first_root != checkpoint_root(hub_a, 12)
            # And a stale "old" gets the size w1 holds, as the protocol says.
            stale = requests.post(
                f"{w1.url}/add-checkpoint",
                data=format_add_checkpoint(0, (), note_12).encode(),
                timeout=10,
            )
            assert stale.status_code == 409
            assert stale.headers["content-type"].startswith("text/x.tlog.size")
            assert stale.text == "12\n"

        # The honest log goes on being cosigned after the attempted fork.
        assert grow(hub_a, 12, 20) == 20
        assert submit_a.submit_latest() == 2
        assert verify_note(_witnessed(url_a).text, parse_verifier_key(key_a)).size == 20
        _check_with_go(_witnessed(url_a).text, key_a, [w1.vkey, w2.vkey], tmp_path)


def checkpoint_root(services: Services, size: int) -> bytes:
    return services.audit.consistency(size, size).first_root


def _forged_note_at(services: Services, size: int) -> str:
    """A checkpoint of the forged database at ``size``, signed with log A's key."""
    from hub.audit.keys import KeyStoreLogSigner  # noqa: PLC0415
    from hub.audit.service import sign_checkpoint_with  # noqa: PLC0415
    from hub.domain.auditlog.checkpoint import Checkpoint  # noqa: PLC0415

    root = checkpoint_root(services, size)
    return sign_checkpoint_with(
        Checkpoint(ORIGIN, size, root), KeyStoreLogSigner(services.keystore)
    )


def _post(witness: WitnessProcess, body: str) -> requests.Response:
    return requests.post(f"{witness.url}/add-checkpoint", data=body.encode(), timeout=10)


def test_the_witness_refuses_what_the_protocol_refuses(
    world: dict[str, Any], tmp_path: Path
) -> None:
    strict = WitnessProcess(world["base"], "witness.test/strict", [])
    strict.init()
    key_b = _log_vkey(world["keys_b"])
    with serve_hub(_settings(tmp_path, "c", world["keys_a"], [strict], 1)) as (url, hub, _):
        key_a = requests.get(f"{url}/v1/audit/log-key", timeout=10).text.strip()
        grow(hub, 0, 4)
        note = hub.audit.latest_checkpoint().note
        first_body = format_add_checkpoint(0, (), note)
        # A witness following another origin only: 404.
        strict.logs = [f"example.org/other={key_b}"]
        strict.start()
        try:
            assert _post(strict, first_body).status_code == 404
        finally:
            strict.stop()
        # Following the origin, but with another key: 403.
        strict.logs = [key_b]
        strict.start()
        try:
            assert _post(strict, first_body).status_code == 403
        finally:
            strict.stop()
        strict.logs = [key_a]
        strict.start()
        try:
            assert _post(strict, "old 7\n\n" + note).status_code == 400  # old > size
            assert _post(strict, "old 01\n\n" + note).status_code == 400
            assert _post(strict, "nonsense").status_code == 400
            assert _post(strict, format_add_checkpoint(0, (b"\0" * 32,), note)).status_code == 400
            first = _post(strict, first_body)
            assert first.status_code == 200, first.text
            assert first.text.startswith("\u2014 witness.test/strict ")
            grow(hub, 4, 9)
            newer = hub.audit.latest_checkpoint().note
            assert (
                _post(strict, format_add_checkpoint(4, (b"\1" * 32,) * 3, newer)).status_code == 422
            )
            good = hub.audit.consistency(4, 9).hashes
            assert _post(strict, format_add_checkpoint(4, good, newer)).status_code == 200
            # Back to 4 is refused: the witness holds 9, and says so.
            back = _post(strict, format_add_checkpoint(4, (), note))
            assert (back.status_code, back.text) == (409, "9\n")
        finally:
            strict.stop()


GO_VERIFY = textwrap.dedent(
    """
    package main

    // Verifies a witnessed checkpoint with golang.org/x/mod/sumdb/note: the
    // log's Ed25519 line with note's own verifier, each witness's
    // cosignature/v1 line with a Verifier written from the C2SP text
    // (note implements only signature type 0x01).

    import (
        "crypto/ed25519"
        "crypto/sha256"
        "encoding/base64"
        "encoding/binary"
        "fmt"
        "os"
        "strconv"
        "strings"

        "golang.org/x/mod/sumdb/note"
    )

    type cosigner struct {
        name string
        hash uint32
        key  ed25519.PublicKey
    }

    func (c cosigner) Name() string    { return c.name }
    func (c cosigner) KeyHash() uint32 { return c.hash }
    func (c cosigner) Verify(msg, sig []byte) bool {
        if len(sig) != 8+ed25519.SignatureSize {
            return false
        }
        t := binary.BigEndian.Uint64(sig[:8])
        m := "cosignature/v1\\ntime " + strconv.FormatUint(t, 10) + "\\n" + string(msg)
        return ed25519.Verify(c.key, []byte(m), sig[8:])
    }

    func parseCosigner(vkey string) cosigner {
        parts := strings.SplitN(vkey, "+", 3)
        raw, err := base64.StdEncoding.DecodeString(parts[2])
        if err != nil || len(raw) != 33 || raw[0] != 0x04 {
            panic("bad cosigner vkey")
        }
        h := sha256.Sum256(append([]byte(parts[0]+"\\n"), raw...))
        id, _ := strconv.ParseUint(parts[1], 16, 32)
        if uint32(id) != binary.BigEndian.Uint32(h[:4]) {
            panic("cosigner key id mismatch")
        }
        return cosigner{parts[0], binary.BigEndian.Uint32(h[:4]), ed25519.PublicKey(raw[1:])}
    }

    func main() {
        msg, _ := os.ReadFile(os.Args[1])
        logKey, err := note.NewVerifier(os.Args[2])
        if err != nil {
            panic(err)
        }
        verifiers := []note.Verifier{logKey}
        for _, vkey := range os.Args[3:] {
            verifiers = append(verifiers, parseCosigner(vkey))
        }
        n, err := note.Open(msg, note.VerifierList(verifiers...))
        if err != nil {
            fmt.Println("REJECTED", err)
            os.Exit(1)
        }
        for _, s := range n.Sigs {
            fmt.Println("verified", s.Name)
        }
    }
    """
)


def _check_with_go(witnessed: str, log_vkey: str, witness_vkeys: list[str], tmp: Path) -> None:
    go = shutil.which("go")
    source = Path("/usr/share/gocode/src/golang.org/x/mod/sumdb/note/note.go")
    if go is None or not source.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must install golang-go and golang-golang-x-mod-dev")
        pytest.skip("Go or golang-golang-x-mod-dev is not installed")
    program = tmp / "verify.go"
    program.write_text(GO_VERIFY, encoding="utf-8")
    note_file = tmp / "witnessed.note"
    note_file.write_text(witnessed, encoding="utf-8")
    env = {
        **os.environ,
        "GOPATH": "/usr/share/gocode",
        "GO111MODULE": "off",
        "GOCACHE": str(tmp / "gocache"),
        "GOFLAGS": "",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [go, "run", str(program), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    done = run(str(note_file), log_vkey, *witness_vkeys)
    assert done.returncode == 0, done.stdout + done.stderr
    names = {line.split()[1] for line in done.stdout.splitlines() if line.startswith("verified")}
    assert names == {ORIGIN, "witness.test/w1", "witness.test/w2"}
    # A changed byte in a cosignature line: Go's note rejects the whole note.
    body, _, tail = witnessed.rpartition("\u2014 witness.test/w2 ")
    blob = tail.strip()
    flipped = blob[:-6] + ("A" if blob[-6] != "A" else "B") + blob[-5:]
    note_file.write_text(body + "\u2014 witness.test/w2 " + flipped + "\n", encoding="utf-8")
    rejected = run(str(note_file), log_vkey, *witness_vkeys)
    assert rejected.returncode != 0, rejected.stdout
