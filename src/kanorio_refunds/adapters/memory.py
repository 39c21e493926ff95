"""In-memory adapters: real implementations of the storage ports, kept in process memory.

- ``InMemoryOrderRepository``: real version checks; stores immutable orders.
- ``InMemoryProcessedEvents``: the set of applied gateway event ids.

For the demo, for this library's tests and for users' own tests. The Stripe simulator and its
gateway are in ``kanorio_refunds.testing.fake_stripe``; clocks in ``adapters.clock``.
"""

from __future__ import annotations

import threading

import attrs

from kanorio_refunds.domain._ids import ChargeId, EventId, OrderId, PaymentIntentId
from kanorio_refunds.domain._order import Order
from kanorio_refunds.errors import ConcurrencyConflict, OrderAlreadyExists, OrderNotFound

__all__ = ["InMemoryOrderRepository", "InMemoryProcessedEvents"]


class InMemoryOrderRepository:
    """Orders in a dict, with the versioned, all-or-nothing saves of ``ports.OrderRepository``.

    Orders are immutable values, so storing and returning them shares nothing mutable.
    Thread-safe: two services in two threads may share one repository.
    """

    def __init__(self, orders: list[Order] | tuple[Order, ...] = ()) -> None:
        self._orders: dict[OrderId, Order] = {}
        self._lock = threading.Lock()
        for order in orders:
            self.add(order)

    def get(self, order_id: OrderId) -> Order:
        """The stored order; ``OrderNotFound`` otherwise."""
        with self._lock:
            try:
                return self._orders[order_id]
            except KeyError:
                raise OrderNotFound(f"there is no order {order_id!r}") from None

    def add(self, order: Order) -> Order:
        """Store a new order at version 1; ``OrderAlreadyExists`` if the id is taken."""
        with self._lock:
            if order.id in self._orders:
                raise OrderAlreadyExists(
                    f"order {order.id!r} already exists; use save to change it"
                )
            stored = attrs.evolve(order, version=1)
            self._orders[order.id] = stored
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
            stored = attrs.evolve(order, version=expected_version + 1)
            self._orders[order.id] = stored
            return stored

    def find_by_payment(
        self, payment_intent_id: PaymentIntentId | None, charge_id: ChargeId | None
    ) -> Order | None:
        """The order paid by this PaymentIntent or Charge, if any."""
        with self._lock:
            for order in self._orders.values():
                payment = order.payment
                if payment is None:
                    continue
                if payment_intent_id and payment.payment_intent_id == payment_intent_id:
                    return order
                if charge_id and payment.charge_id == charge_id:
                    return order
            return None

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
