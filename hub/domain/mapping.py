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
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from hub.errors import ConfigError

__all__ = ["DERIVATIONS", "apply_mapping", "check_rules", "fold", "lookup", "minimise"]

#: (the value at ``from``, the request's parameters, today, the rule's own options)
Derivation = Callable[[Any, Mapping[str, Any], dt.date, Mapping[str, Any]], Any]


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted path, or None where any step is missing."""
    value = data
    for step in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(step)
        else:
            return None
    return value


def _parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _years_between(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _adult(
    value: Any, _params: Mapping[str, Any], today: dt.date, _options: Mapping[str, Any]
) -> bool | None:
    born = _parse_date(value)
    return None if born is None else _years_between(born, today) >= 18


def _age(
    value: Any, _params: Mapping[str, Any], today: dt.date, _options: Mapping[str, Any]
) -> int | None:
    born = _parse_date(value)
    return None if born is None else _years_between(born, today)


def _count(
    value: Any, _params: Mapping[str, Any], _today: dt.date, _options: Mapping[str, Any]
) -> int:
    return len(value) if isinstance(value, list) else 0


def _non_empty(
    value: Any, _params: Mapping[str, Any], _today: dt.date, _options: Mapping[str, Any]
) -> bool:
    return isinstance(value, list) and len(value) > 0


def _in_municipality(
    value: Any, params: Mapping[str, Any], _today: dt.date, options: Mapping[str, Any]
) -> bool | None:
    """Whether any item lies in the requested municipality (the rule names the path)."""
    wanted = params.get("municipality")
    if not isinstance(wanted, str) or not wanted.strip():
        return None
    items = value if isinstance(value, list) else []
    path = str(options.get("field", "municipality"))
    target = fold(wanted)
    return any(fold(str(lookup(item, path) or "")) == target for item in items)


def fold(text: str) -> str:
    """Caseless and accentless, since Greek capitals drop accents: ΠΑΤΡΕΩΝ is Πατρέων."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _relative(
    value: Any, _params: Mapping[str, Any], _today: dt.date, _options: Mapping[str, Any]
) -> dict[str, Any] | None:
    """A relative as names, birth date and whether alive; never their identifiers."""
    if not isinstance(value, Mapping):
        return None
    return {
        "given_name": value.get("firstName"),
        "surname": value.get("surname"),
        "birth_date": value.get("birthDate"),
        "alive": value.get("alive"),
    }


DERIVATIONS: Mapping[str, Derivation] = {
    "relative": _relative,
    "adult": _adult,
    "age": _age,
    "count": _count,
    "non_empty": _non_empty,
    "owns_property_in_municipality": _in_municipality,
}


def _evaluate(rule: Any, data: Any, params: Mapping[str, Any], today: dt.date) -> Any:
    if isinstance(rule, str):
        return lookup(data, rule)
    if not isinstance(rule, Mapping):
        raise ConfigError(f"a mapping rule must be a path or an object, not {rule!r}")
    if "const" in rule:
        return rule["const"]
    source = lookup(data, str(rule["from"])) if "from" in rule else None
    if "derive" in rule:
        derive = DERIVATIONS.get(str(rule["derive"]))
        if derive is None:
            raise ConfigError(f"unknown derivation {rule['derive']!r}")
        options = rule.get("with", {})
        if not isinstance(options, Mapping):
            raise ConfigError(f"a derivation's 'with' must be an object: {rule!r}")
        return derive(source, params, today, options)
    if "each" in rule:
        items = source if isinstance(source, list) else []
        each = rule["each"]
        return [{k: _evaluate(v, item, params, today) for k, v in each.items()} for item in items]
    raise ConfigError(f"a mapping rule needs from+each, derive or const: {rule!r}")


def check_rules(mapping: Mapping[str, Any]) -> None:
    """Refuse, at load time, a mapping whose rules could not be evaluated."""
    for name, rule in mapping.items():
        _check_rule(name, rule)


def _check_rule(name: str, rule: Any) -> None:
    if isinstance(rule, str):
        return
    if not isinstance(rule, Mapping):
        raise ConfigError(f"mapping of {name}: a rule is a path or an object")
    if "const" in rule:
        return
    if "derive" in rule:
        if str(rule["derive"]) not in DERIVATIONS:
            raise ConfigError(f"mapping of {name}: unknown derivation {rule['derive']!r}")
        if not isinstance(rule.get("with", {}), Mapping):
            raise ConfigError(f"mapping of {name}: 'with' must be an object")
        return
    if "each" in rule and "from" in rule and isinstance(rule["each"], Mapping):
        for key, inner in rule["each"].items():
            _check_rule(f"{name}.{key}", inner)
        return
    raise ConfigError(f"mapping of {name}: a rule needs from+each, derive or const")


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
        if (value := _evaluate(rule, answers, params, today)) is not None
    }


def minimise(evidence: Mapping[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    """Only the fields a purpose may receive; nothing else leaves the hub."""
    return {name: evidence[name] for name in allowed if name in evidence}
