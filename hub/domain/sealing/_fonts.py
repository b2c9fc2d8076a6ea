"""The certificate fonts, parsed and subset once per process, not per document.

fpdf2's ``add_font`` parses the whole TrueType file (cmap, metrics, every
glyph name) for each document, and its output step subsets the face again
with fontTools — decompiling the layout tables and all glyph entries only to
keep the hundred glyphs a certificate uses. That was most of the time of
rendering one.

Here each face is parsed once into a template ``TTFFont``. A document gets a
light copy of it (its own subset map, widths and font descriptor, sharing the
read-only cmap and glyph ids), with a fixed set of common glyphs — ASCII and
the Greek alphabet — picked first, so most certificates use the same glyph
set whatever their verification code, names and dates. Before output,
:func:`finish` hands each document font the embedded subset for its glyph set:
the bytes fontTools produces with fpdf2's own subsetting options, made once
per glyph set and cached (least recently used first out). fpdf2's output
then embeds those bytes: the subsetting step is skipped, through a narrow
wrapper around the ``Subsetter`` fpdf2 uses, only for these fonts, and only
when the glyphs asked for are exactly the ones cached; any other font goes
through fontTools as before. ``hub._patches`` calls :func:`install`, which puts
that wrapper in place, at start-up and only for the fpdf2 versions it was
written for; until then (or with another fpdf2) :func:`add_font` is fpdf2's
own ``add_font`` and :func:`finish` does nothing, so certificates render the
library's way, only slower.

A glyph set not seen before is cut from a smaller font holding the Latin and
Greek repertoire certificates are written in, or from the whole face when the
document goes beyond it. The copy relies on fpdf2's ``TTFFont`` attributes
(the same ones its own ``__deepcopy__`` copies) and on its output calling
``ftsubset.Subsetter``; the tests render certificates and check their text is
extractable, which breaks loudly if that interface changes.
"""

from __future__ import annotations

import copy
import io
import threading
import types
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import fpdf.output

# fontTools ships no type information; fpdf2 already depends on it.
from fontTools import subset as ftsubset  # type: ignore[import-untyped]
from fontTools import ttLib
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont

__all__ = ["FontFace", "add_font", "finish", "install", "installed"]

# What certificates are written in: ASCII, Latin-1 (accented names, °, ·, «»),
# the modern Greek alphabet with its accents, and common punctuation (dashes,
# quotes, bullet, ellipsis, €). Glyph sets within it are cut from a font
# holding only these; anything beyond still renders (see FontFace.embedded).
_REPERTOIRE = (
    *range(0x20, 0x7F),
    *range(0xA0, 0x100),
    *range(0x384, 0x3CF),
    *(0x2013, 0x2014, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2026, 0x20AC),
)

# Picked into every document font first, so that the glyph set — and the
# cached subset — rarely changes between certificates: printable ASCII, the
# Greek alphabet with its accents, and the middle dot of the headings.
_PRESET = (*range(0x20, 0x7F), *range(0x386, 0x3CF), 0xB7)

# The tables fpdf2 drops when it embeds a font (fpdf/output.py); dropping
# them from the repertoire font too spares decompiling them.
_FPDF_DROPPED = (
    "FFTM",
    "GDEF",
    "GPOS",
    "GSUB",
    "MATH",
    "hdmx",
    "meta",
    "sbix",
    "CBDT",
    "CBLC",
    "EBDT",
    "EBLC",
    "EBSC",
    "SVG ",
    "CPAL",
    "COLR",
)

#: Glyph sets whose embedded subset is kept, per face; each is 10-30 kilobytes.
_MAX_SUBSETS = 64


@dataclass(frozen=True, slots=True)
class _Subset:
    """A face cut down to one glyph set, as fpdf2 would embed it."""

    data: bytes
    glyph_ids: Mapping[str, int]


@dataclass(eq=False)
class FontFace:
    """One TrueType face: its bytes, its parsed template and cached subsets."""

    path: Path
    family: str
    style: str
    data: bytes = field(repr=False)
    #: The parsed face; None when the wrapper is not installed (fpdf2 parses).
    template: TTFFont | None = field(repr=False)
    repertoire: frozenset[str] = field(repr=False)
    #: The face cut down to the repertoire, built on first use.
    _base: bytes | None = field(default=None, repr=False)
    _subsets: OrderedDict[frozenset[str], _Subset] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, path: Path, family: str, style: str) -> FontFace:
        data = path.read_bytes()
        if not installed():
            return cls(path, family, style, data, None, frozenset())
        template = TTFFont(FPDF(), path, f"{family.lower()}{style}", style)
        # The template's own TTFont is never used again: each document gets
        # its subset at output.
        template.ttfont.close()
        # .notdef is always embedded (fpdf2 reserves code 0 for it).
        repertoire = frozenset(
            {".notdef", *(template.cmap[code] for code in _REPERTOIRE if code in template.cmap)}
        )
        return cls(path, family, style, data, template, repertoire)

    def embedded(self, used: Iterable[str]) -> _Subset:
        """The face subset to exactly the ``used`` glyphs, as fpdf2 would embed it."""
        names = frozenset(used)
        with self._lock:
            found = self._subsets.get(names)
            if found is not None:
                self._subsets.move_to_end(names)
                return found
        source = self._repertoire_font() if names <= self.repertoire else self.data
        made = _fpdf_subset(source, names)
        with self._lock:
            self._subsets[names] = made
            while len(self._subsets) > _MAX_SUBSETS:
                self._subsets.popitem(last=False)
        return made

    def _repertoire_font(self) -> bytes:
        base = self._base
        if base is None:
            base = self._base = _repertoire_subset(self.data, self.repertoire)
        return base


def _repertoire_subset(data: bytes, names: Iterable[str]) -> bytes:
    font = ttLib.TTFont(io.BytesIO(data), recalcTimestamp=False)
    options = ftsubset.Options(notdef_outline=True, recommended_glyphs=True)
    # fpdf2 refers to glyphs by name: keep them, and store them (post format
    # 2) — DejaVu LGC has none, and deriving them from the cmap is slow.
    options.glyph_names = True
    options.drop_tables += list(_FPDF_DROPPED)
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(glyphs=sorted(names))
    subsetter.subset(font)
    post = font["post"]
    if post.formatType != 2.0:  # format 2 is the one that stores names
        post.formatType = 2.0
        post.extraNames = []
        post.mapping = {}
    out = io.BytesIO()
    font.save(out)
    font.close()
    return out.getvalue()


def _fpdf_subset(data: bytes, names: frozenset[str]) -> _Subset:
    # What fpdf2's output does to a font (same options, same order), once.
    # recalcBBoxes=False lets fontTools copy glyphs through as bytes; the
    # bounding boxes in them are the original font's, unchanged by subsetting.
    font = ttLib.TTFont(io.BytesIO(data), lazy=True, recalcBBoxes=False, recalcTimestamp=False)
    options = ftsubset.Options(notdef_outline=True, recommended_glyphs=True)
    options.drop_tables += list(_FPDF_DROPPED)
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(glyphs=sorted(names))
    subsetter.subset(font)
    glyph_ids = {name: font.getGlyphID(name) for name in names}
    out = io.BytesIO()
    font.save(out)
    font.close()
    return _Subset(out.getvalue(), types.MappingProxyType(glyph_ids))


class _Embedded(ttLib.TTFont):  # type: ignore[misc]  # fontTools is untyped
    """A document font's TTFont at output: already subset, its bytes at hand.

    It is a real (lazily read) TTFont of the subset, so that anything asking
    more of it than the wrapper below expects still gets a correct answer.
    """

    def __init__(self, subset: _Subset, names: frozenset[str]) -> None:
        super().__init__(
            io.BytesIO(subset.data), lazy=True, recalcBBoxes=False, recalcTimestamp=False
        )
        self.cached = subset
        self.names = names
        self.pristine = True

    def getGlyphID(self, glyphName: str) -> int:  # noqa: N802, N803  # fontTools' names
        known = self.cached.glyph_ids.get(glyphName) if self.pristine else None
        return int(known) if known is not None else int(super().getGlyphID(glyphName))

    def save(self, file: BinaryIO | str | Path, *args: Any, **kwargs: Any) -> None:
        if self.pristine and not isinstance(file, str | Path):
            file.write(self.cached.data)
            return
        super().save(file, *args, **kwargs)


class _Subsetter(ftsubset.Subsetter):  # type: ignore[misc]  # fontTools is untyped
    """fontTools' ``Subsetter``, which leaves an ``_Embedded`` font as it is.

    Only when the glyphs asked for are exactly the ones the font was cut to
    (``finish`` asks for the same list fpdf2 does); otherwise it subsets.
    """

    def subset(self, font: Any) -> None:
        if isinstance(font, _Embedded) and font.pristine:
            if set(self.glyph_names_requested) == font.names and not (
                self.glyph_ids_requested or self.unicodes_requested
            ):
                return
            font.pristine = False
        super().subset(font)


_installed = threading.Event()


def install() -> None:
    """Let fpdf2's output embed the cached subsets (idempotent; see ``hub._patches``)."""
    # fpdf2's output reaches fontTools through this module attribute only; the
    # stand-in forwards everything and differs in the Subsetter alone.
    fpdf.output.ftsubset = types.SimpleNamespace(  # type: ignore[attr-defined]
        Options=ftsubset.Options, Subsetter=_Subsetter
    )
    _installed.set()


def installed() -> bool:
    return _installed.is_set()


def add_font(pdf: FPDF, face: FontFace) -> None:
    """Register ``face`` with ``pdf`` as ``add_font`` would, without re-parsing it."""
    template = face.template
    if template is None or not installed():
        pdf.add_font(face.family, face.style, face.path)
        return
    font = copy.copy(template)
    font.i = len(pdf.fonts) + 1
    # Per document: what fpdf2 writes to while laying out and while writing.
    font.cw = template.cw.copy()
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font.desc = copy.copy(template.desc)
    font.subset = SubsetMap(font)
    for code in _PRESET:
        if code in template.glyph_ids:
            font.subset.pick(code)
    # A placeholder until output; finish() swaps in the embedded subset.
    font.ttfont = _Pending(face)
    pdf.fonts[font.fontkey] = font


def finish(pdf: FPDF) -> None:
    """Give each pending font its embedded subset; call just before ``output``."""
    for font in pdf.fonts.values():
        if isinstance(font, TTFFont) and isinstance(font.ttfont, _Pending):
            names = frozenset(font.subset.get_all_glyph_names())
            font.ttfont = _Embedded(font.ttfont.face.embedded(names), names)


class _Pending:
    """Stands in for a document font's TTFont until :func:`finish` replaces it."""

    def __init__(self, face: FontFace) -> None:
        self.face = face

    def close(self) -> None:
        """Nothing was opened."""
