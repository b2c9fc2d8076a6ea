"""From registry answers to an evidence document, and down to what a purpose may see.

An evidence type's ``mapping`` names, for each field, where its value comes
from in the registries' answers: a dotted path, a list mapped element by
element (``from`` + ``each``), a constant, or a derived answer (``derive``)
such as ``adult`` — a yes/no computed inside the hub so that the raw field
(the birth date) need not leave it. Data minimisation then keeps only the
fields the purpose allows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from hub.domain.expressions import Expression, compile_expression, fold
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
    return {
        name: _prune(value)
        for name, rule in mapping.items()
        if (value := _evaluate(rule, answers, answers, params, today)) is not None
    }


def minimise(evidence: Mapping[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    """Only the fields a purpose may receive; nothing else leaves the hub."""
    return {name: evidence[name] for name in allowed if name in evidence}
