"""The in-memory world the gateway-truth tests (and the state machine) run in.

``FakeStripe`` (the Stripe model) behind ``FakeStripeGateway`` wrapped in a ``ChaosGateway`` that
can crash the process around ``create_refund`` or run something in between (another service's
sync, a webhook delivery), an ``InMemoryOrderRepository``, a ``ManualClock`` shared with
FakeStripe (one second per read, so Stripe's and our timestamps are comparable) and one
``RefundService`` per "process" of the host application.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any, Final

from kanorio_refunds import (
    FULL,
    Actor,
    ActorId,
    EventOutcome,
    FeePolicy,
    Money,
    Order,
    OrderId,
    Refund,
    Role,
    SiteId,
)
from kanorio_refunds.adapters._stripe_json import parse_event
from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.memory import InMemoryOrderRepository, InMemoryProcessedEvents
from kanorio_refunds.domain import FullAmount
from kanorio_refunds.domain._ids import ChargeId, PaymentIntentId
from kanorio_refunds.domain._payment import (
    METADATA_REFUND_ID,
    GatewayRefund,
    LivePayment,
    RefundRequest,
)
from kanorio_refunds.service import RefundService
from kanorio_refunds.testing.fake_stripe import (
    FakeStripe,
    FakeStripeGateway,
    Fault,
    stripe_paid_order,
)

SITE: Final = SiteId("shop")
ORDER_ID: Final = OrderId("order-1")
OWNER: Final = Actor(ActorId("olivia"), {SITE: Role.OWNER})
ADMIN: Final = Actor(ActorId("adam"), {SITE: Role.ADMINISTRATOR})

JsonDict = dict[str, Any]


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


class Crash(Exception):
    """The host process died mid-call (deliberately not a ``RefundError``)."""


class ChaosGateway:
    """``PaymentGateway`` over ``FakeStripeGateway`` with a hostile network and a mortal process.

    ``arm_fault`` makes *our* next call of a port operation fail inside FakeStripe (injected just
    before forwarding, so a refund made in the Stripe dashboard never consumes it).
    ``crash_before`` / ``crash_after`` raise ``Crash`` before forwarding ``create_refund`` (the
    write-ahead refund exists, Stripe knows nothing) or after it (Stripe made the refund, the
    answer is lost with the process). ``before_create`` / ``after_create`` hooks run once each
    around the next ``create_refund``, to interleave another process's work with this one.
    """

    def __init__(self, inner: FakeStripeGateway) -> None:
        self.inner = inner
        self.stripe = inner.stripe
        self.faults: dict[str, list[tuple[Fault, str | None]]] = {"create": [], "read": []}
        self.crash_before = 0
        self.crash_after = 0
        self.before_create: list[Callable[[], object]] = []
        self.after_create: list[Callable[[], object]] = []

    def arm_fault(self, operation: str, fault: Fault, code: str | None = None) -> None:
        """Fail our next ``operation`` ("create" or "read") with ``fault``."""
        self.faults[operation].append((fault, code))

    def calm(self) -> None:
        """No more faults, crashes or interleavings."""
        for queue in self.faults.values():
            queue.clear()
        self.crash_before = self.crash_after = 0
        self.before_create.clear()
        self.after_create.clear()

    def _inject(self, operation: str, stripe_operation: str) -> None:
        queue = self.faults[operation]
        if queue:
            fault, code = queue.pop(0)
            self.stripe.inject_fault(fault, operation=stripe_operation, code=code)

    def fetch_payment(
        self, payment_intent_id: PaymentIntentId | None, charge_id: ChargeId | None
    ) -> LivePayment:
        self._inject("read", "retrieve_payment_intent" if payment_intent_id else "retrieve_charge")
        return self.inner.fetch_payment(payment_intent_id, charge_id)

    def create_refund(self, request: RefundRequest) -> GatewayRefund:
        while self.before_create:
            self.before_create.pop(0)()
        if self.crash_before:
            self.crash_before -= 1
            raise Crash("the process died before calling Stripe")
        self._inject("create", "create_refund")
        try:
            answer = self.inner.create_refund(request)
        finally:
            while self.after_create:
                self.after_create.pop(0)()
        if self.crash_after:
            self.crash_after -= 1
            raise Crash("the process died before reading Stripe's answer")
        return answer


class ChaosOrders(InMemoryOrderRepository):
    """The in-memory repository, with ``before_save`` hooks run once each just before the next
    save: another process's work lands between someone's read and their versioned save (L4)."""

    def __init__(self) -> None:
        super().__init__()
        self.before_save: list[Callable[[], object]] = []

    def save(self, order: Order, expected_version: int) -> Order:
        while self.before_save:
            self.before_save.pop(0)()
        return super().save(order, expected_version)


class World:
    """One deployment: Stripe, the order, and ``services`` host processes sharing the orders."""

    def __init__(
        self,
        *,
        total: Money | None = None,
        stripe_fee: Money | None = None,
        platform_fee: Money | None = None,
        services: int = 1,
        default_refund_status: str = "succeeded",
        fee_policy: FeePolicy = FeePolicy.NET_OF_FEES,
        exchange_rate: Decimal | None = None,
        tick_seconds: int = 1,
        stripe_ahead_seconds: int = 0,
    ) -> None:
        self.clock = ManualClock(tick=timedelta(seconds=tick_seconds))
        clock = self.clock
        self.stripe = FakeStripe(
            # Stripe's clock may run ahead of the host's (NTP drift): events then look newer.
            clock=lambda: clock.unix_seconds() + stripe_ahead_seconds,
            default_refund_status=default_refund_status,
        )
        self.gateway = ChaosGateway(FakeStripeGateway(self.stripe))
        self.orders = ChaosOrders()
        total = total if total is not None else usd("100.00")
        stripe_fee = stripe_fee if stripe_fee is not None else usd("3.20")
        platform_fee = platform_fee if platform_fee is not None else usd("1.00")
        order = stripe_paid_order(
            self.stripe,
            order_id=ORDER_ID,
            site_id=SITE,
            total=total,
            stripe_fee=stripe_fee,
            platform_fee=platform_fee,
            exchange_rate=exchange_rate,
        )
        self.orders.add(order)
        assert order.payment is not None
        assert order.payment.payment_intent_id is not None
        self.pi: PaymentIntentId = order.payment.payment_intent_id
        self.services = [
            RefundService(
                self.orders,
                self.gateway,
                self.clock,
                processed_events=InMemoryProcessedEvents(),
                fee_policy=fee_policy,
            )
            for _ in range(services)
        ]
        self._delivered = 0

    @property
    def service(self) -> RefundService:
        return self.services[0]

    @property
    def order(self) -> Order:
        return self.orders.get(ORDER_ID)

    def refund(self, amount: Money | FullAmount = FULL, *, service: int = 0) -> Refund:
        """Quote and process a refund as the owner."""
        svc = self.services[service]
        return svc.process(svc.quote(ORDER_ID, OWNER, amount, "customer_request"), OWNER)

    def dashboard_refund(self, amount: Money, **params: Any) -> JsonDict:
        """A refund made in the Stripe dashboard: no metadata of ours, no idempotency key."""
        from kanorio_refunds.domain._money import to_stripe_amount

        return self.stripe.create_refund(
            {"payment_intent": self.pi, "amount": to_stripe_amount(amount), **params}
        )

    def gateway_refunds(self) -> list[JsonDict]:
        return self.stripe.refunds_of(self.pi)

    def gateway_refund_of(self, refund: Refund) -> JsonDict:
        """The one Stripe refund carrying ``refund``'s id in its metadata."""
        matches = [
            r for r in self.gateway_refunds() if r["metadata"].get(METADATA_REFUND_ID) == refund.id
        ]
        assert len(matches) == 1, matches
        return matches[0]

    def new_events(self) -> list[JsonDict]:
        """Stripe's events emitted since the last call (a webhook endpoint's inbox)."""
        events = self.stripe.events_since(self._delivered)
        self._delivered += len(events)
        return events

    def deliver(self, events: list[JsonDict], *, service: int = 0) -> list[EventOutcome]:
        svc = self.services[service]
        return [svc.apply_event(parse_event(e)) for e in events]

    def deliver_new(self, *, service: int = 0) -> list[EventOutcome]:
        return self.deliver(self.new_events(), service=service)


def of_type(events: list[JsonDict], *types: str) -> list[JsonDict]:
    return [e for e in events if e["type"] in types]
