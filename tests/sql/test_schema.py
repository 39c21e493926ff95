"""The schema: ``metadata`` for Alembic, ``create_schema``, table prefixes, the schema-version
check, documented and indexed columns a host can query (L7, issue 11 item 2)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.sql import (
    SCHEMA_VERSION,
    SchemaMismatch,
    SqlOrderRepository,
    SqlProcessedEvents,
    check_schema,
    create_schema,
    define_tables,
    metadata,
    sqlite_engine,
    stamp_schema,
    tables_for,
)
from kanorio_refunds.domain import ActivityEntry, ActivityKind, ChargeId
from kanorio_refunds.testing import T0, paid_order
from tests.sql.support import Store, memory_store, postgres_store

DOCS = Path(__file__).resolve().parents[2] / "docs" / "persistence.md"


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """A database with the schema created (SQLite in memory, or the session's PostgreSQL)."""
    if request.param == "sqlite":
        made = memory_store()
    else:
        made = postgres_store(
            request.getfixturevalue("pg_engine"), request.getfixturevalue("pg_prefix")
        )
    yield made
    made.dispose()


@pytest.fixture
def empty() -> Iterator[Engine]:
    """An SQLite database with no tables at all."""
    engine = sqlite_engine()
    yield engine
    engine.dispose()


def test_metadata_holds_the_default_tables() -> None:
    """``metadata`` (for the host's Alembic) has the six tables, all prefixed ``kanorio_``."""
    assert sorted(metadata.tables) == [
        "kanorio_activity",
        "kanorio_orders",
        "kanorio_processed_events",
        "kanorio_refund_events",
        "kanorio_refunds",
        "kanorio_schema_version",
    ]


def test_create_schema_matches_metadata_exactly_as_alembic_sees_it(store: Store) -> None:
    """Alembic's autogenerate finds nothing to migrate after ``create_schema``: the tables,
    columns, types and indexes in the database are ``metadata``'s."""
    tables = tables_for(store.prefix)
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_name": lambda name, type_, _parent: _ours(name, type_, store)}
        )
        assert compare_metadata(context, tables.metadata) == []


def _ours(name: str | None, type_: str, store: Store) -> bool:
    # Only this prefix's tables: other sessions' tables may share the PostgreSQL database.
    return type_ != "table" or (name or "").startswith(store.prefix)


def test_create_schema_is_idempotent_and_stamps_the_version(store: Store) -> None:
    """Creating the schema again changes nothing; the version table holds SCHEMA_VERSION."""
    create_schema(store.engine, table_prefix=store.prefix)
    create_schema(store.engine, table_prefix=store.prefix)
    check_schema(store.engine, table_prefix=store.prefix)
    table = tables_for(store.prefix).schema_version
    with store.engine.connect() as conn:
        rows = conn.execute(table.select()).all()
    assert [(r.id, r.version) for r in rows] == [(1, SCHEMA_VERSION)]


def test_a_database_without_the_schema_is_refused(empty: Engine) -> None:
    """A repository on a database without the tables refuses to start, with a clear
    ``SchemaMismatch`` saying how to create them; so does the processed-events store."""
    with pytest.raises(SchemaMismatch) as info:
        SqlOrderRepository(empty)
    assert info.value.code == "schema_mismatch"
    assert "create_schema(engine)" in info.value.message
    with pytest.raises(SchemaMismatch):
        SqlProcessedEvents(empty)


def test_a_database_of_another_schema_version_is_refused(store: Store) -> None:
    """A database stamped with another version is refused by the repository, the
    processed-events store and ``create_schema`` (which changes nothing then)."""
    table = tables_for(store.prefix).schema_version
    with store.engine.begin() as conn:
        conn.execute(table.update().values(version=SCHEMA_VERSION + 1))
    try:
        with pytest.raises(SchemaMismatch) as info:
            SqlOrderRepository(store.engine, table_prefix=store.prefix)
        assert f"this release needs version {SCHEMA_VERSION}" in info.value.message
        with pytest.raises(SchemaMismatch):
            SqlProcessedEvents(store.engine, table_prefix=store.prefix)
        with pytest.raises(SchemaMismatch):
            create_schema(store.engine, table_prefix=store.prefix)
        with store.engine.connect() as conn:
            assert conn.execute(table.select()).one().version == SCHEMA_VERSION + 1
    finally:
        with store.engine.begin() as conn:
            stamp_schema(conn, table_prefix=store.prefix)
    check_schema(store.engine, table_prefix=store.prefix)


def test_tables_missing_after_the_start_are_a_schema_mismatch(empty: Engine) -> None:
    """A table dropped while the application runs surfaces as ``SchemaMismatch``, not as a
    driver exception."""
    create_schema(empty)
    repository = SqlOrderRepository(empty)
    with empty.begin() as conn:
        conn.execute(text("DROP TABLE kanorio_activity"))
    with pytest.raises(SchemaMismatch):
        repository.add(
            paid_order().with_activity(ActivityEntry(T0, ActivityKind.PAYMENT_UPDATED, "paid"))
        )


def test_stamp_schema_is_what_an_alembic_migration_calls(empty: Engine) -> None:
    """A host migration creates the tables from ``metadata`` and calls ``stamp_schema`` in
    its transaction; the repository then accepts the database."""
    with empty.begin() as conn:
        metadata.create_all(conn)
        stamp_schema(conn)
    SqlOrderRepository(empty).add(paid_order())


def test_a_table_prefix_keeps_two_stores_apart(empty: Engine) -> None:
    """Tables of another prefix are separate stores in one database; a prefix is checked."""
    create_schema(empty, table_prefix="shop_")
    create_schema(empty)
    assert {"shop_orders", "kanorio_orders"} <= set(inspect(empty).get_table_names())
    shop = SqlOrderRepository(empty, table_prefix="shop_")
    shop.add(paid_order())
    assert SqlOrderRepository(empty).find_by_payment(None, ChargeId("ch_test_1")) is None
    assert shop.find_by_payment(None, ChargeId("ch_test_1")) is not None
    with pytest.raises(ValueError, match="table_prefix"):
        define_tables(table_prefix="Robert'); DROP TABLE students;--")


def test_the_host_can_query_orders_by_site_status_and_last_change(empty: Engine) -> None:
    """The documented columns answer a host's questions with plain SQL, through indexes:
    a site's orders by status, and by last change."""
    create_schema(empty)
    repository = SqlOrderRepository(empty, clock=ManualClock(T0, tick=timedelta(seconds=1)))
    for n in range(3):
        repository.add(paid_order(order_id=f"order-{n}", site="shop-1"))
    repository.add(paid_order(order_id="elsewhere", site="shop-2"))
    with empty.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, status, total_minor, currency FROM kanorio_orders "
                "WHERE site_id = :site AND status = 'paid' ORDER BY updated_at DESC, id"
            ),
            {"site": "shop-1"},
        ).all()
        plans = [
            " ".join(str(c) for c in row)
            for query in (
                "SELECT id FROM kanorio_orders WHERE site_id = 'x' AND status = 'paid'",
                "SELECT id FROM kanorio_orders WHERE site_id = 'x' ORDER BY updated_at DESC",
                "SELECT id FROM kanorio_orders WHERE updated_at > '2026-01-01'",
                "SELECT order_id FROM kanorio_refunds WHERE status = 'submitting'",
            )
            for row in conn.execute(text(f"EXPLAIN QUERY PLAN {query}"))
        ]
    assert [r.id for r in rows] == ["order-2", "order-1", "order-0"]  # last changed first
    assert {(r.status, r.currency) for r in rows} == {("paid", "USD")}
    assert all(isinstance(r.total_minor, int) for r in rows)
    for index in (
        "kanorio_orders_site_status_ix",
        "kanorio_orders_site_updated_ix",
        "kanorio_orders_updated_ix",
        "kanorio_refunds_status_ix",
    ):
        assert any(index in plan for plan in plans), (index, plans)


def test_docs_describe_every_table_and_column() -> None:
    """docs/persistence.md documents every table and every column (a column added later
    without a line there fails here)."""
    docs = DOCS.read_text(encoding="utf-8")
    for table in metadata.sorted_tables:
        heading = re.search(rf"^### `{table.name}`.*$", docs, re.MULTILINE)
        assert heading is not None, f"no section for {table.name}"
        section = docs[heading.end() :].split("\n### ", 1)[0]
        missing = [c.name for c in table.columns if f"| `{c.name}` |" not in section]
        assert not missing, f"{table.name}: undocumented columns {missing}"
