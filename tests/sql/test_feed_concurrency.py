"""O1: under concurrent writers, a reader of the feed that keeps its last position never skips
or repeats an entry: what it read equals every entry, each once, in position order. Run on
SQLite (a file) and on a real PostgreSQL server, with commits delayed at random so that slower
transactions commit after faster ones that started later (the case a LOCK-free max()+1 or a
sequence would get wrong: a later position visible before an earlier one)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from kanorio_refunds.adapters.sql import SqlOrderRepository, create_schema, sqlite_engine
from kanorio_refunds.domain import (
    ActivityEntry,
    ActivityKind,
    FeedEntry,
    Money,
    Order,
    OrderId,
    OrderStatus,
    SiteId,
)
from kanorio_refunds.errors import ConcurrencyConflict
from tests.sql.conftest import postgres_url

WRITERS = 6
SAVES_PER_WRITER = 25
_T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _slow_commits(engine: Engine) -> None:
    def before_commit(_conn: Any) -> None:
        time.sleep(random.random() * 0.004)

    event.listen(engine, "commit", before_commit)


@pytest.fixture(params=["sqlite-file", "postgres"])
def repository(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlOrderRepository]:
    if request.param == "postgres":
        engine = create_engine(postgres_url(), pool_size=WRITERS + 2, max_overflow=4)
        prefix = f"feed{random.randrange(16**6):06x}_"
    else:
        engine = sqlite_engine(tmp_path / "feed.db", synchronous="NORMAL")
        prefix = "kanorio_"
    create_schema(engine, table_prefix=prefix)
    _slow_commits(engine)
    try:
        yield SqlOrderRepository(engine, table_prefix=prefix)
    finally:
        if request.param == "postgres":
            from kanorio_refunds.adapters.sql import tables_for

            tables = tables_for(prefix)
            tables.metadata.drop_all(engine, tables=list(tables.all))
        engine.dispose()


def _write(repository: SqlOrderRepository, writer: int, errors: list[BaseException]) -> None:
    try:
        order = repository.add(
            Order(
                id=OrderId(f"ord_{writer}"),
                site_id=SiteId("shop"),
                total=Money.parse("10.00", "USD"),
                status=OrderStatus.PAID,
            )
        )
        for i in range(SAVES_PER_WRITER):
            entries = [
                ActivityEntry(_T0, ActivityKind.PAYMENT_UPDATED, f"w{writer} s{i} e{k}")
                for k in range(1 + i % 2)
            ]
            try:
                order = repository.save(order.with_activity(*entries), order.version)
            except ConcurrencyConflict:  # pragma: no cover - one writer per order
                raise
    except BaseException as e:
        errors.append(e)


def test_a_reader_keeping_its_position_sees_every_entry_once_in_order(
    repository: SqlOrderRepository,
) -> None:
    """O1: concurrent writers, one reader polling ``read_after(last, 7)`` meanwhile: the
    reader's entries are exactly all entries, each once, in increasing position."""
    errors: list[BaseException] = []
    writers = [
        threading.Thread(target=_write, args=(repository, w, errors)) for w in range(WRITERS)
    ]
    read: list[FeedEntry] = []
    done = threading.Event()

    def reader() -> None:
        last = 0
        while True:
            finished = done.is_set()
            page = repository.read_after(last, 7)
            read.extend(page)
            if page:
                last = page[-1].position
            elif finished:
                return

    polling = threading.Thread(target=reader)
    polling.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    polling.join()
    assert errors == []
    everything = repository.read_after(0, 100_000)
    expected = WRITERS * sum(1 + i % 2 for i in range(SAVES_PER_WRITER))
    assert len(everything) == expected
    assert [e.position for e in everything] == list(range(1, expected + 1))
    assert read == list(everything)
    # Each writer's entries are in its own save order too.
    for w in range(WRITERS):
        mine = [e.entry.message for e in everything if e.order_id == f"ord_{w}"]
        assert mine == [
            f"w{w} s{i} e{k}" for i in range(SAVES_PER_WRITER) for k in range(1 + i % 2)
        ]
