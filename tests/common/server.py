"""Run an ASGI app under a real uvicorn server on an ephemeral loopback port.

Integration tests talk to the hub over real HTTP, as its clients do.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: Any, *, port: int | None = None) -> Iterator[str]:
    """Serve ``app`` in a background thread; yield its base URL."""
    port = port or free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serve_hub(settings: Any) -> Iterator[tuple[str, Any, Any]]:
    """A migrated hub for ``settings`` on a free port: its URL, services and settings.

    The settings' port and public URL are those of the server, so links the
    hub writes (verification URLs, redirects) point at it.
    """
    from dataclasses import replace  # noqa: PLC0415

    from hub.app import build_services, create_app  # noqa: PLC0415
    from hub.persistence import migrate  # noqa: PLC0415

    port = free_port()
    settings = replace(settings, port=port, public_url=f"http://127.0.0.1:{port}")
    services = build_services(settings)
    try:
        migrate.upgrade(services.db)
        with serve(create_app(services=services), port=port) as url:
            yield url, services, settings
    finally:
        services.close()
