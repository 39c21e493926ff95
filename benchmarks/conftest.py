"""Prints the one table of ``make bench`` (``benchmarks/_table.py``) after pytest-benchmark's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from benchmarks import _table


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Keep the median of every benchmark by test name (the SQL row of the table reads
    ``test_bench_sql``'s two)."""
    yield
    funcargs = getattr(item, "funcargs", {})
    benchmark = funcargs.get("benchmark")
    stats = getattr(benchmark, "stats", None)
    if stats is not None and stats.stats.data:
        _table.MEDIANS[f"test:{item.name}"] = float(stats.stats.median)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The issue-10 table: every recorded row, ratio against its floor or baseline."""
    first = _table.MEDIANS.get("test:test_sql_save_of_the_first_refund")
    thousandth = _table.MEDIANS.get("test:test_sql_save_of_the_1000th_refund")
    if first and thousandth:
        _table.record("SQLite save, 1,000th refund (L7)", "first", first, thousandth, 2.0)
    if not _table.ROWS:
        return
    terminalreporter.section("kanorio_refunds performance (issue 10): medians, fresh state")
    for line in _table.render():
        terminalreporter.write_line(line)
