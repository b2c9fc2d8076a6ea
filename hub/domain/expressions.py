"""Derived answers written in the catalogue, in CEL (the Common Expression Language).

A derived field (``adult``, ``property_count``, ``owns_property_in_municipality``)
is a small expression over the registries' answers, so that the raw field (a
birth date, the list of properties) need not leave the hub and an operator
adds a new predicate with a line of YAML, not with Python.

Why CEL, and this implementation of it:

- CEL is Google's language for exactly this job (policies and predicates in
  configuration: Kubernetes admission rules, Envoy, Firebase rules). It is
  not Turing-complete: no loops or recursion except bounded macros over a
  given list, no assignment, no I/O, no attribute access on host objects —
  field selection works on maps only, so ``value.__class__`` is a type error,
  not a walk into Python. Integer overflow is an error, not a bignum.
- JSON Logic would do as well on safety, but its Python packages are
  unmaintained (json-logic 2015, json-logic-qubit 2018) and its rules are
  harder to read and review than a one-line expression.
- ``common-expression-language`` (Python bindings of the Rust ``cel``
  crate, 2026 releases) evaluates ``adult`` in ~3 µs and a search of a
  five-item property list in ~10 µs with a reused context, ~110 µs when the
  context is built per call; ``cel-python`` 0.5 (pure Python)
  took 1.5 ms and 7 ms for the same two, and its faster runner transpiles
  to Python source and ``exec``s it, which is the attack surface we avoid.
  Measured with ``timeit`` on this machine (2 cores), 5,000 runs each.
  A context is made per call with only the functions the expression
  calls; what every call pays is converting the variables it reads
  (a five-item property list: ~35 µs, about 1.3 µs a string), which is most
  of an evaluation; so fields derived from the same answer are evaluated
  together (:func:`evaluate_together`), converting it once.

Each expression is compiled once, when the catalogue loads, and refused
there if it does not parse, is longer than :data:`MAX_SOURCE`, nests list
macros deeper than :data:`MAX_MACRO_DEPTH` (each level multiplies the work
by the length of a registry's list) or names a variable or function the hub
does not provide. At evaluation an expression sees:

``value``    the answer at the rule's ``from`` path (null when absent)
``answers``  every source's answer, by the name the evidence type gives it
``params``   the request's purpose parameters (``params.municipality``)
``today``    the date of the request, ``YYYY-MM-DD``

and four functions, plain and total (they return null rather than fail):
``get(v, "a.b")`` the value at a dotted path, ``is_date(s)``,
``years_between(from, to)`` whole years between two dates, and
``fold(s)`` the text caseless and without accents (Greek capitals drop
them: ΠΑΤΡΕΩΝ is Πατρέων).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import cel

from hub.errors import ConfigError, RegistryError

__all__ = [
    "MAX_MACRO_DEPTH",
    "MAX_SOURCE",
    "Expression",
    "compile_expression",
    "evaluate_together",
    "fold",
]

#: The longest expression the catalogue may hold; a rule is a line, not a program.
MAX_SOURCE: Final = 1000
#: How deeply list macros (map, filter, exists, all, exists_one) may nest.
MAX_MACRO_DEPTH: Final = 2

_VARIABLES: Final = frozenset({"value", "answers", "params", "today"})
#: CEL's type names, which the parser reports as variables (``type(value) == list``).
_TYPE_NAMES: Final = frozenset(
    {"map", "list", "string", "int", "uint", "double", "bool", "bytes", "null_type", "type"}
)
_MACRO = re.compile(r"\.\s*(map|filter|exists_one|exists|all)\s*\(")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _get(value: Any, path: Any) -> Any:
    if not isinstance(path, str):
        return None
    for step in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


def _is_date(value: Any) -> bool:
    return _parse_date(value) is not None


def _years_between(start: Any, end: Any) -> int | None:
    born, today = _parse_date(start), _parse_date(end)
    if born is None or today is None:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def fold(text: str) -> str:
    """Caseless and accentless, since Greek capitals drop accents: ΠΑΤΡΕΩΝ is Πατρέων."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _fold(text: Any) -> str | None:
    return fold(text) if isinstance(text, str) else None


_FUNCTIONS: Final[Mapping[str, Callable[..., Any]]] = {
    "get": _get,
    "is_date": _is_date,
    "years_between": _years_between,
    "fold": _fold,
}


def _macro_depth(source: str) -> int:
    """How deeply list macros nest: each macro's parenthesis opens a level."""
    depth = deepest = 0
    open_macros: list[int] = []
    level = 0
    i = 0
    while i < len(source):
        match = _MACRO.match(source, i)
        if match:
            level += 1
            open_macros.append(level)
            depth += 1
            deepest = max(deepest, depth)
            i = match.end()
            continue
        char = source[i]
        if char == "(":
            level += 1
        elif char == ")":
            if open_macros and open_macros[-1] == level:
                open_macros.pop()
                depth -= 1
            level -= 1
        elif char in "\"'":
            # Skip a string literal: its parentheses are text.
            end = source.find(char, i + 1)
            i = len(source) if end < 0 else end
        i += 1
    return deepest


@dataclass(frozen=True, slots=True)
class Expression:
    """One compiled catalogue expression; evaluate it with :meth:`evaluate`."""

    source: str
    _program: Any
    #: The variables it reads: only those are converted for the engine at each call.
    _reads: frozenset[str] = frozenset(_VARIABLES)
    #: The hub's functions it calls: only those are registered in its contexts.
    _calls: frozenset[str] = frozenset(_FUNCTIONS)

    def evaluate(
        self,
        *,
        value: Any,
        answers: Mapping[str, Any],
        params: Mapping[str, Any],
        today: dt.date,
    ) -> Any:
        """The expression's value, or :class:`RegistryError` when an answer does not fit it.

        A failure here means a registry answered in a shape the expression
        did not expect (a string where a list was): the answer is refused as
        a registry fault, never turned into a guess.
        """
        return self._run(_context([self], value, answers, params, today))

    def _run(self, context: Any) -> Any:
        try:
            return self._program.execute(context)
        except (RuntimeError, TypeError, ValueError, OverflowError, LookupError) as exc:
            raise RegistryError(
                "A registry's answer does not fit a derived field of the evidence type."
            ) from exc


def _context(
    expressions: Sequence[Expression],
    value: Any,
    answers: Mapping[str, Any],
    params: Mapping[str, Any],
    today: dt.date,
) -> Any:
    """A context for one call of ``expressions``: the variables and functions they use.

    Made per call: the library's contexts are not thread-safe, requests
    run on a thread pool, and a context kept for the next call would also
    keep this call's data (a citizen's answers) after the request. A new
    context costs what updating a kept one does (measured).
    """
    reads = frozenset().union(*(expression._reads for expression in expressions))
    calls = frozenset().union(*(expression._calls for expression in expressions))
    given = {"value": value, "answers": answers, "params": params, "today": today.isoformat()}
    variables = {
        name: dict(found) if isinstance(found, Mapping) and name != "value" else found
        for name, found in given.items()
        if name in reads
    }
    return cel.Context(variables, {name: _FUNCTIONS[name] for name in calls})


def evaluate_together(
    expressions: Sequence[Expression],
    *,
    value: Any,
    answers: Mapping[str, Any],
    params: Mapping[str, Any],
    today: dt.date,
) -> list[Any]:
    """Each expression's value over the same inputs, converted for the engine once.

    Several derived fields of an evidence type read the same answer (a
    property list: how many, whether any, whether one is in a municipality),
    and converting the answer is most of an evaluation; so they share one
    context, made for this call alone. Errors are those of
    :meth:`Expression.evaluate`, the first expression's first.
    """
    context = _context(expressions, value, answers, params, today)
    return [expression._run(context) for expression in expressions]


def compile_expression(source: Any, where: str) -> Expression:
    """Compile ``source`` once, at catalogue load, or raise :class:`ConfigError`."""
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(f"{where}: an expression is a non-empty string")
    if len(source) > MAX_SOURCE:
        raise ConfigError(f"{where}: an expression is at most {MAX_SOURCE} characters")
    if _macro_depth(source) > MAX_MACRO_DEPTH:
        raise ConfigError(f"{where}: list macros nest at most {MAX_MACRO_DEPTH} deep")
    try:
        program = cel.compile(source)
    except (ValueError, RuntimeError, RecursionError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{where}: the expression does not parse: {first}") from exc
    references = program.references()
    bound = _bound_names(source)
    unknown = sorted(
        name
        for name in references.get("variables", [])
        if name not in _VARIABLES | _TYPE_NAMES and name not in bound
    )
    if unknown:
        raise ConfigError(f"{where}: the expression names unknown variables {', '.join(unknown)}")
    # The engine names every function called, plainly or on a receiver
    # (``value.nope()``), inside macros too; operators appear under names
    # that are not identifiers (``_&&_``, ``@in``). A name the engine would
    # not find fails every request at run time: it is refused here, at load.
    calls = {name for name in references.get("functions", []) if _IDENTIFIER.fullmatch(name)}
    unknown_calls = sorted(calls - set(_FUNCTIONS) - _BUILTINS - _METHODS)
    if unknown_calls:
        raise ConfigError(
            f"{where}: the expression calls unknown functions {', '.join(unknown_calls)}"
        )
    reads = frozenset(references.get("variables", [])) & _VARIABLES
    # The hub's own functions among those named above are all it calls.
    uses = frozenset(references.get("functions", [])).intersection(_FUNCTIONS)
    return Expression(source=source, _program=program, _reads=reads, _calls=uses)


#: CEL's own global functions and conversions an expression may call.
_BUILTINS: Final = frozenset(
    {
        "size",
        "type",
        "has",
        "int",
        "uint",
        "double",
        "string",
        "bool",
        "bytes",
        "timestamp",
        "duration",
        "dyn",
        "matches",
    }
)


#: CEL's standard methods, called on a receiver (``name.startsWith("Α")``),
#: that the engine provides (tests/unit/domain/test_expressions.py runs each).
_METHODS: Final = frozenset(
    {
        "contains",
        "startsWith",
        "endsWith",
        "matches",
        "size",
        "getFullYear",
        "getMonth",
        "getDate",
        "getDayOfMonth",
        "getDayOfWeek",
        "getDayOfYear",
        "getHours",
        "getMinutes",
        "getSeconds",
        "getMilliseconds",
    }
)


def _bound_names(source: str) -> set[str]:
    """Names a macro binds (``x`` in ``list.exists(x, ...)``): not free variables."""
    names: set[str] = set()
    for match in re.finditer(r"\.\s*(?:map|filter|exists_one|exists|all)\s*\(\s*(\w+)\s*,", source):
        if _IDENTIFIER.fullmatch(match.group(1)):
            names.add(match.group(1))
    return names
