"""The access-log package keeps ``__all__`` honest and stays a pure domain."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import hub.domain.auditlog as package

MODULES = [
    "hub.domain.auditlog",
    *(f"hub.domain.auditlog.{m.name}" for m in pkgutil.iter_modules(package.__path__)),
]
FORBIDDEN = ("sqlalchemy", "connexion", "starlette", "zeep", "requests", "uvicorn")


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist_and_public_names_are_listed(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert sorted(set(exported)) == sorted(exported), "no duplicates"
    for attr in exported:
        assert hasattr(module, attr), attr
    defined = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and getattr(value, "__module__", None) == name
        and (isinstance(value, type) or callable(value))
    }
    assert defined <= set(exported), defined - set(exported)


@pytest.mark.parametrize("name", MODULES)
def test_modules_open_with_a_docstring_and_import_no_framework(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    assert ast.get_docstring(tree)
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    assert not {i for i in imported if i.split(".")[0] in FORBIDDEN}
