"""Shared building blocks of the service tests: the in-memory world, its actors and spies.

The world is the library's own in-memory stack: ``FakeStripe`` (the Stripe model) behind
``FakeStripeGateway``, an ``InMemoryOrderRepository``, a ``ManualClock`` ticking one second per
read (shared with FakeStripe, so local and Stripe timestamps are comparable) and
``InMemoryProcessedEvents``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import attrs

from kanorio_refunds import (
    Actor,
    ActorId,
    EventOutcome,
    FeePolicy,
    Money,
    Order,
    OrderId,
    RefundStatus,
    Role,
    SiteId,
)
from kanorio_refunds.adapters._stripe_json import parse_event
from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.memory import InMemoryOrderRepository, InMemoryProcessedEvents
from kanorio_refunds.domain._balance import refundable_balance
from kanorio_refunds.domain._ids import ChargeId, PaymentIntentId
from kanorio_refunds.domain._payment import GatewayRefund, LivePayment, RefundRequest
from kanorio_refunds.service import RefundService
from kanorio_refunds.testing.fake_stripe import (
    FakeStripe,
    FakeStripeGateway,
    RequestRecord,
    stripe_paid_order,
)

SITE: Final = SiteId("shop-1")
OTHER_SITE: Final = SiteId("shop-2")
ORDER_ID: Final = OrderId("order-1")
START: Final = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

OWNER: Final = Actor(ActorId("olivia-owner"), {SITE: Role.OWNER})
ADMIN: Final = Actor(ActorId("adam-admin"), {SITE: Role.ADMINISTRATOR})
STAFF: Final = Actor(ActorId("sam-staff"), {SITE: Role.STAFF})
BUYER: Final = Actor(ActorId("bea-buyer"), {SITE: Role.BUYER})
#: Administrator of another site only (and owner of a third): no right on SITE's orders.
OTHER_SITE_ADMIN: Final = Actor(
    ActorId("oscar-other"), {OTHER_SITE: Role.ADMINISTRATOR, SiteId("shop-3"): Role.OWNER}
)
ANONYMOUS: Final = Actor.anonymous()
#: Everyone E2 refuses on SITE.
NOT_ALLOWED: Final = (STAFF, BUYER, ANONYMOUS, OTHER_SITE_ADMIN)


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


def cents(minor: int) -> Money:
    return Money.from_minor(minor, "USD")


def eur(text: str) -> Money:
    return Money.parse(text, "EUR")


#: The standard order: USD 100.00, Stripe fee 3.20, platform fee 1.00: 95.80 refundable (B1).
TOTAL: Final = usd("100.00")
STRIPE_FEE: Final = usd("3.20")
PLATFORM_FEE: Final = usd("1.00")
NET: Final = usd("95.80")


@attrs.define
class World:
    """One in-memory deployment: Stripe, the gateway over it, the orders, the clock, a service."""

    stripe: FakeStripe
    gateway: FakeStripeGateway
    orders: InMemoryOrderRepository
    clock: ManualClock
    processed: InMemoryProcessedEvents
    service: RefundService
    _events_applied: int = 0

    @classmethod
    def build(
        cls,
        *,
        default_refund_status: str = "succeeded",
        fee_policy: FeePolicy = FeePolicy.NET_OF_FEES,
        tick: timedelta = timedelta(seconds=1),
    ) -> World:
        clock = ManualClock(START, tick=tick)
        stripe = FakeStripe(clock=clock.unix_seconds, default_refund_status=default_refund_status)
        gateway = FakeStripeGateway(stripe)
        orders = InMemoryOrderRepository()
        processed = InMemoryProcessedEvents()
        service = RefundService(
            orders, gateway, clock, processed_events=processed, fee_policy=fee_policy
        )
        return cls(stripe, gateway, orders, clock, processed, service)

    def another_service(
        self,
        *,
        orders: Any = None,
        gateway: Any = None,
        fee_policy: FeePolicy | None = None,
    ) -> RefundService:
        """A second service (another process) over the same repository and Stripe by default."""
        return RefundService(
            orders if orders is not None else self.orders,
            gateway if gateway is not None else self.gateway,
            self.clock,
            processed_events=self.processed,
            fee_policy=fee_policy or self.service.fee_policy,
        )

    def add_order(
        self,
        order_id: str = ORDER_ID,
        *,
        site_id: str = SITE,
        total: Money = TOTAL,
        stripe_fee: Money = STRIPE_FEE,
        platform_fee: Money | None = PLATFORM_FEE,
        exchange_rate: Decimal | None = None,
    ) -> Order:
        return self.orders.add(
            stripe_paid_order(
                self.stripe,
                order_id=order_id,
                site_id=site_id,
                total=total,
                stripe_fee=stripe_fee,
                platform_fee=platform_fee,
                exchange_rate=exchange_rate,
            )
        )

    def order(self, order_id: str = ORDER_ID) -> Order:
        return self.orders.get(OrderId(order_id))

    def pi(self, order_id: str = ORDER_ID) -> str:
        payment = self.order(order_id).payment
        assert payment is not None
        assert payment.payment_intent_id
        return payment.payment_intent_id

    def stripe_refunds(self, order_id: str = ORDER_ID) -> list[dict[str, Any]]:
        """Every refund Stripe holds for the order's payment (any status), oldest first."""
        return self.stripe.refunds_of(self.pi(order_id))

    def stripe_refunded_minor(self, order_id: str = ORDER_ID) -> int:
        """Stripe's ``charge.amount_refunded`` (cents)."""
        return int(self.stripe.charge_of(self.pi(order_id))["amount_refunded"])

    def create_requests(self) -> list[RequestRecord]:
        """Every POST /v1/refunds Stripe received."""
        return [r for r in self.stripe.requests if r.operation == "create_refund"]

    def dashboard_refund(self, amount_minor: int, order_id: str = ORDER_ID) -> dict[str, Any]:
        """A refund made directly at Stripe (the dashboard): no key, none of our metadata."""
        return self.stripe.create_refund(
            {"payment_intent": self.pi(order_id), "amount": amount_minor}
        )

    def apply_new_events(self) -> list[EventOutcome]:
        """Deliver every Stripe event emitted since the last delivery to the service."""
        fresh = self.stripe.events_since(self._events_applied)
        self._events_applied += len(fresh)
        return [self.service.apply_event(parse_event(e)) for e in fresh]


def reserved_minor(order: Order) -> int:
    """The sum of the order's refunds that hold part of the balance (B1), in cents."""
    return sum(r.amount.minor for r in order.refunds if r.status.reserves)


def stored_refundable(order: Order, policy: FeePolicy = FeePolicy.NET_OF_FEES) -> Money:
    """The refundable balance from the stored order alone (no gateway read)."""
    assert order.payment is not None
    return refundable_balance(order.payment, order.refunds, policy).refundable


def statuses(order: Order) -> list[RefundStatus]:
    return [r.status for r in order.refunds]


class SpyGateway:
    """A ``PaymentGateway`` that delegates to another one, running ``before_create`` (with the
    request) just before each ``create_refund`` and ``before_fetch`` before each
    ``fetch_payment``."""

    def __init__(
        self,
        inner: FakeStripeGateway,
        *,
        before_create: Callable[[RefundRequest], None] | None = None,
        before_fetch: Callable[[], None] | None = None,
    ) -> None:
        self.inner = inner
        self.before_create = before_create
        self.before_fetch = before_fetch
        self.created: list[RefundRequest] = []

    def fetch_payment(
        self, payment_intent_id: PaymentIntentId | None, charge_id: ChargeId | None
    ) -> LivePayment:
        if self.before_fetch is not None:
            self.before_fetch()
        return self.inner.fetch_payment(payment_intent_id, charge_id)

    def create_refund(self, request: RefundRequest) -> GatewayRefund:
        self.created.append(request)
        if self.before_create is not None:
            self.before_create(request)
        return self.inner.create_refund(request)


class HookedRepository:
    """An ``OrderRepository`` over a shared one that can run ``hook`` before a chosen call.

    ``steps`` counts this wrapper's calls (get, save, find_by_payment); when it reaches
    ``at_step`` the hook runs once, *before* the call reaches the shared repository. Used to
    put another process's whole work between two steps of this one, deterministically.
    """

    def __init__(
        self,
        inner: InMemoryOrderRepository,
        *,
        at_step: int | None = None,
        hook: Callable[[], None] | None = None,
        only: frozenset[str] = frozenset({"get", "save", "find_by_payment", "add"}),
    ) -> None:
        self.inner = inner
        self.at_step = at_step
        self.hook = hook
        self.only = only
        self.steps = 0
        self.calls: list[str] = []
        self.fired = False

    def _step(self, name: str) -> None:
        self.calls.append(name)
        if name not in self.only:
            return
        if not self.fired and self.hook is not None and self.steps == self.at_step:
            self.fired = True
            self.hook()
        self.steps += 1

    def get(self, order_id: OrderId) -> Order:
        self._step("get")
        return self.inner.get(order_id)

    def add(self, order: Order) -> Order:
        self._step("add")
        return self.inner.add(order)

    def save(self, order: Order, expected_version: int) -> Order:
        self._step("save")
        return self.inner.save(order, expected_version)

    def find_by_payment(
        self, payment_intent_id: PaymentIntentId | None, charge_id: ChargeId | None
    ) -> Order | None:
        self._step("find_by_payment")
        return self.inner.find_by_payment(payment_intent_id, charge_id)


class YieldingRepository:
    """An ``OrderRepository`` over a shared one that sleeps a tiny moment before each call, so
    two threads racing through the service really interleave between read and save."""

    def __init__(self, inner: InMemoryOrderRepository, pause: float = 0.0005) -> None:
        self.inner = inner
        self.pause = pause

    def get(self, order_id: OrderId) -> Order:
        time.sleep(self.pause)
        return self.inner.get(order_id)

    def add(self, order: Order) -> Order:
        return self.inner.add(order)

    def save(self, order: Order, expected_version: int) -> Order:
        time.sleep(self.pause)
        return self.inner.save(order, expected_version)

    def find_by_payment(
        self, payment_intent_id: PaymentIntentId | None, charge_id: ChargeId | None
    ) -> Order | None:
        return self.inner.find_by_payment(payment_intent_id, charge_id)
