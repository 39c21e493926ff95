"""In-memory adapters: for the demo, for this library's tests and for users' own tests.

- ``InMemoryOrderRepository``: real version checks; stores immutable orders.
- ``InMemoryProcessedEvents``: the set of applied gateway event ids.
- ``InMemoryGateway``: the ``PaymentGateway`` port over ``FakeStripe``, the in-memory model of
  Stripe (fees, FX, idempotency keys, async statuses, disputes, events, injected faults).
- ``ManualClock`` / ``SystemClock`` (re-exported from ``adapters.clock``).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from kanorio_refunds.adapters.clock import ManualClock, SystemClock
from kanorio_refunds.adapters.fake_stripe import (
    FakeStripe,
    Fault,
    StripeApiError,
    StripeConnectionFault,
    StripeTimeoutFault,
)
from kanorio_refunds.adapters.stripe_objects import (
    disputed_charge_id,
    error_from_stripe,
    latest_charge_of,
    no_payment_reference,
    parse_payment,
    parse_refund,
    refund_params,
    refunds_oldest_first,
)
from kanorio_refunds.domain.errors import (
    ConcurrencyConflict,
    GatewayUnavailable,
    OrderAlreadyExists,
    OrderNotFound,
)
from kanorio_refunds.domain.ids import ChargeId, EventId, OrderId, PaymentIntentId, SiteId
from kanorio_refunds.domain.money import Money, to_stripe_amount
from kanorio_refunds.domain.order import Order, OrderStatus
from kanorio_refunds.domain.payment import GatewayRefund, PaymentSnapshot, RefundRequest

__all__ = [
    "FakeStripe",
    "Fault",
    "InMemoryGateway",
    "InMemoryOrderRepository",
    "InMemoryProcessedEvents",
    "ManualClock",
    "SystemClock",
    "paid_order",
]

T = TypeVar("T")


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


class InMemoryGateway:
    """``ports.PaymentGateway`` over ``FakeStripe``: the same Stripe objects and errors the real
    adapter reads, without a network. Faults injected into the model surface as our errors:
    connection errors, timeouts, 409, 429 and 5xx as ``GatewayUnavailable``; definitive refusals
    as ``GatewayRejected`` with Stripe's code; unreadable objects as ``GatewayProtocolError``.
    """

    def __init__(
        self, stripe: FakeStripe | None = None, *, refund_application_fee: bool = False
    ) -> None:
        self.stripe = stripe if stripe is not None else FakeStripe()
        self._refund_application_fee = refund_application_fee

    def fetch_payment(
        self, payment_intent_id: PaymentIntentId | None, charge_id: ChargeId | None
    ) -> PaymentSnapshot:
        """Live payment data and every refund, like the Stripe adapter reads them (and, for a
        charge Stripe flags disputed, its disputes: E5, see ``stripe_objects``)."""
        if payment_intent_id:
            intent = _call(
                lambda: self.stripe.retrieve_payment_intent(
                    payment_intent_id, expand=["latest_charge.balance_transaction"]
                )
            )
            charge = latest_charge_of(intent)
        elif charge_id:
            charge = _call(
                lambda: self.stripe.retrieve_charge(charge_id, expand=["balance_transaction"])
            )
        else:
            raise no_payment_reference()
        disputed_charge = disputed_charge_id(charge)
        disputes = None
        if disputed_charge is not None:
            disputes = self._every_page(self.stripe.list_disputes, charge=disputed_charge)
        record = parse_payment(charge, payment_intent_id, disputes)
        refunds = self._all_refunds(payment_intent_id, None if payment_intent_id else charge_id)
        return PaymentSnapshot(record=record, refunds=refunds)

    def create_refund(self, request: RefundRequest) -> GatewayRefund:
        """POST /v1/refunds with the request's idempotency key."""
        params = refund_params(request, refund_application_fee=self._refund_application_fee)
        created = _call(
            lambda: self.stripe.create_refund(params, idempotency_key=request.idempotency_key)
        )
        return parse_refund(created)

    def list_refunds(
        self, payment_intent_id: PaymentIntentId | None, charge_id: ChargeId | None
    ) -> tuple[GatewayRefund, ...]:
        """Every refund of the payment, oldest first, across all pages."""
        if not (payment_intent_id or charge_id):
            raise no_payment_reference()
        return self._all_refunds(payment_intent_id, charge_id)

    def _all_refunds(
        self, payment_intent_id: PaymentIntentId | None, charge_id: ChargeId | None
    ) -> tuple[GatewayRefund, ...]:
        return refunds_oldest_first(
            self._every_page(
                self.stripe.list_refunds,
                payment_intent=payment_intent_id,
                charge=charge_id if not payment_intent_id else None,
            )
        )

    @staticmethod
    def _every_page(list_call: Callable[..., dict[str, Any]], **filters: Any) -> list[Any]:
        """Every object of a FakeStripe listing, following ``has_more`` 100 at a time."""
        collected: list[Any] = []
        cursor: str | None = None
        while True:
            page = _call(functools.partial(list_call, **filters, limit=100, starting_after=cursor))
            collected.extend(page["data"])
            if not page["has_more"] or not page["data"]:
                return collected
            cursor = page["data"][-1]["id"]


def paid_order(
    stripe: FakeStripe,
    *,
    order_id: str,
    site_id: str,
    total: Money,
    stripe_fee: Money,
    platform_fee: Money | None = None,
    exchange_rate: Decimal | None = None,
) -> Order:
    """A PAID order whose payment exists in ``stripe``: a captured PaymentIntent of ``total``
    with ``stripe_fee`` and ``platform_fee`` (in the settlement currency, which is the fees'
    currency) and, for a cross-currency payment, the balance transaction's ``exchange_rate``.
    The order's payment record is read back from the model as the gateway would read it.
    """
    settlement = stripe_fee.currency
    platform = platform_fee if platform_fee is not None else Money.zero(settlement)
    intent = stripe.create_payment(
        to_stripe_amount(total),
        total.currency.code.lower(),
        stripe_fee=to_stripe_amount(stripe_fee),
        application_fee=to_stripe_amount(platform),
        settlement_currency=settlement.code.lower(),
        exchange_rate=exchange_rate,
    )
    charge = stripe.retrieve_charge(intent["latest_charge"], expand=["balance_transaction"])
    return Order(
        id=OrderId(order_id),
        site_id=SiteId(site_id),
        total=total,
        status=OrderStatus.PAID,
        payment=parse_payment(charge, intent["id"]),
    )


def _call(operation: Callable[[], T]) -> T:
    """Run one FakeStripe call, translating its failures as the Stripe adapter does."""
    try:
        return operation()
    except StripeApiError as e:
        raise error_from_stripe(e.http_status, e.type, e.code, e.message) from e
    except StripeConnectionFault as e:
        raise GatewayUnavailable(f"could not reach Stripe: {e}") from e
    except StripeTimeoutFault as e:
        raise GatewayUnavailable(
            f"Stripe did not answer in time ({e}); the outcome is unknown"
        ) from e
