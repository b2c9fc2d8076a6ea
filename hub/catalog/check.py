"""``hub catalog check``: everything wrong with a catalogue, each at its file and line.

Starting the hub stops at the first catalogue error; an operator editing
files wants every error at once and where to look. So this reads the
catalogue as the hub would, then checks each entry on its own
(:meth:`Catalog.problems`), loads every registry's WSDL and OpenAPI the way
the adapters do (a WSDL that does not load, an operation it lacks, a REST
path the OpenAPI does not describe), and names for each error the file and
line of the entry — the deepest key the message names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hub.catalog.files import CatalogDocuments, Location, build, read_documents
from hub.domain.catalog import Catalog
from hub.errors import ConfigError

__all__ = ["Finding", "check_catalog", "describe"]

_AT_LINE = re.compile(r"^(?P<path>[^\s:][^:]*):(?P<line>\d+): (?P<message>.*)$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Finding:
    """One error: where it is written (when known) and what is wrong."""

    location: Location | None
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


def _from_error(exc: ConfigError, fallback: Location | None = None) -> Finding:
    text = exc.detail or str(exc)
    match = _AT_LINE.match(text)
    if match:
        return Finding(Location(Path(match["path"]), int(match["line"])), match["message"])
    return Finding(fallback, text)


def _locate(docs: CatalogDocuments, kind: str, ident: str, message: str) -> Location | None:
    """The deepest recorded key of the entry whose name the message mentions."""
    field = re.match(rf"evidence type {re.escape(ident)} of ([\w.]+)", message)
    if kind == "evidence type" and field:
        found = docs.where(kind, ident, "mapping", *field[1].split("."))
        if found is not None:
            return found
    words = set(re.findall(r"[\w.\-]+", message))
    best: tuple[str, ...] = (kind, ident)
    for key in docs.lines:
        if len(key) > len(best) and key[:2] == (kind, ident) and key[-1] in words:
            best = key
    return docs.where(*best)


def _descriptions(docs: CatalogDocuments, rid: str, name: str, defaults: Path) -> Path:
    folder = docs.registry_dirs.get(rid)
    candidates = [defaults / name]
    if folder is not None:
        candidates[:0] = [folder / "registries" / name, folder.parent / "registries" / name]
    return next((path for path in candidates if path.is_file()), candidates[0])


def _registry_findings(
    docs: CatalogDocuments, catalog: Catalog | None, registries_dir: Path
) -> list[Finding]:
    # Imported here: the adapters pull in zeep and requests, which only this check needs.
    import zeep  # noqa: PLC0415
    from lxml import etree  # noqa: PLC0415

    from adapters.rest import answer_validators  # noqa: PLC0415

    findings: list[Finding] = []
    specs = catalog.registries if catalog is not None else {}
    used: dict[str, set[str]] = {}
    if catalog is not None:
        for evidence_type in catalog.evidence_types.values():
            for source in evidence_type.sources:
                used.setdefault(source.registry, set()).add(source.operation)
    for rid, spec in specs.items():
        path = _descriptions(docs, rid, spec.description, registries_dir)
        where = docs.where("registry", rid, "description")
        if not path.is_file():
            findings.append(Finding(where, f"registry {rid}: no description file {path}"))
            continue
        if spec.protocol == "rest":
            try:
                answer_validators(path, spec.operations)
            except ConfigError as exc:
                findings.append(Finding(where, f"registry {rid}: {exc.detail or exc}"))
            for operation in sorted(used.get(rid, set()) - set(spec.operations)):
                findings.append(
                    Finding(
                        docs.where("registry", rid, "operations") or where,
                        f"registry {rid}: operation {operation} is used but not declared",
                    )
                )
            continue
        settings = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True)
        try:
            client = zeep.Client(str(path), settings=settings)  # type: ignore[no-untyped-call]  # zeep ships no types
        except (OSError, zeep.exceptions.Error, etree.XMLSyntaxError) as exc:
            findings.append(Finding(where, f"registry {rid}: the WSDL {path} does not load: {exc}"))
            continue
        operations = {
            name for binding in client.wsdl.bindings.values() for name in binding._operations
        }
        # A catalogue operation may name its WSDL operation (``operation:``) or be it.
        wanted = {
            str((spec.operations.get(name) or {}).get("operation", name))
            for name in used.get(rid, set())
        }
        for operation in sorted(wanted - operations):
            findings.append(
                Finding(where, f"registry {rid}: the WSDL {path.name} has no operation {operation}")
            )
    return findings


def check_catalog(
    directory: Path, extra_dirs: Iterable[Path] = (), *, registries_dir: Path | None = None
) -> list[Finding]:
    """Every error of the catalogue in ``directory`` merged with ``extra_dirs``; [] if none."""
    registries_dir = registries_dir or directory.parent / "registries"
    try:
        docs = read_documents(directory, extra_dirs)
    except ConfigError as exc:
        return [_from_error(exc)]
    findings: list[Finding] = []
    for kind, ident, problem in Catalog.problems(
        registries=docs.registries,
        evidence_types=docs.evidence,
        agencies=docs.agencies,
        purposes=docs.purposes,
        identifiers=docs.identifiers,
        certificates=docs.certificates,
    ):
        text = problem.detail or str(problem)
        findings.append(_from_error(problem, _locate(docs, kind, ident, text)))
    catalog: Catalog | None = None
    if not findings:
        try:
            catalog, _ = build(docs)
        except ConfigError as exc:
            findings.append(_from_error(exc, docs.where("identity") or _first(docs.files)))
    findings.extend(_registry_findings(docs, catalog, registries_dir))
    return findings


def _first(files: Sequence[Path]) -> Location | None:
    return Location(files[0], 1) if files else None


def describe(findings: Sequence[Finding]) -> str:
    """The report ``hub catalog check`` prints."""
    if not findings:
        return "catalogue OK"
    lines = [str(finding) for finding in findings]
    lines.append(f"{len(findings)} error{'s' if len(findings) != 1 else ''}")
    return "\n".join(lines)
