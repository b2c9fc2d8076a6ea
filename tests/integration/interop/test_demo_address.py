"""``hub token`` mints for the running demo, wherever it listens.

``hub demo --port N`` runs as a real process; ``hub token`` run beside it
without ``HUB_PORT``/``HUB_PUBLIC_URL`` names the demo's address as issuer,
so the demo accepts its tokens. With an address in the environment that
address wins (and a demo elsewhere refuses the token). When the demo stops,
its record goes with it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.common.server import free_port

pytestmark = pytest.mark.slow


def _environment(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        {
            "HUB_VAR_DIR": str(tmp / "var"),
            "HUB_KEYS_DIR": str(tmp / "keys"),
            "HUB_SANDBOX_BASE_PORT": "0",
            "HUB_SANDBOX_POPULATION": "200",
            "HUB_LOG_LEVEL": "WARNING",
        }
    )
    return env


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], subprocess.Popen[str]]]:
    port = free_port()
    env = _environment(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "hub", "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            assert process.poll() is None, process.communicate()[0]
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the demo did not start"
            time.sleep(0.5)
        yield url, env, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def _token(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", "token", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_hub_token_mints_for_the_demo_on_another_port(
    demo: tuple[str, dict[str, str], subprocess.Popen[str]], tmp_path: Path
) -> None:
    url, env, process = demo
    minted = _token(env, "agency", "opeka")
    assert minted.returncode == 0, minted.stderr
    assert f"the running demo at {url}" in minted.stderr
    token = minted.stdout.strip()
    answer = requests.get(
        f"{url}/v1/consent-requests/no-such-request",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    # Authenticated (the token's issuer is this demo): the request itself is unknown.
    assert answer.status_code == 404, answer.text

    # An address named in the environment wins, and says so.
    elsewhere = _token({**env, "HUB_PORT": str(free_port())}, "auditor", "alice")
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert "HUB_PUBLIC_URL/HUB_PORT" in elsewhere.stderr
    refused = requests.get(
        f"{url}/v1/audit/entries/0",
        headers={"Authorization": f"Bearer {elsewhere.stdout.strip()}"},
        timeout=10,
    )
    assert refused.status_code == 401

    # The demo's record goes when it stops; then the CLI says what to set.
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    assert not (tmp_path / "var" / "demo.json").exists()
    after = _token(env, "auditor", "alice")
    assert "set HUB_PUBLIC_URL" in after.stderr
