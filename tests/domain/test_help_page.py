"""The help page's own examples (spec/help-page-refund-processing.txt), played on the domain.

The service runs these steps against Stripe; here the domain rules are chained by hand:
eligibility (E) → amount (A) → reason and notes (N) → refund recorded → status derived (S1).
"""

from __future__ import annotations

import pytest

from kanorio_refunds.domain._actor import Actor
from kanorio_refunds.domain._amount import FULL, FullAmount, resolve_amount
from kanorio_refunds.domain._eligibility import (
    NO_REFUNDABLE_BALANCE,
    STATUS_NOT_REFUNDABLE,
    check_eligibility,
)
from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._notes import validate_reason_and_notes
from kanorio_refunds.domain._order import Order, OrderStatus
from kanorio_refunds.domain._refund import RefundReason, RefundStatus
from kanorio_refunds.errors import AmountExceedsRefundable, NotEligible, NotesRequired
from kanorio_refunds.testing import admin, owner, paid_order, refund, with_refunds


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


def process(
    order: Order,
    actor: Actor,
    amount: Money | FullAmount,
    reason: RefundReason | None = None,
    notes: str = "",
) -> Order:
    """Initiate → Confirm → Process, in domain terms; the refund succeeds at Stripe."""
    eligibility = check_eligibility(order, actor)
    eligibility.require()
    resolved = resolve_amount(amount, eligibility.refundable)
    clean_notes = validate_reason_and_notes(reason, notes)
    made = refund(
        order,
        resolved,
        RefundStatus.SUBMITTING,
        reason=reason,
        notes=clean_notes,
        requested_by=actor,
    ).moved_to(RefundStatus.SUCCEEDED, as_of=None)
    return with_refunds(order, [made])


def test_partial_refund_makes_the_order_partially_refunded() -> None:
    """S1, A3: "Enter an amount less than the refundable balance … the order status will be
    displayed as Partially Refunded"."""
    order = paid_order("100.00")
    assert order.status is OrderStatus.PAID
    after = process(order, owner(), usd("30.00"), RefundReason.CUSTOMER_REQUEST)
    assert after.status is OrderStatus.PARTIALLY_REFUNDED
    assert after.status.label == "Partially Refunded"
    assert check_eligibility(after, owner()).refundable == usd("65.80")


def test_refunding_the_remaining_balance_makes_the_order_refunded() -> None:
    """S1, A5: "Refund Full Amount" after a partial refund takes the rest: the order becomes
    Refunded and the option is no longer shown."""
    order = process(paid_order("100.00"), owner(), usd("30.00"))
    assert check_eligibility(order, admin()).refundable == usd("65.80")
    after = process(order, admin(), FULL, RefundReason.DUPLICATE)
    assert after.refunds[-1].amount == usd("65.80")
    assert after.status is OrderStatus.REFUNDED
    assert after.status.label == "Refunded"
    assert not check_eligibility(after, owner()).allowed


def test_partial_refunds_can_be_repeated_until_the_balance_is_depleted() -> None:
    """S1, B1: "Partial refunds can be issued multiple times until the refundable balance is
    depleted" — and never beyond it."""
    order = paid_order("100.00")
    for _ in range(4):
        order = process(order, owner(), usd("20.00"))
        assert order.status is OrderStatus.PARTIALLY_REFUNDED
    assert check_eligibility(order, owner()).refundable == usd("15.80")
    with pytest.raises(AmountExceedsRefundable) as info:
        process(order, owner(), usd("20.00"))
    assert info.value.refundable == usd("15.80")
    order = process(order, owner(), usd("15.80"))
    assert order.status is OrderStatus.REFUNDED


def test_refundable_balance_may_be_less_than_the_order_amount() -> None:
    """B1: "Stripe service fees and Kanorio platform fees are non-refundable to the seller …
    the refundable balance may be less than the original order amount"."""
    order = paid_order("100.00", stripe_fee="3.20", platform_fee="1.00")
    assert check_eligibility(order, owner()).refundable == usd("95.80")
    with pytest.raises(AmountExceedsRefundable):
        process(order, owner(), usd("100.00"))


def test_other_without_notes_is_refused() -> None:
    """N2: "If Other is selected, notes are required"."""
    with pytest.raises(NotesRequired):
        process(paid_order(), owner(), usd("10.00"), RefundReason.OTHER, "")
    after = process(paid_order(), owner(), usd("10.00"), RefundReason.OTHER, "Goodwill")
    assert after.refunds[-1].notes == "Goodwill"


def test_reason_is_optional() -> None:
    """N1: "While the refund reason is optional, it is recommended"."""
    after = process(paid_order(), owner(), usd("10.00"))
    assert after.refunds[-1].reason is None


@pytest.mark.parametrize(
    ("case", "order", "codes"),
    [
        (
            "fully refunded",
            process(paid_order(), owner(), FULL),
            (STATUS_NOT_REFUNDABLE, NO_REFUNDABLE_BALANCE),
        ),
        ("payment failed", paid_order(status=OrderStatus.PAYMENT_FAILED), (STATUS_NOT_REFUNDABLE,)),
        ("expired", paid_order(status=OrderStatus.EXPIRED), (STATUS_NOT_REFUNDABLE,)),
        (
            "no refundable balance",
            paid_order("1.00", stripe_fee="0.70", platform_fee="0.30"),
            (NO_REFUNDABLE_BALANCE,),
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_orders_the_help_page_says_cannot_be_refunded(
    case: str, order: Order, codes: tuple[str, ...]
) -> None:
    """E1, E3: "If an order has been fully refunded, payment failed, expired, or has no
    refundable balance, the option to perform a refund will not be displayed"."""
    e = check_eligibility(order, owner())
    assert not e.allowed, case
    assert e.codes == codes
    with pytest.raises(NotEligible) as info:
        process(order, owner(), usd("0.01"))
    assert info.value.reasons == codes


def test_refunds_never_touch_buyer_access() -> None:
    """F4: "Refunds do not automatically revoke a buyer's access to digital content"."""
    order = process(paid_order(buyer_access=True), owner(), FULL)
    assert order.status is OrderStatus.REFUNDED
    assert order.buyer_access is True
