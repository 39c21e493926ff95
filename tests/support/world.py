"""The test world: one in-memory deployment of the library, its actors and money helpers.

``FakeStripe`` (the Stripe model) behind a ``FaultyGateway``, a ``HookedRepository`` over an
``InMemoryOrderRepository``, a ``ManualClock`` ticking one second per read and shared with
FakeStripe (so local and Stripe timestamps are comparable; Stripe's clock may be set ahead of or
behind ours), ``InMemoryProcessedEvents``, and ``services``: one ``RefundService`` per process of
the host application, all sharing the orders.

``World.build()`` has no order yet; ``World.with_order()`` adds the standard one (USD 100.00,
Stripe fee 3.20, platform fee 1.00: 95.80 refundable under NET_OF_FEES).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
    RefundStatus,
    Role,
    SiteId,
)
from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.memory import InMemoryProcessedEvents
from kanorio_refunds.adapters.stripe import parse_event
from kanorio_refunds.domain import FullAmount
from kanorio_refunds.domain._balance import refundable_balance
from kanorio_refunds.domain._payment import METADATA_REFUND_ID
from kanorio_refunds.service import RefundService
from kanorio_refunds.testing.fake_stripe import FakeStripe, RequestRecord, stripe_paid_order
from tests.support.gateway import FaultyGateway
from tests.support.repository import HookedRepository

JsonDict = dict[str, Any]

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


class World:
    """One deployment: Stripe, the gateway over it, the orders, the clock, the services."""

    def __init__(
        self,
        *,
        default_refund_status: str = "succeeded",
        fee_policy: FeePolicy = FeePolicy.NET_OF_FEES,
        tick: timedelta = timedelta(seconds=1),
        stripe_offset: timedelta = timedelta(0),
        services: int = 1,
    ) -> None:
        self.clock = ManualClock(START, tick=tick)
        clock, offset = self.clock, int(stripe_offset.total_seconds())
        # Stripe's clock may run ahead of or behind the host's (NTP drift).
        self.stripe = FakeStripe(
            clock=(lambda: clock.unix_seconds() + offset) if offset else clock.unix_seconds,
            default_refund_status=default_refund_status,
        )
        self.gateway = FaultyGateway(self.stripe)
        self.orders = HookedRepository()
        self.processed = InMemoryProcessedEvents()
        self.fee_policy = fee_policy
        # The first service shares ``processed`` with ``another_service``; the others are
        # processes with a record of processed events of their own.
        self.services = [
            RefundService(
                self.orders,
                self.gateway,
                self.clock,
                processed_events=self.processed if n == 0 else InMemoryProcessedEvents(),
                fee_policy=fee_policy,
            )
            for n in range(services)
        ]
        self._delivered = 0

    @classmethod
    def build(cls, **options: Any) -> World:
        """A world without orders (options: see ``__init__``)."""
        return cls(**options)

    @classmethod
    def with_order(
        cls,
        *,
        total: Money = TOTAL,
        stripe_fee: Money = STRIPE_FEE,
        platform_fee: Money | None = PLATFORM_FEE,
        exchange_rate: Decimal | None = None,
        **options: Any,
    ) -> World:
        """A world with one PAID order ``ORDER_ID`` of SITE."""
        world = cls(**options)
        world.add_order(
            total=total,
            stripe_fee=stripe_fee,
            platform_fee=platform_fee,
            exchange_rate=exchange_rate,
        )
        return world

    @property
    def service(self) -> RefundService:
        return self.services[0]

    def another_service(
        self,
        *,
        orders: Any = None,
        gateway: Any = None,
        fee_policy: FeePolicy | None = None,
    ) -> RefundService:
        """Another process over the same repository, Stripe and processed events by default."""
        return RefundService(
            orders if orders is not None else self.orders,
            gateway if gateway is not None else self.gateway,
            self.clock,
            processed_events=self.processed,
            fee_policy=fee_policy or self.fee_policy,
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

    def refund(self, amount: Money | FullAmount = FULL, *, service: int = 0) -> Refund:
        """Quote and process a refund of ORDER_ID as the owner (reason: customer request)."""
        svc = self.services[service]
        return svc.process(svc.quote(ORDER_ID, OWNER, amount, "customer_request"), OWNER)

    def stripe_refunds(self, order_id: str = ORDER_ID) -> list[JsonDict]:
        """Every refund Stripe holds for the order's payment (any status), oldest first."""
        return self.stripe.refunds_of(self.pi(order_id))

    def stripe_refund_of(self, refund: Refund) -> JsonDict:
        """The one Stripe refund carrying ``refund``'s id in its metadata."""
        matches = [
            r for r in self.stripe_refunds() if r["metadata"].get(METADATA_REFUND_ID) == refund.id
        ]
        assert len(matches) == 1, matches
        return matches[0]

    def stripe_refunded_minor(self, order_id: str = ORDER_ID) -> int:
        """Stripe's ``charge.amount_refunded`` (minor units)."""
        return int(self.stripe.charge_of(self.pi(order_id))["amount_refunded"])

    def create_requests(self) -> list[RequestRecord]:
        """Every POST /v1/refunds Stripe received."""
        return [r for r in self.stripe.requests if r.operation == "create_refund"]

    def dashboard_refund(self, amount: Money, order_id: str = ORDER_ID, **params: Any) -> JsonDict:
        """A refund made in the Stripe dashboard: no metadata of ours, no idempotency key."""
        return self.stripe.create_refund(
            {"payment_intent": self.pi(order_id), "amount": _stripe_units(amount), **params}
        )

    def new_events(self) -> list[JsonDict]:
        """Stripe's events emitted since the last call (a webhook endpoint's inbox)."""
        events = self.stripe.events_since(self._delivered)
        self._delivered += len(events)
        return events

    def deliver(self, events: list[JsonDict], *, service: int = 0) -> list[EventOutcome]:
        svc = self.services[service]
        return [svc.apply_event(parse_event(e)) for e in events]

    def deliver_new(self, *, service: int = 0) -> list[EventOutcome]:
        """Deliver every Stripe event emitted since the last delivery."""
        return self.deliver(self.new_events(), service=service)


#: Currencies whose Stripe units are their minor units (Stripe's special cases are not used here).
_PLAIN_CURRENCIES: Final = frozenset({"USD", "EUR", "GBP", "JPY"})


def _stripe_units(amount: Money) -> int:
    """Stripe's units of ``amount``, written out here (not with the code under test)."""
    assert amount.currency.code in _PLAIN_CURRENCIES, amount.currency
    return amount.minor


def of_type(events: list[JsonDict], *types: str) -> list[JsonDict]:
    return [e for e in events if e["type"] in types]


def reserved_minor(order: Order) -> int:
    """The sum of the order's refunds that hold part of the balance (B1), in minor units."""
    return sum(r.amount.minor for r in order.refunds if r.status.reserves)


def stored_refundable(order: Order, policy: FeePolicy = FeePolicy.NET_OF_FEES) -> Money:
    """The refundable balance from the stored order alone (no gateway read)."""
    assert order.payment is not None
    return refundable_balance(order.payment, order.refunds, policy).refundable


def statuses(order: Order) -> list[RefundStatus]:
    return [r.status for r in order.refunds]
