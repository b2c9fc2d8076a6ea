"""Outside tools a test needs: without one, a skip on a developer's machine, a failure in CI.

``.ci/run`` installs every tool the tests use and sets ``CI``; there a
missing tool means a check silently not made, so it fails the test.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def tool_missing(message: str) -> NoReturn:
    """Skip the test for want of a tool, or fail it under CI (``CI`` set)."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
