"""Eligibility for "Initiate Refund" (rules E1–E5): every failing rule listed, in rule order."""

from __future__ import annotations

import pytest
from hypothesis import given

from kanorio_refunds.domain._actor import Actor, Role
from kanorio_refunds.domain._balance import FeePolicy
from kanorio_refunds.domain._eligibility import (
    NO_REFUNDABLE_BALANCE,
    NO_VALID_PAYMENT,
    NOT_OWNER_OR_ADMIN,
    PAYMENT_DISPUTED,
    STATUS_NOT_REFUNDABLE,
    check_eligibility,
)
from kanorio_refunds.domain._ids import ActorId, SiteId
from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._order import Order, OrderStatus
from kanorio_refunds.domain._refund import RefundStatus
from kanorio_refunds.errors import NotEligible
from kanorio_refunds.testing import (
    admin,
    admin_of_other_site,
    anonymous,
    buyer,
    evolve_payment,
    owner,
    paid_order,
    refund,
    staff,
    with_refunds,
)
from kanorio_refunds.testing import strategies as kst


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


def test_paid_order_is_eligible_for_its_owner() -> None:
    """E1–E5: a paid order with a valid payment and balance may be refunded by its owner; the
    answer carries the refundable balance and its breakdown."""
    e = check_eligibility(paid_order("100.00"), owner())
    assert e.allowed
    assert e.reasons == ()
    assert e.codes == ()
    assert e.refundable == usd("95.80")
    assert e.breakdown is not None
    assert e.breakdown.refundable == e.refundable
    e.require()  # does not raise


# -- E1 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (OrderStatus.PENDING, False),
        (OrderStatus.PAID, True),
        (OrderStatus.PARTIALLY_REFUNDED, True),
        (OrderStatus.REFUNDED, False),
        (OrderStatus.PAYMENT_FAILED, False),
        (OrderStatus.EXPIRED, False),
    ],
)
def test_only_paid_or_partially_refunded_orders_are_eligible(
    status: OrderStatus, allowed: bool
) -> None:
    """E1: only PAID and PARTIALLY_REFUNDED orders may be refunded (E1 alone decides here)."""
    e = check_eligibility(paid_order(status=status), owner())
    assert e.allowed is allowed
    assert e.codes == (() if allowed else (STATUS_NOT_REFUNDABLE,))
    if not allowed:
        assert e.reasons[0].rule == "E1"
        assert status.label in e.reasons[0].message


# -- E2 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        (owner(), True),
        (admin(), True),
        (Actor(ActorId("multi"), {SiteId("shop-1"): Role.ADMINISTRATOR}), True),
        (admin_of_other_site(), False),
        (owner("shop-2"), False),
        (staff(), False),
        (buyer(), False),
        (anonymous(), False),
        (Actor(ActorId("x"), {SiteId("shop-2"): Role.OWNER, SiteId("shop-1"): Role.BUYER}), False),
    ],
    ids=[
        "owner",
        "admin",
        "admin-built-by-hand",
        "admin-of-other-site",
        "owner-of-other-site",
        "staff",
        "buyer",
        "anonymous",
        "owner-elsewhere-buyer-here",
    ],
)
def test_only_owner_or_admin_of_the_orders_site(who: Actor, allowed: bool) -> None:
    """E2: the owner or an administrator of the order's site is allowed; an admin of another
    site, staff, buyers and anonymous actors are refused."""
    e = check_eligibility(paid_order(site="shop-1"), who)
    assert e.allowed is allowed
    assert e.codes == (() if allowed else (NOT_OWNER_OR_ADMIN,))
    if not allowed:
        assert e.reasons[0].rule == "E2"
        assert "shop-1" in e.reasons[0].message


@given(kst.paid_orders(site="shop-7"), kst.actors(site="shop-7"))
def test_refund_permission_follows_the_role_on_the_orders_site(order: Order, who: Actor) -> None:
    """E2: for any paid order and any actor, only owner/admin of that site pass E2."""
    e = check_eligibility(order, who)
    may = who.role_on(SiteId("shop-7")) in (Role.OWNER, Role.ADMINISTRATOR)
    assert (NOT_OWNER_OR_ADMIN not in e.codes) is may
    assert e.allowed is may


# -- E3 -----------------------------------------------------------------------------------------


def test_no_refundable_balance_is_not_eligible() -> None:
    """E3: an order whose net has all been refunded has no balance left and is refused."""
    order = paid_order("100.00")
    done = with_refunds(order, [refund(order, "95.80", RefundStatus.SUCCEEDED)])
    e = check_eligibility(done, owner())
    assert e.codes == (STATUS_NOT_REFUNDABLE, NO_REFUNDABLE_BALANCE)
    assert e.refundable == usd("0")
    # Even if the status were still PARTIALLY_REFUNDED (e.g. a pending refund), E3 holds alone.
    pending = with_refunds(order, [refund(order, "95.80", RefundStatus.PENDING)])
    forced = Order(
        id=pending.id,
        site_id=pending.site_id,
        total=pending.total,
        status=OrderStatus.PARTIALLY_REFUNDED,
        payment=pending.payment,
        refunds=pending.refunds,
    )
    assert check_eligibility(forced, owner()).codes == (NO_REFUNDABLE_BALANCE,)


def test_fees_larger_than_the_payment_leave_no_balance() -> None:
    """E3: fees eating the whole payment leave nothing to refund under NET_OF_FEES, while GROSS
    (B5) still allows a refund."""
    order = paid_order("1.00", stripe_fee="0.80", platform_fee="0.30")
    assert check_eligibility(order, owner()).codes == (NO_REFUNDABLE_BALANCE,)
    assert check_eligibility(order, owner(), FeePolicy.GROSS).allowed


# -- E4 -----------------------------------------------------------------------------------------


def _without_payment(order: Order) -> Order:
    return Order(id=order.id, site_id=order.site_id, total=order.total, status=order.status)


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        (_without_payment(paid_order()), "no payment record"),
        (paid_order(payment_intent_id=None, charge_id=None), "names no Stripe payment"),
        (evolve_payment(paid_order(), captured=Money.parse("100.00", "EUR")), "captured in EUR"),
        (evolve_payment(paid_order(), captured=usd("0")), "captured nothing"),
        (paid_order(settlement_currency="EUR"), "exchange rate is unknown"),
        (
            evolve_payment(paid_order(), amount_refunded=Money.parse("1.00", "EUR")),
            "refunded amount is in EUR",
        ),
        (
            evolve_payment(paid_order(), stripe_fee=Money.parse("1.00", "GBP")),
            "neither the order currency nor the settlement currency",
        ),
    ],
    ids=[
        "no-record",
        "no-ids",
        "wrong-currency",
        "nothing-captured",
        "no-rate",
        "refunded-currency",
        "fee-currency",
    ],
)
def test_invalid_payment_record_is_not_eligible(broken: Order, named: str) -> None:
    """E4: without a Stripe payment captured for a positive amount in the order currency (and
    readable fees), the order is refused with no_valid_payment_record; never a crash."""
    e = check_eligibility(broken, owner())
    assert NO_VALID_PAYMENT in e.codes
    assert NO_REFUNDABLE_BALANCE in e.codes  # no balance can be computed either
    assert e.refundable == Money.zero(broken.currency)
    assert e.breakdown is None
    (e4,) = [r for r in e.reasons if r.rule == "E4"]
    assert named in e4.message


@pytest.mark.parametrize(
    ("pi", "ch"), [("pi_1", None), (None, "ch_1"), ("pi_1", "ch_1")], ids=["pi", "ch", "both"]
)
def test_either_stripe_id_makes_a_valid_record(pi: str | None, ch: str | None) -> None:
    """E4: a PaymentIntent id, a Charge id or both name the Stripe payment."""
    assert check_eligibility(paid_order(payment_intent_id=pi, charge_id=ch), owner()).allowed


def test_cross_currency_record_with_rate_is_valid() -> None:
    """E4, B3: a cross-currency payment with its exchange rate is a valid record."""
    order = paid_order(settlement_currency="EUR", exchange_rate="0.9")
    assert check_eligibility(order, owner()).allowed


# -- E5 -----------------------------------------------------------------------------------------


def test_disputed_payment_is_not_eligible() -> None:
    """E5: Stripe refuses refunds on disputed charges, so a disputed order is refused."""
    e = check_eligibility(paid_order(disputed=True), owner())
    assert e.codes == (PAYMENT_DISPUTED,)
    assert e.reasons[0].rule == "E5"
    assert e.refundable == usd("95.80")  # the balance is still shown


# -- every failing rule -------------------------------------------------------------------------


def test_every_failing_rule_is_listed_in_rule_order() -> None:
    """E1, E2, E5: an order failing three rules lists exactly those three codes, in rule order."""
    order = paid_order(status=OrderStatus.EXPIRED, disputed=True)
    e = check_eligibility(order, staff())
    assert e.codes == (STATUS_NOT_REFUNDABLE, NOT_OWNER_OR_ADMIN, PAYMENT_DISPUTED)
    assert [r.rule for r in e.reasons] == ["E1", "E2", "E5"]
    assert not e.allowed


def test_all_five_rules_can_fail_together() -> None:
    """E1–E5: an expired, disputed order with no valid record, asked by a buyer, lists all."""
    order = evolve_payment(paid_order(status=OrderStatus.EXPIRED, disputed=True), captured=usd("0"))
    e = check_eligibility(order, buyer())
    assert [r.rule for r in e.reasons] == ["E1", "E2", "E3", "E4", "E5"]
    assert e.codes == (
        STATUS_NOT_REFUNDABLE,
        NOT_OWNER_OR_ADMIN,
        NO_REFUNDABLE_BALANCE,
        NO_VALID_PAYMENT,
        PAYMENT_DISPUTED,
    )


def test_require_raises_not_eligible_with_every_code() -> None:
    """E1–E5: require() raises not_eligible carrying every failing code and every message."""
    e = check_eligibility(paid_order(status=OrderStatus.REFUNDED, disputed=True), anonymous())
    with pytest.raises(NotEligible) as info:
        e.require()
    assert info.value.code == "not_eligible"
    assert info.value.reasons == e.codes
    assert info.value.reasons == (STATUS_NOT_REFUNDABLE, NOT_OWNER_OR_ADMIN, PAYMENT_DISPUTED)
    for reason in e.reasons:
        assert reason.message in info.value.message


def test_codes_are_stable() -> None:
    """E1–E5: the eligibility codes are part of the API and never renamed."""
    assert (
        STATUS_NOT_REFUNDABLE,
        NOT_OWNER_OR_ADMIN,
        NO_REFUNDABLE_BALANCE,
        NO_VALID_PAYMENT,
        PAYMENT_DISPUTED,
    ) == (
        "status_not_refundable",
        "not_owner_or_admin",
        "no_refundable_balance",
        "no_valid_payment_record",
        "payment_disputed",
    )
