"""In-memory adapters: real implementations of the storage ports, kept in process memory.

- ``InMemoryOrderRepository``: real version checks; stores immutable orders. It is also the
  ``ActivityFeed`` (O1: every entry gets its global position in the save that stores it) and
  the ``OrderListing`` (O2, I2: newest first, keyset cursors).
- ``InMemoryProcessedEvents``: the set of applied gateway event ids.

For the demo, for this library's tests and for users' own tests. The Stripe simulator and its
gateway are in ``kanorio_refunds.testing.fake_stripe``; clocks in ``adapters.clock``.
"""

from __future__ import annotations

import threading
from typing import Final

from kanorio_refunds.domain._feed import FeedEntry, added_entries
from kanorio_refunds.domain._ids import ChargeId, EventId, OrderId, PaymentIntentId, SiteId
from kanorio_refunds.domain._listing import (
    ListingPage,
    ListingQuery,
    decode_cursor,
    encode_cursor,
    matches,
    needs_sync,
)
from kanorio_refunds.domain._order import ActivityEntry, Order, at_version
from kanorio_refunds.errors import ConcurrencyConflict, OrderAlreadyExists, OrderNotFound

_LISTING: Final = "memory-orders"

__all__ = ["InMemoryOrderRepository", "InMemoryProcessedEvents"]


class InMemoryOrderRepository:
    """Orders in a dict, with the versioned, all-or-nothing saves of ``ports.OrderRepository``.

    Orders are immutable values, so storing and returning them shares nothing mutable.
    Thread-safe: two services in two threads may share one repository.
    """

    def __init__(self, orders: list[Order] | tuple[Order, ...] = ()) -> None:
        self._orders: dict[OrderId, Order] = {}
        self._lock = threading.Lock()
        # The feed as (order id, site id, entry): entry n is at index n - 1, and its FeedEntry
        # is built when read (issue 10: a save adds several, a reader reads each once).
        self._feed: list[tuple[OrderId, SiteId, ActivityEntry]] = []
        self._added_as: dict[OrderId, int] = {}  # O2: the order's rank among adds (newest last)
        # find_by_payment's index (issue 10): the orders ever stored with that PaymentIntent or
        # Charge id; checked against the stored order on lookup, so a payment changed by a
        # later save leaves nothing wrong behind, only a candidate that no longer matches.
        self._by_payment: dict[str, set[OrderId]] = {}
        for order in orders:
            self.add(order)

    def get(self, order_id: OrderId) -> Order:
        """The stored order; ``OrderNotFound`` otherwise."""
        # No lock: one dict lookup is atomic, and a save replaces the stored order in one
        # assignment, so a reader gets the order before or after it, never half of one.
        order = self._orders.get(order_id)
        if order is None:
            raise OrderNotFound(f"there is no order {order_id!r}")
        return order

    def add(self, order: Order) -> Order:
        """Store a new order at version 1; ``OrderAlreadyExists`` if the id is taken."""
        with self._lock:
            if order.id in self._orders:
                raise OrderAlreadyExists(
                    f"order {order.id!r} already exists; use save to change it"
                )
            stored = at_version(order, 1)
            self._orders[order.id] = stored
            self._index_payment(stored)
            self._added_as[order.id] = len(self._added_as) + 1
            self._publish(stored, ())
            return stored

    def save(self, order: Order, expected_version: int) -> Order:
        """Store ``order`` as ``expected_version + 1`` if nobody saved in between (L4)."""
        with self._lock:
            current = self._orders.get(order.id)
            if current is None:
                raise OrderNotFound(f"there is no order {order.id!r} to save; add it first")
            if current.version != expected_version:
                raise ConcurrencyConflict(
                    f"order {order.id!r} is at version {current.version}, not {expected_version}: "
                    f"someone else changed it; reload and try again"
                )
            stored = at_version(order, expected_version + 1)
            self._orders[order.id] = stored
            if _payment_ids(stored) != _payment_ids(current):  # the index is by these ids
                self._index_payment(stored)
            self._publish(stored, current.activity)
            return stored

    def find_by_payment(
        self, payment_intent_id: PaymentIntentId | None, charge_id: ChargeId | None
    ) -> Order | None:
        """The order paid by this PaymentIntent or Charge, if any (the first one added, should
        several be). Indexed: its cost does not grow with the number of stored orders."""
        with self._lock:
            candidates: set[OrderId] = set()
            for key in (payment_intent_id, charge_id):
                if key:
                    candidates |= self._by_payment.get(key, set())
            matching = []
            for order_id in candidates:
                payment = self._orders[order_id].payment
                if payment is not None and (
                    (payment_intent_id and payment.payment_intent_id == payment_intent_id)
                    or (charge_id and payment.charge_id == charge_id)
                ):
                    matching.append(order_id)
            if not matching:
                return None
            return self._orders[min(matching, key=self._added_as.__getitem__)]

    def _index_payment(self, order: Order) -> None:
        payment = order.payment
        if payment is None:
            return
        for key in (payment.payment_intent_id, payment.charge_id):
            if key:
                self._by_payment.setdefault(key, set()).add(order.id)

    def read_after(self, position: int, limit: int) -> tuple[FeedEntry, ...]:
        """O1: the activity entries after ``position``, oldest first, at most ``limit``."""
        with self._lock:
            # Positions are 1, 2, 3, … with no gaps: entry n is at index n - 1.
            start = max(position, 0)
            kept = self._feed[start : start + max(limit, 0)]
        return tuple(
            FeedEntry(start + n, order_id, site_id, entry)
            for n, (order_id, site_id, entry) in enumerate(kept, 1)
        )

    def list_orders(self, query: ListingQuery) -> ListingPage:
        """O2: the site's matching order ids, most recently added first, after the cursor."""
        before = None
        if query.after is not None:
            (rank,) = decode_cursor(query.after, _LISTING, (int,))
            before = int(rank)
        with self._lock:
            found = sorted(
                (
                    (self._added_as[o.id], o.id)
                    for o in self._orders.values()
                    if matches(o, query) and (before is None or self._added_as[o.id] < before)
                ),
                reverse=True,
            )
        page = found[: query.limit]
        more = len(found) > query.limit
        cursor = encode_cursor(_LISTING, page[-1][0]) if more and page else None
        return ListingPage(tuple(order_id for _, order_id in page), cursor)

    def needing_sync(self, after: OrderId | None, limit: int) -> tuple[OrderId, ...]:
        """I2, L2: ids of orders with a refund in progress or a payment still pending, in id
        order, after ``after``, at most ``limit``."""
        with self._lock:
            ids = sorted(
                o.id
                for o in self._orders.values()
                if needs_sync(o) and (after is None or o.id > after)
            )
        return tuple(ids[:limit])

    def _publish(self, stored: Order, before: tuple[ActivityEntry, ...]) -> None:
        """O1: give the entries the save added their global positions (under the save's lock:
        an entry exists exactly when its change was stored)."""
        order_id, site_id, feed = stored.id, stored.site_id, self._feed
        for entry in added_entries(before, stored.activity):
            feed.append((order_id, site_id, entry))

    def all(self) -> tuple[Order, ...]:
        """Every stored order (for tests and scripts)."""
        with self._lock:
            return tuple(self._orders.values())


class InMemoryProcessedEvents:
    """The ids of applied gateway events, in a set (``ports.ProcessedEvents``). Thread-safe."""

    def __init__(self) -> None:
        self._ids: set[EventId] = set()
        self._lock = threading.Lock()

    def seen(self, event_id: EventId) -> bool:
        """True when ``event_id`` was recorded."""
        with self._lock:
            return event_id in self._ids

    def record(self, event_id: EventId) -> None:
        """Remember ``event_id``; recording twice is harmless."""
        with self._lock:
            self._ids.add(event_id)


def _payment_ids(order: Order) -> tuple[str | None, str | None]:
    """The ids ``find_by_payment`` finds ``order`` by."""
    payment = order.payment
    return (None, None) if payment is None else (payment.payment_intent_id, payment.charge_id)
