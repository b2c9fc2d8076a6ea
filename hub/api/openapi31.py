"""OpenAPI 3.1 under connexion 3, which only knows OpenAPI 3.0.

Connexion 3.3 validates a specification against the OpenAPI 3.0 meta-schema
(so it refuses ``openapi: 3.1.0``) and validates bodies and parameters with
JSON Schema Draft 4, which silently ignores 3.1 keywords such as ``const``.
This module closes both gaps without forking connexion:

* :func:`install` lets a 3.1 document through connexion's loader; the
  document itself is checked against the official OpenAPI 3.1 schema by
  :func:`check_document` (at start-up and in the test suite);
* :data:`VALIDATOR_MAP` swaps in validators that use JSON Schema 2020-12,
  the dialect of OpenAPI 3.1, and compile each schema once instead of on
  every request: connexion instantiates its validator classes per request
  (and, for parameters, deep-copies the schema and builds a jsonschema
  validator per parameter per request), so a per-instance cache would not
  help. :func:`compiled` keeps one validator per schema object of the loaded
  document, which connexion hands over unchanged on every request. The
  validator is :class:`hub.domain.schemas.SchemaCheck`: jsonschema-rs
  decides, with ECMA-262 patterns, and ``jsonschema`` words the errors;
* :func:`install` also makes ``/openapi.json`` serve the document as
  written, with its ``components`` and ``$ref`` members. Connexion needs the
  resolved document internally (to build its validators), but served
  resolved it makes generators emit one model per use of a schema instead of
  one per component.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import yaml
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem, InvalidSpecification
from connexion.middleware.swagger_ui import SwaggerUIAPI
from connexion.spec import OpenAPISpecification
from connexion.validators import (
    FormDataValidator,
    JSONRequestBodyValidator,
    JSONResponseBodyValidator,
    MultiPartFormDataValidator,
    ParameterValidator,
    TextResponseBodyValidator,
)
from jsonschema import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartParser

from hub.domain.schemas import SchemaCheck

__all__ = ["VALIDATOR_MAP", "check_document", "compiled", "install", "load_document"]

#: Compiled validators kept at most: far more than the schemas of the hub's
#: document (about a hundred), so that in practice each is compiled once per
#: process, yet bounded should something hand over fresh schema objects.
_COMPILED_MAX = 2048
_compiled: OrderedDict[int, tuple[dict[str, Any], SchemaCheck]] = OrderedDict()
_compiled_lock = threading.Lock()


def compiled(schema: dict[str, Any]) -> SchemaCheck:
    """The 2020-12 validator of ``schema``, built once per schema object.

    Keyed by the object's identity, because connexion passes the very same
    dict of its resolved document on every request: hashing or copying the
    content would cost what the cache saves. The entry holds the schema
    itself, so its id cannot be reused by another object while cached, and a
    hit also checks identity. Validators are immutable and thread-safe once
    built, so one is shared by every request.
    """
    if not schema:
        # Connexion hands over a fresh ``{}`` for a response without a
        # schema: one shared validator, instead of an entry per request.
        return _ANYTHING
    key = id(schema)
    with _compiled_lock:
        entry = _compiled.get(key)
        if entry is not None and entry[0] is schema:
            _compiled.move_to_end(key)
            return entry[1]
    validator = SchemaCheck(schema)
    with _compiled_lock:
        _compiled[key] = (schema, validator)
        while len(_compiled) > _COMPILED_MAX:
            _compiled.popitem(last=False)
    return validator


_ANYTHING = SchemaCheck({})


class _Request31(JSONRequestBodyValidator):  # type: ignore[misc]
    @functools.cached_property
    def _validator(self) -> SchemaCheck:
        return compiled(self._schema)

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Any) -> Any:
        # Connexion decodes the body without catching a decoding error, so a
        # body that is not UTF-8 would end in a 500 instead of a 400.
        try:
            return await super()._parse(stream, scope)
        except UnicodeDecodeError as exc:
            raise BadRequestProblem(detail="The request body is not valid UTF-8.") from exc


class _Form31(FormDataValidator):  # type: ignore[misc]
    @functools.cached_property
    def _validator(self) -> SchemaCheck:
        return compiled(self._schema)


class _ValidationOnlyParser(MultiPartParser):
    """Parses a multipart body for validation only, closing the files it spooled.

    The validator looks at the fields, never at the files' bytes; the handler
    parses the body again. Without this the spooled parts of every upload
    stayed open until the garbage collector found them.
    """

    async def parse(self) -> FormData:
        form = await super().parse()
        for _, value in form.multi_items():
            if isinstance(value, UploadFile):
                await value.close()
        return form


class _Multipart31(MultiPartFormDataValidator):  # type: ignore[misc]
    @functools.cached_property
    def _validator(self) -> SchemaCheck:
        return compiled(self._schema)

    @property
    def _form_parser_cls(self) -> type[MultiPartParser]:
        return _ValidationOnlyParser


class _Response31(JSONResponseBodyValidator):  # type: ignore[misc]
    @functools.cached_property
    def validator(self) -> SchemaCheck:
        return compiled(self._schema)


class _Text31(TextResponseBodyValidator):  # type: ignore[misc]
    @functools.cached_property
    def validator(self) -> SchemaCheck:
        return compiled(self._schema)


class _Parameters31(ParameterValidator):  # type: ignore[misc]
    @staticmethod
    def validate_parameter(
        parameter_type: str, value: Any, param: dict[str, Any], param_name: str | None = None
    ) -> str | None:
        if value is not None:
            # Connexion deep-copies the schema first; validation never writes
            # to it, so the compiled validator of the document's own dict is
            # enough.
            try:
                compiled(param.get("schema", param)).validate(value)
            except ValidationError as exc:
                return str(exc.message)
            return None
        if param.get("required"):
            return f"Missing {parameter_type} parameter '{param['name']}'"
        return None


VALIDATOR_MAP: dict[str, Any] = {
    "parameter": _Parameters31,
    "body": MediaTypeDict(
        {
            "*/*json": _Request31,
            "application/x-www-form-urlencoded": _Form31,
            "multipart/form-data": _Multipart31,
        }
    ),
    "response": MediaTypeDict({"*/*json": _Response31, "text/plain": _Text31}),
}


#: Digests of documents already found valid: validating a large document takes
#: about a second, and it cannot change while its digest stays the same.
_VALID: set[str] = set()


def _digest(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()


@functools.lru_cache(maxsize=8)
def _parsed(path: str, mtime_ns: int) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader
    return document


def load_document(path: Path) -> dict[str, Any]:
    """The parsed spec at ``path``, parsed once per change of the file; a private copy."""
    return copy.deepcopy(_parsed(str(path), path.stat().st_mtime_ns))


def check_document(spec: dict[str, Any]) -> None:
    """Validate a whole OpenAPI 3.1 document against the official schema (once per content)."""
    digest = _digest(spec)
    if digest in _VALID:
        return
    from openapi_spec_validator import validate  # noqa: PLC0415 - heavy, start-up only
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError  # noqa: PLC0415

    try:
        validate(spec)
    except OpenAPIValidationError as exc:
        raise InvalidSpecification(str(exc.message)) from exc
    _VALID.add(digest)


_original_validate = OpenAPISpecification._validate_spec.__func__


def _validate_spec(cls: type[OpenAPISpecification], spec: dict[str, Any]) -> None:
    if str(spec.get("openapi", "")).startswith("3.1."):
        check_document(spec)
        return
    _original_validate(cls, spec)


def _served_spec(api: SwaggerUIAPI, request: Any) -> dict[str, Any]:
    """The document as written (``$ref`` members kept), its server the request's base path."""
    base_path = api._base_path_for_prefix(request)
    spec: dict[str, Any] = copy.deepcopy(api.specification.raw)
    if base_path:
        spec["servers"] = [{"url": base_path}]
    return spec


def install() -> None:
    """Teach connexion to accept OpenAPI 3.1 and to serve it unresolved (idempotent)."""
    OpenAPISpecification._validate_spec = classmethod(_validate_spec)
    SwaggerUIAPI._spec_for_prefix = _served_spec
    # Connexion warns on every request to an operation that accepts several
    # media types (POST /v1/verify takes four, by design): noise, not news.
    logging.getLogger("connexion.operations.openapi3").setLevel(logging.ERROR)
