"""I1, I2, O1: registering orders for payments, payment outcomes moving them, and what events
report. The gateway is a small fake whose payments the test moves through Stripe's lifecycle
(the Stripe-shaped reading is tested in test_stripe_lifecycle.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest

from kanorio_refunds import RefundService
from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.memory import InMemoryOrderRepository, InMemoryProcessedEvents
from kanorio_refunds.domain import (
    Actor,
    ActorId,
    ChargeId,
    Currency,
    EventEffect,
    EventId,
    EventKind,
    GatewayEvent,
    LivePayment,
    Money,
    OrderId,
    OrderStatus,
    PaymentIntentId,
    PaymentRecord,
    PaymentState,
    Role,
    SiteId,
)
from kanorio_refunds.domain._payment import GatewayRefund, RefundRequest
from kanorio_refunds.errors import (
    InvalidCursor,
    InvalidPaymentRecord,
    OrderConflict,
    PermissionDenied,
)

_T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
USD = Currency.of("USD")


def _usd(text: str) -> Money:
    return Money.parse(text, "USD")


class LifecycleGateway:
    """A PaymentGateway fake: payments by PaymentIntent id, in a state the test sets."""

    def __init__(self) -> None:
        self.payments: dict[str, LivePayment] = {}

    def pay(self, pi: str, state: PaymentState, amount: str = "50.00") -> None:
        captured = _usd(amount) if state is PaymentState.PAID else _usd("0")
        record = PaymentRecord(
            payment_intent_id=PaymentIntentId(pi),
            charge_id=ChargeId(f"ch_{pi}") if state is PaymentState.PAID else None,
            captured=captured,
            stripe_fee=_usd("1.75") if state is PaymentState.PAID else _usd("0"),
            platform_fee=_usd("0"),
            settlement_currency=USD,
            amount_refunded=_usd("0"),
        )
        self.payments[pi] = LivePayment(record=record, state=state, amount=_usd(amount))

    def fetch_payment(
        self, payment_intent_id: PaymentIntentId | None, charge_id: ChargeId | None
    ) -> LivePayment:
        return self.payments[str(payment_intent_id)]

    def create_refund(self, request: RefundRequest) -> GatewayRefund:  # pragma: no cover
        raise AssertionError("no refunds here")


@attrs.define
class World:
    gateway: LifecycleGateway
    orders: InMemoryOrderRepository
    service: RefundService


@pytest.fixture
def world() -> World:
    gateway = LifecycleGateway()
    orders = InMemoryOrderRepository()
    service = RefundService(
        orders,
        gateway,
        ManualClock(_T0),
        processed_events=InMemoryProcessedEvents(),
    )
    return World(gateway, orders, service)


def _event(n: int, kind: EventKind, pi: str = "pi_1") -> GatewayEvent:
    return GatewayEvent(
        id=EventId(f"evt_{n}"),
        kind=kind,
        type=f"payment_intent.{kind.value}",
        created_at=_T0,
        payment_intent_id=PaymentIntentId(pi),
    )


@pytest.mark.parametrize(
    ("state", "status"),
    [
        (PaymentState.PENDING, OrderStatus.PENDING),
        (PaymentState.PAID, OrderStatus.PAID),
        (PaymentState.FAILED, OrderStatus.PAYMENT_FAILED),
        (PaymentState.EXPIRED, OrderStatus.EXPIRED),
    ],
)
def test_an_order_is_registered_in_the_status_its_payment_gives(
    world: World, state: PaymentState, status: OrderStatus
) -> None:
    """I1: the order takes the payment's record, amount and a status following its state."""
    world.gateway.pay("pi_1", state)
    order = world.service.register_order(OrderId("o1"), SiteId("shop"), payment_intent_id="pi_1")
    assert order.status is status
    assert order.total == _usd("50.00")
    assert order.payment is not None
    assert order.payment.payment_intent_id == "pi_1"
    assert "registered" in order.activity[0].message


def test_registering_twice_is_idempotent(world: World) -> None:
    """I1: the same registration again returns the stored order; nothing is added."""
    world.gateway.pay("pi_1", PaymentState.PAID)
    first = world.service.register_order(OrderId("o1"), SiteId("shop"), payment_intent_id="pi_1")
    again = world.service.register_order(OrderId("o1"), SiteId("shop"), payment_intent_id="pi_1")
    assert again == first
    assert len(world.orders.all()) == 1


def test_a_conflicting_registration_is_an_order_conflict(world: World) -> None:
    """I1: another site, another payment, another amount, or the payment of another order."""
    world.gateway.pay("pi_1", PaymentState.PAID)
    world.gateway.pay("pi_2", PaymentState.PAID)
    world.service.register_order(OrderId("o1"), SiteId("shop"), payment_intent_id="pi_1")
    with pytest.raises(OrderConflict, match="site shop, not other") as caught:
        world.service.register_order(OrderId("o1"), SiteId("other"), payment_intent_id="pi_1")
    assert caught.value.code == "order_conflict"
    with pytest.raises(OrderConflict, match="paid by pi_1, not pi_2"):
        world.service.register_order(OrderId("o1"), SiteId("shop"), payment_intent_id="pi_2")
    with pytest.raises(OrderConflict, match="already belongs to order o1"):
        world.service.register_order(OrderId("o2"), SiteId("shop"), payment_intent_id="pi_1")
    world.gateway.pay("pi_1", PaymentState.PAID, amount="60.00")
    with pytest.raises(OrderConflict, match=r"total is 50\.00 USD"):
        world.service.register_order(OrderId("o1"), SiteId("shop"), payment_intent_id="pi_1")


def test_registering_needs_a_payment_id(world: World) -> None:
    """I1: without a PaymentIntent or Charge id there is nothing to register."""
    with pytest.raises(InvalidPaymentRecord, match="PaymentIntent id"):
        world.service.register_order(OrderId("o1"), SiteId("shop"))
    with pytest.raises(InvalidPaymentRecord, match="non-blank"):
        world.service.register_order(OrderId("o1"), SiteId("shop"), payment_intent_id=" ")


@pytest.mark.parametrize(
    ("events", "status"),
    [
        ([(PaymentState.PAID, EventKind.PAYMENT_SUCCEEDED)], OrderStatus.PAID),
        ([(PaymentState.FAILED, EventKind.PAYMENT_FAILED)], OrderStatus.PAYMENT_FAILED),
        ([(PaymentState.EXPIRED, EventKind.PAYMENT_CANCELED)], OrderStatus.EXPIRED),
        (
            [
                (PaymentState.FAILED, EventKind.PAYMENT_FAILED),
                (PaymentState.PAID, EventKind.PAYMENT_SUCCEEDED),
            ],
            OrderStatus.PAID,
        ),
        (
            [
                (PaymentState.FAILED, EventKind.PAYMENT_FAILED),
                (PaymentState.EXPIRED, EventKind.PAYMENT_CANCELED),
            ],
            OrderStatus.EXPIRED,
        ),
    ],
)
def test_payment_events_move_a_pending_order(
    world: World, events: list[tuple[PaymentState, EventKind]], status: OrderStatus
) -> None:
    """I2, S2: each event makes the service read the payment; the order follows its live
    state, a failed payment may still be paid on a retry, an expired one is final."""
    world.gateway.pay("pi_1", PaymentState.PENDING)
    world.service.register_order(OrderId("o1"), SiteId("shop"), payment_intent_id="pi_1")
    for n, (state, kind) in enumerate(events):
        world.gateway.pay("pi_1", state)
        outcome = world.service.apply_event(_event(n, kind))
        assert outcome.effect is EventEffect.APPLIED
        assert outcome.entries
        assert outcome.entries[-1].message in outcome.message
    assert world.orders.get(OrderId("o1")).status is status


def test_payment_events_are_order_insensitive_and_deduplicated(world: World) -> None:
    """I2, L5: a late payment_failed after the payment succeeded moves nothing (the live read
    says paid), and a redelivered event is a duplicate."""
    world.gateway.pay("pi_1", PaymentState.PENDING)
    world.service.register_order(OrderId("o1"), SiteId("shop"), payment_intent_id="pi_1")
    world.gateway.pay("pi_1", PaymentState.PAID)
    succeeded = _event(2, EventKind.PAYMENT_SUCCEEDED)
    assert world.service.apply_event(succeeded).effect is EventEffect.APPLIED
    late = world.service.apply_event(_event(1, EventKind.PAYMENT_FAILED))
    assert late.effect is EventEffect.UNCHANGED
    assert late.entries == ()
    assert late.message
    assert world.service.apply_event(succeeded).effect is EventEffect.DUPLICATE
    assert world.orders.get(OrderId("o1")).status is OrderStatus.PAID


def test_an_expired_order_stays_expired(world: World) -> None:
    """I2, S2: EXPIRED is final whatever the gateway reports later."""
    world.gateway.pay("pi_1", PaymentState.EXPIRED)
    world.service.register_order(OrderId("o1"), SiteId("shop"), payment_intent_id="pi_1")
    world.gateway.pay("pi_1", PaymentState.PAID)
    world.service.sync(OrderId("o1"))
    assert world.orders.get(OrderId("o1")).status is OrderStatus.EXPIRED


def test_sync_moves_the_order_and_the_job_lists_it_until_settled(world: World) -> None:
    """I2: sync follows the payment too; orders_needing_sync lists a pending payment only
    until it is settled."""
    world.gateway.pay("pi_1", PaymentState.PENDING)
    world.gateway.pay("pi_2", PaymentState.PAID)
    world.service.register_order(OrderId("o1"), SiteId("shop"), payment_intent_id="pi_1")
    world.service.register_order(OrderId("o2"), SiteId("shop"), payment_intent_id="pi_2")
    assert world.service.orders_needing_sync() == ("o1",)
    world.gateway.pay("pi_1", PaymentState.PAID)
    for order_id in world.service.orders_needing_sync():
        world.service.sync(order_id)
    assert world.orders.get(OrderId("o1")).status is OrderStatus.PAID
    assert world.service.orders_needing_sync() == ()


def test_the_feed_has_every_entry_the_service_saved(world: World) -> None:
    """O1: registration and status changes appear in the feed, in order, with their order."""
    world.gateway.pay("pi_1", PaymentState.PENDING)
    world.service.register_order(OrderId("o1"), SiteId("shop"), payment_intent_id="pi_1")
    world.gateway.pay("pi_1", PaymentState.PAID)
    outcome = world.service.apply_event(_event(1, EventKind.PAYMENT_SUCCEEDED))
    feed = world.service.feed()
    assert [f.position for f in feed] == [1, 2]
    assert feed[1].entry == outcome.entries[0]
    assert "Pending to Paid" in feed[1].entry.message
    assert world.service.feed(after=1) == feed[1:]
    with pytest.raises(ValueError, match="limit"):
        world.service.feed(limit=0)


def test_transactions_are_for_owners_and_admins_newest_first(world: World) -> None:
    """O2, E2: the site's list, newest first, paged; others are refused; a bad cursor is an
    InvalidCursor."""
    for n in range(3):
        world.gateway.pay(f"pi_{n}", PaymentState.PAID)
        world.service.register_order(OrderId(f"o{n}"), SiteId("shop"), payment_intent_id=f"pi_{n}")
    owner = Actor(ActorId("u1"), {SiteId("shop"): Role.OWNER})
    page = world.service.transactions(SiteId("shop"), owner, limit=2)
    assert [r.order_id for r in page.rows] == ["o2", "o1"]
    assert page.rows[0].refundable == _usd("48.25")
    assert page.rows[0].last_activity_at == _T0
    rest = world.service.transactions(SiteId("shop"), owner, after=page.next_cursor)
    assert [r.order_id for r in rest.rows] == ["o0"]
    assert rest.next_cursor is None
    paid = world.service.transactions(SiteId("shop"), owner, status=OrderStatus.PENDING)
    assert paid.rows == ()
    other = Actor(ActorId("u2"), {SiteId("elsewhere"): Role.ADMINISTRATOR})
    with pytest.raises(PermissionDenied):
        world.service.transactions(SiteId("shop"), other)
    with pytest.raises(InvalidCursor):
        world.service.transactions(SiteId("shop"), owner, after="nonsense")
