"""The refund amount (rules A1–A5)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanorio_refunds.domain._amount import FULL, resolve_amount
from kanorio_refunds.domain._money import Money, stripe_step
from kanorio_refunds.errors import AmountExceedsRefundable, CurrencyMismatch, InvalidAmount
from kanorio_refunds.testing import strategies as kst


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


BALANCE = usd("95.80")


@pytest.mark.parametrize("amount", [usd("0"), usd("0.00"), Money.from_minor(-1, "USD")])
def test_amount_must_be_positive(amount: Money) -> None:
    """A1: zero and negative refund amounts are refused with invalid_amount."""
    with pytest.raises(InvalidAmount, match="greater than zero") as info:
        resolve_amount(amount, BALANCE)
    assert info.value.code == "invalid_amount"


def test_amount_must_be_in_the_order_currency() -> None:
    """A2: an amount in another currency is refused with currency_mismatch, naming both."""
    with pytest.raises(CurrencyMismatch, match="refund is in EUR but the order is in USD") as info:
        resolve_amount(Money.parse("10.00", "EUR"), BALANCE)
    assert info.value.code == "currency_mismatch"


def test_amount_above_the_balance_is_refused_and_carries_the_balance() -> None:
    """A3: more than the refundable balance is refused; the error carries the balance."""
    with pytest.raises(AmountExceedsRefundable, match=r"95\.80 USD") as info:
        resolve_amount(usd("95.81"), BALANCE)
    assert info.value.code == "amount_exceeds_refundable"
    assert info.value.refundable == BALANCE


def test_amount_equal_to_the_balance_is_accepted() -> None:
    """A3: exactly the refundable balance is allowed (the bound is inclusive)."""
    assert resolve_amount(usd("95.80"), BALANCE) == usd("95.80")
    assert resolve_amount(usd("0.01"), BALANCE) == usd("0.01")


@pytest.mark.parametrize(
    ("amount", "refundable", "named"),
    [
        (Money.parse("5.125", "KWD"), Money.parse("90.000", "KWD"), "multiples of 0.010 KWD"),
        (Money.parse("5.50", "MGA"), Money.parse("900.00", "MGA"), "multiples of 1.00 MGA"),
        (usd("1000000.00"), usd("2000000.00"), "at most 8 digits"),
    ],
)
def test_amount_must_be_acceptable_to_stripe(amount: Money, refundable: Money, named: str) -> None:
    """A4: an amount Stripe would refuse (M3) is refused before anything is sent."""
    with pytest.raises(InvalidAmount, match=named):
        resolve_amount(amount, refundable)


@pytest.mark.parametrize("bad", ["12.50", 12.5, 1250, None])
def test_amount_must_be_money_or_full(bad: object) -> None:
    """A1, M1: raw user input must be parsed first; floats, ints and text are refused here."""
    with pytest.raises(InvalidAmount, match="Money or FULL"):
        resolve_amount(bad, BALANCE)  # type: ignore[arg-type]


def test_an_amount_of_another_type_is_named() -> None:
    """A1, M1: the refusal names the type that was given and says how to get Money."""
    with pytest.raises(InvalidAmount) as info:
        resolve_amount("12.50", BALANCE)  # type: ignore[arg-type]
    assert info.value.message == (
        "the refund amount must be Money or FULL, got str; parse user input with Money.parse"
    )


def test_full_amount_is_exactly_the_refundable_balance() -> None:
    """A5: "Refund Full Amount" means exactly the current refundable balance."""
    assert resolve_amount(FULL, BALANCE) == BALANCE
    kwd = Money.parse("90.000", "KWD")
    assert resolve_amount(FULL, kwd) == kwd


def test_full_amount_with_nothing_left_is_refused() -> None:
    """A5, A1: FULL with a zero balance is refused like any zero amount."""
    with pytest.raises(InvalidAmount, match="greater than zero"):
        resolve_amount(FULL, usd("0"))


@given(st.data(), kst.sendable_money(max_minor=10**9))
def test_any_sendable_amount_up_to_the_balance_is_accepted(
    data: st.DataObject, refundable: Money
) -> None:
    """A1–A4: every sendable amount in (0, refundable] is accepted as is; one step more is not."""
    step = stripe_step(refundable.currency)
    steps = data.draw(st.integers(min_value=1, max_value=refundable.minor // step))
    amount = Money(steps * step, refundable.currency)
    assert resolve_amount(amount, refundable) == amount
    over = refundable + Money(step, refundable.currency)
    if over.minor <= kst.max_sendable_minor(over.currency):
        with pytest.raises(AmountExceedsRefundable) as info:
            resolve_amount(over, refundable)
        assert info.value.refundable == refundable
    else:  # one step above Stripe's largest amount: refused as unsendable (A4)
        with pytest.raises(InvalidAmount, match="too large for Stripe"):
            resolve_amount(over, refundable)
    assert resolve_amount(FULL, refundable) == refundable
