"""``SqlOrderRepository``: ``ports.OrderRepository`` on SQLAlchemy Core (L4, L7)."""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final, TypeVar

import attrs
from sqlalchemy import and_, exc, func, or_, select
from sqlalchemy.engine import Connection, Engine

from kanorio_refunds.adapters.clock import SystemClock
from kanorio_refunds.adapters.sql._engine import Database
from kanorio_refunds.adapters.sql._errors import (
    InvalidStoredData,
    StorageError,
    StorageUnavailable,
)
from kanorio_refunds.adapters.sql._mapping import (
    Row,
    activity_rows,
    children_from_rows,
    event_rows,
    feed_entry_from_row,
    order_from_rows,
    order_row,
    refund_row,
    unmapped_fields,
    utc_instant,
)
from kanorio_refunds.adapters.sql._schema import (
    DEFAULT_TABLE_PREFIX,
    SqlTables,
    check_schema,
    tables_for,
)
from kanorio_refunds.domain._feed import FeedEntry
from kanorio_refunds.domain._ids import ChargeId, OrderId, PaymentIntentId
from kanorio_refunds.domain._listing import (
    ListingPage,
    ListingQuery,
    decode_cursor,
    encode_cursor,
)
from kanorio_refunds.domain._order import ActivityEntry, Order, at_version
from kanorio_refunds.domain._refund import Refund
from kanorio_refunds.errors import (
    ConcurrencyConflict,
    InvalidCursor,
    OrderAlreadyExists,
    OrderNotFound,
)
from kanorio_refunds.ports import Clock

__all__ = ["SqlOrderRepository"]

T = TypeVar("T")

# A read that keeps meeting concurrent saves between its statements gives up after this many
# tries (each try is a handful of indexed SELECTs).
_READ_ATTEMPTS: Final = 20
# The kind of this listing's cursors (O2): another listing's cursor is refused.
_LISTING: Final = "sql-orders"


@attrs.frozen
class _Known:
    """An order as this repository last wrote or read it, and the write it was."""

    write_id: str
    order: Order


class _Cache:
    """The orders this repository last saw, by id (least recently used dropped first).

    Trusted only while the stored row is still the same write (version *and* write id), so a
    save can write just what changed since, and a get of an unchanged order reads one row.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[str, _Known] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, order_id: str) -> _Known | None:
        with self._lock:
            known = self._entries.get(order_id)
            if known is not None:
                self._entries.move_to_end(order_id)
            return known

    def put(self, order_id: str, known: _Known) -> None:
        if self._size <= 0:
            return
        with self._lock:
            current = self._entries.get(order_id)
            # Threads may finish out of order; keep the newer write.
            if current is None or current.order.version <= known.order.version:
                self._entries[order_id] = known
            self._entries.move_to_end(order_id)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def drop(self, order_id: str) -> None:
        with self._lock:
            self._entries.pop(order_id, None)


class _Duplicate(Exception):
    """The orders row of an ``add`` hit a uniqueness constraint (decided after rollback)."""


class SqlOrderRepository:
    """``ports.OrderRepository`` in a SQL database (SQLite or PostgreSQL) through SQLAlchemy
    Core.

    Every ``add`` and ``save`` is one transaction. ``save`` is a compare-and-set on the
    version (``UPDATE … WHERE id = :id AND version = :expected``; no row updated means someone
    else saved first: ``ConcurrencyConflict``, and the transaction, with everything it wrote, is
    rolled back), so any number of processes and servers may share the database (L4). No lock
    is held between calls: a Stripe call never runs inside a transaction.

    A save writes the orders row, the refunds that changed, and appends new event-timeline and
    activity rows; its cost does not grow with the order's history (L7). To know what changed
    it remembers the last ``cache_size`` orders it read or wrote, each trusted only while the
    database still holds that very write.

    ``engine``: an SQLAlchemy ``Engine`` (``sqlite_engine()`` for SQLite;
    ``create_engine("postgresql+psycopg://…")`` for PostgreSQL). ``table_prefix``: the tables'
    prefix (``kanorio_`` by default). ``clock`` stamps the documented ``created_at`` and
    ``updated_at`` columns (the system clock by default). ``verify_schema`` checks the tables
    and their version now (``SchemaMismatch`` otherwise).

    Errors: ``OrderNotFound``, ``OrderAlreadyExists``, ``ConcurrencyConflict`` (the port's),
    and ``StorageUnavailable`` (retryable), ``StorageError``, ``InvalidStoredData``,
    ``SchemaMismatch``; no SQLAlchemy or driver exception escapes.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        table_prefix: str = DEFAULT_TABLE_PREFIX,
        clock: Clock | None = None,
        cache_size: int = 1024,
        verify_schema: bool = True,
    ) -> None:
        problems = unmapped_fields()
        if problems:  # pragma: no cover - tests/sql/test_mapping.py keeps this empty
            raise StorageError(
                f"this release's SQL adapter does not store every field of the domain "
                f"({problems}); refusing to drop data silently"
            )
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 0:
            raise ValueError("cache_size must be a non-negative int")
        self._db = Database(engine)
        self._tables: SqlTables = tables_for(table_prefix)
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._cache = _Cache(cache_size)
        if verify_schema:
            check_schema(engine, table_prefix=table_prefix)

    def __repr__(self) -> str:
        # The engine's URL may carry a password: show the dialect and the prefix only.
        return f"SqlOrderRepository({self._db.dialect}, table_prefix={self._tables.prefix!r})"

    @property
    def tables(self) -> SqlTables:
        """The tables this repository uses."""
        return self._tables

    # ------------------------------------------------------------------ reading

    def get(self, order_id: OrderId) -> Order:
        """The stored order; ``OrderNotFound`` otherwise.

        Reads one row when the order is unchanged since this repository last saw it; otherwise
        the order with its refunds and timelines, checked to be one consistent version.
        """
        for _ in range(_READ_ATTEMPTS):
            with self._db.transaction(write=False) as conn:
                head = self._head(conn, order_id)
                if head is None:
                    raise OrderNotFound(f"there is no order {order_id!r}")
                known = self._cache.get(order_id)
                if known is not None and (known.order.version, known.write_id) == head:
                    return known.order
                rows = self._rows(conn, order_id)
                # Statements of one transaction may still see different commits (e.g. on a
                # host's READ COMMITTED engine): the rows are one version if the head did not
                # move meanwhile. Only then are they read (and any flaw in them reported).
                if rows is not None and self._head(conn, order_id) == (
                    rows[0]["version"],
                    rows[0]["write_id"],
                ):
                    loaded = _Known(str(rows[0]["write_id"]), order_from_rows(*rows))
                    self._cache.put(order_id, loaded)
                    return loaded.order
        raise StorageUnavailable(
            f"order {order_id!r} kept changing while it was read ({_READ_ATTEMPTS} tries); "
            f"try again"
        )

    def find_by_payment(
        self, payment_intent_id: PaymentIntentId | None, charge_id: ChargeId | None
    ) -> Order | None:
        """The order paid by this PaymentIntent (looked up first) or Charge, if any."""
        o = self._tables.orders
        for _ in range(_READ_ATTEMPTS):
            found: str | None = None
            with self._db.transaction(write=False) as conn:
                for column, value in (
                    (o.c.payment_intent_id, payment_intent_id),
                    (o.c.charge_id, charge_id),
                ):
                    if value and found is None:
                        found = conn.execute(
                            select(o.c.id)
                            .where(column == value)
                            .order_by(o.c.created_at, o.c.id)
                            .limit(1)
                        ).scalar_one_or_none()
            if found is None:
                return None
            try:
                order = self.get(OrderId(found))
            except OrderNotFound:
                continue  # deleted meanwhile: look again
            payment = order.payment
            if payment is not None and (
                (payment_intent_id and payment.payment_intent_id == payment_intent_id)
                or (charge_id and payment.charge_id == charge_id)
            ):
                return order
            # Its payment changed between the lookup and the read: look again.
        raise StorageUnavailable("orders kept changing while looking one up by payment")

    # ------------------------------------------------------------------ writing

    def add(self, order: Order) -> Order:
        """Store a new order at version 1; ``OrderAlreadyExists`` if the id is taken."""
        stored = at_version(order, 1)
        # Every row is built (and so checked) before the transaction starts.
        row = order_row(stored)
        refunds = [refund_row(order.id, i, r) for i, r in enumerate(order.refunds)]
        events = [
            e for i, r in enumerate(order.refunds) for e in event_rows(order.id, i, 0, r.events)
        ]
        activity = activity_rows(order.id, 0, order.activity)
        now = utc_instant(self._clock.now(), "the clock's time")
        write_id = uuid.uuid4().hex
        t = self._tables
        try:
            with self._db.transaction(write=True) as conn:
                try:
                    conn.execute(
                        t.orders.insert().values(
                            **row, version=1, write_id=write_id, created_at=now, updated_at=now
                        )
                    )
                except exc.IntegrityError as e:
                    raise _Duplicate from e
                _insert(conn, t.refunds, refunds)
                _insert(conn, t.refund_events, events)
                self._append_activity(conn, activity)
        except _Duplicate as duplicate:
            if self._exists(order.id):
                raise OrderAlreadyExists(
                    f"order {order.id!r} already exists; use save to change it"
                ) from None
            raise StorageError(
                f"the database refused order {order.id!r}: {duplicate.__cause__}"
            ) from duplicate.__cause__
        self._cache.put(order.id, _Known(write_id, stored))
        return stored

    def save(self, order: Order, expected_version: int) -> Order:
        """Store ``order`` as ``expected_version + 1`` if nobody saved in between (L4).

        ``ConcurrencyConflict`` (nothing written) otherwise; ``OrderNotFound`` if there is no
        such order.
        """
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            raise TypeError("expected_version must be an int")
        stored = at_version(order, expected_version + 1)
        values = order_row(stored)
        del values["id"]
        write_id = uuid.uuid4().hex
        values.update(
            version=stored.version,
            write_id=write_id,
            updated_at=utc_instant(self._clock.now(), "the clock's time"),
        )
        known = self._cache.get(order.id)
        if known is not None and known.order.version != expected_version:
            known = None
        o = self._tables.orders
        cas = o.update().where(o.c.id == order.id, o.c.version == expected_version).values(values)
        with self._db.transaction(write=True) as conn:
            base: tuple[Sequence[Refund], Sequence[ActivityEntry]] | None = None
            if known is not None:
                # The cached order is what the database holds only if it is still that write.
                if conn.execute(cas.where(o.c.write_id == known.write_id)).rowcount == 1:
                    base = (known.order.refunds, known.order.activity)
                else:
                    self._cache.drop(order.id)
            if base is None:
                if conn.execute(cas).rowcount != 1:
                    head = self._head(conn, order.id)
                    if head is None:
                        raise OrderNotFound(f"there is no order {order.id!r} to save; add it first")
                    raise ConcurrencyConflict(
                        f"order {order.id!r} is at version {head[0]}, not {expected_version}: "
                        f"someone else changed it; reload and try again"
                    )
                # The row is ours until commit (a write lock), so its children are the
                # expected version's.
                base = self._load_children(conn, order.id)
            self._write_children(conn, stored, base[0], base[1])
        self._cache.put(order.id, _Known(write_id, stored))
        return stored

    # ------------------------------------------------------------------ internals

    def _head(self, conn: Connection, order_id: str) -> tuple[int, str] | None:
        o = self._tables.orders
        row = conn.execute(select(o.c.version, o.c.write_id).where(o.c.id == order_id)).first()
        return None if row is None else (row.version, row.write_id)

    def _exists(self, order_id: str) -> bool:
        with self._db.transaction(write=False) as conn:
            return self._head(conn, order_id) is not None

    def _child_rows(
        self, conn: Connection, order_id: str
    ) -> tuple[list[Row], list[Row], list[Row]]:
        t = self._tables
        with _unreadable(order_id):
            refunds = conn.execute(
                select(t.refunds)
                .where(t.refunds.c.order_id == order_id)
                .order_by(t.refunds.c.position)
            )
            refund_rows = [dict(r._mapping) for r in refunds]
            events = conn.execute(
                select(t.refund_events)
                .where(t.refund_events.c.order_id == order_id)
                .order_by(t.refund_events.c.refund_position, t.refund_events.c.position)
            )
            event_rows_ = [dict(r._mapping) for r in events]
            activity = conn.execute(
                select(t.activity)
                .where(t.activity.c.order_id == order_id)
                .order_by(t.activity.c.position)
            )
            return refund_rows, event_rows_, [dict(r._mapping) for r in activity]

    def _rows(
        self, conn: Connection, order_id: str
    ) -> tuple[Row, list[Row], list[Row], list[Row]] | None:
        o = self._tables.orders
        with _unreadable(order_id):
            row = conn.execute(select(o).where(o.c.id == order_id)).first()
        if row is None:
            return None
        return (dict(row._mapping), *self._child_rows(conn, order_id))

    def _load_children(
        self, conn: Connection, order_id: str
    ) -> tuple[tuple[Refund, ...], tuple[ActivityEntry, ...]]:
        return children_from_rows(order_id, *self._child_rows(conn, order_id))

    def _write_children(
        self,
        conn: Connection,
        order: Order,
        old_refunds: Sequence[Refund],
        old_activity: Sequence[ActivityEntry],
    ) -> None:
        """Write the difference between the stored children and ``order``'s: changed refund
        rows, new (or rewritten) timeline entries, new activity. Untouched rows stay as they
        are, so the work is what changed, not the order's history."""
        t = self._tables
        r, ev, act = t.refunds, t.refund_events, t.activity
        order_id = order.id
        refund_updates: list[Row] = []
        refund_inserts: list[Row] = []
        event_inserts: list[Row] = []
        for position, refund in enumerate(order.refunds):
            old = old_refunds[position] if position < len(old_refunds) else None
            if old is refund:
                continue  # the usual case: the domain keeps unchanged refunds as they were
            if old is None:
                refund_inserts.append(refund_row(order_id, position, refund))
                event_inserts += event_rows(order_id, position, 0, refund.events)
                continue
            if old == refund:
                continue
            row = refund_row(order_id, position, refund)
            if row != refund_row(order_id, position, old):
                refund_updates.append(row)
            kept = _common_prefix(old.events, refund.events)
            if kept < len(old.events):
                conn.execute(
                    ev.delete().where(
                        ev.c.order_id == order_id,
                        ev.c.refund_position == position,
                        ev.c.position >= kept,
                    )
                )
            event_inserts += event_rows(order_id, position, kept, refund.events[kept:])
        if len(old_refunds) > len(order.refunds):
            gone = len(order.refunds)
            conn.execute(ev.delete().where(ev.c.order_id == order_id, ev.c.refund_position >= gone))
            conn.execute(r.delete().where(r.c.order_id == order_id, r.c.position >= gone))
        for row in refund_updates:
            conn.execute(
                r.update()
                .where(r.c.order_id == order_id, r.c.position == row["position"])
                .values({k: v for k, v in row.items() if k not in ("order_id", "position")})
            )
        _insert(conn, r, refund_inserts)
        _insert(conn, ev, event_inserts)
        kept = _common_prefix(old_activity, order.activity)
        if kept < len(old_activity):
            # Activity is append-only in the domain; an order whose timeline was rewritten is
            # still stored exactly as given.
            conn.execute(act.delete().where(act.c.order_id == order_id, act.c.position >= kept))
        self._append_activity(conn, activity_rows(order_id, kept, order.activity[kept:]))

    def _append_activity(self, conn: Connection, rows: list[Row]) -> None:
        """O1: insert activity rows with the next global feed positions, in the save's
        transaction. On PostgreSQL the activity table is locked (EXCLUSIVE: readers go on,
        other writers of activity wait until this transaction ends) before the positions are
        chosen, so positions become visible in order: a reader that saw position n never
        later meets a smaller one committed by a slower writer (the way pyeventsourcing's
        PostgreSQL recorder serialises its notification ids). SQLite saves already hold the
        database's write lock (``BEGIN IMMEDIATE``)."""
        if not rows:
            return
        act = self._tables.activity
        if self._db.dialect == "postgresql":
            conn.exec_driver_sql(f"LOCK TABLE {act.name} IN EXCLUSIVE MODE")
        last = conn.execute(select(func.max(act.c.feed_position))).scalar_one_or_none()
        start = (last or 0) + 1
        _insert(conn, act, [{**row, "feed_position": start + i} for i, row in enumerate(rows)])

    # ------------------------------------------------------------------ the feed and lists

    def read_after(self, position: int, limit: int) -> tuple[FeedEntry, ...]:
        """O1: the activity entries after ``position``, oldest first, at most ``limit`` (one
        indexed range read on the feed position)."""
        act, o = self._tables.activity, self._tables.orders
        query = (
            select(act, o.c.site_id)
            .join(o, o.c.id == act.c.order_id)
            .where(act.c.feed_position > position)
            .order_by(act.c.feed_position)
            .limit(limit)
        )
        with self._db.transaction(write=False) as conn, _unreadable("in the feed"):
            return tuple(feed_entry_from_row(dict(r._mapping)) for r in conn.execute(query))

    def list_orders(self, query: ListingQuery) -> ListingPage:
        """O2: the site's matching order ids, newest first (by the time they were added, then
        id), read from the site indexes; the cursor holds the last row's keyset."""
        o = self._tables.orders
        conditions = [o.c.site_id == query.site_id]
        if query.status is not None:
            conditions.append(o.c.status == query.status.value)
        if query.in_progress is not None:
            conditions.append(
                o.c.refunds_in_progress > 0 if query.in_progress else o.c.refunds_in_progress == 0
            )
        if query.after is not None:
            created_text, last_id = decode_cursor(query.after, _LISTING, (str, str))
            try:
                created = utc_instant(datetime.fromisoformat(str(created_text)), "a cursor")
            except (ValueError, StorageError):
                raise InvalidCursor(
                    f"{query.after[:40]!r} is not a cursor of this listing; start again without one"
                ) from None
            conditions.append(
                or_(o.c.created_at < created, and_(o.c.created_at == created, o.c.id < last_id))
            )
        statement = (
            select(o.c.id, o.c.created_at)
            .where(*conditions)
            .order_by(o.c.created_at.desc(), o.c.id.desc())
            .limit(query.limit + 1)
        )
        with self._db.transaction(write=False) as conn, _unreadable("in the listing"):
            rows = conn.execute(statement).all()
        page = rows[: query.limit]
        cursor = None
        if len(rows) > query.limit and page:
            cursor = encode_cursor(_LISTING, page[-1].created_at.isoformat(), page[-1].id)
        return ListingPage(tuple(OrderId(r.id) for r in page), cursor)

    def needing_sync(self, after: OrderId | None, limit: int) -> tuple[OrderId, ...]:
        """I2, L2: ids of orders with a refund in progress or a payment still pending, in id
        order, after ``after``, at most ``limit`` (a partial index holds just those)."""
        o = self._tables.orders
        statement = select(o.c.id).where((o.c.refunds_in_progress > 0) | (o.c.status == "pending"))
        if after is not None:
            statement = statement.where(o.c.id > after)
        with self._db.transaction(write=False) as conn:
            ids = conn.execute(statement.order_by(o.c.id).limit(limit)).scalars().all()
        return tuple(OrderId(i) for i in ids)


@contextmanager
def _unreadable(order_id: str) -> Iterator[None]:
    """A value the driver or SQLAlchemy cannot even convert (say, SQLite text that is no
    time) is bad data from the database: ``InvalidStoredData``, not a ``ValueError``."""
    try:
        yield
    except InvalidStoredData as e:
        raise InvalidStoredData(f"stored order {order_id!r}: {e.message}") from None
    except (ValueError, TypeError) as e:
        raise InvalidStoredData(f"stored order {order_id!r}: unreadable value ({e})") from None


def _insert(conn: Connection, table: Any, rows: list[Row]) -> None:
    if rows:
        conn.execute(table.insert(), rows)


def _common_prefix(old: Sequence[T], new: Sequence[T]) -> int:
    """How many leading entries ``old`` and ``new`` share."""
    n = min(len(old), len(new))
    # Tuple comparison runs in C with an identity shortcut: cheap even for long timelines.
    if tuple(old[:n]) == tuple(new[:n]):
        return n
    i = 0
    while i < n and (old[i] is new[i] or old[i] == new[i]):
        i += 1
    return i
