"""A bound on JSON nesting, checked before any parser sees the document.

Python's JSON parsers (the standard library's and the one connexion uses)
recurse once per array or object level; a body of a few hundred kilobytes of
``[`` exhausts the interpreter's stack and surfaces as a ``RecursionError``,
a 500. Legitimate documents of the hub are a handful of levels deep, so any
document nested deeper than :data:`MAX_DEPTH` is refused unread.

The check never recurses itself: strings are blanked out (their brackets are
text), everything but brackets is dropped, and innermost ``[]``/``{}`` pairs
are removed one level per pass, each pass a single C-speed regular-expression
substitution. A document whose brackets do not pair up is measured by a
running count instead, so a malformed deep document is caught as well.
"""

from __future__ import annotations

import re
from itertools import accumulate

__all__ = ["MAX_DEPTH", "too_deep"]

#: The deepest JSON the hub parses; its own documents stay below ten levels.
MAX_DEPTH = 64

# Possessive quantifiers: a string is consumed without backtracking, so an
# unterminated one costs one linear scan.
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]++")
_INNERMOST = re.compile(rb"\[\]|\{\}")


def too_deep(document: bytes | str, limit: int = MAX_DEPTH) -> bool:
    """Whether ``document`` nests arrays or objects more than ``limit`` levels deep."""
    data = document.encode("utf-8", "surrogatepass") if isinstance(document, str) else document
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", data))
    for _ in range(limit):
        brackets, removed = _INNERMOST.subn(b"", brackets)
        if not brackets:
            return False
        if removed == 0:
            break
    else:
        return True
    # Unpaired brackets: the deepest running count of openings decides.
    steps = (1 if byte in b"[{" else -1 for byte in brackets)
    return max(accumulate(steps, initial=0)) > limit
