"""The ``OrderRepository`` port contract, run against every repository in
``conftest.REPOSITORY_FACTORIES`` (the in-memory one here; a host adds its SQL one).

What the service relies on (L4): orders come back equal to what was stored, versions start at 1
and move by one per save, a save with a stale version conflicts and writes nothing (so two
processes can never both act on the same version), and orders are found by their payment.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest

from kanorio_refunds.domain._ids import (
    ActorId,
    ChargeId,
    EventId,
    GatewayRefundId,
    OrderId,
    PaymentIntentId,
    QuoteId,
    RefundId,
    SiteId,
)
from kanorio_refunds.domain._money import Currency, Money
from kanorio_refunds.domain._order import ActivityEntry, ActivityKind, Order, OrderStatus
from kanorio_refunds.domain._payment import PaymentRecord
from kanorio_refunds.domain._refund import (
    Refund,
    RefundEventEntry,
    RefundOrigin,
    RefundReason,
    RefundStatus,
)
from kanorio_refunds.errors import ConcurrencyConflict, OrderAlreadyExists, OrderNotFound
from kanorio_refunds.ports import OrderRepository

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _usd(text: str) -> Money:
    return Money.parse(text, "USD")


def _payment(n: int = 1, *, charge_only: bool = False) -> PaymentRecord:
    return PaymentRecord(
        payment_intent_id=None if charge_only else PaymentIntentId(f"pi_{n}"),
        charge_id=ChargeId(f"ch_{n}"),
        captured=_usd("100.00"),
        stripe_fee=_usd("3.20"),
        platform_fee=_usd("1.00"),
        settlement_currency=Currency.of("USD"),
        amount_refunded=_usd("0"),
    )


def _order(n: int = 1, *, payment: PaymentRecord | None = None, version: int = 0) -> Order:
    return Order(
        id=OrderId(f"ord_{n}"),
        site_id=SiteId("shop-1"),
        total=_usd("100.00"),
        status=OrderStatus.PAID,
        payment=payment if payment is not None else _payment(n),
        version=version,
    )


def _rich_order() -> Order:
    """An order using every field: cross-currency payment, refunds in several states with event
    timelines, Unicode notes, revoked buyer access, an activity timeline."""
    payment = PaymentRecord(
        payment_intent_id=PaymentIntentId("pi_rich"),
        charge_id=ChargeId("ch_rich"),
        captured=_usd("100.00"),
        stripe_fee=Money.parse("2.51", "EUR"),
        platform_fee=Money.parse("0.90", "EUR"),
        settlement_currency=Currency.of("EUR"),
        amount_refunded=_usd("12.00"),
        exchange_rate=Decimal("0.912345"),
        disputed=False,
    )
    succeeded = Refund(
        id=RefundId("rf_1"),
        order_id=OrderId("ord_rich"),
        amount=_usd("10.00"),
        status=RefundStatus.SUCCEEDED,
        created_at=T0,
        origin=RefundOrigin.LOCAL,
        reason=RefundReason.OTHER,
        notes="Café ✓ — line one\nline two\ttabbed",
        requested_by=ActorId("owner-1"),
        quote_id=QuoteId("q_1"),
        gateway_refund_id=GatewayRefundId("re_1"),
        status_as_of=T0 + timedelta(seconds=5),
        events=(
            RefundEventEntry(
                EventId("evt_1"), "refund.created", T0, RefundStatus.PENDING, applied=True
            ),
            RefundEventEntry(
                EventId("evt_2"),
                "refund.updated",
                T0 + timedelta(seconds=5),
                RefundStatus.SUCCEEDED,
                applied=True,
            ),
        ),
    )
    failed = Refund(
        id=RefundId("rf_2"),
        order_id=OrderId("ord_rich"),
        amount=_usd("5.00"),
        status=RefundStatus.FAILED,
        created_at=T0 + timedelta(minutes=1),
        origin=RefundOrigin.EXTERNAL,
        gateway_refund_id=GatewayRefundId("re_2"),
        failure_reason="expired_or_canceled_card",
    )
    submitting = Refund(
        id=RefundId("rf_3"),
        order_id=OrderId("ord_rich"),
        amount=_usd("2.00"),
        status=RefundStatus.SUBMITTING,
        created_at=T0 + timedelta(minutes=2),
        origin=RefundOrigin.LOCAL,
        reason=RefundReason.DUPLICATE,
        requested_by=ActorId("admin-1"),
        quote_id=QuoteId("q_3"),
    )
    return Order(
        id=OrderId("ord_rich"),
        site_id=SiteId("shop-1"),
        total=_usd("100.00"),
        status=OrderStatus.PARTIALLY_REFUNDED,
        payment=payment,
        refunds=(succeeded, failed, submitting),
        buyer_access=False,
        activity=(
            ActivityEntry(
                T0,
                ActivityKind.REFUND_REQUESTED,
                "owner-1 requested 10.00 USD",
                actor_id=ActorId("owner-1"),
                refund_id=RefundId("rf_1"),
            ),
            ActivityEntry(
                T0 + timedelta(minutes=3),
                ActivityKind.BUYER_ACCESS_REVOKED,
                "admin-1 revoked buyer access",
                actor_id=ActorId("admin-1"),
            ),
        ),
    )


def test_get_of_an_unknown_order_is_order_not_found(repository: OrderRepository) -> None:
    """An id nobody added is ``OrderNotFound``."""
    with pytest.raises(OrderNotFound):
        repository.get(OrderId("ord_missing"))


def test_add_stores_version_one_and_get_returns_an_equal_order(
    repository: OrderRepository,
) -> None:
    """L4: a new order is stored at version 1 (whatever version it came with) and read back
    equal, field for field."""
    added = repository.add(_order(version=7))

    assert added.version == 1
    assert added == attrs.evolve(_order(), version=1)
    assert repository.get(OrderId("ord_1")) == added


def test_every_field_round_trips(repository: OrderRepository) -> None:
    """F3: refunds (statuses, reasons, Unicode notes, event timelines, failure reasons),
    the cross-currency payment (exact exchange rate), buyer access and the activity timeline
    all come back equal."""
    order = _rich_order()

    added = repository.add(order)
    saved = repository.save(attrs.evolve(added, buyer_access=True), 1)

    assert added == attrs.evolve(order, version=1)
    assert repository.get(order.id) == saved
    assert saved.version == 2
    assert saved.buyer_access is True
    got = repository.get(order.id)
    assert got.payment is not None
    assert got.payment.exchange_rate == Decimal("0.912345")
    assert got.refunds[0].events == order.refunds[0].events
    assert got.refunds[0].notes == order.refunds[0].notes


def test_adding_an_existing_id_is_refused_and_keeps_the_first(
    repository: OrderRepository,
) -> None:
    """An id is added once; a second add is ``OrderAlreadyExists`` and changes nothing."""
    first = repository.add(_order())

    with pytest.raises(OrderAlreadyExists):
        repository.add(attrs.evolve(_order(), buyer_access=False))

    assert repository.get(first.id) == first


def test_save_with_the_current_version_moves_it_by_one(repository: OrderRepository) -> None:
    """L4: save(order, expected_version) stores expected_version + 1 and returns what it
    stored."""
    stored = repository.add(_order())

    saved = repository.save(attrs.evolve(stored, buyer_access=False), stored.version)
    again = repository.save(attrs.evolve(saved, buyer_access=True), saved.version)

    assert (saved.version, again.version) == (2, 3)
    assert repository.get(stored.id) == again


def test_save_with_a_stale_version_conflicts_and_writes_nothing(
    repository: OrderRepository,
) -> None:
    """L4: a save from an out-of-date read is ``ConcurrencyConflict`` and stores nothing; a
    replay of a save that already happened conflicts too (that is how double submits show)."""
    stored = repository.add(_order())
    changed = repository.save(attrs.evolve(stored, buyer_access=False), 1)

    with pytest.raises(ConcurrencyConflict):
        repository.save(attrs.evolve(stored, status=OrderStatus.REFUNDED), 1)
    with pytest.raises(ConcurrencyConflict):
        repository.save(attrs.evolve(stored, buyer_access=False), 1)
    with pytest.raises(ConcurrencyConflict):
        repository.save(changed, 5)

    assert repository.get(stored.id) == changed


def test_saving_an_order_never_added_is_order_not_found(repository: OrderRepository) -> None:
    """``save`` changes stored orders only; an unknown one is ``OrderNotFound``."""
    with pytest.raises(OrderNotFound):
        repository.save(_order(), 0)
    with pytest.raises(OrderNotFound):
        repository.get(OrderId("ord_1"))


def test_find_by_payment(repository: OrderRepository) -> None:
    """L5: an event names a payment; the order is found by its PaymentIntent or its Charge,
    and an unknown payment finds nothing."""
    by_pi = repository.add(_order(1))
    by_charge = repository.add(_order(2, payment=_payment(2, charge_only=True)))
    no_payment = attrs.evolve(_order(3), payment=None, status=OrderStatus.PENDING)
    repository.add(no_payment)

    assert repository.find_by_payment(PaymentIntentId("pi_1"), None) == by_pi
    assert repository.find_by_payment(None, ChargeId("ch_1")) == by_pi
    assert repository.find_by_payment(PaymentIntentId("pi_1"), ChargeId("ch_1")) == by_pi
    assert repository.find_by_payment(None, ChargeId("ch_2")) == by_charge
    assert repository.find_by_payment(PaymentIntentId("pi_other"), ChargeId("ch_2")) == by_charge
    assert repository.find_by_payment(PaymentIntentId("pi_9"), ChargeId("ch_9")) is None
    assert repository.find_by_payment(None, None) is None


def test_find_by_payment_sees_the_latest_version(repository: OrderRepository) -> None:
    """Lookups return the stored (latest) order, not an older copy."""
    stored = repository.add(_order())
    saved = repository.save(attrs.evolve(stored, buyer_access=False), 1)

    assert repository.find_by_payment(PaymentIntentId("pi_1"), None) == saved


def test_concurrent_saves_of_one_version_let_exactly_one_win(
    repository: OrderRepository,
) -> None:
    """L4: many threads saving from the same version: exactly one succeeds, every other one
    conflicts, and the stored order is the winner's."""
    stored = repository.add(_order())
    threads_count = 16
    barrier = threading.Barrier(threads_count)
    wins: list[Order] = []
    conflicts: list[int] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        candidate = attrs.evolve(
            stored, activity=(ActivityEntry(T0, ActivityKind.PAYMENT_UPDATED, f"writer {i}"),)
        )
        barrier.wait()
        try:
            result = repository.save(candidate, stored.version)
        except ConcurrencyConflict:
            with lock:
                conflicts.append(i)
        else:
            with lock:
                wins.append(result)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert len(wins) == 1
    assert len(conflicts) == threads_count - 1
    assert repository.get(stored.id) == wins[0]
    assert wins[0].version == 2
