"""The dependency rules of hub and adapters, read from the source with ``ast``.

Every import counts — at module level, inside ``if TYPE_CHECKING:`` and inside
functions — because each one is a dependency a reader has to follow, and a
cycle hidden behind ``TYPE_CHECKING`` or a late import is still a cycle.

The rules:

- no import cycles among the modules of ``hub`` and ``adapters``;
- ``hub.api`` and ``hub.web`` reach the wiring through ``hub.services``, never
  ``hub.app`` (which builds them);
- ``hub.web`` does not import ``hub.api``: what both need lives in a shared
  module;
- ``hub.domain`` imports no web framework, ORM or SOAP/HTTP client;
- each feature package (``hub.evidence``, ``hub.consent``, ...) keeps its
  core — ``models``, ``ports``, ``service`` — free of the web framework, the
  ORM, the registry clients, ``hub.persistence`` and ``adapters``: only its
  ``factory`` knows concrete implementations;
- a feature's factory is imported only by the composition roots (``hub.app``
  and the CLI), never by another feature.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("hub", "adapters")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:  # Alembic scripts, loaded by Alembic
                continue
            found[_module_name(path)] = path
    return found


def _imported(module: str, path: Path, known: Collection[str]) -> Iterator[str]:
    """Every module ``module`` imports, relative imports resolved.

    ``from package import name`` depends on ``package.name`` when that is a
    module (what Python imports for it), otherwise on ``package`` itself.
    """
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join([*base, node.module] if node.module else base)
            else:
                prefix = node.module or ""
            for alias in node.names:
                submodule = f"{prefix}.{alias.name}"
                yield submodule if submodule in known else prefix


def _ours(name: str, sources: Collection[str]) -> str | None:
    """The nearest of our own modules ``name`` refers to, if any."""
    while name and name not in sources:
        name = name.rpartition(".")[0]
    return name or None


def _graph() -> dict[str, set[str]]:
    sources = _sources()
    graph: dict[str, set[str]] = {}
    for module, path in sources.items():
        targets = (_ours(name, sources) for name in _imported(module, path, sources))
        graph[module] = {target for target in targets if target and target != module}
    return graph


GRAPH = _graph()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _edges(source: str, target: str) -> list[str]:
    def within(module: str, package: str) -> bool:
        return module == package or module.startswith(package + ".")

    return sorted(
        f"{module} -> {dep}"
        for module, deps in GRAPH.items()
        if within(module, source)
        for dep in deps
        if within(dep, target)
    )


def test_the_graph_sees_the_packages() -> None:
    # A guard on the test itself: a broken walk would find no cycles either.
    assert "hub.app" in GRAPH
    assert "hub.services" in GRAPH["hub.app"]
    assert "hub.evidence.service" in GRAPH


def test_the_walk_finds_a_cycle_when_there_is_one() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles_in_hub_and_adapters() -> None:
    assert _cycles(GRAPH) == []


@pytest.mark.parametrize(
    ("source", "target"),
    [("hub.api", "hub.app"), ("hub.web", "hub.app"), ("hub.web", "hub.api")],
)
def test_forbidden_dependencies(source: str, target: str) -> None:
    assert _edges(source, target) == []


def test_the_domain_imports_no_framework() -> None:
    sources = _sources()
    banned = ("connexion", "starlette", "sqlalchemy", "zeep", "requests", "hub.app", "hub.api")
    offending = sorted(
        f"{module} -> {name}"
        for module, path in sources.items()
        if module.startswith("hub.domain")
        for name in _imported(module, path, sources)
        if any(name == b or name.startswith(b + ".") for b in banned)
    )
    assert offending == []


#: The feature packages: each owns its models, ports, service and factory.
FEATURES = (
    "hub.audit",
    "hub.auth",
    "hub.cases",
    "hub.catalog",
    "hub.certificates",
    "hub.consent",
    "hub.evidence",
    "hub.notifications",
    "hub.webhooks",
)
#: The modules of a feature that hold its rules, and so stay pure.
CORE = ("models", "ports", "service")
#: What a feature's core must not import: its factory's business.
INFRASTRUCTURE = (
    "connexion",
    "starlette",
    "sqlalchemy",
    "zeep",
    "requests",
    "adapters",
    "hub.persistence",
    "hub.app",
    "hub.api",
    "hub.web",
    "hub.cli",
)
#: Where the hub is put together from the features' factories.
COMPOSITION_ROOTS = ("hub.app", "hub.cli")


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _feature_of(module: str) -> str | None:
    return next((f for f in FEATURES if _within(module, f)), None)


def core_violations(imports: Mapping[str, Collection[str]]) -> list[str]:
    """Imports of infrastructure by a feature's core modules (or its package)."""
    found = []
    for module, names in imports.items():
        feature = _feature_of(module)
        if feature is None or module not in (feature, *(f"{feature}.{c}" for c in CORE)):
            continue
        found += [
            f"{module} -> {name}"
            for name in names
            if any(_within(name, banned) for banned in INFRASTRUCTURE) or name.endswith(".factory")
        ]
    return sorted(found)


def factory_violations(graph: Mapping[str, Collection[str]]) -> list[str]:
    """Edges to a feature's factory from outside the feature and the composition roots."""
    return sorted(
        f"{module} -> {dep}"
        for module, deps in graph.items()
        for dep in deps
        if dep.endswith(".factory")
        and _feature_of(dep) is not None
        and _feature_of(module) != _feature_of(dep)
        and not any(_within(module, root) for root in COMPOSITION_ROOTS)
    )


def test_the_feature_rules_catch_a_wrong_import() -> None:
    # Guards on the rules themselves, with imports no real module has.
    assert core_violations({"hub.consent.service": ["hub.persistence.consents"]}) == [
        "hub.consent.service -> hub.persistence.consents"
    ]
    assert core_violations({"hub.evidence.ports": ["adapters.rest", "hub.domain.catalog"]}) == [
        "hub.evidence.ports -> adapters.rest"
    ]
    assert core_violations({"hub.audit.models": ["hub.audit.factory"]}) == [
        "hub.audit.models -> hub.audit.factory"
    ]
    assert core_violations({"hub.consent.factory": ["hub.persistence.consents"]}) == []
    assert factory_violations({"hub.certificates.factory": {"hub.evidence.factory"}}) == [
        "hub.certificates.factory -> hub.evidence.factory"
    ]
    assert factory_violations({"hub.api.consent": {"hub.consent.factory"}}) == [
        "hub.api.consent -> hub.consent.factory"
    ]
    assert factory_violations({"hub.app": {"hub.consent.factory"}}) == []


def test_the_features_are_packages_with_a_core() -> None:
    # A renamed or moved feature would leave the rules below checking nothing.
    for feature in FEATURES:
        assert feature in GRAPH, feature
    for feature in ("hub.audit", "hub.auth", "hub.certificates", "hub.consent", "hub.evidence"):
        for part in (*CORE, "factory"):
            assert f"{feature}.{part}" in GRAPH, f"{feature}.{part}"


def test_feature_cores_import_no_infrastructure() -> None:
    sources = _sources()
    imports = {module: list(_imported(module, path, sources)) for module, path in sources.items()}
    assert core_violations(imports) == []


def test_only_the_composition_roots_import_factories() -> None:
    assert factory_violations(GRAPH) == []
