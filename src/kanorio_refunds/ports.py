"""The ports: what the service needs from the outside world, as small ``typing.Protocol``s.

Adapters satisfy them structurally (no inheritance): ``adapters.memory`` for tests and demos,
``adapters.stripe`` for the real gateway; a host app brings its own ``OrderRepository``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from kanorio_refunds.domain._feed import FeedEntry
from kanorio_refunds.domain._ids import ChargeId, EventId, OrderId, PaymentIntentId
from kanorio_refunds.domain._listing import ListingPage, ListingQuery
from kanorio_refunds.domain._order import Order
from kanorio_refunds.domain._payment import GatewayRefund, LivePayment, RefundRequest


class OrderRepository(Protocol):
    """Where orders live. Orders are immutable values: the repository stores copies.

    Every save is atomic and versioned: ``save(order, expected_version)`` stores ``order`` with
    version ``expected_version + 1`` only if the stored version is still ``expected_version``;
    otherwise it raises ``ConcurrencyConflict`` and stores nothing (L4).
    """

    def get(self, order_id: OrderId) -> Order:
        """The stored order. Raises ``OrderNotFound``. Read-only, so trivially idempotent."""
        ...

    def add(self, order: Order) -> Order:
        """Store a new order at version 1 and return it. Raises ``OrderAlreadyExists``."""
        ...

    def save(self, order: Order, expected_version: int) -> Order:
        """Store ``order`` as version ``expected_version + 1`` and return what was stored.

        Raises ``ConcurrencyConflict`` if the stored version differs (nothing is written) and
        ``OrderNotFound`` if there is no such order. Not idempotent: a replay of the same save
        conflicts, which is how a double submission is caught.
        """
        ...

    def find_by_payment(
        self, payment_intent_id: PaymentIntentId | None, charge_id: ChargeId | None
    ) -> Order | None:
        """The order whose payment record names this PaymentIntent or Charge, or None.

        Needed to route gateway events, which name payments, not orders.
        """
        ...


class PaymentGateway(Protocol):
    """The payment gateway (Stripe), in gateway-neutral terms.

    Errors: ``GatewayUnavailable`` (retryable; for ``create_refund`` the outcome is unknown),
    ``GatewayRejected`` (definitive, carries the gateway's code), ``GatewayMisconfigured``
    (credentials or permissions), ``GatewayProtocolError`` (an answer that cannot be read; for
    ``create_refund`` the outcome is unknown too). No gateway SDK exception ever escapes an
    adapter.
    """

    def fetch_payment(
        self, payment_intent_id: PaymentIntentId | None, charge_id: ChargeId | None
    ) -> LivePayment:
        """Live data for a payment (B4): captured, fees, settlement, refunded, disputed, and every
        refund of it with its status and metadata. Read-only, idempotent."""
        ...

    def create_refund(self, request: RefundRequest) -> GatewayRefund:
        """Create a refund. Idempotent per ``request.idempotency_key``: the same key with the same
        request returns the same refund and never makes a second one (L1); the same key with a
        different request raises ``GatewayRejected`` (code ``idempotency_error``)."""
        ...


class Clock(Protocol):
    """The time. The domain never reads a clock; the service asks this port, so tests and the
    demo control time exactly."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class ProcessedEvents(Protocol):
    """Gateway events already applied, so a redelivered event is skipped (L5).

    Needed because gateways deliver events at least once. Applying an event is idempotent on its
    own; this port makes the second delivery cheap and reportable as a duplicate.
    """

    def seen(self, event_id: EventId) -> bool:
        """True when ``event_id`` was recorded before. Read-only."""
        ...

    def record(self, event_id: EventId) -> None:
        """Remember ``event_id`` as applied. Idempotent: recording twice is harmless."""
        ...


@runtime_checkable
class ActivityFeed(Protocol):
    """O1: every order's activity entries in one global order, for notifications.

    Each activity entry an ``OrderRepository`` stores gets the next global position, in the
    same transaction as the order change (an entry exists exactly when its change was saved).
    Positions only grow, and a reader never skips or repeats one: an entry a concurrent writer
    commits later never gets a position below one a reader could already see.
    """

    def read_after(self, position: int, limit: int) -> tuple[FeedEntry, ...]:
        """The entries after ``position`` (0: from the first), oldest first, at most ``limit``
        of them. Read-only. A reader stores the last position it handled and asks again."""
        ...


@runtime_checkable
class OrderListing(Protocol):
    """O2, I2: queries over stored orders, answered from indexes (never a scan of every
    order): a site's Transactions list and the orders a periodic sync must read."""

    def list_orders(self, query: ListingQuery) -> ListingPage:
        """The ids of ``query.site_id``'s orders matching its filters, newest first (the most
        recently added), after ``query.after`` (an opaque cursor this listing gave), at most
        ``query.limit``; ``InvalidCursor`` for a cursor it did not give."""
        ...

    def needing_sync(self, after: OrderId | None, limit: int) -> tuple[OrderId, ...]:
        """Ids of orders with a refund SUBMITTING, PENDING or REQUIRES_ACTION or a payment
        still PENDING, in id order, after ``after`` (None: from the first), at most ``limit``."""
        ...
