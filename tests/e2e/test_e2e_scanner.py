"""The accessibility scan itself can fail: a page with known faults is refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Scanner


def test_the_scan_refuses_an_inaccessible_page(chromium: Any) -> None:
    context = chromium.new_context(bypass_csp=True)
    page = context.new_page()
    page.set_content(
        "<html><body><form><input type='text'></form>"
        "<p style='color:#bbb;background:#fff'>faint</p><img src='x.png'></body></html>"
    )
    with pytest.raises(AssertionError) as refused:
        Scanner("scanner-self-test")(page, "faulty")
    for rule in ("image-alt", "label", "html-has-lang", "color-contrast"):
        assert rule in str(refused.value)
    context.close()
