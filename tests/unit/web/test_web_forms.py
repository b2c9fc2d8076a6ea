"""Forms are read in memory, within limits, and bad bodies are 400s."""

from __future__ import annotations

import pytest

from hub.errors import BadRequest
from hub.web._forms import MAX_FIELDS, parse_form
from hub.web.verify import sealer_name


def _multipart(*parts: bytes, boundary: bytes = b"XyZ") -> tuple[str, bytes]:
    body = b"".join(b"--" + boundary + b"\r\n" + p + b"\r\n" for p in parts)
    return f"multipart/form-data; boundary={boundary.decode()}", body + b"--" + boundary + b"--\r\n"


def test_urlencoded_fields() -> None:
    form = parse_form("application/x-www-form-urlencoded", b"a=1&b=%CE%B1&c=&a=2")
    assert form.fields == {"a": "2", "b": "α", "c": ""}
    assert form.get("missing", "x") == "x"
    assert form.files == {}


def test_multipart_fields_and_files() -> None:
    kind, body = _multipart(
        b'Content-Disposition: form-data; name="csrf_token"\r\n\r\ntok',
        b'Content-Disposition: form-data; name="document"; filename="c.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%PDF-1.7\r\nbinary\x00",
    )
    form = parse_form(kind, body)
    assert form.fields == {"csrf_token": "tok"}
    upload = form.files["document"]
    assert upload.filename == "c.pdf"
    assert upload.content_type == "application/pdf"
    assert upload.data == b"%PDF-1.7\r\nbinary\x00"


def test_an_empty_body_is_an_empty_form() -> None:
    assert parse_form(None, b"").fields == {}


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("application/json", b"{}"),
        ("multipart/form-data", b"--x\r\n"),
        ("application/x-www-form-urlencoded", b"\xff\xfe=1"),
        ("application/x-www-form-urlencoded", b"&".join([b"a=1"] * (MAX_FIELDS + 1))),
    ],
)
def test_bad_bodies_are_bad_requests(kind: str, body: bytes) -> None:
    with pytest.raises(BadRequest):
        parse_form(kind, body)


def test_too_many_parts_are_refused() -> None:
    parts = [b'Content-Disposition: form-data; name="f"\r\n\r\nv'] * (MAX_FIELDS + 1)
    kind, body = _multipart(*parts)
    with pytest.raises(BadRequest):
        parse_form(kind, body)


def test_long_fields_are_cut() -> None:
    form = parse_form("application/x-www-form-urlencoded", b"a=" + b"x" * 20000)
    assert len(form.fields["a"]) == 8192


@pytest.mark.parametrize(
    ("signer", "shown"),
    [
        (
            "CN=Hub e-Seal 1,2.5.4.97=VATGR-090000045,OU=Hub,O=Hellenic Hub,C=GR",
            "Hellenic Hub (VATGR-090000045)",
        ),
        ("CN=Someone,O=Agency\\, Central,C=GR", "Agency, Central"),
        ("CN=No organisation here", "CN=No organisation here"),
        ("not a distinguished name at all", "not a distinguished name at all"),
        (None, None),
        ("", None),
    ],
)
def test_the_sealer_is_named_by_organisation(signer: str | None, shown: str | None) -> None:
    assert sealer_name(signer) == shown
