"""O1, O2, I2: the adapter's own feed, listing and sync queries run on indexes (SQLite's query
plan), never a scan of every order or every activity row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from kanorio_refunds.adapters.sql import SqlOrderRepository, create_schema, sqlite_engine
from kanorio_refunds.domain import ListingQuery, OrderId, OrderStatus, SiteId


def _plans_of(calls: list[Any]) -> list[str]:
    engine = sqlite_engine()
    create_schema(engine)
    repository = SqlOrderRepository(engine)
    seen: list[tuple[str, Any]] = []

    def capture(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    for call in calls:
        call(repository)
    event.remove(engine, "before_cursor_execute", capture)
    plans = []
    with engine.connect() as conn:
        for statement, parameters in seen:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            plans.append(" | ".join(str(row[-1]) for row in rows))
    engine.dispose()
    return plans


def test_the_feed_reads_a_range_of_its_index() -> None:
    """O1: read_after is a range read of the unique feed-position index."""
    (plan,) = _plans_of([lambda r: r.read_after(10, 50)])
    assert "activity_feed_ix (feed_position>?)" in plan, plan
    assert "SCAN kanorio_activity" not in plan


def test_the_transactions_list_uses_the_site_indexes() -> None:
    """O2: every filter combination is answered from a site index, already in list order."""
    site = SiteId("shop")
    plans = _plans_of(
        [
            lambda r: r.list_orders(ListingQuery(site)),
            lambda r: r.list_orders(ListingQuery(site, status=OrderStatus.PAID)),
            lambda r: r.list_orders(ListingQuery(site, in_progress=True)),
        ]
    )
    assert all("SEARCH kanorio_orders USING" in plan for plan in plans), plans
    assert not any("TEMP B-TREE" in plan for plan in plans), plans  # no sort step
    assert "orders_site_progress_ix" in plans[2]


def test_the_sync_query_uses_its_partial_index() -> None:
    """I2: orders_needing_sync reads the partial index of the orders that need it."""
    (plan,) = _plans_of([lambda r: r.needing_sync(OrderId("a"), 100)])
    assert "orders_needs_sync_ix" in plan, plan
