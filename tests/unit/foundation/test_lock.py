"""The lock files cover pyproject.toml, pin exactly and carry hashes.

``python3 tasks.py lock`` writes them; these checks catch a dependency added to
pyproject.toml without re-locking, which would make ``pip install
--require-hashes`` fail in CI and in the container build.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match is not None, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _locked(path: Path) -> dict[str, str]:
    """Each pinned name in a lock file, normalised, with its version."""
    pins: dict[str, str] = {}
    lines = path.read_text().splitlines()
    for index, line in enumerate(lines):
        match = PIN.match(line)
        if match is None:
            continue
        # A pin is followed by its hashes on continuation lines.
        assert line.rstrip().endswith("\\"), f"{path.name}: {line} has no hashes"
        assert "--hash=sha256:" in lines[index + 1], f"{path.name}: {line} has no hashes"
        pins[_name(match.group(1))] = match.group(2)
    return pins


def _project() -> dict[str, list[str]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {"runtime": data["dependencies"], **data["optional-dependencies"]}


@pytest.mark.parametrize(
    ("lock", "groups"),
    [("runtime.txt", ("runtime", "postgres")), ("dev.txt", ("runtime", "postgres", "dev"))],
)
def test_every_declared_dependency_is_pinned_with_hashes(
    lock: str, groups: tuple[str, ...]
) -> None:
    pins = _locked(ROOT / "requirements" / lock)
    declared = {_name(req) for group in groups for req in _project()[group]}
    missing = sorted(declared - pins.keys())
    assert not missing, f"not in requirements/{lock}; run python3 tasks.py lock: {missing}"


def test_the_two_locks_agree_on_shared_packages() -> None:
    runtime = _locked(ROOT / "requirements" / "runtime.txt")
    dev = _locked(ROOT / "requirements" / "dev.txt")
    differ = {name: (v, dev.get(name)) for name, v in runtime.items() if dev.get(name) != v}
    assert not differ, differ


def test_the_installed_versions_are_the_locked_ones() -> None:
    """The environment running the tests is the one the lock describes."""
    stale = {}
    for name, pinned in _locked(ROOT / "requirements" / "dev.txt").items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != pinned:
            stale[name] = (pinned, installed)
    assert not stale, f"locked vs installed; run python3 tasks.py <target> to re-install: {stale}"
