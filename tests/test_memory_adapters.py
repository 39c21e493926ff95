"""The in-memory adapters: order repository (L4), processed events (L5), manual clock and the
in-memory gateway over FakeStripe (error translation L2/L3, pagination, cross-currency B3)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest

from kanorio_refunds import (
    ActivityEntry,
    ActivityKind,
    Money,
    Order,
    OrderId,
    OrderStatus,
    RefundError,
    RefundId,
    RefundReason,
    RefundStatus,
    SiteId,
)
from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.memory import InMemoryOrderRepository, InMemoryProcessedEvents
from kanorio_refunds.domain import EventId
from kanorio_refunds.domain._ids import ChargeId, PaymentIntentId
from kanorio_refunds.domain._payment import RefundRequest, idempotency_key_for, refund_metadata
from kanorio_refunds.errors import (
    ConcurrencyConflict,
    GatewayRejected,
    GatewayUnavailable,
    OrderAlreadyExists,
    OrderNotFound,
)
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


def make_order(order_id: str = "o1", **changes: Any) -> Order:
    order = Order(
        id=OrderId(order_id),
        site_id=SiteId("shop-1"),
        total=usd("100.00"),
        status=OrderStatus.PAID,
    )
    return attrs.evolve(order, **changes)


def stripe_paid(stripe: FakeStripe, order_id: str = "o1") -> Order:
    return stripe_paid_order(
        stripe,
        order_id=order_id,
        site_id="shop-1",
        total=usd("100.00"),
        stripe_fee=usd("3.20"),
        platform_fee=usd("1.00"),
    )


def note(order: Order, text: str) -> Order:
    return order.with_activity(ActivityEntry(T0, ActivityKind.PAYMENT_UPDATED, text))


# ------------------------------------------------------------------ InMemoryOrderRepository


def test_add_stores_version_one_and_get_returns_it() -> None:
    """Repository: add stores a new order at version 1 whatever version it came with."""
    repo = InMemoryOrderRepository()

    added = repo.add(make_order(version=7))

    assert added.version == 1
    assert repo.get(OrderId("o1")) == added
    assert repo.all() == (added,)


def test_add_twice_is_refused() -> None:
    """Repository: adding an id that exists raises order_already_exists and keeps the first."""
    repo = InMemoryOrderRepository()
    first = repo.add(make_order())

    with pytest.raises(OrderAlreadyExists) as info:
        repo.add(note(make_order(), "second"))

    assert info.value.code == "order_already_exists"
    assert repo.get(OrderId("o1")) == first


def test_get_unknown_order_is_order_not_found() -> None:
    """Repository: an unknown id raises order_not_found."""
    with pytest.raises(OrderNotFound) as info:
        InMemoryOrderRepository().get(OrderId("nope"))
    assert info.value.code == "order_not_found"


def test_save_bumps_the_version() -> None:
    """L4: save(order, v) stores the order as version v + 1 and returns what was stored."""
    repo = InMemoryOrderRepository([make_order()])
    current = repo.get(OrderId("o1"))

    saved = repo.save(note(current, "one"), current.version)
    saved_again = repo.save(note(saved, "two"), saved.version)

    assert (saved.version, saved_again.version) == (2, 3)
    assert repo.get(OrderId("o1")) == saved_again
    assert [a.message for a in saved_again.activity] == ["one", "two"]


def test_stale_save_raises_concurrency_conflict_and_writes_nothing() -> None:
    """L4: a save against an old version raises concurrency_conflict and stores nothing."""
    repo = InMemoryOrderRepository([make_order()])
    base = repo.get(OrderId("o1"))
    winner = repo.save(note(base, "winner"), base.version)

    with pytest.raises(ConcurrencyConflict) as info:
        repo.save(note(base, "loser"), base.version)

    assert info.value.code == "concurrency_conflict"
    assert info.value.retryable
    assert repo.get(OrderId("o1")) == winner
    with pytest.raises(ConcurrencyConflict):
        repo.save(note(base, "from the future"), winner.version + 5)
    assert repo.get(OrderId("o1")) == winner


def test_replaying_a_save_conflicts() -> None:
    """L4: the very same save twice conflicts the second time (catches double submissions)."""
    repo = InMemoryOrderRepository([make_order()])
    base = repo.get(OrderId("o1"))
    changed = note(base, "once")
    repo.save(changed, base.version)

    with pytest.raises(ConcurrencyConflict):
        repo.save(changed, base.version)


def test_save_of_an_unknown_order_is_order_not_found() -> None:
    """Repository: save never creates an order; add does."""
    repo = InMemoryOrderRepository()
    with pytest.raises(OrderNotFound):
        repo.save(make_order(), 0)
    assert repo.all() == ()


def test_find_by_payment_by_intent_and_by_charge() -> None:
    """Repository: find_by_payment finds the order by its PaymentIntent or its Charge id, and
    returns None for a payment no order has."""
    stripe = FakeStripe()
    repo = InMemoryOrderRepository()
    first = repo.add(stripe_paid(stripe, "o1"))
    second = repo.add(stripe_paid(stripe, "o2"))
    repo.add(make_order("o3"))  # no payment at all
    assert first.payment is not None
    assert second.payment is not None

    assert repo.find_by_payment(first.payment.payment_intent_id, None) == first
    assert repo.find_by_payment(None, second.payment.charge_id) == second
    assert repo.find_by_payment(PaymentIntentId("pi_unknown"), second.payment.charge_id) == second
    assert repo.find_by_payment(PaymentIntentId("pi_unknown"), ChargeId("ch_unknown")) is None
    assert repo.find_by_payment(None, None) is None


def test_repository_is_safe_under_threads() -> None:
    """L4: many threads doing read-modify-save with retry on conflict lose no update."""
    repo = InMemoryOrderRepository([make_order()])
    per_thread = 25

    def work(name: str) -> None:
        for i in range(per_thread):
            while True:
                current = repo.get(OrderId("o1"))
                try:
                    repo.save(note(current, f"{name}-{i}"), current.version)
                    break
                except ConcurrencyConflict:
                    continue

    threads = [threading.Thread(target=work, args=(f"t{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)

    final = repo.get(OrderId("o1"))
    assert len(final.activity) == 4 * per_thread
    assert final.version == 1 + 4 * per_thread


# ------------------------------------------------------------------ InMemoryProcessedEvents


def test_processed_events_remember_ids_idempotently() -> None:
    """L5: an event id is unseen until recorded, seen afterwards; recording twice is harmless
    and other ids stay unseen."""
    events = InMemoryProcessedEvents()
    assert not events.seen(EventId("evt_1"))

    events.record(EventId("evt_1"))
    events.record(EventId("evt_1"))

    assert events.seen(EventId("evt_1"))
    assert not events.seen(EventId("evt_2"))


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


# ------------------------------------------------------------------ FakeStripeGateway: errors


@pytest.fixture
def stripe() -> FakeStripe:
    return FakeStripe()


@pytest.fixture
def gateway(stripe: FakeStripe) -> FakeStripeGateway:
    return FakeStripeGateway(stripe)


@pytest.fixture
def paid(stripe: FakeStripe) -> Order:
    return stripe_paid(stripe)


def request_for(order: Order, amount: str = "10.00", key: str = "rf_1") -> RefundRequest:
    assert order.payment is not None
    refund_id = RefundId(key)
    return RefundRequest(
        payment_intent_id=order.payment.payment_intent_id,
        charge_id=order.payment.charge_id,
        amount=usd(amount),
        reason=RefundReason.DUPLICATE,
        idempotency_key=idempotency_key_for(refund_id),
        metadata=refund_metadata(order.id, refund_id, RefundReason.DUPLICATE, "note"),
    )


UNAVAILABLE = [
    (Fault.CONNECTION_ERROR, None),
    (Fault.TIMEOUT_AFTER_CREATE, None),
    (Fault.RATE_LIMITED, 429),
    (Fault.CONFLICT, 409),
    (Fault.SERVER_ERROR, 500),
]


@pytest.mark.parametrize(("fault", "status"), UNAVAILABLE, ids=lambda v: str(v))
def test_create_refund_faults_become_gateway_unavailable(
    stripe: FakeStripe, gateway: FakeStripeGateway, paid: Order, fault: Fault, status: int | None
) -> None:
    """L2: connection errors, timeouts, 409, 429 and 500 on refund creation surface as
    gateway_unavailable (retryable); no FakeStripe exception escapes."""
    stripe.inject_fault(fault)

    with pytest.raises(RefundError) as info:
        gateway.create_refund(request_for(paid))

    error = info.value
    assert type(error) is GatewayUnavailable
    assert error.retryable
    assert not isinstance(
        error.__cause__, GatewayUnavailable
    )  # translated from the model's own error
    assert isinstance(error.__cause__, StripeApiError | StripeConnectionFault | StripeTimeoutFault)
    (record,) = [r for r in stripe.requests if r.operation == "create_refund"]
    assert record.fault is fault
    assert record.http_status == status


@pytest.mark.parametrize(
    "code", ["charge_disputed", "amount_too_large", "charge_already_refunded", "resource_missing"]
)
def test_create_refund_rejection_becomes_gateway_rejected_with_the_code(
    stripe: FakeStripe, gateway: FakeStripeGateway, paid: Order, code: str
) -> None:
    """L3: a definitive refusal surfaces as gateway_rejected carrying Stripe's code."""
    stripe.inject_fault(Fault.REJECT, code=code)

    with pytest.raises(GatewayRejected) as info:
        gateway.create_refund(request_for(paid))

    assert info.value.code == "gateway_rejected"
    assert info.value.gateway_code == code
    assert not info.value.retryable
    assert stripe.refunds_of(str(paid.payment.payment_intent_id if paid.payment else "")) == []


def test_real_stripe_refusals_are_translated_too(
    stripe: FakeStripe, gateway: FakeStripeGateway, paid: Order
) -> None:
    """L3: the model's own refusals (a disputed charge, too large an amount, the same key with
    other parameters) become gateway_rejected with Stripe's codes."""
    assert paid.payment is not None
    assert paid.payment.payment_intent_id
    with pytest.raises(GatewayRejected) as too_large:
        gateway.create_refund(request_for(paid, amount="100.01", key="rf_big"))
    assert too_large.value.gateway_code == "amount_too_large"

    gateway.create_refund(request_for(paid, amount="1.00", key="rf_same"))
    with pytest.raises(GatewayRejected) as reused:
        gateway.create_refund(request_for(paid, amount="2.00", key="rf_same"))
    assert reused.value.gateway_code == "idempotency_error"

    stripe.open_dispute(paid.payment.payment_intent_id)
    with pytest.raises(GatewayRejected) as disputed:
        gateway.create_refund(request_for(paid, key="rf_disputed"))
    assert disputed.value.gateway_code == "charge_disputed"


@pytest.mark.parametrize(("fault", "status"), UNAVAILABLE, ids=lambda v: str(v))
@pytest.mark.parametrize("operation", ["retrieve_payment_intent", "list_refunds"])
def test_read_faults_become_gateway_unavailable(
    stripe: FakeStripe,
    gateway: FakeStripeGateway,
    paid: Order,
    operation: str,
    fault: Fault,
    status: int | None,
) -> None:
    """L2, B4: a failing read of the payment or of its refunds surfaces as
    gateway_unavailable; the next read works."""
    assert paid.payment is not None
    stripe.inject_fault(fault, operation=operation)

    with pytest.raises(GatewayUnavailable):
        gateway.fetch_payment(paid.payment.payment_intent_id, None)

    assert gateway.fetch_payment(paid.payment.payment_intent_id, None).record == paid.payment


def test_fetch_of_an_unknown_payment_is_rejected(gateway: FakeStripeGateway) -> None:
    """L3: a payment Stripe does not know is gateway_rejected (resource_missing), not a crash."""
    with pytest.raises(GatewayRejected) as info:
        gateway.fetch_payment(PaymentIntentId("pi_missing"), None)
    assert info.value.gateway_code == "resource_missing"


def test_idempotent_create_returns_the_same_refund(
    stripe: FakeStripe, gateway: FakeStripeGateway, paid: Order
) -> None:
    """L1: the same request with the same key returns the same refund, made once."""
    first = gateway.create_refund(request_for(paid))
    second = gateway.create_refund(request_for(paid))

    assert second == first
    assert first.status is RefundStatus.SUCCEEDED
    assert first.local_refund_id == "rf_1"
    assert first.reason is RefundReason.DUPLICATE
    assert paid.payment is not None
    assert paid.payment.payment_intent_id
    assert len(stripe.refunds_of(paid.payment.payment_intent_id)) == 1
    assert [r.idempotent_replayed for r in stripe.requests if r.operation == "create_refund"] == [
        False,
        True,
    ]


# ------------------------------------------------------------------ FakeStripeGateway: reads


def test_fetch_payment_reads_fees_and_refunds(
    stripe: FakeStripe, gateway: FakeStripeGateway, paid: Order
) -> None:
    """B1, B4: the live read has the captured amount, both fees, Stripe's amount_refunded and
    every refund."""
    assert paid.payment is not None
    made = gateway.create_refund(request_for(paid, amount="12.00"))

    snapshot = gateway.fetch_payment(paid.payment.payment_intent_id, None)

    record = snapshot.record
    assert record.captured == usd("100.00")
    assert record.stripe_fee == usd("3.20")
    assert record.platform_fee == usd("1.00")
    assert record.amount_refunded == usd("12.00")
    assert record.exchange_rate is None
    assert not record.disputed
    assert snapshot.refunds == (made,)


def test_fetch_by_charge_only(stripe: FakeStripe, gateway: FakeStripeGateway, paid: Order) -> None:
    """B4: a payment known only by its Charge id is read through the charge."""
    assert paid.payment is not None
    gateway.create_refund(request_for(paid, amount="1.00"))

    by_charge = gateway.fetch_payment(None, paid.payment.charge_id)
    by_intent = gateway.fetch_payment(paid.payment.payment_intent_id, None)

    assert by_charge.record.charge_id == paid.payment.charge_id
    assert by_charge.record.captured == by_intent.record.captured
    assert by_charge.refunds == by_intent.refunds
    assert gateway.list_refunds(None, paid.payment.charge_id) == by_intent.refunds


def test_fetch_payment_collects_more_than_one_page_of_refunds(
    stripe: FakeStripe, gateway: FakeStripeGateway, paid: Order
) -> None:
    """B4: with 130 refunds (Stripe pages hold at most 100) every refund is read, oldest first,
    by following the cursor."""
    assert paid.payment is not None
    assert paid.payment.payment_intent_id
    pi = paid.payment.payment_intent_id
    for _ in range(130):
        stripe.create_refund({"payment_intent": pi, "amount": 7})
    made = [r["id"] for r in stripe.refunds_of(pi)]

    snapshot = gateway.fetch_payment(pi, None)

    assert [r.id for r in snapshot.refunds] == made
    assert len({r.id for r in snapshot.refunds}) == 130
    assert snapshot.record.amount_refunded == Money.from_minor(130 * 7, "USD")
    pages = [r for r in stripe.requests if r.operation == "list_refunds"]
    assert len(pages) == 2
    assert pages[1].params["starting_after"] == made[30]  # the oldest of the newest 100
    assert gateway.list_refunds(pi, None) == snapshot.refunds


def test_fetch_with_exactly_one_full_page(
    stripe: FakeStripe, gateway: FakeStripeGateway, paid: Order
) -> None:
    """B4: exactly 100 refunds need one page only (has_more is false)."""
    assert paid.payment is not None
    assert paid.payment.payment_intent_id
    pi = paid.payment.payment_intent_id
    for _ in range(100):
        stripe.create_refund({"payment_intent": pi, "amount": 1})

    assert len(gateway.fetch_payment(pi, None).refunds) == 100
    assert len([r for r in stripe.requests if r.operation == "list_refunds"]) == 1


def test_fetch_cross_currency_payment(stripe: FakeStripe, gateway: FakeStripeGateway) -> None:
    """B3: a USD payment settled in EUR at 0.92: fees are read in EUR with the exact Decimal
    exchange rate; the captured amount and refunds stay in USD."""
    order = stripe_paid_order(
        stripe,
        order_id="o-fx",
        site_id="shop-1",
        total=usd("100.00"),
        stripe_fee=Money.parse("2.95", "EUR"),
        platform_fee=Money.parse("0.92", "EUR"),
        exchange_rate=Decimal("0.92"),
    )
    assert order.payment is not None
    assert order.payment.payment_intent_id

    snapshot = gateway.fetch_payment(order.payment.payment_intent_id, None)

    record = snapshot.record
    assert record.captured == usd("100.00")
    assert record.settlement_currency.code == "EUR"
    assert record.stripe_fee == Money.parse("2.95", "EUR")
    assert record.platform_fee == Money.parse("0.92", "EUR")
    assert record.exchange_rate == Decimal("0.92")
    assert str(record.exchange_rate) == "0.92"  # exact, never a float's expansion
    assert record == order.payment
    made = gateway.create_refund(request_for(order, amount="10.00"))
    assert made.amount == usd("10.00")
    assert gateway.fetch_payment(order.payment.payment_intent_id, None).record.amount_refunded == (
        usd("10.00")
    )
