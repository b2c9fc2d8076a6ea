"""``hub registry scaffold``: a catalogue skeleton from a registry's WSDL or OpenAPI.

Onboarding a registry starts from its service description: the operations
it offers, what each takes and what each answers. Writing that into the
catalogue by hand is where typos creep in, so this reads the description
(the WSDL with zeep, hardened as the adapters load it; the OpenAPI as YAML
or JSON, local ``$ref`` only) and prints YAML an operator edits: the
registry entry with every operation, and per operation an evidence-type
stub whose mapping lists every answer field by its dotted path. Nothing is
fetched from the network, and nothing is written: the operator decides.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from hub.errors import ConfigError

__all__ = ["scaffold_openapi", "scaffold_wsdl"]

#: How deep answer fields are listed; deeper structures are left to the operator.
_DEPTH = 4


def _slug(text: str) -> str:
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", text)
    return re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-") or "registry"


def _field(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", _slug(path.replace(".", "-"))).strip("_")


def _document(registry: dict[str, Any], evidence: dict[str, dict[str, Any]]) -> str:
    parts = [
        "# A catalogue skeleton: edit it, then check it with 'hub catalog check DIR'.",
        "# registries.yaml: the registry and its operations.",
        yaml.safe_dump({"registries": registry}, allow_unicode=True, sort_keys=False),
    ]
    for name, stub in evidence.items():
        parts.append(
            f"# evidence/{name}.yaml: one evidence type per operation you use; keep the\n"
            "# fields you need, give them labels, and write evidence/"
            f"{name}.schema.json for them."
        )
        parts.append(yaml.safe_dump(stub, allow_unicode=True, sort_keys=False))
    return "\n".join(parts)


def _stub(registry_id: str, operation: str, paths: list[str], identifier: str) -> dict[str, Any]:
    mapping = {_field(path): f"answer.{path}" for path in paths}
    return {
        "title_el": f"TODO: τίτλος ({operation})",
        "title_en": f"TODO: title ({operation})",
        "sources": [
            {
                "as": "answer",
                "registry": registry_id,
                "operation": operation,
                "identifier": identifier,
            }
        ],
        "mapping": mapping or {"TODO": "answer.TODO"},
        "labels": {name: ["TODO", "TODO"] for name in mapping},
    }


# -- WSDL ---------------------------------------------------------------------------


def _xsd_paths(xsd_type: Any, prefix: str, depth: int) -> Iterator[str]:
    elements = getattr(xsd_type, "elements", None)
    if not elements or depth > _DEPTH:
        if prefix:
            yield prefix
        return
    for name, element in elements:
        path = f"{prefix}.{name}" if prefix else name
        yield from _xsd_paths(getattr(element, "type", None), path, depth + 1)


def scaffold_wsdl(path: Path, registry_id: str | None = None) -> str:
    """The skeleton for the SOAP registry that ``path`` describes."""
    # Imported here: only this command needs zeep among the CLI's.
    import zeep  # noqa: PLC0415
    from lxml import etree  # noqa: PLC0415

    settings = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True)
    try:
        client = zeep.Client(str(path), settings=settings)  # type: ignore[no-untyped-call]  # zeep ships no types
    except (OSError, zeep.exceptions.Error, etree.XMLSyntaxError) as exc:
        raise ConfigError(f"{path}: the WSDL does not load: {exc}") from exc
    services = list(client.wsdl.services.values())
    if not services:
        raise ConfigError(f"{path}: the WSDL declares no service")
    service = services[0]
    port = next(iter(service.ports.values()))
    registry_id = registry_id or _slug(service.name.removesuffix("Service"))
    binding = port.binding
    soap12 = "Soap12" in type(binding).__name__
    entry: dict[str, Any] = {
        "name": f"TODO: {service.name}",
        "protocol": "soap",
        "description": path.name,
        "endpoint": port.binding_options.get("address", "TODO: https://…"),
        "timeout": 3.0,
        "retries": 2,
        "max_concurrency": 32,
    }
    evidence: dict[str, dict[str, Any]] = {}
    operations: dict[str, Any] = {}
    for name, operation in sorted(binding._operations.items()):
        inputs = [n for n, _ in getattr(operation.input.body.type, "elements", [])]
        operations[name] = {"input": {n: f"{{{n}}}" for n in inputs}}
        answer = operation.output.body.type if operation.output is not None else None
        paths = list(_xsd_paths(answer, "", 0))
        identifier = next((n for n in inputs if n in ("afm", "amka")), "afm")
        evidence[f"{registry_id}-{_slug(name)}"] = _stub(registry_id, name, paths, identifier)
    entry["binding"] = "soap12" if soap12 else "soap11"
    entry["operations"] = operations
    return _document({registry_id: entry}, evidence)


# -- OpenAPI ------------------------------------------------------------------------


def _resolve(document: Mapping[str, Any], node: Any, seen: frozenset[str] = frozenset()) -> Any:
    if isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if not ref.startswith("#/") or ref in seen:
            return {}
        target: Any = document
        for raw in ref[2:].split("/"):
            step = raw.replace("~1", "/").replace("~0", "~")
            target = target.get(step, {}) if isinstance(target, Mapping) else {}
        return _resolve(document, target, seen | {ref})
    return node


def _json_paths(document: Mapping[str, Any], schema: Any, prefix: str, depth: int) -> Iterator[str]:
    schema = _resolve(document, schema)
    if not isinstance(schema, Mapping):
        return
    properties = schema.get("properties")
    if isinstance(properties, Mapping) and depth <= _DEPTH:
        for name, inner in properties.items():
            path = f"{prefix}.{name}" if prefix else str(name)
            yield from _json_paths(document, inner, path, depth + 1)
        return
    if prefix:
        yield prefix


def scaffold_openapi(path: Path, registry_id: str | None = None) -> str:
    """The skeleton for the REST registry that ``path`` (OpenAPI 3) describes."""
    try:
        text = path.read_text(encoding="utf-8")
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the OpenAPI description: {exc}") from exc
    if not isinstance(document, Mapping) or not isinstance(document.get("paths"), Mapping):
        raise ConfigError(f"{path}: an OpenAPI description has paths")
    info = document.get("info") or {}
    registry_id = registry_id or _slug(str(info.get("title", path.stem)))
    servers = document.get("servers") or [{}]
    entry: dict[str, Any] = {
        "name": f"TODO: {info.get('title', registry_id)}",
        "protocol": "rest",
        "description": path.name,
        "endpoint": servers[0].get("url", "TODO: https://…"),
        "timeout": 3.0,
        "retries": 2,
        "max_concurrency": 32,
    }
    operations: dict[str, Any] = {}
    evidence: dict[str, dict[str, Any]] = {}
    for route, item in document["paths"].items():
        if not isinstance(item, Mapping):
            continue
        for method, operation in item.items():
            if method not in ("get", "post", "put") or not isinstance(operation, Mapping):
                continue
            name = str(operation.get("operationId") or f"{method}-{route}")
            name = name[:1].upper() + name[1:]
            operations[name] = {"method": method.upper(), "path": str(route)}
            answer = (
                _resolve(document, (operation.get("responses") or {}).get("200", {}))
                .get("content", {})
                .get("application/json", {})
                .get("schema")
            )
            paths = list(_json_paths(document, answer, "", 0))
            placeholders = re.findall(r"{(\w+)}", str(route))
            identifier = next((p for p in placeholders if p in ("afm", "amka")), "afm")
            evidence[f"{registry_id}-{_slug(name)}"] = _stub(registry_id, name, paths, identifier)
    entry["operations"] = operations
    return _document({registry_id: entry}, evidence)
