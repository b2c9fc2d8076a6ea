"""The text of a PDF as poppler's pdftotext extracts it: what a reader can copy."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="no pdftotext")


def pdf_text(pdf: bytes, path: Path) -> str:
    """Write ``pdf`` to ``path`` and return its extracted UTF-8 text."""
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
