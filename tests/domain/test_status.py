"""The order status is derived from amounts (rule S1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanorio_refunds.domain._balance import FeePolicy, refundable_balance
from kanorio_refunds.domain._money import Money, stripe_step
from kanorio_refunds.domain._order import ActivityKind, Order, OrderStatus
from kanorio_refunds.domain._refund import Refund, RefundStatus
from kanorio_refunds.domain._status import REFUND_STATUSES, derive_order_status, rederive_status
from kanorio_refunds.testing import T0, paid_order, refund, with_refunds
from kanorio_refunds.testing import strategies as kst

USD0 = Money.zero("USD")


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


def test_paid_while_no_refund_reserves_anything() -> None:
    """S1: PAID with no refunds, and PAID again when every refund failed or was canceled."""
    order = paid_order()
    assert derive_order_status(OrderStatus.PAID, (), usd("95.80")) is OrderStatus.PAID
    failed = [
        refund(order, "10.00", RefundStatus.FAILED, refund_id="a"),
        refund(order, "95.80", RefundStatus.CANCELED, refund_id="b"),
    ]
    assert derive_order_status(OrderStatus.PARTIALLY_REFUNDED, failed, usd("95.80")) is (
        OrderStatus.PAID
    )
    # ... even if the balance happens to be zero for another reason (Stripe-side refund).
    assert derive_order_status(OrderStatus.REFUNDED, failed, USD0) is OrderStatus.PAID


@pytest.mark.parametrize(
    "status",
    [
        RefundStatus.SUBMITTING,
        RefundStatus.PENDING,
        RefundStatus.REQUIRES_ACTION,
        RefundStatus.SUCCEEDED,
    ],
)
def test_partially_refunded_while_balance_remains(status: RefundStatus) -> None:
    """S1: a reserving refund with balance left makes the order PARTIALLY_REFUNDED."""
    order = paid_order()
    r = refund(order, "10.00", status)
    assert derive_order_status(OrderStatus.PAID, [r], usd("85.80")) is (
        OrderStatus.PARTIALLY_REFUNDED
    )


def test_refunded_when_no_balance_remains() -> None:
    """S1: a reserving refund and no balance left make the order REFUNDED."""
    order = paid_order()
    r = refund(order, "95.80")
    assert derive_order_status(OrderStatus.PAID, [r], USD0) is OrderStatus.REFUNDED
    assert derive_order_status(OrderStatus.PARTIALLY_REFUNDED, [r], USD0) is OrderStatus.REFUNDED


@pytest.mark.parametrize(
    "status", [OrderStatus.PENDING, OrderStatus.PAYMENT_FAILED, OrderStatus.EXPIRED]
)
def test_statuses_outside_refunds_are_kept(status: OrderStatus) -> None:
    """S1: orders not paid (pending, failed, expired) keep their status whatever the refunds."""
    order = paid_order()
    r = refund(order, "95.80")
    assert derive_order_status(status, [r], USD0) is status
    assert derive_order_status(status, [], usd("1.00")) is status
    assert status not in REFUND_STATUSES


def test_rederive_records_the_change_in_the_activity() -> None:
    """S1, F3: when the derived status differs, the order moves and the activity says so."""
    order = paid_order()
    moved = rederive_status(order.with_refund(refund(order, "10.00")), FeePolicy.NET_OF_FEES, at=T0)
    assert moved.status is OrderStatus.PARTIALLY_REFUNDED
    (entry,) = moved.activity
    assert entry.kind is ActivityKind.STATUS_CHANGED
    assert entry.message == "Order status changed from Paid to Partially Refunded"
    assert entry.at == T0
    # nothing changes the second time
    assert rederive_status(moved, FeePolicy.NET_OF_FEES, at=T0) == moved


@st.composite
def orders_with_random_refunds(draw: st.DrawFn) -> Order:
    order = draw(kst.paid_orders(max_captured_minor=10**8))
    step = stripe_step(order.currency)
    refunds: list[Refund] = []
    for i in range(draw(st.integers(min_value=0, max_value=4))):
        assert order.payment is not None
        left = refundable_balance(order.payment, refunds).refundable
        if left.is_zero():
            break
        # sometimes exactly the rest, so REFUNDED is reached often
        steps = draw(
            st.integers(min_value=1, max_value=left.minor // step) | st.just(left.minor // step)
        )
        status = draw(st.sampled_from(RefundStatus))
        refunds.append(
            refund(order, Money(steps * step, order.currency), status, refund_id=f"r{i}")
        )
    return with_refunds(order, refunds, policy=draw(st.sampled_from(FeePolicy)))


@given(orders_with_random_refunds(), st.sampled_from(FeePolicy))
def test_derived_status_is_always_consistent_with_amounts(order: Order, policy: FeePolicy) -> None:
    """S1: whatever refunds an order has, its derived status is PAID iff none reserves, else
    REFUNDED iff the balance is zero, else PARTIALLY_REFUNDED."""
    assert order.payment is not None
    refundable = refundable_balance(order.payment, order.refunds, policy).refundable
    derived = rederive_status(order, policy, at=T0).status
    reserving = [
        r for r in order.refunds if r.status not in (RefundStatus.FAILED, RefundStatus.CANCELED)
    ]
    if not reserving:
        assert derived is OrderStatus.PAID
    elif refundable.is_zero():
        assert derived is OrderStatus.REFUNDED
    else:
        assert derived is OrderStatus.PARTIALLY_REFUNDED
