"""Reading a submitted form entirely in memory, within a size limit.

Starlette's multipart parser spools large files to a temporary file on
disk; a document uploaded for verification must never be stored, so the
pages read the body themselves (bounded), and parse it here in memory.
A malformed body is a :class:`~hub.errors.BadRequest`, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final
from urllib.parse import parse_qsl

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from hub.errors import BadRequest

__all__ = ["MAX_FIELDS", "Form", "Upload", "parse_form"]

#: No page has more fields than this; more is an attack, not a form.
MAX_FIELDS: Final = 64
_MAX_FIELD_BYTES: Final = 8192


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass(slots=True)
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)


def parse_form(content_type: str | None, body: bytes) -> Form:
    """The fields (and files) of a urlencoded or multipart body."""
    media, options = parse_options_header(content_type or "")
    if media == b"application/x-www-form-urlencoded":
        return _urlencoded(body)
    if media == b"multipart/form-data":
        boundary = options.get(b"boundary")
        if not boundary:
            raise BadRequest("The multipart body has no boundary.")
        return _multipart(boundary, body)
    if not body:
        return Form()
    raise BadRequest("Forms are sent as application/x-www-form-urlencoded or multipart/form-data.")


def _urlencoded(body: bytes) -> Form:
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("The form could not be read.") from exc
    return Form(fields={k: v[:_MAX_FIELD_BYTES] for k, v in pairs})


class _Collector:
    """The parser's callbacks: each part's headers and bytes, kept in memory."""

    def __init__(self) -> None:
        self.parts: list[tuple[dict[bytes, bytes], bytearray]] = []
        self._name = b""
        self._value = b""
        self._headers: dict[bytes, bytes] = {}

    def on_part_begin(self) -> None:
        if len(self.parts) >= MAX_FIELDS:
            raise BadRequest("The form has too many fields.")
        self._headers = {}
        self.parts.append((self._headers, bytearray()))

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self.parts[-1][1].extend(data[start:end])

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._name.lower()] = self._value
        self._name, self._value = b"", b""


def _multipart(boundary: bytes, body: bytes) -> Form:
    collector = _Collector()
    callbacks = {
        "on_part_begin": collector.on_part_begin,
        "on_part_data": collector.on_part_data,
        "on_header_field": collector.on_header_field,
        "on_header_value": collector.on_header_value,
        "on_header_end": collector.on_header_end,
    }
    try:
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        parser.write(body)
        parser.finalize()
    except MultipartParseError as exc:
        raise BadRequest("The multipart form could not be read.") from exc
    form = Form()
    for headers, data in collector.parts:
        _, options = parse_options_header(headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if not name:
            continue
        filename = options.get(b"filename")
        if filename is None:
            form.fields[name] = bytes(data[:_MAX_FIELD_BYTES]).decode("utf-8", "replace")
        else:
            kind = headers.get(b"content-type", b"application/octet-stream")
            form.files[name] = Upload(
                filename=filename.decode("utf-8", "replace")[:255],
                content_type=kind.decode("latin-1")[:100],
                data=bytes(data),
            )
    return form
