"""JSON Schema 2020-12 checks: jsonschema-rs decides, jsonschema explains.

Every request body, parameter and answer of the API, and every evidence
answer against its type's schema, is checked with :class:`SchemaCheck`:

* **jsonschema-rs decides** whether an instance is valid. It is compiled
  Rust; on the hub's answers it checks in a few microseconds what the pure
  Python ``jsonschema`` takes 100–200 µs for, and the API checks a body on
  the way in and an answer on the way out of every call.
* **Patterns follow ECMA-262**, as JSON Schema requires. Python's ``re``
  lets ``$`` match before a final newline, so under ``jsonschema`` the AFM
  pattern ``^[0-9]{9}$`` accepted ``"123456789\\n"`` and the "no control
  characters" pattern ``^[^\\u0000-\\u001f]+$`` accepted a trailing
  newline. Both are refused now.
* **Formats** that ``jsonschema`` checks (``date-time``, ``date``, ``email``
  and the others of its checker) are checked by ``jsonschema``'s own
  functions, so the values it accepted stay accepted and those it refused
  (a leap second, which ``datetime`` cannot hold) stay refused. Formats it
  does not check (``uri``) are checked by jsonschema-rs.
* **Errors come from jsonschema**: the same messages and paths as before.
  Where ``jsonschema`` finds nothing wrong (a pattern only ECMA-262 refuses,
  a format only jsonschema-rs checks), jsonschema-rs's errors are given as
  :class:`jsonschema.ValidationError` with its message and paths.

An instance jsonschema-rs cannot take (a Python value with no JSON
counterpart), and a schema it cannot compile (a pattern Python's ``re``
reads and its regex engine does not), are judged by ``jsonschema`` alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

import jsonschema_rs
from jsonschema import Draft202012Validator, ValidationError

__all__ = ["FORMATS", "SchemaCheck"]

#: ``jsonschema``'s format checks for 2020-12 (those whose libraries are installed).
FORMATS: Final = Draft202012Validator.FORMAT_CHECKER


def _python_format(name: str) -> Callable[[str], bool]:
    def conforms(instance: str) -> bool:
        return bool(FORMATS.conforms(instance, name))

    return conforms


_PYTHON_FORMATS: Final = {name: _python_format(name) for name in FORMATS.checkers}


def _translated(error: jsonschema_rs.ValidationError) -> ValidationError:
    return ValidationError(
        str(error.message),
        path=list(error.instance_path),
        schema_path=list(error.schema_path),
    )


class SchemaCheck:
    """One compiled 2020-12 schema; thread-safe and immutable once built.

    ``formats=False`` checks no format at all (annotations only, the
    2020-12 default), as a plain ``Draft202012Validator`` without a format
    checker does.
    """

    __slots__ = ("_fast", "_reference", "native_error", "schema")

    def __init__(self, schema: Mapping[str, Any] | bool, *, formats: bool = True) -> None:
        self.schema = schema
        document = schema if isinstance(schema, bool) else dict(schema)
        self._reference = Draft202012Validator(
            document, format_checker=FORMATS if formats else None
        )
        self._fast: jsonschema_rs.Validator | None = None
        #: Why jsonschema-rs refused the schema, when it did.
        self.native_error: str | None = None
        try:
            self._fast = jsonschema_rs.Draft202012Validator(
                document,
                validate_formats=formats,
                formats=_PYTHON_FORMATS if formats else None,
                # A "$ref" to another server is never fetched.
                offline=True,
            )
        except ValueError as exc:  # jsonschema-rs's ValidationError: it cannot compile it
            self.native_error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__

    @property
    def compiled_natively(self) -> bool:
        """Whether jsonschema-rs took the schema (else ``jsonschema`` alone judges)."""
        return self._fast is not None

    def _fast_answer(self, instance: Any) -> bool | None:
        if self._fast is None:
            return None
        try:
            return bool(self._fast.is_valid(instance))
        except ValueError:  # a Python value with no JSON counterpart
            return None

    def is_valid(self, instance: Any) -> bool:
        """Whether ``instance`` fits the schema."""
        answer = self._fast_answer(instance)
        return self._reference.is_valid(instance) if answer is None else answer

    def iter_errors(self, instance: Any) -> Iterator[ValidationError]:
        """What is wrong with ``instance``; nothing when it fits."""
        answer = self._fast_answer(instance)
        if answer is None:
            yield from self._reference.iter_errors(instance)
            return
        if answer:
            return
        found = False
        for error in self._reference.iter_errors(instance):
            found = True
            yield error
        if not found and self._fast is not None:
            for fast_error in self._fast.iter_errors(instance):
                yield _translated(fast_error)

    def validate(self, instance: Any) -> None:
        """Raise the first :class:`jsonschema.ValidationError` of ``instance``, if any."""
        for error in self.iter_errors(instance):
            raise error
