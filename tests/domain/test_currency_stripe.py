"""Stripe's amount rules (M3): ISO exponents for people, Stripe's units for the API.

Source of the expected values: docs.stripe.com/currencies ("Zero-decimal currencies",
"Three-decimal currencies", "Special cases") and Stripe's ISK note
(support.stripe.com/questions/deprecation-of-fractional-isk-charges-and-refunds).
"""

from __future__ import annotations

import pytest
from hypothesis import given

from kanorio_refunds.domain._money import (
    ISO_EXPONENTS,
    STRIPE_THREE_DECIMAL,
    STRIPE_ZERO_DECIMAL,
    Currency,
    Money,
    from_stripe_amount,
    stripe_decimals,
    stripe_step,
    to_stripe_amount,
)
from kanorio_refunds.errors import InvalidAmount, UnknownCurrency
from kanorio_refunds.testing import strategies as kst

# Copied from DESIGN.md M3 on purpose: the test fails if the table in money.py drifts.
DESIGN_ZERO_DECIMAL = set("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())
DESIGN_THREE_DECIMAL = {"BHD", "JOD", "KWD", "OMR", "TND"}


def money(text: str, code: str) -> Money:
    return Money.parse(text, code)


def test_stripe_tables_match_the_design() -> None:
    """M3: Stripe's zero-decimal and three-decimal lists are exactly the documented ones."""
    assert set(STRIPE_ZERO_DECIMAL) == DESIGN_ZERO_DECIMAL
    assert set(STRIPE_THREE_DECIMAL) == DESIGN_THREE_DECIMAL
    for code in DESIGN_ZERO_DECIMAL:
        assert stripe_decimals(code) == 0
        assert stripe_decimals(code.lower()) == 0
    for code in DESIGN_THREE_DECIMAL:
        assert stripe_decimals(code) == 3


def test_stripe_decimals_refuses_unknown_codes() -> None:
    """M3: asking Stripe's decimals of a code that is not ISO 4217 raises unknown_currency."""
    with pytest.raises(UnknownCurrency):
        stripe_decimals("XYZ")


def test_usd_is_sent_in_cents() -> None:
    """M3: USD 12.50 is sent to Stripe as 1250 (two-decimal)."""
    assert to_stripe_amount(money("12.50", "USD")) == 1250
    assert to_stripe_amount(money("0.01", "USD")) == 1
    assert from_stripe_amount(1250, "usd") == money("12.50", "USD")


def test_jpy_is_zero_decimal() -> None:
    """M3: JPY is zero-decimal: ¥500 is sent as 500, never multiplied by 100."""
    assert to_stripe_amount(money("500", "JPY")) == 500
    assert from_stripe_amount(500, "JPY") == money("500", "JPY")
    assert stripe_step(Currency.of("JPY")) == 1


def test_kwd_is_three_decimal_in_multiples_of_ten() -> None:
    """M3: KWD is three-decimal at Stripe and the last digit must be 0 (multiples of 10 fils)."""
    assert to_stripe_amount(money("5.120", "KWD")) == 5120
    assert stripe_step(Currency.of("KWD")) == 10
    with pytest.raises(InvalidAmount, match=r"multiples of 0\.010 KWD"):
        to_stripe_amount(money("5.124", "KWD"))
    assert from_stripe_amount(5120, "KWD") == money("5.120", "KWD")


@pytest.mark.parametrize("code", sorted(DESIGN_THREE_DECIMAL))
def test_every_three_decimal_currency_needs_multiples_of_ten(code: str) -> None:
    """M3: every Stripe three-decimal currency refuses amounts not ending in 0."""
    assert to_stripe_amount(Money.from_minor(1230, code)) == 1230
    with pytest.raises(InvalidAmount):
        to_stripe_amount(Money.from_minor(1231, code))


def test_isk_is_iso_zero_decimal_but_stripe_two_decimal() -> None:
    """M3: ISK has ISO exponent 0, but Stripe keeps it two-decimal: ISK 5 is sent as 500."""
    isk = Currency.of("ISK")
    assert isk.exponent == 0
    assert stripe_decimals("ISK") == 2
    assert to_stripe_amount(money("5", "ISK")) == 500
    assert to_stripe_amount(money("5", "ISK")) % 100 == 0
    assert from_stripe_amount(500, "ISK") == money("5", "ISK")
    with pytest.raises(InvalidAmount, match="fraction of our smallest unit"):
        from_stripe_amount(510, "ISK")
    assert from_stripe_amount(510, "ISK", rounding="down") == money("5", "ISK")
    assert from_stripe_amount(510, "ISK", rounding="up") == money("6", "ISK")
    assert from_stripe_amount(-510, "ISK", rounding="down") == Money.from_minor(-6, "ISK")


def test_mga_is_iso_two_decimal_but_stripe_zero_decimal() -> None:
    """M3: MGA has ISO exponent 2 but is zero-decimal at Stripe: whole ariary only."""
    mga = Currency.of("MGA")
    assert mga.exponent == 2
    assert stripe_decimals("MGA") == 0
    assert stripe_step(mga) == 100
    assert to_stripe_amount(money("5", "MGA")) == 5
    assert to_stripe_amount(money("5.00", "MGA")) == 5
    with pytest.raises(InvalidAmount, match=r"multiples of 1\.00 MGA"):
        to_stripe_amount(money("5.50", "MGA"))
    assert from_stripe_amount(5, "MGA") == money("5.00", "MGA")


@pytest.mark.parametrize("code", ["HUF", "TWD"])
def test_huf_and_twd_are_two_decimal_for_refunds(code: str) -> None:
    """M3: HUF and TWD are two-decimal in Stripe's API for charges and refunds (only payouts
    must be whole units), so fractional amounts are sent in hundredths."""
    assert Currency.of(code).exponent == 2
    assert stripe_decimals(code) == 2
    assert stripe_step(Currency.of(code)) == 1
    assert to_stripe_amount(money("12.34", code)) == 1234
    assert from_stripe_amount(1234, code) == money("12.34", code)


def test_at_most_eight_digits() -> None:
    """M3: Stripe amounts have at most 8 digits: USD 999,999.99 goes, USD 1,000,000.00 not."""
    assert to_stripe_amount(money("999999.99", "USD")) == 99_999_999
    with pytest.raises(InvalidAmount, match="at most 8 digits"):
        to_stripe_amount(money("1000000.00", "USD"))
    assert to_stripe_amount(money("99999999", "JPY")) == 99_999_999
    with pytest.raises(InvalidAmount, match="at most 8 digits"):
        to_stripe_amount(money("100000000", "JPY"))
    # ISK counts Stripe's digits (×100): ISK 999,999 is 99,999,900.
    assert to_stripe_amount(money("999999", "ISK")) == 99_999_900
    with pytest.raises(InvalidAmount, match="at most 8 digits"):
        to_stripe_amount(money("1000000", "ISK"))


def test_idr_allows_twelve_digits() -> None:
    """M3: IDR amounts may have 12 digits at Stripe, not 13."""
    assert to_stripe_amount(money("9999999999.99", "IDR")) == 999_999_999_999
    with pytest.raises(InvalidAmount, match="at most 12 digits"):
        to_stripe_amount(money("10000000000.00", "IDR"))


def test_from_stripe_amount_refuses_non_integers() -> None:
    """M1, M3: Stripe amounts are integers; a float or bool is refused."""
    with pytest.raises(InvalidAmount, match="integers"):
        from_stripe_amount(12.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(InvalidAmount, match="integers"):
        from_stripe_amount(True, "USD")


@given(kst.sendable_money())
def test_sendable_amounts_round_trip_through_stripe_units(m: Money) -> None:
    """M3: an amount Stripe accepts converts to Stripe's units and back exactly."""
    units = to_stripe_amount(m)
    assert units > 0
    assert from_stripe_amount(units, m.currency) == m
    assert units % (10 if m.currency.code in DESIGN_THREE_DECIMAL else 1) == 0
    if m.currency.code == "ISK":
        assert units % 100 == 0


def test_every_iso_currency_has_a_stripe_step() -> None:
    """M3: every ISO currency has Stripe decimals and a positive step, consistent together."""
    for code, exponent in ISO_EXPONENTS.items():
        cur = Currency.of(code)
        step = stripe_step(cur)
        assert step >= 1
        assert to_stripe_amount(Money(step, cur)) >= 1
        if exponent <= stripe_decimals(code) and code not in DESIGN_THREE_DECIMAL:
            assert step == 1


@pytest.mark.parametrize(
    ("text", "code", "units"),
    [("5.00", "MGA", 5), ("99999999.00", "MGA", 99_999_999), ("12.340", "IQD", 1234)],
)
def test_units_coarser_than_ours_are_whole_integers(text: str, code: str, units: int) -> None:
    """M1, M3: where Stripe's unit is coarser than ours (MGA: whole ariary; IQD: hundredths of
    an ISO three-decimal currency) the amount sent is an int, never a float such as 5.0 that a
    form-encoded request would send as "5.0"."""
    sent = to_stripe_amount(money(text, code))
    assert type(sent) is int
    assert sent == units
