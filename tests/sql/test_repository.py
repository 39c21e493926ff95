"""L4, L7: what the SQL repository promises beyond the port contract: a save's work does not
grow with the order's history, repositories sharing a database never trust a stale copy, no
lock is held across a Stripe call, and database trouble is a ``RefundError``."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from kanorio_refunds.adapters._stripe_json import parse_event
from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.sql import (
    SqlOrderRepository,
    StorageError,
    StorageUnavailable,
    create_schema,
    sqlite_engine,
)
from kanorio_refunds.domain import (
    ActivityEntry,
    ActivityKind,
    Actor,
    ActorId,
    ChargeId,
    EventEffect,
    GatewayRefund,
    LivePayment,
    Money,
    Order,
    OrderId,
    PaymentIntentId,
    RefundRequest,
    RefundStatus,
    Role,
    SiteId,
)
from kanorio_refunds.errors import ConcurrencyConflict
from kanorio_refunds.service import RefundService
from kanorio_refunds.testing import T0, paid_order, refund
from kanorio_refunds.testing.fake_stripe import FakeStripe, FakeStripeGateway, stripe_paid_order
from tests.sql.support import Store, file_store, memory_store, postgres_store

OWNER = Actor(ActorId("owner"), {SiteId("shop-1"): Role.OWNER})


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A database with the schema (an SQLite file, or the session's PostgreSQL)."""
    if request.param == "sqlite":
        made = file_store(tmp_path / "orders.db", synchronous="NORMAL")
    else:
        made = postgres_store(
            request.getfixturevalue("pg_engine"), request.getfixturevalue("pg_prefix")
        )
    yield made
    made.dispose()


class StatementLog:
    """Every statement the engine runs, with how many rows of parameters it carried."""

    def __init__(self, engine: Engine) -> None:
        self.entries: list[tuple[str, int]] = []
        event.listen(engine, "before_cursor_execute", self._record)
        self._engine = engine

    def _record(
        self, _conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, executemany: bool
    ) -> None:
        rows = len(params) if executemany else 1
        self.entries.append((" ".join(statement.split()[:3]), rows))

    def take(self) -> list[tuple[str, int]]:
        taken, self.entries = self.entries, []
        return taken

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._record)


def _one_more_refund(order: Order, n: int) -> Order:
    """What the service does to write a refund ahead: one more refund, one more activity
    entry."""
    new = refund(order, "0.01", RefundStatus.SUBMITTING, refund_id=f"rf_{n}")
    entry = ActivityEntry(T0, ActivityKind.REFUND_REQUESTED, f"refund {n}", refund_id=new.id)
    return order.with_refund(new).with_activity(entry)


def test_a_saves_work_does_not_grow_with_the_orders_history(store: Store) -> None:
    """L7: the 300th refund's save runs the same statements, with the same number of rows,
    as the first: the orders row, one new refund, one new activity entry; the order's history
    is neither rewritten nor read. (``make bench`` times it.)"""
    repository = store.repository()
    order = repository.add(paid_order(total="100000.00"))
    log = StatementLog(store.engine)
    try:
        work: dict[int, list[tuple[str, int]]] = {}
        for n in range(1, 301):
            current = repository.get(order.id)
            log.take()
            repository.save(_one_more_refund(current, n), current.version)
            work[n] = log.take()
            if n % 50 == 0:
                # And a status change of an old refund rewrites that refund's row only.
                current = repository.get(order.id)
                moved = attrs.evolve(current.refunds[0], status=RefundStatus.PENDING)
                log.take()
                repository.save(current.with_refund(moved), current.version)
                assert [s for s, _ in log.take() if s.startswith(("UPDATE", "INSERT"))] == [
                    f"UPDATE {store.prefix}orders SET",
                    f"UPDATE {store.prefix}refunds SET",
                ]
                current = repository.get(order.id)
                repository.save(
                    current.with_refund(attrs.evolve(moved, status=RefundStatus.SUBMITTING)),
                    current.version,
                )
    finally:
        log.close()
    assert work[300] == work[1]
    assert [s for s, _ in work[1] if s.startswith(("UPDATE", "INSERT", "DELETE", "SELECT"))] == [
        f"UPDATE {store.prefix}orders SET",
        f"INSERT INTO {store.prefix}refunds",
        # O1: the next feed position, from the unique feed index (one indexed row).
        f"SELECT max({store.prefix}activity.feed_position) AS",
        f"INSERT INTO {store.prefix}activity",
    ]
    assert len(repository.get(order.id).refunds) == 300


def test_a_get_of_an_unchanged_order_reads_one_row(store: Store) -> None:
    """L7: reading an order this repository knows, unchanged since, is one indexed SELECT of
    its version; a change by anyone else is seen at once."""
    repository = store.repository()
    order = repository.add(_one_more_refund(paid_order(), 1))
    log = StatementLog(store.engine)
    try:
        assert repository.get(order.id) == order
        statements = [s for s, _ in log.take() if s.startswith("SELECT")]
    finally:
        log.close()
    assert statements == [f"SELECT {store.prefix}orders.version, {store.prefix}orders.write_id"]
    other = store.repository()
    changed = other.save(attrs.evolve(other.get(order.id), buyer_access=False), 1)
    assert repository.get(order.id) == changed


def test_repositories_sharing_a_database_never_act_on_a_stale_copy(store: Store) -> None:
    """L4: two repositories (two app servers) on one database: each sees the other's saves,
    and a save from an outdated copy conflicts and writes nothing."""
    a, b = store.repository(), store.repository()
    order = a.add(paid_order())
    seen_by_b = b.get(order.id)
    saved_by_a = a.save(_one_more_refund(order, 1), 1)

    with pytest.raises(ConcurrencyConflict):
        b.save(_one_more_refund(seen_by_b, 2), seen_by_b.version)
    assert b.get(order.id) == saved_by_a
    saved_by_b = b.save(_one_more_refund(saved_by_a, 2), 2)
    assert a.get(order.id) == saved_by_b
    assert [r.id for r in a.get(order.id).refunds] == ["rf_1", "rf_2"]


def test_an_order_replaced_behind_the_cache_is_read_and_diffed_from_the_database(
    store: Store,
) -> None:
    """L7: the copy a repository keeps is trusted only while the row is still that very write:
    an order deleted and added again elsewhere (same id, same version number) is read afresh,
    and a save against it writes exactly the new order."""
    a = store.repository()
    first = a.add(_one_more_refund(paid_order(), 1))
    with store.engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {store.prefix}refund_events"))
        conn.execute(text(f"DELETE FROM {store.prefix}activity"))
        conn.execute(text(f"DELETE FROM {store.prefix}refunds"))
        conn.execute(text(f"DELETE FROM {store.prefix}orders"))
    replacement = store.repository().add(attrs.evolve(paid_order(), buyer_access=False))
    assert replacement.version == first.version

    assert a.get(first.id) == replacement
    saved = a.save(_one_more_refund(replacement, 7), 1)
    assert store.repository().get(first.id) == saved


def test_no_lock_is_held_while_stripe_is_called(store: Store) -> None:
    """L4: the service calls Stripe outside any transaction. While the gateway is being asked
    (for the live read and for the refund itself) another connection can write the order's row
    at once (SQLite: takes the write lock without waiting; PostgreSQL: locks the row NOWAIT)."""
    stripe = FakeStripe()
    order = store.repository().add(
        stripe_paid_order(
            stripe,
            order_id="order-1",
            site_id="shop-1",
            total=Money.parse("100.00", "USD"),
            stripe_fee=Money.parse("3.20", "USD"),
        )
    )
    checks: list[str] = []

    def nobody_holds_a_lock(call: str) -> None:
        if store.name == "postgres":
            with store.engine.connect() as conn, conn.begin():
                conn.execute(text("SET LOCAL lock_timeout = '1ms'"))
                conn.execute(
                    text(f"SELECT id FROM {store.prefix}orders WHERE id = :id FOR UPDATE NOWAIT"),
                    {"id": order.id},
                )
        else:
            raw = sqlite3.connect(store.url.removeprefix("sqlite:///"), timeout=0)
            try:
                raw.execute("BEGIN IMMEDIATE")
                raw.rollback()
            finally:
                raw.close()
        checks.append(call)

    class CheckingGateway:
        """The simulator's gateway, checking for locks on the way to Stripe."""

        def __init__(self) -> None:
            self.inner = FakeStripeGateway(stripe)

        def fetch_payment(self, payment_intent_id: Any, charge_id: Any) -> LivePayment:
            nobody_holds_a_lock("fetch_payment")
            return self.inner.fetch_payment(payment_intent_id, charge_id)

        def create_refund(self, request: RefundRequest) -> GatewayRefund:
            nobody_holds_a_lock("create_refund")
            return self.inner.create_refund(request)

        def list_refunds(self, payment_intent_id: Any, charge_id: Any) -> tuple[GatewayRefund, ...]:
            return self.inner.list_refunds(payment_intent_id, charge_id)

    service = RefundService(store.repository(), CheckingGateway(), ManualClock())
    quote = service.quote(order.id, OWNER, Money.parse("10.00", "USD"))
    made = service.process(quote, OWNER)
    assert made.status is RefundStatus.SUCCEEDED
    assert "create_refund" in checks
    assert "fetch_payment" in checks


def test_the_service_on_sql_refunds_syncs_and_deduplicates_events(store: Store) -> None:
    """F2, L5: the service on the SQL adapters: a refund processed, its webhook events applied
    once (a redelivery is DUPLICATE, remembered in the processed-events table), sync idempotent."""
    stripe = FakeStripe()
    clock = ManualClock(tick=timedelta(seconds=1))
    service = RefundService(
        store.repository(clock=clock),
        FakeStripeGateway(stripe),
        clock,
        processed_events=store.processed_events(),
    )
    order = service.orders.add(
        stripe_paid_order(
            stripe,
            order_id="order-1",
            site_id="shop-1",
            total=Money.parse("100.00", "USD"),
            stripe_fee=Money.parse("3.20", "USD"),
        )
    )
    made = service.process(service.quote(order.id, OWNER, Money.parse("25.00", "USD")), OWNER)
    events = [parse_event(e) for e in stripe.events()]
    first = [service.apply_event(e).effect for e in events]
    again = [service.apply_event(e).effect for e in events]
    assert EventEffect.DUPLICATE not in first
    assert set(again) == {EventEffect.DUPLICATE}
    synced = service.sync(order.id)
    assert service.sync(order.id) == synced
    assert [(r.id, r.status) for r in synced.refunds] == [(made.id, RefundStatus.SUCCEEDED)]


def test_a_locked_database_is_storage_unavailable_and_nothing_is_written(tmp_path: Path) -> None:
    """An SQLite file locked by another writer past the busy timeout is
    ``StorageUnavailable`` (retryable, code ``storage_unavailable``); the save wrote nothing."""
    path = tmp_path / "locked.db"
    engine = sqlite_engine(path, busy_timeout=0.05)
    create_schema(engine)
    repository = SqlOrderRepository(engine)
    order = repository.add(paid_order())
    holder = sqlite3.connect(path, timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageUnavailable) as info:
            repository.save(_one_more_refund(order, 1), 1)
    finally:
        holder.rollback()
        holder.close()
    assert info.value.code == "storage_unavailable"
    assert info.value.retryable is True
    assert SqlOrderRepository(engine).get(order.id) == order
    engine.dispose()


def test_an_unreachable_server_is_storage_unavailable() -> None:
    """A PostgreSQL server that does not answer (nothing listens on 127.0.0.1:9) is
    ``StorageUnavailable``, and the message shows no password."""
    engine = create_engine("postgresql+psycopg://kanorio:s3cret@127.0.0.1:9/none")
    with pytest.raises(StorageUnavailable) as info:
        SqlOrderRepository(engine)
    assert "s3cret" not in info.value.message
    assert "s3cret" not in repr(SqlOrderRepository(engine, verify_schema=False))
    engine.dispose()


def test_an_in_memory_database_needs_one_shared_connection() -> None:
    """SQLAlchemy's default in-memory SQLite gives each thread its own empty database: refused
    with a ``StorageError`` pointing at ``sqlite_engine()``."""
    engine = create_engine("sqlite://")
    with pytest.raises(StorageError, match="sqlite_engine"):
        SqlOrderRepository(engine, verify_schema=False)
    engine.dispose()


def test_find_by_payment_prefers_the_payment_intent() -> None:
    """L5: when the PaymentIntent names one order and the Charge another, the PaymentIntent
    wins (it is what Stripe's refund events name first)."""
    store = memory_store()
    repository = store.repository()
    by_pi = repository.add(paid_order(order_id="a", payment_intent_id="pi_a", charge_id="ch_a"))
    repository.add(paid_order(order_id="b", payment_intent_id="pi_b", charge_id="ch_b"))
    assert repository.find_by_payment(PaymentIntentId("pi_a"), ChargeId("ch_b")) == by_pi
    by_charge = repository.find_by_payment(None, ChargeId("ch_b"))
    assert by_charge is not None
    assert by_charge.id == OrderId("b")


def test_importing_the_library_imports_no_database_library() -> None:
    """``import kanorio_refunds`` imports neither SQLAlchemy nor psycopg (nor stripe)."""
    probe = (
        "import sys, kanorio_refunds; "
        "print(sorted(m for m in ('sqlalchemy', 'psycopg', 'stripe') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
