"""Money (rules M1, M2, M4, M5). Stripe's units (M3) are in test_currency_stripe.py."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanorio_refunds.domain._money import (
    ISO_EXPONENTS,
    Currency,
    Money,
    convert_rounding_up,
    from_stripe_amount,
    total,
)
from kanorio_refunds.errors import CurrencyMismatch, InvalidAmount, UnknownCurrency
from kanorio_refunds.testing import strategies as kst

USD = Currency.of("USD")
EUR = Currency.of("EUR")


def usd(minor: int) -> Money:
    return Money.from_minor(minor, "USD")


# -- M1: integer minor units; floats and bools refused ------------------------------------------


def test_from_minor_builds_integer_minor_units() -> None:
    """M1: Money.from_minor(1250, "USD") is USD 12.50, stored as 1250 minor units."""
    m = Money.from_minor(1250, "usd")
    assert m.minor == 1250
    assert m.currency == USD
    assert m.amount == Decimal("12.50")
    assert m.format() == "12.50 USD"


@pytest.mark.parametrize("bad", [12.5, 12.0, True, False, Decimal("12"), "1250", None])
def test_from_minor_refuses_non_integers(bad: object) -> None:
    """M1: from_minor refuses floats, bools (True is not one cent) and anything but int."""
    with pytest.raises(InvalidAmount, match="integer number of minor units") as info:
        Money.from_minor(bad, "USD")  # type: ignore[arg-type]
    assert info.value.code == "invalid_amount"
    assert type(bad).__name__ in info.value.message


@pytest.mark.parametrize("bad", [1.0, True])
def test_constructor_refuses_floats_and_bools(bad: object) -> None:
    """M1: the Money constructor itself refuses floats and bools, not only from_minor."""
    with pytest.raises(InvalidAmount):
        Money(bad, USD)  # type: ignore[arg-type]


@pytest.mark.parametrize("other", [1.5, 1, True, Decimal("1"), "1.00"])
def test_arithmetic_with_non_money_is_refused(other: object) -> None:
    """M1: adding, subtracting or comparing Money with a number is an error, not a silent cast."""
    m = usd(100)
    with pytest.raises(InvalidAmount, match="both sides must be Money"):
        m + other  # type: ignore[operator]
    with pytest.raises(InvalidAmount, match="both sides must be Money"):
        m - other  # type: ignore[operator]
    with pytest.raises(InvalidAmount, match="both sides must be Money"):
        m < other  # type: ignore[operator]  # noqa: B015


def test_money_is_immutable() -> None:
    """M1: Money values are immutable."""
    m = usd(100)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        m.minor = 5  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        m.currency = EUR  # type: ignore[misc]


# -- M2: parsing user input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.50", "USD", 1250),
        ("12.5", "USD", 1250),
        ("12", "USD", 1200),
        ("  12.50 ", "USD", 1250),
        ("0.01", "USD", 1),
        (".5", "USD", 50),
        ("12.", "USD", 1200),
        ("0", "USD", 0),
        ("1500", "JPY", 1500),
        ("1.234", "KWD", 1234),
        ("5", "ISK", 5),
        ("007.10", "EUR", 710),
        ("12.500", "USD", 1250),  # a trailing zero loses nothing: no rounding happens
    ],
)
def test_parse_accepts_plain_decimals(text: str, currency: str, minor: int) -> None:
    """M2: plain non-negative decimals with at most the currency's decimals are accepted."""
    assert Money.parse(text, currency) == Money.from_minor(minor, currency)


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [
        (Decimal("12.5"), "USD", 1250),
        (Decimal("12.50"), "USD", 1250),
        (Decimal("100"), "JPY", 100),
        (Decimal("0.001"), "KWD", 1),
        (Decimal("-0"), "USD", 0),
    ],
)
def test_parse_accepts_decimal(value: Decimal, currency: str, minor: int) -> None:
    """M2: a Decimal is accepted as an exact number (its exponent is representation only)."""
    assert Money.parse(value, currency) == Money.from_minor(minor, currency)


@pytest.mark.parametrize(
    ("text", "currency", "named"),
    [
        ("", "USD", "empty"),
        ("   ", "USD", "empty"),
        ("\t\n", "USD", "empty"),
        ("abc", "USD", "not a plain decimal number"),
        ("12,50", "USD", "not a plain decimal number"),
        ("1 000", "USD", "not a plain decimal number"),
        ("1_000", "USD", "not a plain decimal number"),
        ("$12", "USD", "not a plain decimal number"),
        ("12.50 USD", "USD", "not a plain decimal number"),
        ("12.50 EUR", "EUR", "not a plain decimal number"),
        ("twelve", "USD", "not a plain decimal number"),
        ("1e", "USD", "not a plain decimal number"),
        ("e5", "USD", "not a plain decimal number"),
        ("0x10", "USD", "not a plain decimal number"),
        ("1.2.3", "USD", "not a plain decimal number"),
        (".", "USD", "not a plain decimal number"),
        ("NaN", "USD", "not a number"),
        ("nan", "USD", "not a number"),
        ("sNaN", "USD", "not a number"),
        ("qNaN", "USD", "not a number"),
        ("Infinity", "USD", "infinite"),
        ("inf", "USD", "infinite"),
        ("-Infinity", "USD", "negative"),
        ("1e3", "USD", "exponent notation"),
        ("1E3", "USD", "exponent notation"),
        ("1.5e-2", "USD", "exponent notation"),
        ("2E+2", "USD", "exponent notation"),
        ("-5", "USD", "negative"),
        ("-0.01", "USD", "negative"),
        ("+5", "USD", "sign"),
        ("12.345", "USD", "more decimal places than USD allows (2)"),
        ("1.5", "JPY", "more decimal places than JPY allows (0)"),
        ("1.0005", "KWD", "more decimal places than KWD allows (3)"),
        ("0.001", "EUR", "more decimal places than EUR allows (2)"),
    ],
)
def test_parse_rejects_bad_text(text: str, currency: str, named: str) -> None:
    """M2: bad input is refused with a message naming the problem and what is accepted."""
    with pytest.raises(InvalidAmount) as info:
        Money.parse(text, currency)
    assert info.value.code == "invalid_amount"
    assert named in info.value.message
    assert repr(text) in info.value.message or named == "empty"
    # ... and says what would be accepted.
    accepted = ("such as", "round it to")
    assert any(hint in info.value.message for hint in accepted), info.value.message


@pytest.mark.parametrize(
    ("value", "named"),
    [
        (Decimal("NaN"), "not a number"),
        (Decimal("sNaN"), "not a number"),
        (Decimal("Infinity"), "infinite"),
        (Decimal("-Infinity"), "infinite"),
        (Decimal("-1"), "negative"),
        (Decimal("0.125"), "more decimal places than USD allows"),
        (Decimal("1.000000000000000000000000000001"), "more decimal places than USD allows"),
    ],
)
def test_parse_rejects_bad_decimals(value: Decimal, named: str) -> None:
    """M2: a Decimal that is not a finite, non-negative amount of the currency is refused."""
    with pytest.raises(InvalidAmount, match=named):
        Money.parse(value, "USD")


@pytest.mark.parametrize("value", [12.5, 0.1, 12.0, float("nan"), True, False])
def test_parse_rejects_floats_and_bools(value: object) -> None:
    """M1, M2: floats and bools are refused by parse; the message says to use text or Decimal."""
    with pytest.raises(InvalidAmount, match="never as a float or bool") as info:
        Money.parse(value, "USD")  # type: ignore[arg-type]
    assert type(value).__name__ in info.value.message


@pytest.mark.parametrize("value", [1250, None, b"12.50", ["12.50"]])
def test_parse_rejects_other_types(value: object) -> None:
    """M2: only text and Decimal can be parsed (an int would be ambiguous: units or cents?)."""
    with pytest.raises(InvalidAmount, match="cannot parse an amount from"):
        Money.parse(value, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize("code", ["XYZ", "US", "", "usdollar", "BTC", "EURO"])
def test_unknown_currency_codes_are_refused(code: str) -> None:
    """M2, M3: currency codes that are not ISO 4217 are refused with unknown_currency."""
    with pytest.raises(UnknownCurrency, match="ISO 4217") as info:
        Money.parse("1.00", code)
    assert info.value.code == "unknown_currency"
    with pytest.raises(UnknownCurrency):
        Money.from_minor(100, code)


@pytest.mark.parametrize(
    "code",
    [
        "u\u017fd",  # "uſd": LATIN SMALL LETTER LONG S upper-cases to "S"
        "\u0131nr",  # "ınr": LATIN SMALL LETTER DOTLESS I upper-cases to "I"
        "\uff35\uff33\uff24",  # full-width "ＵＳＤ"
        "US\u0044\u0301",  # "USD" with a combining accent
    ],
    ids=["long-s", "dotless-i", "full-width", "combining"],
)
def test_non_ascii_currency_codes_are_refused(code: str) -> None:
    """M2: (regression) codes are ASCII: "uſd" used to be USD and "ınr" INR, because Python's
    upper() folds those letters to ASCII. They are refused with unknown_currency, and the
    message says an ASCII code is expected."""
    with pytest.raises(UnknownCurrency, match="ASCII code") as info:
        Currency.of(code)
    assert info.value.code == "unknown_currency"
    with pytest.raises(UnknownCurrency):
        Money.parse("1.00", code)
    with pytest.raises(UnknownCurrency):
        Money.from_minor(100, code)


def test_currency_must_be_given_as_text() -> None:
    """M2: a currency given as something else than a code is refused, clearly."""
    with pytest.raises(UnknownCurrency, match="code string"):
        Currency.of(840)  # type: ignore[arg-type]


def test_currency_codes_are_case_insensitive_and_equal_by_code() -> None:
    """M3: 'usd', ' USD ' and 'USD' are the same currency, with the ISO exponent."""
    assert Currency.of("usd") == Currency.of(" USD ") == USD
    assert Currency.of("jpy").exponent == 0
    assert Currency.of("kwd").exponent == 3
    assert Currency.of("CLF").exponent == 4


@given(st.sampled_from(["USD", "EUR", "JPY"]), st.lists(st.booleans(), min_size=3, max_size=3))
def test_every_spelling_of_a_code_gives_the_one_currency_object(
    code: str, upper: list[bool]
) -> None:
    """M3: (issue 10) however a code is spelled ("usd" as Stripe writes it, "USD", " Usd "),
    ``Currency.of`` hands out the one object for it, so currency comparisons on every amount
    end at their identity shortcut; equal by code as ever."""
    spelled = "".join(c if up else c.lower() for c, up in zip(code, upper, strict=True))
    assert Currency.of(spelled) is Currency.of(code)
    assert Currency.of(f" {spelled} ") is Currency.of(code)
    assert Currency.of(spelled) == Currency(code, Currency.of(code).exponent)
    assert str(USD) == "USD"


def test_long_amounts_are_parsed_exactly() -> None:
    """M1, M2: amounts longer than Decimal's 28-digit precision are never silently rounded."""
    text = "123456789012345678901234567890.12"
    m = Money.parse(text, "USD")
    assert m.minor == 12345678901234567890123456789012
    assert m.amount_text() == text
    assert m.amount == Decimal(text)
    with pytest.raises(InvalidAmount, match="more decimal places"):
        Money.parse("123456789012345678901234567890.125", "USD")


# -- M2 properties: parse ∘ format -------------------------------------------------------------


@given(minor=st.integers(min_value=0, max_value=10**15))
def test_parse_format_round_trip_for_every_iso_currency(minor: int) -> None:
    """M2, M3: Money.parse(m.amount_text(), c) == m for every currency in ISO_EXPONENTS."""
    for code in ISO_EXPONENTS:
        m = Money.from_minor(minor, code)
        text = m.amount_text()
        assert Money.parse(text, code) == m
        assert Money.parse(m.amount, code) == m
        exponent = ISO_EXPONENTS[code]
        assert ("." in text) == (exponent > 0)
        if exponent:
            assert len(text.split(".")[1]) == exponent


def test_round_trip_covers_every_exponent() -> None:
    """M3: the ISO table has currencies with 0, 2, 3 and 4 decimals, each formatted right."""
    assert set(ISO_EXPONENTS.values()) == {0, 2, 3, 4}
    assert Money.from_minor(5, "USD").amount_text() == "0.05"
    assert Money.from_minor(5, "JPY").amount_text() == "5"
    assert Money.from_minor(5, "KWD").amount_text() == "0.005"
    assert Money.from_minor(5, "CLF").amount_text() == "0.0005"
    assert Money.from_minor(-5, "USD").amount_text() == "-0.05"


# -- M4: one currency at a time ------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
        lambda a, b: a.min(b),
        lambda a, b: a.max(b),
        lambda a, b: total([a, b], a.currency),
    ],
    ids=["add", "sub", "lt", "le", "gt", "ge", "min", "max", "total"],
)
def test_mixing_currencies_raises_currency_mismatch(operation: object) -> None:
    """M4: arithmetic and ordering across currencies raise currency_mismatch."""
    assert callable(operation)
    with pytest.raises(CurrencyMismatch, match="USD and EUR") as info:
        operation(usd(100), Money.from_minor(100, "EUR"))
    assert info.value.code == "currency_mismatch"


def test_equality_across_currencies_is_false_and_never_raises() -> None:
    """M4: == across currencies is False (and != True), even for the same number."""
    a, b = usd(100), Money.from_minor(100, "EUR")
    assert (a == b) is False
    assert (a != b) is True
    assert a != "1.00 USD"
    assert a != 100
    assert usd(0) != Money.zero("JPY")
    assert len({a, b}) == 2


def test_same_currency_arithmetic() -> None:
    """M4: within one currency, arithmetic and ordering behave like the integers."""
    assert usd(150) + usd(25) == usd(175)
    assert usd(150) - usd(175) == usd(-25)
    assert -usd(5) == usd(-5)
    assert usd(1) < usd(2) <= usd(2) < usd(3)
    assert usd(3) > usd(2) >= usd(2)
    assert usd(1).min(usd(2)) == usd(1)
    assert usd(1).max(usd(2)) == usd(2)
    assert total([], USD) == Money.zero("USD")
    assert total([usd(1), usd(2), usd(3)], USD) == usd(6)


same_currency_triples = st.sampled_from(sorted(ISO_EXPONENTS)).flatmap(
    lambda code: st.tuples(*[kst.money(code, -(10**12), 10**12)] * 3)
)


@given(same_currency_triples)
def test_addition_is_associative_and_commutative(triple: tuple[Money, Money, Money]) -> None:
    """M4: (a + b) + c == a + (b + c) and a + b == b + a; a − b + b == a."""
    a, b, c = triple
    assert (a + b) + c == a + (b + c)
    assert a + b == b + a
    assert a - b + b == a
    assert (a + b).minor == a.minor + b.minor
    assert (a < b) == (a.minor < b.minor)
    assert (a <= b) == (a.minor <= b.minor)


@given(kst.money(min_minor=-(10**9), max_minor=10**9), st.data())
def test_hash_agrees_with_equality(m: Money, data: st.DataObject) -> None:
    """M4: equal values hash alike, whichever way they were built; unequal values are unequal."""
    rebuilt = [
        Money.from_minor(m.minor, m.currency.code.lower()),
        Money(m.minor, Currency(m.currency.code, m.currency.exponent)),
    ]
    if m.minor >= 0:
        rebuilt.append(Money.parse(m.amount_text(), m.currency))
    for twin in rebuilt:
        assert twin == m
        assert hash(twin) == hash(m)
    other = data.draw(kst.money(min_minor=-(10**9), max_minor=10**9))
    if other == m:
        assert hash(other) == hash(m)
    else:
        assert (other.minor, other.currency.code) != (m.minor, m.currency.code)


# -- M5: rounding is always named ----------------------------------------------------------------


def test_fee_conversion_rounds_up() -> None:
    """M5, B3: EUR 3.20 at 0.9 EUR per USD is USD 3.5555…, converted rounding up to USD 3.56."""
    fee = Money.parse("3.20", "EUR")
    assert convert_rounding_up(fee, Decimal("0.9"), USD) == Money.parse("3.56", "USD")
    # an exact result is not bumped
    assert convert_rounding_up(fee, Decimal("0.8"), USD) == Money.parse("4.00", "USD")
    assert convert_rounding_up(Money.zero("EUR"), Decimal("0.9"), USD) == Money.zero("USD")


@pytest.mark.parametrize(
    "rate", [0.9, Decimal("0"), Decimal("-1"), Decimal("NaN"), Decimal("Infinity"), "0.9"]
)
def test_conversion_refuses_bad_rates(rate: object) -> None:
    """M1, M5: an exchange rate must be a positive finite Decimal (never a float)."""
    with pytest.raises(InvalidAmount, match="positive finite Decimal"):
        convert_rounding_up(Money.parse("1.00", "EUR"), rate, USD)  # type: ignore[arg-type]


@given(
    fee=kst.money(min_minor=0, max_minor=10**10),
    rate=kst.exchange_rates() | st.decimals(min_value=Decimal("1e-30"), max_value=10**6, places=30),
    target=kst.currencies(),
)
def test_conversion_rounding_up_is_exact(fee: Money, rate: Decimal, target: Currency) -> None:
    """M5, B3: fee / rate rounded up is the smallest amount ≥ the exact rational value."""
    exact = Fraction(fee.minor, 10**fee.currency.exponent) / Fraction(rate) * 10**target.exponent
    converted = convert_rounding_up(fee, rate, target)
    assert converted.currency == target
    assert converted.minor >= exact
    assert converted.minor - 1 < exact


def test_stripe_amount_conversion_names_its_rounding() -> None:
    """M5: a Stripe amount with a fraction of our unit (ISK 5.50) needs a named rounding."""
    with pytest.raises(InvalidAmount, match="name a rounding"):
        from_stripe_amount(550, "ISK")
    assert from_stripe_amount(550, "ISK", rounding="up") == Money.from_minor(6, "ISK")
    assert from_stripe_amount(550, "ISK", rounding="down") == Money.from_minor(5, "ISK")
    with pytest.raises(ValueError, match="rounding must be one of"):
        from_stripe_amount(550, "ISK", rounding="nearest")


@pytest.mark.parametrize("text", ["١٢.٥٠", "１２.５０", "12.5\u0660"])
def test_parse_refuses_non_ascii_digits(text: str) -> None:
    """M2: only ASCII digits are accepted; look-alike digits from other scripts are refused."""
    with pytest.raises(InvalidAmount, match="not a plain decimal number"):
        Money.parse(text, "USD")


def test_parse_refuses_absurdly_large_decimals() -> None:
    """M2: an amount with more than 30 digits before the point is refused, text or Decimal."""
    with pytest.raises(InvalidAmount, match="too large"):
        Money.parse(Decimal("1" + "0" * 40), "USD")
    with pytest.raises(InvalidAmount, match="too large"):
        Money.parse("1" + "0" * 40, "USD")


@pytest.mark.parametrize(
    "value", [Decimal("1E+2"), Decimal("5E+1"), Decimal("1E-999999999"), Decimal("0E-999999999")]
)
def test_parse_refuses_decimals_in_exponent_form_or_with_absurd_precision(value: Decimal) -> None:
    """M2: a Decimal in exponent form, or with more decimal places than any amount has, is
    refused at once (no huge integer is ever built)."""
    with pytest.raises(InvalidAmount, match=r"exponent notation|too many digits"):
        Money.parse(value, "USD")


def test_parse_accepts_trailing_zeros_within_bounds() -> None:
    """M2: trailing zeros beyond the currency's decimals are exact, so they are accepted."""
    assert Money.parse("12.500", "USD") == Money.from_minor(1250, "USD")
    assert Money.parse(Decimal("12.5000"), "USD") == Money.from_minor(1250, "USD")


def test_thirty_digits_before_the_point_are_the_limit() -> None:
    """M2: an amount may have 30 digits before the decimal point (far beyond any real amount),
    not 31; the limit is the same for text and Decimal and counts the digits, not the value."""
    thirty = "9" * 30
    assert Money.parse(thirty, "JPY") == Money.from_minor(10**30 - 1, "JPY")
    assert Money.parse(Decimal(thirty + ".99"), "USD") == Money.from_minor(10**32 - 1, "USD")
    assert Money.parse("1" + "0" * 29, "JPY").minor == 10**29
    for text in ("1" + "0" * 30, "9" * 31):
        with pytest.raises(InvalidAmount, match="too large: amounts have at most 30 digits"):
            Money.parse(text, "JPY")
        with pytest.raises(InvalidAmount, match="too large"):
            Money.parse(Decimal(text), "JPY")


def test_sixty_four_digits_in_all_are_the_limit() -> None:
    """M2: at most 64 digits in all (trailing zeros included) and 64 decimal places are parsed;
    one more is refused as too many digits, before any large integer is built."""
    sixty_four = "1" + "0" * 29 + "." + "0" * 34  # 64 digits, 34 decimal places
    assert Money.parse(sixty_four, "USD") == Money.from_minor(10**31, "USD")
    with pytest.raises(InvalidAmount, match="too many digits"):
        Money.parse(sixty_four + "0", "USD")
    places_64 = "0." + "0" * 63 + "1"  # 64 decimal places: too precise for USD, not refused early
    with pytest.raises(InvalidAmount, match="more decimal places than USD allows"):
        Money.parse(places_64, "USD")
    assert Money.parse("0." + "0" * 64, "USD") == Money.zero("USD")
    with pytest.raises(InvalidAmount, match="too many digits"):
        Money.parse("0." + "0" * 65, "USD")
    with pytest.raises(InvalidAmount, match="too many digits"):
        Money.parse(Decimal("0." + "0" * 65), "USD")


def test_zero_is_parsed_in_every_form() -> None:
    """M2: zero parses (a positive amount is checked by A1, not by parsing)."""
    for text in ("0", "0.00", ".0", "0.", Decimal("0"), Decimal("-0"), Decimal("0.000")):
        assert Money.parse(text, "USD") == Money.zero("USD")


def test_refusals_name_what_was_given() -> None:
    """M1, M2: a refused amount is quoted as given, with its type when it is a float or bool."""
    with pytest.raises(InvalidAmount, match=r"^1\.5 is a float; amounts must be given as text"):
        Money.parse(1.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(InvalidAmount, match=r"^True is a bool;"):
        Money.parse(True, "USD")  # type: ignore[arg-type]
    with pytest.raises(InvalidAmount, match=r"^'NaN' is not a number"):
        Money.parse(Decimal("NaN"), "USD")
    with pytest.raises(InvalidAmount, match=r"^'1\.005' has more decimal places than USD allows"):
        Money.parse(Decimal("1.005"), "USD")


def test_refusals_of_empty_or_untyped_input_are_pinned() -> None:
    """M2: what a refund form shows for an empty amount, a quiet NaN, or a value of another
    type, word for word."""
    with pytest.raises(InvalidAmount) as info:
        Money.parse("  ", "USD")
    assert info.value.message == "the amount is empty; enter a number such as '12.50'"
    with pytest.raises(InvalidAmount) as info:
        Money.parse("qNaN", "USD")
    assert info.value.message == "'qNaN' is not a number; enter a number such as '12.50'"
    with pytest.raises(InvalidAmount) as info:
        Money.parse(["12.50"], "USD")  # type: ignore[arg-type]
    assert info.value.message == "cannot parse an amount from list; give text such as '12.50'"
    with pytest.raises(UnknownCurrency) as currency_info:
        Currency.of(840)  # type: ignore[arg-type]
    assert currency_info.value.message == (
        "a currency must be given as an ISO 4217 code string such as 'USD', got int"
    )


@pytest.mark.parametrize(
    ("operation", "op"),
    [
        (lambda a, b: a + b, "add"),
        (lambda a, b: a - b, "subtract"),
        (lambda a, b: a < b, "compare"),
        (lambda a, b: a <= b, "compare"),
        (lambda a, b: a > b, "compare"),
        (lambda a, b: a >= b, "compare"),
        (lambda a, b: a.min(b), "compare"),
        (lambda a, b: a.max(b), "compare"),
        (lambda a, b: total([a, b], a.currency), "add"),
    ],
    ids=["add", "sub", "lt", "le", "gt", "ge", "min", "max", "total"],
)
def test_refused_arithmetic_names_the_operation(operation: object, op: str) -> None:
    """M1, M4: mixing currencies, or Money with a number, is refused naming the operation and
    both sides."""
    assert callable(operation)
    with pytest.raises(CurrencyMismatch) as mismatch:
        operation(usd(100), Money.from_minor(100, "EUR"))
    assert mismatch.value.message == (
        f"cannot {op} USD and EUR; amounts must be in the same currency"
    )
    with pytest.raises(InvalidAmount) as untyped:
        operation(usd(100), 100)
    assert untyped.value.message == f"cannot {op} Money and int; both sides must be Money"


@pytest.mark.parametrize("code", [["USD"], {"code": "USD"}, {"USD"}])
def test_a_currency_of_an_unhashable_type_is_refused_as_unknown(code: object) -> None:
    """M2: a currency given as a list, dict or set (say, from a JSON body) is unknown_currency
    naming its type, never a TypeError."""
    with pytest.raises(UnknownCurrency) as info:
        Currency.of(code)  # type: ignore[arg-type]
    assert info.value.message == (
        "a currency must be given as an ISO 4217 code string such as 'USD', got "
        f"{type(code).__name__}"
    )


def test_every_spelling_of_a_code_gets_the_iso_exponent() -> None:
    """M3: a code in a spelling not asked for before (mixed case, surrounding whitespace) is
    the currency with its ISO exponent, the same value each time it is asked for."""
    for text, code, exponent in (
        ("\tKwD \n", "KWD", 3),
        (" jPy\t", "JPY", 0),
        ("\nclf ", "CLF", 4),
        ("  uSd  ", "USD", 2),
    ):
        first = Currency.of(text)
        assert (first.code, first.exponent) == (code, exponent)
        again = Currency.of(text)
        assert (again.code, again.exponent) == (code, exponent)


@given(
    whole=st.text("0123456789", min_size=1, max_size=22),
    point=st.booleans(),
    fraction=st.text("0123456789", max_size=22),
    code=st.sampled_from(["USD", "JPY", "KWD", "ISK"]),
    pad=st.sampled_from(["", " ", "\t"]),
)
def test_plain_decimal_text_parses_as_its_decimal_does(
    whole: str, point: bool, fraction: str, code: str, pad: str
) -> None:
    """M2: text of digits with an optional point and decimals (read on its digits, issue 10)
    gives the amount its ``Decimal`` gives, or is refused as it is (too many decimals)."""
    text = whole + ("." + fraction if point else "")

    def outcome(value: str | Decimal) -> Money | None:
        try:
            return Money.parse(value, code)
        except InvalidAmount:
            return None

    assert outcome(pad + text + pad) == outcome(Decimal(text))
