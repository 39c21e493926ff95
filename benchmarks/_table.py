"""The one table ``make bench`` prints (issue 10): what, floor or baseline, ours, ratio, goal.

Each benchmark records a row here; ``benchmarks/conftest.py`` prints them at the end of the run.
Figures are medians of rounds timed by pytest-benchmark's pedantic mode, each round on fresh
state built by its set-up, which is not timed. Nothing is asserted on time.
"""

from __future__ import annotations

import attrs
from pytest_benchmark.fixture import BenchmarkFixture


@attrs.frozen
class Row:
    """One line of the table: ``ours`` against ``baseline`` (seconds), and the goal."""

    what: str
    baseline_label: str
    baseline: float
    ours: float
    goal: float | None  # None: shown for information, no goal

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else float("nan")


ROWS: list[Row] = []
#: Medians (seconds) of benchmarks that are another row's baseline, by name.
MEDIANS: dict[str, float] = {}


def median_of(benchmark: BenchmarkFixture) -> float:
    """The median of the rounds pytest-benchmark just timed."""
    stats = benchmark.stats
    return float(stats.stats.median) if stats is not None else float("nan")


def record(
    what: str, baseline_label: str, baseline: float, ours: float, goal: float | None
) -> None:
    """Add a row to the table."""
    ROWS.append(Row(what, baseline_label, baseline, ours, goal))


def _fmt(seconds: float) -> str:
    if seconds != seconds:  # NaN
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    return f"{seconds * 1e3:.2f} ms"


def render() -> list[str]:
    """The table as lines of text."""
    header = ("what", "floor / baseline", "ours", "ratio", "goal", "")
    lines = [header]
    for row in ROWS:
        lines.append(
            (
                row.what,
                f"{row.baseline_label} {_fmt(row.baseline)}",
                _fmt(row.ours),
                f"{row.ratio:.2f}x",
                "-" if row.goal is None else f"<= {row.goal:g}x",
                "info" if row.goal is None else "ok" if row.ratio <= row.goal else "MISSED",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return out
