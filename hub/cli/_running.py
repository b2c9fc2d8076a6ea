"""Where the running demo listens, so that ``hub token`` mints for it.

A token names its issuer (the hub's public URL) and an agency's client
assertion names the token endpoint, so a token minted for
``http://127.0.0.1:8000`` is refused by a demo started with ``--port 9000``.
``hub demo`` records its address in ``<var>/demo.json`` while it runs, and
``hub token`` uses it when neither ``HUB_PUBLIC_URL`` nor ``HUB_PORT`` says
otherwise.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from hub.config import Settings

__all__ = ["forget", "record", "running_demo_url", "with_running_demo"]


def _file(settings: Settings) -> Path:
    return settings.var_dir / "demo.json"


def record(settings: Settings) -> None:
    """Write the demo's address (and process id) for ``hub token`` to find."""
    path = _file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"public_url": settings.public_url, "pid": os.getpid()}
    path.write_text(json.dumps(document), encoding="utf-8")


def forget(settings: Settings) -> None:
    """Remove the record when the demo stops (only this process's own)."""
    path = _file(settings)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(document, dict) and document.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_demo_url(settings: Settings) -> str | None:
    """The public URL of a demo that is running now, or None."""
    try:
        document = json.loads(_file(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict):
        return None
    url, pid = document.get("public_url"), document.get("pid")
    if not isinstance(url, str) or not isinstance(pid, int) or not _alive(pid):
        return None
    return url


def with_running_demo(settings: Settings) -> tuple[Settings, str]:
    """Settings for minting tokens, and a line that says for which address.

    An address the environment names wins; otherwise a running demo's;
    otherwise the default, with the variable to set.
    """
    if settings.address_configured:
        return settings, f"minting for {settings.public_url} (HUB_PUBLIC_URL/HUB_PORT)"
    url = running_demo_url(settings)
    if url is not None:
        return replace(settings, public_url=url), f"minting for the running demo at {url}"
    return settings, (
        f"minting for {settings.public_url}; if the hub listens elsewhere, set "
        "HUB_PUBLIC_URL (or HUB_PORT) to its address"
    )
