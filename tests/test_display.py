"""kanorio_refunds.display: money shown per locale, exactly (M1, M2: never through a float)."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanorio_refunds import Money
from kanorio_refunds.display import UnknownLocale, format_money, locale_name, localize_amounts
from kanorio_refunds.domain._money import ISO_EXPONENTS

#: Locales with "." (en_US, ja_JP, de_CH's "'" grouping) and "," (de_DE, fr_FR) decimals.
_DECIMAL_MARK = {"en_US": ".", "ja_JP": ".", "de_CH": ".", "de_DE": ",", "fr_FR": ","}


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "shown"),
    [
        ("1234.50", "USD", "en_US", "$1,234.50"),
        ("4820", "JPY", "en_US", "¥4,820"),
        ("4820", "JPY", "ja_JP", "￥4,820"),
        ("5.120", "KWD", "de_DE", "5,120\u00a0KWD"),
        # CLDR's spacing: a letter symbol is kept apart from the digits by a no-break space.
        ("5.120", "KWD", "en_US", "KWD\u00a05.120"),
        ("1234.50", "USD", "de_DE", "1.234,50\u00a0$"),
        ("1234.50", "EUR", "fr_FR", "1\u202f234,50\u00a0€"),
        ("1234.50", "CHF", "de_CH", "CHF\u00a01'234.50"),
        ("0.01", "USD", "en_US", "$0.01"),
        ("0", "JPY", "en_US", "¥0"),
        # ISO 4217's minor units, not CLDR's (which shows IQD and MGA without decimals).
        ("12.345", "IQD", "en_US", "IQD\u00a012.345"),
        ("12.34", "MGA", "en_US", "MGA\u00a012.34"),
        ("1.2345", "CLF", "en_US", "CLF\u00a01.2345"),
    ],
)
def test_written_out_examples(amount: str, currency: str, locale: str, shown: str) -> None:
    """M3: each currency shown with its ISO 4217 decimals, as the locale writes it."""
    assert format_money(Money.parse(amount, currency), locale) == shown


def test_negative_amounts_keep_their_sign() -> None:
    """M3: a negative amount keeps its sign and its decimals."""
    assert format_money(-Money.parse("5.12", "USD"), "en_US") == "-$5.12"
    assert format_money(-Money.parse("5.120", "KWD"), "en_US") == "-KWD\u00a05.120"


@given(
    code=st.sampled_from(sorted(ISO_EXPONENTS)),
    minor=st.integers(min_value=0, max_value=10**28),
    locale=st.sampled_from(sorted(_DECIMAL_MARK)),
)
def test_the_amount_shown_is_exactly_the_amount(code: str, minor: int, locale: str) -> None:
    """M1, M2: whatever the currency and size, the digits shown, read back with the locale's
    decimal mark, are the amount's exact decimal text: nothing rounded (as a float would round
    10**28 + 1 cents, or 0.1 + 0.2), no decimals added or dropped (ISO's minor units)."""
    money = Money.from_minor(minor, code)
    shown = format_money(money, locale)
    mark = _DECIMAL_MARK[locale]
    # The number is the one run of digits and separators; a symbol may hold a point ("Cg.").
    runs = re.findall(r"[0-9](?:[0-9.,'\u00a0\u202f]*[0-9])?", shown)
    assert len(runs) == 1, shown
    number = "".join(c for c in runs[0] if c.isdigit() or c == mark).replace(mark, ".")
    assert number == money.amount_text()
    assert Decimal(number) == money.amount


@given(
    code=st.sampled_from(sorted(ISO_EXPONENTS)),
    minor=st.integers(min_value=0, max_value=10**20),
    locale=st.sampled_from(sorted(_DECIMAL_MARK)),
)
def test_amounts_in_the_librarys_sentences_are_shown_as_format_money_shows_them(
    code: str, minor: int, locale: str
) -> None:
    """The library writes amounts in its sentences as Money's text; each is replaced by
    exactly what format_money shows, and nothing else in the sentence changes."""
    money = Money.from_minor(minor, code)
    sentence = f"Refund of {money} succeeded (re_1, order 1042)."
    expected = f"Refund of {format_money(money, locale)} succeeded (re_1, order 1042)."
    assert localize_amounts(sentence, locale) == expected


@pytest.mark.parametrize(
    ("text", "locale", "shown"),
    [
        ("Refund of 20.00 USD succeeded.", "de_DE", "Refund of 20,00\u00a0$ succeeded."),
        (
            "Order registered for Stripe payment pi_fake1 of 1234.50 USD, status Paid.",
            "en_US",
            "Order registered for Stripe payment pi_fake1 of $1,234.50, status Paid.",
        ),
        ("4820 JPY then 5.120 KWD", "en_US", "¥4,820 then KWD\u00a05.120"),
        # Not Money's text of an amount: left as written.
        (
            "12.5 USD, 1,000.00 USD, 20.00 usd, 20.00 XYZ, 20.00 USDT",
            "en_US",
            "12.5 USD, 1,000.00 USD, 20.00 usd, 20.00 XYZ, 20.00 USDT",
        ),
        ("no amount here", "en_US", "no amount here"),
        # Quoted: what someone typed, which an error message repeats as typed.
        (
            "'5.00 USD' is not a plain decimal number; notes \"paid 20.00 USD\"",
            "de_DE",
            "'5.00 USD' is not a plain decimal number; notes \"paid 20.00 USD\"",
        ),
    ],
)
def test_localize_amounts_examples(text: str, locale: str, shown: str) -> None:
    """M3: amounts in sentences localised; other text left alone."""
    assert localize_amounts(text, locale) == shown


def test_localize_amounts_refuses_an_unknown_locale() -> None:
    """M3: an unknown locale is refused with a code, nothing shown."""
    with pytest.raises(UnknownLocale):
        localize_amounts("20.00 USD", "xx_YY")


def test_locales_are_read_leniently_and_refused_with_a_code() -> None:
    """M3: "de-de" is de_DE; a non-locale is refused with a code."""
    assert locale_name("de-de") == "de_DE"
    assert format_money(Money.parse("1", "USD"), "de-DE") == "1,00\u00a0$"
    for bad in ("xx_YY", "", "en_US; rm -rf /", "a" * 100):
        with pytest.raises(UnknownLocale) as refused:
            format_money(Money.parse("1", "USD"), bad)
        assert refused.value.code == "unknown_locale"
        assert "en_US" in refused.value.message  # says what would be right


def test_only_money_is_formatted() -> None:
    """M1: only Money is formatted (a Decimal is no amount of a currency)."""
    with pytest.raises(TypeError):
        format_money(Decimal("1.00"), "en_US")  # type: ignore[arg-type]


def test_babel_is_imported_only_when_money_is_first_shown() -> None:
    """``import kanorio_refunds.display`` stays light: Babel loads on first use."""
    code = (
        "import sys, kanorio_refunds.display as d\n"
        "from kanorio_refunds import Money\n"
        "print('babel' in sys.modules)\n"
        "d.format_money(Money.parse('1', 'USD'))\n"
        "print('babel' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert re.findall(r"True|False", done.stdout) == ["False", "True"]
