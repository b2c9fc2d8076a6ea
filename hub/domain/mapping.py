"""From registry answers to an evidence document, and down to what a purpose may see.

An evidence type's ``mapping`` names, for each field, where its value comes
from in the registries' answers: a dotted path, a list mapped element by
element (``from`` + ``each``), a constant, or a derived answer (``expr``: a
CEL expression over the answer at ``from``, see :mod:`hub.domain.expressions`)
such as ``adult`` — a yes/no computed inside the hub so that the raw field
(the birth date) need not leave it. Derived fields that read the same answer
are evaluated together, converting it for the engine once. Data minimisation
then keeps only the fields the purpose allows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from hub.domain.expressions import Expression, compile_expression, evaluate_together, fold
from hub.errors import ConfigError

__all__ = ["apply_mapping", "check_rules", "compile_rules", "fold", "lookup", "minimise"]


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted path, or None where any step is missing."""
    value = data
    for step in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(step)
        else:
            return None
    return value


def _evaluate(
    rule: Any, data: Any, answers: Mapping[str, Any], params: Mapping[str, Any], today: dt.date
) -> Any:
    if isinstance(rule, str):
        return lookup(data, rule)
    if not isinstance(rule, Mapping):
        raise ConfigError(f"a mapping rule must be a path or an object, not {rule!r}")
    if "const" in rule:
        return rule["const"]
    source = lookup(data, str(rule["from"])) if "from" in rule else None
    if "expr" in rule:
        expression = rule["expr"]
        if not isinstance(expression, Expression):
            # Rules straight from YAML (tests, tools); the catalogue compiles its own at load.
            expression = _compile_rule("mapping", rule)["expr"]
        return expression.evaluate(value=source, answers=answers, params=params, today=today)
    if "each" in rule:
        items = source if isinstance(source, list) else []
        each = rule["each"]
        return [
            {k: _evaluate(v, item, answers, params, today) for k, v in each.items()}
            for item in items
        ]
    raise ConfigError(f"a mapping rule needs from+each, expr or const: {rule!r}")


def compile_rules(mapping: Mapping[str, Any], where: str = "mapping") -> dict[str, Any]:
    """The mapping with every expression compiled; :class:`ConfigError` for a bad rule.

    Run once when the catalogue loads, so that a request never parses an
    expression and a catalogue with one that does not compile never serves.
    """
    return {name: _compile_rule(f"{where} of {name}", rule) for name, rule in mapping.items()}


def check_rules(mapping: Mapping[str, Any]) -> None:
    """Refuse a mapping whose rules could not be evaluated."""
    compile_rules(mapping)


def _compile_rule(where: str, rule: Any) -> Any:
    if isinstance(rule, str):
        return rule
    if not isinstance(rule, Mapping):
        raise ConfigError(f"{where}: a rule is a path or an object")
    if "const" in rule:
        return rule
    if "expr" in rule:
        if set(rule) - {"expr", "from"}:
            raise ConfigError(f"{where}: an expression rule takes only expr and from")
        if "from" in rule and not isinstance(rule["from"], str):
            raise ConfigError(f"{where}: 'from' is a dotted path")
        compiled = dict(rule)
        compiled["expr"] = compile_expression(rule["expr"], where)
        return compiled
    if "each" in rule and "from" in rule and isinstance(rule["each"], Mapping):
        compiled = dict(rule)
        compiled["each"] = {
            key: _compile_rule(f"{where}.{key}", inner) for key, inner in rule["each"].items()
        }
        return compiled
    raise ConfigError(f"{where}: a rule needs from+each, expr or const")


def _prune(value: Any) -> Any:
    """Drop absent (None) members so optional schema fields are simply missing."""
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def apply_mapping(
    mapping: Mapping[str, Any],
    answers: Mapping[str, Any],
    *,
    params: Mapping[str, Any] | None = None,
    today: dt.date,
) -> dict[str, Any]:
    """The full evidence document built from the registries' answers."""
    params = params or {}
    together = _sharing_a_source(mapping)
    derived: dict[str, Any] = {}
    document: dict[str, Any] = {}
    for name, rule in mapping.items():
        if name not in together:
            value = _evaluate(rule, answers, answers, params, today)
        else:
            if name not in derived:
                derived.update(_evaluate_group(mapping, together[name], answers, params, today))
            value = derived[name]
        if value is not None:
            document[name] = _prune(value)
    return document


def _evaluate_group(
    mapping: Mapping[str, Any],
    names: tuple[str, ...],
    answers: Mapping[str, Any],
    params: Mapping[str, Any],
    today: dt.date,
) -> dict[str, Any]:
    first = mapping[names[0]]
    values = evaluate_together(
        [mapping[name]["expr"] for name in names],
        value=lookup(answers, str(first["from"])) if "from" in first else None,
        answers=answers,
        params=params,
        today=today,
    )
    return dict(zip(names, values, strict=True))


def _sharing_a_source(mapping: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Each compiled expression rule that shares its ``from`` with another -> all of them.

    They are evaluated together (:func:`~hub.domain.expressions.evaluate_together`),
    so the answer they read is converted for the engine once, not once each.
    """
    sources: dict[Any, list[str]] = {}
    for name, rule in mapping.items():
        if isinstance(rule, Mapping) and isinstance(rule.get("expr"), Expression):
            sources.setdefault(rule.get("from"), []).append(name)
    return {name: tuple(names) for names in sources.values() if len(names) > 1 for name in names}


def minimise(evidence: Mapping[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    """Only the fields a purpose may receive; nothing else leaves the hub."""
    return {name: evidence[name] for name in allowed if name in evidence}
