"""Child process: the sandbox registries on free loopback ports until SIGINT.

The first line written to stdout is the JSON map of registry id to base URL,
which tells the parent that every registry answers.
"""

from __future__ import annotations

import argparse
import json
import sys

from adapters.sandbox.runner import SandboxHandle, serve_sandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._sandbox")
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)

    def ready(handle: SandboxHandle) -> None:
        sys.stdout.write(json.dumps(handle.urls) + "\n")
        sys.stdout.flush()

    serve_sandbox("127.0.0.1", 0, args.size, args.seed, ready=ready)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
