"""Issue 10, goal 1: how many Stripe round trips each use case costs, counted exactly.

``RefundService`` over ``StripeGateway`` and the real ``stripe`` SDK, talking to the simulator
through the fake HTTP transport, which records every request. A live read is one request for a
payment with up to 10 refunds (the PaymentIntent with ``latest_charge.balance_transaction`` and
``latest_charge.refunds`` expanded; Stripe's expanded ``refunds`` holds the 10 newest), plus
one ``GET /v1/refunds?charge=…&starting_after=…&limit=100`` per further 100 refunds, plus one
``GET /v1/disputes?charge=…`` when Stripe flags the charge disputed (E5: ``charge.disputed``
stays true after a won dispute, so the disputes themselves say whether refunds are blocked).

Counts only, never times: the transport's log is deterministic.
"""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from kanorio_refunds import (
    Actor,
    ActorId,
    Money,
    OrderId,
    RefundService,
    RefundStatus,
    Role,
    SiteId,
)
from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.memory import InMemoryOrderRepository
from kanorio_refunds.adapters.stripe import StripeGateway
from kanorio_refunds.domain import EventEffect, Order
from kanorio_refunds.testing.fake_stripe import FakeStripe, gateway_events, stripe_paid_order
from kanorio_refunds.testing.stripe_http import FakeStripeHTTPClient, make_client, transport_of

OWNER = Actor(ActorId("owner"), {SiteId("shop"): Role.OWNER})
ORDER = OrderId("ord_1")


def expected_reads(refunds: int, *, disputed: bool = False) -> int:
    """One request per live read, one per further 100 refunds beyond the 10 expanded, one for
    the dispute listing of a charge flagged disputed."""
    return 1 + math.ceil(max(refunds - 10, 0) / 100) + (1 if disputed else 0)


class World:
    """A service on the real SDK over the simulator, an order with ``refunds`` refunds made at
    Stripe (already synced, so the counted calls start from a known order)."""

    def __init__(self, refunds: int = 0, *, disputed: bool = False, status: str = "succeeded"):
        self.clock = ManualClock(tick=timedelta(seconds=1))
        self.stripe = FakeStripe(clock=self.clock.unix_seconds, default_refund_status=status)
        self.client = make_client(self.stripe)
        self.transport: FakeStripeHTTPClient = transport_of(self.client)
        self.orders = InMemoryOrderRepository()
        self.service = RefundService(
            orders=self.orders, gateway=StripeGateway(client=self.client), clock=self.clock
        )
        order = stripe_paid_order(
            self.stripe,
            order_id=ORDER,
            site_id="shop",
            total=Money.parse("10000.00", "USD"),
            stripe_fee=Money.parse("3.20", "USD"),
        )
        self.orders.add(order)
        for i in range(refunds):
            self.stripe.create_refund(
                {"payment_intent": self.intent, "amount": 1}, idempotency_key=f"dash-{i}"
            )
        if disputed:
            self.stripe.open_dispute(self.intent)
            self.stripe.close_dispute(self.intent, "won")
        self.service.sync(ORDER)
        assert len(self.orders.get(ORDER).refunds) == refunds

    @property
    def intent(self) -> str:
        payment = self.orders.get(ORDER).payment
        assert payment is not None
        assert payment.payment_intent_id is not None
        return payment.payment_intent_id

    def count(self) -> int:
        return len(self.transport.requests)

    def order(self) -> Order:
        return self.orders.get(ORDER)


SIZES = [0, 1, 10, 11, 110, 111, 250]


@pytest.mark.parametrize("refunds", SIZES)
def test_quote_is_one_read(refunds: int) -> None:
    """B4, F1: a quote reads the payment live once."""
    world = World(refunds)
    before = world.count()

    world.service.quote(ORDER, OWNER, Money.parse("1.00", "USD"))

    assert world.count() - before == expected_reads(refunds)
    world.transport.assert_no_violations()


@pytest.mark.parametrize("refunds", SIZES)
def test_process_is_one_read_and_one_create(refunds: int) -> None:
    """B4, F2, L1: processing reads live once (fresh data) and creates the refund once."""
    world = World(refunds)
    quote = world.service.quote(ORDER, OWNER, Money.parse("1.00", "USD"))
    before = len(world.transport.requests)

    refund = world.service.process(quote, OWNER)

    sent = world.transport.requests[before:]
    assert refund.status is RefundStatus.SUCCEEDED
    assert len(sent) == expected_reads(refunds) + 1
    assert [r.operation for r in sent].count("POST /v1/refunds") == 1
    assert sent[-1].operation == "POST /v1/refunds"


@pytest.mark.parametrize("refunds", SIZES)
def test_eligibility_sync_and_live_details_are_one_read(refunds: int) -> None:
    """B4, E1–E5, L2: eligibility, sync and live order details read the payment once each."""
    world = World(refunds)
    reads = expected_reads(refunds)

    for use_case in (
        lambda: world.service.eligibility(ORDER, OWNER),
        lambda: world.service.sync(ORDER),
        lambda: world.service.order_details(ORDER, OWNER, live=True),
    ):
        before = world.count()
        use_case()
        assert world.count() - before == reads


def test_stored_order_details_send_nothing() -> None:
    """F3: the order page from stored data asks Stripe nothing."""
    world = World(3)
    before = world.count()

    world.service.order_details(ORDER, OWNER)

    assert world.count() == before


@pytest.mark.parametrize("refunds", [0, 10, 11])
def test_a_disputed_charge_costs_its_dispute_listing(refunds: int) -> None:
    """E5: a charge Stripe flags disputed has its disputes listed: one request more (and
    still one per further 100 refunds)."""
    world = World(refunds, disputed=True)
    before = world.count()

    world.service.quote(ORDER, OWNER, Money.parse("1.00", "USD"))

    sent = world.transport.requests[before:]
    assert len(sent) == expected_reads(refunds, disputed=True)
    assert [r.operation for r in sent].count("GET /v1/disputes") == 1


@pytest.mark.parametrize("refunds", [0, 9, 150])
def test_a_webhook_for_a_known_refund_sends_nothing(refunds: int) -> None:
    """L6: a signed event moving a refund the order knows (by its Stripe id, same amount) is
    applied without a Stripe read: refund.created echoing our own refund, then its
    charge.refund.updated when it succeeds."""
    world = World(refunds, status="pending")
    quote = world.service.quote(ORDER, OWNER, Money.parse("1.00", "USD"))
    made = world.service.process(quote, OWNER)
    assert made.gateway_refund_id is not None
    world.stripe.set_refund_status(made.gateway_refund_id, "succeeded")
    events = [
        e
        for e in gateway_events(world.stripe.events())
        if e.kind.reports_refunds and any(r.id == made.gateway_refund_id for r in e.refunds)
    ]
    assert {e.type for e in events} >= {"refund.created"}
    assert events
    before = world.count()

    outcomes = [world.service.apply_event(event) for event in events]

    assert world.count() == before
    assert EventEffect.APPLIED in {o.effect for o in outcomes}
    assert world.order().refund(made.id).status is RefundStatus.SUCCEEDED


@pytest.mark.parametrize("refunds", [0, 11])
def test_a_quote_and_its_processing_are_three_round_trips(refunds: int) -> None:
    """B4 at both clicks, issue 10: Confirm + Process = 3 round trips (5 before)."""
    world = World(refunds)
    before = world.count()

    world.service.process(world.service.quote(ORDER, OWNER, Money.parse("1.00", "USD")), OWNER)

    assert world.count() - before == 2 * expected_reads(refunds) + 1
