"""QR codes as an outsider reads them: poppler draws the page, zbar decodes it.

Neither tool is the hub's: ``pdftoppm`` rasterises the certificate as a
printer or a screen would, and ``zbarimg`` (ZBar) decodes what a phone's
scanner would see. Without them a test skips on a developer's machine and
fails under CI (``CI`` set), where ``.ci/run`` installs both.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.common.tools import tool_missing


def outside_tool(name: str, package: str) -> str:
    """The path of command ``name``; a skip without it, a failure under CI."""
    found = shutil.which(name)
    if found is None:
        tool_missing(f"{name} is not installed (Debian package {package})")
    return found


def decode_image(path: Path) -> list[str]:
    """Every QR symbol ZBar finds in the image at ``path``, as text."""
    zbarimg = outside_tool("zbarimg", "zbar-tools")
    run = subprocess.run(
        [zbarimg, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(path)],
        capture_output=True,
        check=False,
        timeout=60,
    )
    # zbarimg exits 4 when it finds no symbol: an empty list, not an error.
    assert run.returncode in (0, 4), run.stderr
    return [line for line in run.stdout.decode("utf-8").splitlines() if line]


def qr_codes_on_page(pdf: bytes, folder: Path, page: int = 1) -> list[str]:
    """The QR symbols printed on ``page`` of ``pdf``, drawn at 200 dpi."""
    pdftoppm = outside_tool("pdftoppm", "poppler-utils")
    source = folder / "scanned.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [
            pdftoppm,
            "-r",
            "200",
            "-gray",
            "-png",
            "-f",
            str(page),
            "-l",
            str(page),
            "-singlefile",
            str(source),
            str(folder / "page"),
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return decode_image(folder / "page.png")
