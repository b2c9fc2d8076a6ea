"""The npm tools of specs/lint (Redocly, Spectral, openapi-typescript, tsc), pinned.

Tests that need one call :func:`npm_tool`: without ``npm ci --prefix
specs/lint`` they skip on a developer's machine and fail under CI (``CI``
set), as the browser journeys do.
"""

from __future__ import annotations

from pathlib import Path

from tests.common.tools import tool_missing

TOOLS = Path(__file__).resolve().parents[2] / "specs" / "lint"
BIN = TOOLS / "node_modules" / ".bin"


def npm_tool(name: str) -> Path:
    """The path of tool ``name``; a skip without it, a failure under CI."""
    tool = BIN / name
    if not tool.exists():
        tool_missing(f"{name} is not installed: run 'npm ci --prefix specs/lint'")
    return tool
