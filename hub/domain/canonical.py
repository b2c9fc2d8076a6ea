"""RFC 8785 (JCS) canonical JSON, fast for the values the hub hashes.

Everything the hub hashes or signs goes through :func:`canonical_json`;
its one error, :class:`NotCanonicalisable`, is a ``ValidationFailed``: a value
that has no canonical form is bad input wherever it came from (a sealer that
meets one says so in its own terms). The reference
serialiser (``rfc8785``) is pure Python and costs about 0.2 ms for an access
log entry, which made it one of the largest costs of a request. For the JSON
the hub itself builds — objects, arrays, strings, booleans, null and
integers within ±2**53 — the standard library's ``json.dumps`` with sorted
keys and no whitespace writes exactly the JCS bytes:

* strings: both escape ``"``, ``\\`` and the control characters, as
  ``\\b \\f \\n \\r \\t`` or lowercase ``\\u00xx``, and write every other
  character as itself in UTF-8;
* integers of at most 53 bits print the same digits as ECMAScript's
  ``Number.prototype.toString``;
* member names sort by UTF-16 code units in JCS and by code points in
  Python, which agree while no name holds a character at or above U+D800.

Any other value (a float, a larger integer, such a member name, a lone
surrogate, a type JSON does not have) goes to the reference serialiser,
which also raises for values that have no canonical form.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from hub.errors import ValidationFailed

__all__ = ["NotCanonicalisable", "canonical_json"]

_SAFE_INT = 1 << 53
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


class NotCanonicalisable(ValidationFailed):
    """The value has no RFC 8785 form (a NaN, an unknown type, a lone surrogate…)."""


def _plain(value: Any) -> bool:
    # True when json.dumps writes the JCS bytes of ``value`` (see above).
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -_SAFE_INT <= item <= _SAFE_INT:
                continue
            return False
        if kind is dict:
            for key in item:
                if type(key) is not str or (not key.isascii() and max(key) >= "\ud800"):
                    return False
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
        else:
            return False
    return True


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value."""
    if _plain(value):
        try:
            return _encode(value).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: the reference serialiser says why
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError, UnicodeError) as exc:
        raise NotCanonicalisable(str(exc)) from exc
