"""Real headless Chromium against a real hub: the browser journeys' fixtures.

Debian's ``chromium`` is driven by Playwright for Python (never a browser
that Playwright downloads itself), and axe-core from the npm registry
(``npm ci --prefix tests/e2e``) is injected into each page for the
accessibility scan. ``.ci/run`` installs both; on a machine without them
the journeys skip and say which is missing.

Screenshots of every scanned page go to ``test-artifacts/e2e/``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hub.config import Settings
from hub.web.signin import demo_citizens

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "tests" / "e2e" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
#: The rules of WCAG 2.1 A and AA, and axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401, PLC0415
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    if not AXE.exists():
        return f"{AXE.relative_to(ROOT)} is missing (npm ci --prefix tests/e2e)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing()
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)
            # .ci/run installs the browser and axe-core: there, a missing one fails.
            if reason is not None and os.environ.get("CI") != "true":
                item.add_marker(pytest.mark.skip(reason=reason))


# Module scope, not session: Playwright's sync API keeps an asyncio loop running on
# this thread while it is open, and later tests that seal a PDF here need none.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    reason = _missing()
    if reason is not None:
        pytest.fail(f"the browser journeys cannot run in CI: {reason}")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@dataclass
class Hub:
    url: str
    services: Any
    settings: Settings

    def demo(self, *tags: str, skip: int = 0) -> dict[str, Any]:
        """A living adult demo citizen of the sign-in page with all of ``tags``."""
        found = [
            c
            for c in demo_citizens(self.settings)
            if not c["deceased"] and not c["minor"] and all(t in c["tags"] for t in tags)
        ]
        return found[skip]


@pytest.fixture
def hub(settings: Settings) -> Iterator[Hub]:
    from tests.common.server import serve_hub  # noqa: PLC0415

    with serve_hub(settings) as (url, services, served):
        yield Hub(url, services, served)


class Scanner:
    """Screenshots a page and runs axe-core in it."""

    def __init__(self, test_name: str) -> None:
        self.prefix = re.sub(r"[^A-Za-z0-9_.-]", "_", test_name)
        self.count = 0
        self.axe = AXE.read_text(encoding="utf-8")

    def __call__(self, page: Any, name: str) -> None:
        self.count += 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / f"{self.prefix}-{self.count:02d}-{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            # The pages work without JavaScript: they carry no script of their own.
            assert page.locator("script").count() == 0, f"{name}: the page has a script"
            page.add_script_tag(content=self.axe)
        results = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
        )
        bad = [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "nodes": [n["target"] for n in v["nodes"]][:5],
            }
            for v in results["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert not bad, f"{name} ({page.url}): " + json.dumps(bad, ensure_ascii=False, indent=1)


@pytest.fixture
def page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    # The pages forbid every script by CSP; the scan's own script needs it lifted.
    context = chromium.new_context(
        bypass_csp=True,
        accept_downloads=True,
        locale="el-GR",
        viewport={"width": 1200, "height": 900},
    )
    # Generous: a click that issues and seals a certificate waits on the hub,
    # and CI runs the suite on two loaded cores (one journey once needed >15 s).
    context.set_default_timeout(45_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def scan(request: pytest.FixtureRequest) -> Scanner:
    return Scanner(request.node.name)
