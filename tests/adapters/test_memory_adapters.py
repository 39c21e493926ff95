"""The in-process adapters beyond their port contracts (the promises of ``OrderRepository``,
``ProcessedEvents`` and ``PaymentGateway`` are proven by the shipped suites, in tests/contract):
what ``InMemoryOrderRepository`` offers on top of its port, ``ManualClock``
(``adapters.clock``), and how ``FakeStripeGateway`` translates the simulator's own errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from kanorio_refunds import Money, Order, OrderId, OrderStatus, RefundReason, SiteId
from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.memory import InMemoryOrderRepository
from kanorio_refunds.domain import RefundRequest
from kanorio_refunds.errors import GatewayUnavailable, OrderAlreadyExists, OrderNotFound
from kanorio_refunds.testing.fake_stripe import (
    FakeStripe,
    FakeStripeGateway,
    Fault,
    StripeApiError,
    StripeConnectionFault,
    StripeTimeoutFault,
    stripe_paid_order,
)

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


def make_order(order_id: str = "o1", version: int = 0) -> Order:
    return Order(
        id=OrderId(order_id),
        site_id=SiteId("shop-1"),
        total=usd("100.00"),
        status=OrderStatus.PAID,
        version=version,
    )


# ------------------------------------------------------------------ InMemoryOrderRepository


def test_repository_starts_with_the_orders_it_is_given() -> None:
    """Repository: orders passed to the constructor are added (at version 1, in order); a
    repeated id among them is refused like a second ``add``."""
    repo = InMemoryOrderRepository([make_order("o1", version=4), make_order("o2")])

    assert [(o.id, o.version) for o in repo.all()] == [("o1", 1), ("o2", 1)]
    with pytest.raises(OrderAlreadyExists):
        InMemoryOrderRepository([make_order("o1"), make_order("o1")])


def test_all_lists_what_is_stored_and_nothing_else() -> None:
    """Repository: ``all()`` (for tests and scripts) returns every stored order at its latest
    version; a save of an unknown order adds nothing to it."""
    repo = InMemoryOrderRepository()
    assert repo.all() == ()

    added = repo.add(make_order("o1"))
    saved = repo.save(make_order("o1"), added.version)
    with pytest.raises(OrderNotFound):
        repo.save(make_order("o2"), 0)

    assert repo.all() == (saved,)


# ------------------------------------------------------------------ ManualClock


def test_manual_clock_ticks_on_every_read() -> None:
    """Clock: with a tick, each now() returns the current time and then advances."""
    clock = ManualClock(T0, tick=timedelta(seconds=2))

    assert [clock.now() for _ in range(3)] == [
        T0,
        T0 + timedelta(seconds=2),
        T0 + timedelta(seconds=4),
    ]


def test_manual_clock_without_tick_stands_still_until_advanced() -> None:
    """Clock: without a tick time stands still; advance moves it by a timedelta or seconds."""
    clock = ManualClock(T0)
    assert clock.now() == clock.now() == T0

    assert clock.advance(timedelta(minutes=1)) == T0 + timedelta(minutes=1)
    assert clock.advance(30) == T0 + timedelta(seconds=90)
    assert clock.now() == T0 + timedelta(seconds=90)
    assert clock.now().tzinfo is not None


def test_manual_clock_never_goes_back() -> None:
    """Clock: advancing by a negative amount is refused and leaves the time unchanged."""
    clock = ManualClock(T0)

    with pytest.raises(ValueError, match="backwards"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-5)

    assert clock.now() == T0


def test_manual_clock_refuses_naive_datetimes() -> None:
    """Clock: a naive start time is refused; an aware non-UTC one is accepted."""
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2026, 1, 1, 12, 0))

    plus_two = timezone(timedelta(hours=2))
    assert ManualClock(datetime(2026, 1, 1, 14, 0, tzinfo=plus_two)).now() == datetime(
        2026, 1, 1, 12, 0, tzinfo=UTC
    )


def test_manual_clock_unix_seconds_for_fake_stripe() -> None:
    """Clock: unix_seconds is the clock's time in whole seconds (and ticks like now())."""
    clock = ManualClock(T0, tick=timedelta(seconds=1))

    assert clock.unix_seconds() == int(T0.timestamp())
    assert clock.unix_seconds() == int(T0.timestamp()) + 1


# ------------------------------------------------------------------ FakeStripeGateway


UNAVAILABLE = [
    (Fault.CONNECTION_ERROR, None),
    (Fault.TIMEOUT_AFTER_CREATE, None),
    (Fault.RATE_LIMITED, 429),
    (Fault.CONFLICT, 409),
    (Fault.SERVER_ERROR, 500),
]


@pytest.mark.parametrize(("fault", "status"), UNAVAILABLE, ids=lambda v: str(v))
def test_simulator_faults_become_gateway_unavailable_with_their_cause(
    fault: Fault, status: int | None
) -> None:
    """L2: connection errors, timeouts, 409, 429 and 500 of the simulator reach the caller as
    ``GatewayUnavailable`` only, chained to the simulator's own exception (kept as the cause
    for debugging); the simulator logged the call with the fault and its HTTP status."""
    stripe = FakeStripe()
    gateway = FakeStripeGateway(stripe)
    paid = stripe_paid_order(
        stripe,
        order_id="o1",
        site_id="shop-1",
        total=usd("100.00"),
        stripe_fee=usd("3.20"),
        platform_fee=usd("1.00"),
    )
    assert paid.payment is not None
    request = RefundRequest(
        payment_intent_id=paid.payment.payment_intent_id,
        charge_id=paid.payment.charge_id,
        amount=usd("10.00"),
        reason=RefundReason.DUPLICATE,
        idempotency_key="kanorio-refund-rf_1",
        metadata={"kanorio_order_id": "o1", "kanorio_refund_id": "rf_1"},
    )
    stripe.inject_fault(fault)

    with pytest.raises(GatewayUnavailable) as info:
        gateway.create_refund(request)

    error = info.value
    assert type(error) is GatewayUnavailable
    assert isinstance(error.__cause__, StripeApiError | StripeConnectionFault | StripeTimeoutFault)
    (record,) = [r for r in stripe.requests if r.operation == "create_refund"]
    assert record.fault is fault
    assert record.http_status == status
