"""The refundable balance (rules B1–B5)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanorio_refunds.domain._balance import (
    FeePolicy,
    fee_in_order_currency,
    refundable_amount,
    refundable_balance,
    reserved_amount,
)
from kanorio_refunds.domain._money import Currency, Money, stripe_step
from kanorio_refunds.domain._order import Order
from kanorio_refunds.domain._payment import PaymentRecord
from kanorio_refunds.domain._reconcile import reconcile
from kanorio_refunds.domain._refund import Refund, RefundOrigin, RefundStatus
from kanorio_refunds.errors import CurrencyMismatch, InvalidPaymentRecord
from kanorio_refunds.testing import T0, gateway_refund, paid_order, payment_record, refund
from kanorio_refunds.testing import strategies as kst


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


def payment_of(order: Order) -> PaymentRecord:
    assert order.payment is not None
    return order.payment


# -- B1 -----------------------------------------------------------------------------------------


def test_refundable_is_net_of_stripe_and_platform_fees() -> None:
    """B1: refundable = captured − Stripe fee − platform fee when nothing was refunded yet."""
    order = paid_order("100.00", stripe_fee="3.20", platform_fee="1.00")
    b = refundable_balance(payment_of(order), order.refunds)
    assert b.captured == usd("100.00")
    assert b.stripe_fee == usd("3.20")
    assert b.platform_fee == usd("1.00")
    assert b.net_received == usd("95.80")
    assert b.reserved == usd("0")
    assert b.refundable == usd("95.80")
    assert b.policy is FeePolicy.NET_OF_FEES
    assert not b.cross_currency


@pytest.mark.parametrize(
    ("status", "reserves"),
    [
        (RefundStatus.SUBMITTING, True),
        (RefundStatus.PENDING, True),
        (RefundStatus.REQUIRES_ACTION, True),
        (RefundStatus.SUCCEEDED, True),
        (RefundStatus.FAILED, False),
        (RefundStatus.CANCELED, False),
    ],
)
def test_which_refunds_reserve_part_of_the_balance(status: RefundStatus, reserves: bool) -> None:
    """B1: submitting, pending, requires_action and succeeded refunds reserve their amount;
    failed and canceled refunds reserve nothing."""
    order = paid_order("100.00")
    r = refund(order, "20.00", status)
    assert r.reserves is reserves
    b = refundable_balance(payment_of(order), (r,))
    assert b.reserved == (usd("20.00") if reserves else usd("0"))
    assert b.refundable == (usd("75.80") if reserves else usd("95.80"))


def test_reserved_is_the_sum_of_reserving_refunds() -> None:
    """B1: several refunds reserve the sum of their amounts (failed ones excluded)."""
    order = paid_order("100.00")
    refunds = (
        refund(order, "10.00", RefundStatus.SUCCEEDED, refund_id="r1"),
        refund(order, "5.50", RefundStatus.PENDING, refund_id="r2"),
        refund(order, "30.00", RefundStatus.FAILED, refund_id="r3"),
        refund(order, "2.25", RefundStatus.SUBMITTING, refund_id="r4"),
    )
    assert reserved_amount(refunds, Currency.of("USD")) == usd("17.75")
    assert refundable_balance(payment_of(order), refunds).refundable == usd("78.05")


# -- B2 -----------------------------------------------------------------------------------------


def test_refundable_never_exceeds_what_stripe_still_allows() -> None:
    """B2: a refund made at Stripe but not yet recorded locally still caps the balance."""
    order = paid_order("100.00", amount_refunded="50.00")
    b = refundable_balance(payment_of(order), order.refunds, FeePolicy.GROSS)
    assert b.stripe_remaining == usd("50.00")
    assert b.refundable == usd("50.00")
    b = refundable_balance(payment_of(order), order.refunds, FeePolicy.NET_OF_FEES)
    assert b.refundable == usd("50.00")


def test_refundable_is_never_negative() -> None:
    """B2: refunds beyond the net (e.g. made in the dashboard under GROSS) leave zero, not less."""
    order = paid_order("100.00")
    big = refund(order, "99.00", RefundStatus.SUCCEEDED)
    assert refundable_balance(payment_of(order), (big,)).refundable == usd("0")
    over = paid_order("100.00", amount_refunded="100.00")
    b = refundable_balance(payment_of(over), ())
    assert b.refundable == usd("0")
    assert b.stripe_remaining == usd("0")


@st.composite
def orders_with_refunds(draw: st.DrawFn) -> tuple[PaymentRecord, tuple[Refund, ...]]:
    order = draw(kst.paid_orders())
    payment = payment_of(order)
    captured = payment.captured.minor
    refunded_at_stripe = draw(st.integers(min_value=0, max_value=captured + captured // 10))
    payment = PaymentRecord(
        payment_intent_id=payment.payment_intent_id,
        charge_id=payment.charge_id,
        captured=payment.captured,
        stripe_fee=payment.stripe_fee,
        platform_fee=payment.platform_fee,
        settlement_currency=payment.settlement_currency,
        amount_refunded=Money(refunded_at_stripe, payment.captured.currency),
        exchange_rate=payment.exchange_rate,
    )
    amounts = draw(st.lists(st.integers(min_value=1, max_value=captured), max_size=5))
    statuses = draw(
        st.lists(st.sampled_from(RefundStatus), min_size=len(amounts), max_size=len(amounts))
    )
    refunds = tuple(
        refund(order, Money(a, order.currency), s, refund_id=f"r{i}")
        for i, (a, s) in enumerate(zip(amounts, statuses, strict=True))
    )
    return payment, refunds


@given(orders_with_refunds(), st.sampled_from(FeePolicy))
def test_refundable_is_within_zero_and_stripe_remaining(
    case: tuple[PaymentRecord, tuple[Refund, ...]], policy: FeePolicy
) -> None:
    """B2: 0 ≤ refundable ≤ captured − Stripe's amount_refunded, and ≤ net − reserved."""
    payment, refunds = case
    b = refundable_balance(payment, refunds, policy)
    zero = Money.zero(payment.captured.currency)
    assert b.refundable >= zero
    assert b.refundable <= (payment.captured - payment.amount_refunded).max(zero)
    assert b.refundable <= (b.net_received - b.reserved).max(zero)
    # rounded down to what Stripe accepts, never by a whole step or more
    step = stripe_step(payment.captured.currency)
    assert b.refundable.minor % step == 0
    cap = min(b.net_received - b.reserved, payment.captured - payment.amount_refunded).max(zero)
    assert cap.minor - b.refundable.minor < step


@given(orders_with_refunds(), st.sampled_from(FeePolicy))
def test_the_refundable_figure_alone_is_the_breakdowns(
    case: tuple[PaymentRecord, tuple[Refund, ...]], policy: FeePolicy
) -> None:
    """B1, B2, B5: ``refundable_amount`` (what S1 asks after every change, computed on minor
    units) is the breakdown's ``refundable``, for tuples and for lists of refunds."""
    payment, refunds = case
    expected = refundable_balance(payment, list(refunds), policy).refundable
    assert refundable_amount(payment, refunds, policy) == expected
    assert refundable_amount(payment, list(refunds), policy) == expected


@given(kst.payment_records(cross_currency=True), st.sampled_from(FeePolicy))
def test_the_refundable_figure_of_a_cross_currency_payment_is_the_breakdowns(
    payment: PaymentRecord, policy: FeePolicy
) -> None:
    """B3, B5: with fees in the settlement currency the figure is the breakdown's, converted."""
    assert (
        refundable_amount(payment, (), policy) == refundable_balance(payment, (), policy).refundable
    )


def test_the_refundable_figure_by_hand() -> None:
    """B1, B2, M3: KWD 100.000 captured, fees 9.995, a 10.000 refund reserved, 5.000 refunded at
    Stripe: net 90.005 - 10.000 = 80.005 (below 95.000 left at Stripe), rounded down to 80.000;
    GROSS: 90.000; a payment in EUR with an amount refunded in USD is refused as the breakdown
    refuses it."""
    order = paid_order("100.000", "KWD", stripe_fee="9.995", platform_fee="0")
    payment = attrs.evolve(payment_of(order), amount_refunded=Money.parse("5.000", "KWD"))
    held = (refund(order, "10.000", RefundStatus.SUCCEEDED, refund_id="rf_1"),)
    assert refundable_amount(payment, held) == Money.parse("80.000", "KWD")
    assert refundable_amount(payment, held, FeePolicy.GROSS) == Money.parse("90.000", "KWD")
    wrong = attrs.evolve(payment, amount_refunded=Money.parse("1.00", "USD"))
    with pytest.raises(CurrencyMismatch):
        refundable_amount(wrong, held)


def test_refundable_is_rounded_down_to_a_stripe_step() -> None:
    """B2, M3: a KWD balance of 90.005 can only be refunded as 90.000 (Stripe's step is 10 fils)."""
    order = paid_order("100.000", "KWD", stripe_fee="9.995", platform_fee="0")
    b = refundable_balance(payment_of(order), ())
    assert b.net_received == Money.parse("90.005", "KWD")
    assert b.refundable == Money.parse("90.000", "KWD")


# -- B3 -----------------------------------------------------------------------------------------


def test_eur_fee_on_usd_payment_is_converted_rounding_up() -> None:
    """B3: a fee in EUR on a USD payment is converted with the exchange rate, rounding up."""
    order = paid_order(
        "100.00",
        "USD",
        settlement_currency="EUR",
        exchange_rate=Decimal("0.9"),  # 1 USD = 0.9 EUR (settlement = presentment × rate)
        stripe_fee="3.20",  # EUR → USD 3.5555…, rounded up to 3.56
        platform_fee="1.00",  # EUR → USD 1.1111…, rounded up to 1.12
    )
    b = refundable_balance(payment_of(order), ())
    assert b.stripe_fee == usd("3.56")
    assert b.platform_fee == usd("1.12")
    assert b.refundable == usd("95.32")
    assert b.cross_currency
    assert b.settlement_currency == Currency.of("EUR")


def test_cross_currency_fee_without_rate_is_refused() -> None:
    """B3: a fee in another currency without an exchange rate cannot be converted: the record
    is invalid rather than guessed."""
    order = paid_order("100.00", settlement_currency="EUR")
    with pytest.raises(InvalidPaymentRecord, match="no exchange rate") as info:
        refundable_balance(payment_of(order), ())
    assert info.value.code == "invalid_payment_record"


def test_fee_in_order_currency_is_left_alone() -> None:
    """B3: a fee already in the order currency is not converted, whatever the rate."""
    payment = payment_record("100.00", settlement_currency="EUR", exchange_rate="0.9")
    assert fee_in_order_currency(usd("3.20"), payment) == usd("3.20")


@given(kst.payment_records(cross_currency=True), st.sampled_from(FeePolicy))
def test_cross_currency_conversion_never_overstates_the_balance(
    payment: PaymentRecord, policy: FeePolicy
) -> None:
    """B3: the refundable balance is never above the exact (rational) net of converted fees."""
    rate = payment.exchange_rate
    assert rate is not None
    cur = payment.captured.currency

    def exact_fee(fee: Money) -> Fraction:  # in order-currency minor units, unrounded
        return Fraction(fee.minor, 10**fee.currency.exponent) / Fraction(rate) * 10**cur.exponent

    b = refundable_balance(payment, (), policy)
    exact_net = Fraction(payment.captured.minor)
    if policy is FeePolicy.NET_OF_FEES:
        exact_net -= exact_fee(payment.stripe_fee) + exact_fee(payment.platform_fee)
        # each fee is overstated by less than one minor unit
        assert 0 <= b.stripe_fee.minor - exact_fee(payment.stripe_fee) < 1
        assert 0 <= b.platform_fee.minor - exact_fee(payment.platform_fee) < 1
    assert b.refundable.minor <= exact_net
    assert b.refundable.is_positive()


# -- B4 -----------------------------------------------------------------------------------------


def test_dashboard_refund_is_recorded_before_the_balance_is_computed() -> None:
    """B4: a refund made in the Stripe dashboard is first recorded on the order (origin
    external), then the balance computed from live data reflects it."""
    order = paid_order("100.00", amount_refunded="0")
    external = gateway_refund(order, "30.00", RefundStatus.SUCCEEDED, gateway_id="re_dash")
    live = payment_record("100.00", amount_refunded="30.00")
    synced = reconcile(order, live, (external,), FeePolicy.NET_OF_FEES, at=T0)
    (imported,) = synced.refunds
    assert imported.origin is RefundOrigin.EXTERNAL
    assert imported.gateway_refund_id == "re_dash"
    assert synced.payment == live
    assert refundable_balance(live, synced.refunds).refundable == usd("65.80")


# -- B5 -----------------------------------------------------------------------------------------


def test_fee_policy_is_swappable() -> None:
    """B5: NET_OF_FEES (default) deducts fees; GROSS is Stripe's cap (the seller absorbs fees);
    the breakdown shows the fees either way."""
    order = paid_order("100.00", stripe_fee="3.20", platform_fee="1.00")
    net = refundable_balance(payment_of(order), ())
    gross = refundable_balance(payment_of(order), (), FeePolicy.GROSS)
    assert net.policy is FeePolicy.NET_OF_FEES
    assert net.refundable == usd("95.80")
    assert gross.policy is FeePolicy.GROSS
    assert gross.refundable == usd("100.00")
    assert gross.net_received == usd("100.00")
    assert (gross.stripe_fee, gross.platform_fee) == (usd("3.20"), usd("1.00"))


@given(kst.payment_records())
def test_gross_is_never_below_net(payment: PaymentRecord) -> None:
    """B5: the GROSS policy never allows less than NET_OF_FEES, and both show the same fees."""
    net = refundable_balance(payment, (), FeePolicy.NET_OF_FEES)
    gross = refundable_balance(payment, (), FeePolicy.GROSS)
    assert gross.refundable >= net.refundable
    assert (gross.stripe_fee, gross.platform_fee) == (net.stripe_fee, net.platform_fee)
