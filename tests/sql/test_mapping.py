"""F3, M1, L7: the row mapping stores every field exactly; a field added to the domain later
fails here instead of being dropped; values the database cannot hold, and rows this library
cannot read, are ``RefundError``s with stable codes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import attrs
import pytest
from sqlalchemy import text

from kanorio_refunds.adapters.sql import InvalidStoredData, StorageError, tables_for
from kanorio_refunds.adapters.sql._mapping import (
    MAPPED_FIELDS,
    activity_rows,
    event_rows,
    order_row,
    refund_row,
    unmapped_fields,
)
from kanorio_refunds.domain import (
    ActivityEntry,
    ActivityKind,
    Currency,
    EventId,
    Money,
    Order,
    OrderId,
    PaymentRecord,
    Refund,
    RefundEventEntry,
    RefundStatus,
)
from kanorio_refunds.errors import OrderNotFound
from kanorio_refunds.testing import T0, paid_order, refund
from tests.sql.support import Store, memory_store, postgres_store

# The columns the repository fills itself rather than from the order.
_REPOSITORY_COLUMNS = {"version", "write_id", "created_at", "updated_at"}


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """A database with the schema (SQLite in memory, or the session's PostgreSQL)."""
    if request.param == "sqlite":
        made = memory_store()
    else:
        made = postgres_store(
            request.getfixturevalue("pg_engine"), request.getfixturevalue("pg_prefix")
        )
    yield made
    made.dispose()


def _rich() -> Order:
    order = paid_order(settlement_currency="EUR", exchange_rate="0.912345")
    entry = RefundEventEntry(EventId("evt_1"), "refund.updated", T0, RefundStatus.SUCCEEDED, True)
    return attrs.evolve(
        order,
        refunds=(attrs.evolve(refund(order, "10.00"), events=(entry,)),),
        activity=(ActivityEntry(T0, ActivityKind.PAYMENT_UPDATED, "paid"),),
    )


def test_every_field_of_every_stored_class_is_mapped() -> None:
    """F3: each attrs field of Order, PaymentRecord, Refund, RefundEventEntry, ActivityEntry,
    Money and Currency is stored. A field added later shows up here (and the repository refuses
    to start) instead of being dropped silently."""
    assert unmapped_fields() == {}
    for cls, mapped in MAPPED_FIELDS.items():
        assert {f.name for f in attrs.fields(cls)} == mapped, cls.__name__
    assert set(MAPPED_FIELDS) == {
        Order,
        PaymentRecord,
        Refund,
        RefundEventEntry,
        ActivityEntry,
        Money,
        Currency,
    }


def test_a_new_field_would_be_reported() -> None:
    """The check itself works: an Order with one more field than mapped is reported by name,
    and so is a mapped field that no longer exists."""

    @attrs.frozen
    class Wider(Order):  # type: ignore[misc]
        loyalty_points: int = 0

    assert unmapped_fields({Wider: MAPPED_FIELDS[Order]}) == {"Wider": ["loyalty_points"]}
    assert unmapped_fields({Money: MAPPED_FIELDS[Money] | {"cents"}}) == {"Money": ["(gone) cents"]}


def test_every_column_is_written_from_the_order() -> None:
    """Each column of each table is written: by the mapping (from the order) or, for the
    orders row's version, write id and timestamps, by the repository. No column is left to a
    default, and the mapping writes nothing the tables lack."""
    tables = tables_for()
    order = _rich()
    first = order.refunds[0]
    assert set(order_row(order)) | _REPOSITORY_COLUMNS == set(tables.orders.c.keys())
    assert set(refund_row(order.id, 0, first)) == set(tables.refunds.c.keys())
    assert set(event_rows(order.id, 0, 0, first.events)[0]) == set(tables.refund_events.c.keys())
    # O1: the feed position is given by the repository, in the save's transaction.
    assert set(activity_rows(order.id, 0, order.activity)[0]) | {"feed_position"} == set(
        tables.activity.c.keys()
    )


def test_money_is_integers_and_codes_and_the_rate_exact_text() -> None:
    """M1: money columns hold integer minor units beside the currency code; the exchange rate
    is the Decimal's exact text (never a float)."""
    row = order_row(_rich())
    assert row["total_minor"] == 10000
    assert row["currency"] == "USD"
    assert row["payment_stripe_fee_currency"] == "EUR"
    assert row["payment_exchange_rate"] == "0.912345"
    assert not any(isinstance(v, float) for v in row.values())


def test_times_with_any_offset_come_back_as_the_same_instant_in_utc(store: Store) -> None:
    """Times are stored as UTC instants: one given at +05:30 reads back equal (same instant),
    in UTC, to the microsecond."""
    local = datetime(
        2026, 11, 26, 14, 30, 0, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30))
    )
    order = paid_order().with_activity(ActivityEntry(local, ActivityKind.PAYMENT_UPDATED, "x"))
    repository = store.repository(cache_size=0)
    repository.add(order)
    (entry,) = repository.get(order.id).activity
    assert entry.at == local
    assert entry.at.utcoffset() == timedelta(0)
    assert entry.at.microsecond == 123456


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(
            lambda o: o.with_activity(
                ActivityEntry(datetime(2026, 1, 1), ActivityKind.PAYMENT_UPDATED, "naive")
            ),
            id="naive-datetime",
        ),
        pytest.param(
            lambda o: attrs.evolve(o, total=Money.from_minor(2**63, "USD")), id="beyond-64-bits"
        ),
    ],
)
def test_values_the_store_cannot_hold_exactly_are_refused_and_nothing_is_written(
    store: Store, broken: object
) -> None:
    """A naive datetime (which instant?) or an amount beyond 64-bit minor units is refused
    with ``StorageError`` (code ``storage_error``) before anything is written."""
    order = broken(paid_order())  # type: ignore[operator]
    repository = store.repository()
    with pytest.raises(StorageError) as info:
        repository.add(order)
    assert info.value.code == "storage_error"
    with pytest.raises(OrderNotFound):
        repository.get(OrderId("order-1"))


def test_text_postgresql_cannot_hold_is_a_storage_error(store: Store) -> None:
    """Text with a NUL character (which PostgreSQL's text type cannot hold) is a
    ``StorageError`` there and nothing is written; SQLite stores it exactly."""
    order = paid_order().with_activity(ActivityEntry(T0, ActivityKind.PAYMENT_UPDATED, "a\x00b"))
    repository = store.repository(cache_size=0)
    if store.name != "postgres":
        repository.add(order)
        assert repository.get(order.id).activity[0].message == "a\x00b"
        return
    with pytest.raises(StorageError):
        repository.add(order)
    with pytest.raises(OrderNotFound):
        repository.get(order.id)


@pytest.mark.parametrize(
    ("table", "change", "complaint"),
    [
        ("orders", "status = 'lost'", "status 'lost' is not one of"),
        ("orders", "currency = 'usd'", "is not an upper-case ISO 4217 code"),
        ("orders", "currency = 'XXQ'", "currency"),
        ("orders", "payment_exchange_rate = '0.9e'", "is not a decimal number"),
        ("orders", "payment_captured_minor = NULL", "payment_captured_minor is None"),
        ("orders", "activity_count = 7", "activity_count says 7"),
        ("refunds", "status = 'refunded'", "status 'refunded' is not one of"),
        ("activity", "position = 3", "position 3 where 0 was expected"),
        ("refund_events", "status = 'nope'", "status 'nope'"),
        ("activity", "kind = 'gossip'", "kind 'gossip' is not one of"),
    ],
)
def test_rows_changed_behind_the_library_are_invalid_stored_data(
    store: Store, table: str, change: str, complaint: str
) -> None:
    """A row this library cannot read back exactly (edited by hand or by other software) is
    ``InvalidStoredData`` (code ``invalid_stored_data``) naming the order and the column;
    nothing is guessed."""
    order = _rich()
    store.repository().add(order)
    with store.engine.begin() as conn:
        conn.execute(text(f"UPDATE {store.prefix}{table} SET {change}"))
        # Changes behind the library must bump the version (docs/persistence.md).
        conn.execute(text(f"UPDATE {store.prefix}orders SET version = version + 1"))
    with pytest.raises(InvalidStoredData) as info:
        store.repository().get(order.id)
    assert info.value.code == "invalid_stored_data"
    assert f"stored order {order.id!r}" in info.value.message
    assert complaint in info.value.message


def test_a_time_sqlite_cannot_parse_is_invalid_stored_data() -> None:
    """Text in an SQLite time column that is no time at all (SQLite does not check types) is
    ``InvalidStoredData`` naming the order, not a ``ValueError`` from the driver."""
    store = memory_store()
    order = _rich()
    store.repository().add(order)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE kanorio_activity SET at = 'last tuesday'"))
        conn.execute(text("UPDATE kanorio_orders SET version = version + 1"))
    with pytest.raises(InvalidStoredData, match="stored order 'order-1'"):
        store.repository().get(order.id)
