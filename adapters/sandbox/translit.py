"""Greek to Latin transliteration after ELOT 743 (the passport standard).

Registries give every name in Greek and in Latin letters, and the hub matches
and prints both, so the sandbox needs the same conversion the Greek authorities
use. The rules implemented here:

* single letters: α a, β v, γ g, δ d, ε e, ζ z, η i, θ th, ι i, κ k, λ l, μ m,
  ν n, ξ x, ο o, π p, ρ r, σ/ς s, τ t, υ y, φ f, χ ch, ψ ps, ω o;
* ου is ou; γγ is ng, γκ gk, γξ nx, γχ nch;
* μπ is b at the start or the end of a word and mp inside it;
* αυ, ευ, ηυ are av, ev, iv before a vowel or a voiced consonant (β γ δ ζ λ μ ν
  ρ) and af, ef, if before a voiceless consonant or at the end of a word;
* a diaeresis (ϊ, ϋ) or a stress mark on the first vowel breaks a pair, so ϋ
  after α is plain y (Ταΰγετος is Taygetos);
* accents are dropped; a capital that becomes two Latin letters is written
  ``Th`` in a capitalised word and ``TH`` in a word in capitals.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

__all__ = ["elot743"]


class _Letter(NamedTuple):
    base: str  # The lower-case letter without accent or diaeresis.
    upper: bool
    stressed: bool
    diaeresis: bool


_PLAIN = "αβγδεζηθικλμνξοπρστυφχψω"
_STRESSED = {"ά": "α", "έ": "ε", "ή": "η", "ί": "ι", "ό": "ο", "ύ": "υ", "ώ": "ω"}
_DIAERESIS = {"ϊ": "ι", "ϋ": "υ"}
_BOTH = {"ΐ": "ι", "ΰ": "υ"}

_SINGLE = {
    "α": "a",
    "β": "v",
    "γ": "g",
    "δ": "d",
    "ε": "e",
    "ζ": "z",
    "η": "i",
    "θ": "th",
    "ι": "i",
    "κ": "k",
    "λ": "l",
    "μ": "m",
    "ν": "n",
    "ξ": "x",
    "ο": "o",
    "π": "p",
    "ρ": "r",
    "σ": "s",
    "ς": "s",
    "τ": "t",
    "υ": "y",
    "φ": "f",
    "χ": "ch",
    "ψ": "ps",
    "ω": "o",
}
_GAMMA_PAIRS = {"γ": "ng", "κ": "gk", "ξ": "nx", "χ": "nch"}
_VOWELS = frozenset("αεηιουω")
_VOICED = frozenset("βγδζλμνρ")
_U_DIPHTHONG_FIRST = {"α": "a", "ε": "e", "η": "i"}


def _classify(char: str) -> _Letter | None:
    """Describe a Greek letter, or return None for anything else."""
    lower = char.lower()
    upper = char != lower
    if lower in _SINGLE:
        return _Letter(lower, upper, stressed=False, diaeresis=False)
    if lower in _STRESSED:
        return _Letter(_STRESSED[lower], upper, stressed=True, diaeresis=False)
    if lower in _DIAERESIS:
        return _Letter(_DIAERESIS[lower], upper, stressed=False, diaeresis=True)
    if lower in _BOTH:
        return _Letter(_BOTH[lower], upper, stressed=True, diaeresis=True)
    # Capital stressed letters lower-case to their stressed small forms above;
    # the final sigma and any other character fall through to here.
    return None


def _cased(latin: str, letters: list[_Letter], start: int, width: int) -> str:
    """Apply the case of the Greek source to its Latin rendering."""
    if not letters[start].upper:
        return latin
    if len(latin) == 1:
        return latin.upper()
    # A two-letter rendering is all capitals when the word around it is in
    # capitals: when the next letter (inside the group or after it) is a
    # capital, or when the group ends the word after a capital.
    after = start + width
    if width > 1:
        in_capitals = letters[start + 1].upper
    elif after < len(letters):
        in_capitals = letters[after].upper
    else:
        in_capitals = start > 0 and letters[start - 1].upper
    return latin.upper() if in_capitals else latin[0].upper() + latin[1:]


def _word(letters: list[_Letter]) -> str:
    out: list[str] = []
    i, n = 0, len(letters)
    while i < n:
        here = letters[i]
        nxt = letters[i + 1] if i + 1 < n else None
        latin, width = _SINGLE[here.base], 1
        if nxt is not None and not here.stressed and not nxt.diaeresis:
            if here.base in _U_DIPHTHONG_FIRST and nxt.base == "υ":
                follower = letters[i + 2].base if i + 2 < n else None
                soft = follower is not None and (follower in _VOWELS or follower in _VOICED)
                latin = _U_DIPHTHONG_FIRST[here.base] + ("v" if soft else "f")
                width = 2
            elif here.base == "ο" and nxt.base == "υ":
                latin, width = "ou", 2
        if width == 1 and nxt is not None:
            if here.base == "γ" and nxt.base in _GAMMA_PAIRS:
                latin, width = _GAMMA_PAIRS[nxt.base], 2
            elif here.base == "μ" and nxt.base == "π":
                at_edge = i == 0 or i + 2 == n
                latin, width = ("b" if at_edge else "mp"), 2
        out.append(_cased(latin, letters, i, width))
        i += width
    return "".join(out)


# Names come from small lists, so a cache makes the registries' hot path cheap.
@functools.lru_cache(maxsize=8192)
def elot743(text: str) -> str:
    """Transliterate Greek ``text`` to Latin letters; other characters pass through."""
    out: list[str] = []
    word: list[_Letter] = []
    for char in text:
        letter = _classify(char)
        if letter is not None:
            word.append(letter)
            continue
        if word:
            out.append(_word(word))
            word = []
        out.append(char)
    if word:
        out.append(_word(word))
    return "".join(out)
