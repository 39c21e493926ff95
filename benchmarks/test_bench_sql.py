"""L7 on SQLite (``make bench``): the 1,000th refund's save costs what the first one's does.

Each round writes one refund ahead the way the service does (one more refund, one more activity
entry, a versioned save) on an order that already has 0 refunds (the first) or 999 refunds with
their event timelines and 1,998 activity entries (the 1,000th). Only the save is timed. The
goal is at most 2x; the ratio is printed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from sqlalchemy.engine import Engine

from kanorio_refunds.adapters.sql import SqlOrderRepository, create_schema, sqlite_engine
from kanorio_refunds.domain import (
    ActivityEntry,
    ActivityKind,
    EventId,
    Order,
    RefundEventEntry,
    RefundStatus,
)
from kanorio_refunds.testing import T0, paid_order, refund

ROUNDS = 60
_medians: dict[str, float] = {}
_ids = itertools.count()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """An SQLite file (WAL; NORMAL sync, so the disk's flush time does not hide the library's
    own work) with the schema."""
    path: Path = tmp_path_factory.mktemp("bench") / "orders.db"
    made = sqlite_engine(path, synchronous="NORMAL")
    create_schema(made)
    yield made
    made.dispose()


@pytest.fixture(scope="module")
def repository(engine: Engine) -> SqlOrderRepository:
    """The repository under measure."""
    return SqlOrderRepository(engine)


def _with_history(refunds: int) -> Order:
    order = paid_order(total="1000000.00", order_id=f"order-{next(_ids)}")
    for n in range(refunds):
        made = refund(order, "0.01", RefundStatus.SUCCEEDED, refund_id=f"rf_{n}")
        made = made.with_event(
            RefundEventEntry(EventId(f"evt_{n}"), "refund.updated", T0, made.status, True)
        )
        order = order.with_refund(made).with_activity(
            ActivityEntry(T0, ActivityKind.REFUND_REQUESTED, f"refund {n}", refund_id=made.id),
            ActivityEntry(T0, ActivityKind.REFUND_SUCCEEDED, f"refund {n} ok", refund_id=made.id),
        )
    return order


def _write_ahead(order: Order) -> Order:
    new = refund(order, "0.01", RefundStatus.SUBMITTING, refund_id="rf_new")
    entry = ActivityEntry(T0, ActivityKind.REFUND_REQUESTED, "one more", refund_id=new.id)
    return order.with_refund(new).with_activity(entry)


def _bench_save(
    benchmark: BenchmarkFixture, engine: Engine, repository: SqlOrderRepository, history: int
) -> float:
    def setup() -> tuple[tuple[Order, int], dict[str, object]]:
        stored = repository.add(_with_history(history))
        current = repository.get(stored.id)  # as the service does before it saves
        # The setup's own big writes would otherwise make the timed commit pay for moving the
        # WAL into the database file (SQLite's automatic checkpoint).
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return (_write_ahead(current), current.version), {}

    benchmark.pedantic(repository.save, setup=setup, rounds=ROUNDS, warmup_rounds=3)
    stats = benchmark.stats
    return float(stats.stats.median) if stats is not None else float("nan")


def test_sql_save_of_the_first_refund(
    benchmark: BenchmarkFixture, engine: Engine, repository: SqlOrderRepository
) -> None:
    """The write-ahead save of an order's first refund."""
    _medians["first"] = _bench_save(benchmark, engine, repository, 0)


def test_sql_save_of_the_1000th_refund(
    benchmark: BenchmarkFixture,
    engine: Engine,
    repository: SqlOrderRepository,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """L7: the write-ahead save of an order's 1,000th refund: at most 2x the first's."""
    thousandth = _bench_save(benchmark, engine, repository, 999)
    first = _medians["first"]
    ratio = thousandth / first
    with capsys.disabled():
        print(
            f"\nSQLite save, median of {ROUNDS}: first refund {first * 1000:.3f} ms, "
            f"1,000th refund {thousandth * 1000:.3f} ms: {ratio:.2f}x (goal <= 2x)"
        )
    assert ratio <= 2.0
