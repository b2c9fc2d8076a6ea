"""Figures, their floors and targets, and the table and JSON they are printed as.

A :class:`Figure` is one measured value next to the floor it is compared
with, both taken in the same run on the same machine; the ratio between them
is the number that travels between machines. Some figures also carry a
:class:`Target` from issue 7: the table says whether it is met, but a missed
target never fails the run, because wall-clock speed depends on the machine.
"""

from __future__ import annotations

import json
import operator
import os
import platform
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from bench.stats import ratio

__all__ = ["Figure", "Target", "machine", "render_table", "to_json", "write_json"]

Compare = Literal[">=", "<="]
_COMPARE: dict[Compare, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
}


@dataclass(frozen=True, slots=True)
class Target:
    """A goal from issue 7, on the measured value or on the ratio to the floor."""

    text: str
    compare: Compare
    threshold: float
    on: Literal["value", "ratio"] = "value"

    def met(self, value: float | None, ratio_value: float | None) -> bool | None:
        """Whether the figure meets the target; ``None`` when it was not measured."""
        subject = value if self.on == "value" else ratio_value
        if subject is None:
            return None
        return _COMPARE[self.compare](subject, self.threshold)


@dataclass(frozen=True, slots=True)
class Figure:
    """One line of the results: a value, its floor, their ratio, maybe a target."""

    section: str
    name: str
    value: float | None
    unit: str
    floor_name: str = ""
    floor: float | None = None
    target: Target | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return ratio(self.value, self.floor)

    @property
    def met(self) -> bool | None:
        return self.target.met(self.value, self.ratio) if self.target else None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Figure:
        """The inverse of :meth:`to_dict` (derived keys are ignored)."""
        target = data.get("target")
        return cls(
            section=data["section"],
            name=data["name"],
            value=data["value"],
            unit=data["unit"],
            floor_name=data.get("floor_name", ""),
            floor=data.get("floor"),
            target=Target(**target) if target else None,
            note=data.get("note", ""),
            extra=data.get("extra", {}),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = self.ratio
        data["met"] = self.met
        return data


def _number(value: float | None) -> str:
    """Three significant figures, without scientific notation for everyday sizes."""
    if value is None:
        return "-"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.01 or magnitude == 0:
        return f"{value:.2f}"
    return f"{value:.2g}"


def _verdict(met: bool | None) -> str:
    return {True: "pass", False: "MISS", None: ""}[met]


def render_table(figures: Sequence[Figure], *, markdown: bool = False) -> str:
    """The figures as an aligned text table, or as a Markdown table."""
    header = ("section", "measure", "value", "unit", "floor", "floor value", "ratio", "target", "")
    rows = [
        (
            f.section,
            f.name,
            _number(f.value),
            f.unit,
            f.floor_name,
            _number(f.floor),
            _number(f.ratio),
            f.target.text if f.target else "",
            _verdict(f.met),
        )
        for f in figures
    ]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    numeric = {2, 5, 6}

    def line(cells: Iterable[str]) -> str:
        out = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for text in handle:
                if text.startswith("model name"):
                    return text.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            kib = int(handle.readline().split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        memory = "unknown"
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory": memory,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }


def to_json(figures: Sequence[Figure], **context: Any) -> dict[str, Any]:
    """The whole run as JSON-ready data: machine, context, every figure."""
    return {"machine": machine(), **context, "figures": [f.to_dict() for f in figures]}


def write_json(path: Path, figures: Sequence[Figure], **context: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(figures, **context), indent=2, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.report FILE.json``: print a saved run as a Markdown table."""
    words = sys.argv[1:] if argv is None else argv
    if len(words) != 1:
        print("usage: python -m bench.report FILE.json", file=sys.stderr)
        return 2
    data = json.loads(Path(words[0]).read_text())
    print(render_table([Figure.from_dict(f) for f in data["figures"]], markdown=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
