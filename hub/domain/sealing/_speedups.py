"""Two hot spots of pyhanko's verification, made fast without changing a rule.

Both are installed process-wide, each by its own idempotent function, which
``hub._patches`` calls at start-up only when the library is at a version these
were written for (otherwise the libraries' own code runs). Each replacement
computes exactly what the library's own code computes, or hands the case back
to that code.

**X.509 name matching.** pyhanko and its certificate validator compare X.509
names (issuer against subject, ``IssuerSerial`` against a certificate, CRL
issuer against CA) dozens of times for every seal they check, and asn1crypto
answers each comparison by walking both names and preparing every attribute
value with the RFC 4518 LDAP string preparation — a character-by-character
pass over the ``stringprep`` tables — again for every freshly parsed name. For
the hub's certificates that was more than half the time of a PDF verification.

Both answers are pure functions of the names' DER encodings, so they are
cached here, keyed by those bytes:

- ``NameTypeAndValue._ldap_string_prep`` by the attribute's string value;
- ``Name.__eq__`` by the pair of encoded ``RDNSequence`` values, after a
  byte-for-byte fast path (identical encodings are the same name — pyhanko's
  own ``match_issuer_serial`` takes the same shortcut);
- ``Name.hashable`` (the key certificate registries index names by) by the
  encoded ``RDNSequence``.

The matching rules themselves are untouched: a miss runs asn1crypto's own code.
A value that code rejects (an unassigned or prohibited code point raises
``ValueError``) is never cached, so it is rejected again every time. The
caches are bounded in entries and in the size of what they remember, so
documents carrying many or huge names cannot grow them without limit.

**Hex strings.** pyhanko's parser reads a PDF hex string one byte at a time
through a generic tokenizer, and a seal's ``/Contents`` is thousands of hex
digits: that was a third of a verification. The replacement finds the closing
``>`` in one read and decodes with ``binascii``; when the body holds anything
but hex digits and PDF whitespace (a ``%``, which pyhanko treats as a comment,
or an invalid byte it rejects), or the string is unterminated, it rewinds and
lets pyhanko's own reader decide, errors included.
"""

from __future__ import annotations

import binascii
import functools
import io
import threading
from collections.abc import Callable
from typing import Any

from asn1crypto import core
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import generic as pdf_generic
from pyhanko.pdf_utils.misc import PDF_WHITESPACE

__all__ = ["install", "install_hex_reader", "install_name_matching"]

#: Distinct values (or pairs) each cache remembers; a PKI has a handful.
_CACHE_SIZE = 1024
# Longer names or values are not remembered (RFC 5280's upper bounds are far
# below), so a hostile document cannot pin much memory: at most about
# _CACHE_SIZE × 2 × _MAX_NAME bytes per cache.
_MAX_NAME = 1024
_MAX_VALUE = 256

_installed: set[str] = set()
_lock = threading.Lock()


class _Bounded:
    """A small dict cache that forgets everything when full (cheap, and enough here)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: dict[Any, Any] = {}

    def get(self, key: Any) -> Any:
        return self._data.get(key)

    def put(self, key: Any, value: Any) -> None:
        if len(self._data) >= self._size:
            self._data.clear()
        self._data[key] = value


def _memoised_prep(original: Callable[[Any, Any], str]) -> Callable[[Any, Any], str]:
    @functools.lru_cache(maxsize=_CACHE_SIZE)
    def prepare(string: str) -> str:
        # The method never reads its instance; None stands in for it.
        return original(None, string)

    def _ldap_string_prep(self: Any, string: Any) -> str:
        if not isinstance(string, str) or len(string) > _MAX_VALUE:
            return original(self, string)
        return prepare(string)

    return _ldap_string_prep


def _memoised_eq(original: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    results = _Bounded(_CACHE_SIZE)

    def __eq__(self: Any, other: Any) -> bool:  # noqa: N807  # replaces Name.__eq__
        if not isinstance(other, asn1_x509.Name):
            return False
        mine, theirs = self.chosen.dump(), other.chosen.dump()
        if mine == theirs:
            return True
        if len(mine) > _MAX_NAME or len(theirs) > _MAX_NAME:
            return bool(original(self, other))
        key = (mine, theirs)
        known = results.get(key)
        if known is None:
            known = bool(original(self, other))
            results.put(key, known)
        return bool(known)

    __eq__.__wrapped__ = original  # type: ignore[attr-defined]
    return __eq__


def _memoised_hashable(original: property) -> property:
    keys = _Bounded(_CACHE_SIZE)
    compute = original.fget
    assert compute is not None  # noqa: S101  # asn1crypto defines it as a property

    def hashable(self: Any) -> str:
        encoded = self.chosen.dump()
        if len(encoded) > _MAX_NAME:
            return str(compute(self))
        known = keys.get(encoded)
        if known is None:
            known = compute(self)
            keys.put(encoded, known)
        return str(known)

    return property(hashable)


# What may sit between ``<`` and ``>`` for the fast path to apply.
_HEX_BODY = PDF_WHITESPACE + b"0123456789abcdefABCDEF"
_CHUNK = 16 * 1024


def _fast_hex_reader(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def read_hex_string_from_stream(stream: Any) -> Any:
        start = stream.tell()
        stream.read(1)  # the opening "<", as pyhanko's reader does
        parts: list[bytes] = []
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:  # unterminated: pyhanko raises its own error
                stream.seek(start)
                return original(stream)
            end = chunk.find(b">")
            if end >= 0:
                parts.append(chunk[:end])
                stream.seek(end + 1 - len(chunk), io.SEEK_CUR)
                break
            parts.append(chunk)
        body = b"".join(parts)
        if body.translate(None, _HEX_BODY):  # a comment or a stray byte
            stream.seek(start)
            return original(stream)
        digits = body.translate(None, PDF_WHITESPACE)
        if len(digits) % 2:
            digits += b"0"
        return pdf_generic.pdf_string(binascii.unhexlify(digits))

    read_hex_string_from_stream.__wrapped__ = original  # type: ignore[attr-defined]
    return read_hex_string_from_stream


def install_name_matching() -> None:
    """Memoise asn1crypto's name comparison and preparation, once."""
    with _lock:
        if "names" in _installed:
            return
        ntv: Any = asn1_x509.NameTypeAndValue
        name: Any = asn1_x509.Name
        ntv._ldap_string_prep = _memoised_prep(ntv._ldap_string_prep)
        name.__eq__ = _memoised_eq(name.__eq__)
        name.hashable = _memoised_hashable(name.__dict__["hashable"])
        _installed.add("names")


def _clean_defaults(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def __init__(self: Any, value: Any = None, default: Any = None, **kwargs: Any) -> None:  # noqa: N807  # replaces Sequence.__init__
        original(self, value, default, **kwargs)
        # A structure built from nothing but its field's DEFAULT (say an
        # ESSCertIDv2's SHA-256, which strict DER omits) is marked changed by
        # the constructor, and asn1crypto never clears the mark: every
        # enclosing structure then re-encodes its children on each read of
        # its contents, twice per level, so a seal's CMS with a timestamp
        # token inside took 10-70 s to encode. Encode the default once and
        # mark it clean: its encoding cannot differ from itself.
        if value is None and default is not None and self._contents is None:
            self._set_contents()
            self._mutated = False

    return __init__


def install_clean_defaults() -> None:
    """Build DEFAULT values of asn1crypto sequences clean, once."""
    with _lock:
        if "defaults" in _installed:
            return
        sequence: Any = core.Sequence
        sequence.__init__ = _clean_defaults(sequence.__init__)
        _installed.add("defaults")


def install_hex_reader() -> None:
    """Put the one-read hex string reader in place of pyhanko's, once."""
    with _lock:
        if "hex" in _installed:
            return
        pdf_generic.read_hex_string_from_stream = _fast_hex_reader(  # type: ignore[assignment]
            pdf_generic.read_hex_string_from_stream
        )
        _installed.add("hex")


def install() -> None:
    """Every speed-up, without a version check (``hub._patches`` checks)."""
    install_name_matching()
    install_clean_defaults()
    install_hex_reader()
