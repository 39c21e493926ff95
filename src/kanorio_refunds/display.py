"""Money shown to people, per locale: ``format_money(Money.parse("1234.50", "USD"), "en_US")``
is ``$1,234.50``, JPY 4,820 in ``ja_JP`` is ``￥4,820`` and KWD 5.120 in ``de_DE`` is
``5,120 KWD``.

The locale gives the symbol, the separators and where the symbol goes (Babel's CLDR data,
``pip install 'kanorio-refunds[display]'``); the currency gives the number of decimals: always
its ISO 4217 minor units, as ``Money`` holds them. CLDR's own digit counts differ for some
currencies (it shows IQD and MGA without decimals, ISO gives them 3 and 2), and a page must
never show an amount other than the one refunded, so this module never uses them and never
goes through a float: the exact ``Decimal`` is laid out digit for digit.

Babel is imported when a money is first formatted, never by ``import kanorio_refunds`` or by
importing this module.
"""

from __future__ import annotations

import copy
import decimal
import functools
import re
import unicodedata
from typing import TYPE_CHECKING, Final

from kanorio_refunds.domain import Money
from kanorio_refunds.errors import RefundError, UnknownLocale

if TYPE_CHECKING:
    from babel import Locale
    from babel.numbers import NumberPattern

__all__ = ["DEFAULT_LOCALE", "UnknownLocale", "format_money", "locale_name", "localize_amounts"]

#: The locale used when none is given.
DEFAULT_LOCALE: Final = "en_US"

# CLDR's currency spacing (UTS #35, "Currencies"): a symbol whose character next to the number
# is neither a symbol nor a space ("KWD", "CHF") is kept apart from the digits by a no-break
# space, which Babel's patterns do not do by themselves ("KWD5.120").
_CURRENCY_SIGN: Final = "¤"
_NO_BREAK_SPACE: Final = "\u00a0"
# The library's sentences (activity entries, error messages, eligibility reasons) write amounts
# as Money's text: ASCII digits, an optional point and decimals, a space, the ISO code. What
# they quote ('5.00 USD' is not a plain decimal number) is someone's input, shown as typed.
_AMOUNT_IN_TEXT: Final = re.compile(r"(?<![\w.,'\"])([0-9]+(?:\.[0-9]+)?) ([A-Z]{3})\b(?!['\"])")
# Enough for any amount Money holds (at most 64 digits): Babel rounds with the current decimal
# context, whose default precision (28 digits) would refuse a longer amount.
_PRECISION: Final = 100


def format_money(money: Money, locale: str = DEFAULT_LOCALE) -> str:
    """``money`` as people of ``locale`` write it (``"en_US"``, ``"de-DE"``, ``"ja"``): the
    locale's currency symbol, separators and pattern, and exactly the currency's ISO 4217
    minor units (JPY none, USD two, KWD three). Raises ``UnknownLocale``; ``TypeError`` when
    ``money`` is not a ``Money``."""
    if not isinstance(money, Money):
        raise TypeError(f"format_money takes a Money, got {type(money).__name__}")
    parsed = _locale(locale)
    pattern = _pattern(parsed, money.currency.code, money.currency.exponent)
    with decimal.localcontext() as context:
        context.prec = _PRECISION
        text: str = pattern.apply(
            money.amount, parsed, currency=money.currency.code, currency_digits=False
        )
    return text


def localize_amounts(text: str, locale: str = DEFAULT_LOCALE) -> str:
    """``text`` (a sentence of this library: an activity entry, an error message, an
    eligibility reason) with every amount in it as ``format_money`` shows it in ``locale``:
    "Refund of 20.00 USD succeeded" → "Refund of $20.00 succeeded". What is not an exact
    amount of a known currency in ``Money``'s text ("12.5 usd", "1,000.00 USD") stays as it
    is, and so does a quoted one (an error message quoting what someone typed: "'5.00 USD' is
    not a plain decimal number"). Raises ``UnknownLocale``."""
    parsed = str(_locale(locale))

    def shown(match: re.Match[str]) -> str:
        try:
            money = Money.parse(match.group(1), match.group(2))
        except RefundError:
            return match.group(0)
        if str(money) != match.group(0):  # "12.5 USD" is not how Money writes 12.50 USD
            return match.group(0)
        return format_money(money, parsed)

    return _AMOUNT_IN_TEXT.sub(shown, text)


def locale_name(locale: str) -> str:
    """The canonical name of ``locale`` (``"de-de"`` → ``"de_DE"``); ``UnknownLocale``
    otherwise. A host checks a locale from a request or a setting with it once."""
    return str(_locale(locale))


@functools.lru_cache(maxsize=64)
def _locale(name: str) -> Locale:
    from babel import Locale, UnknownLocaleError

    if not isinstance(name, str) or not name.strip() or len(name) > 40:
        raise UnknownLocale(f"a locale is a name such as 'en_US', got {name!r:.50}")
    try:
        return Locale.parse(name.strip().replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise UnknownLocale(
            f"{name!r:.50} is not a locale Babel knows; give one such as 'en_US', 'de_DE' or 'ja'"
        ) from None


@functools.lru_cache(maxsize=512)
def _pattern(locale: Locale, code: str, exponent: int) -> NumberPattern:
    from babel.numbers import get_currency_symbol, parse_pattern

    standard = locale.currency_formats["standard"]
    pattern = copy.copy(parse_pattern(standard))
    pattern.frac_prec = (exponent, exponent)
    symbol = get_currency_symbol(code, locale)
    positive, negative = pattern.prefix
    pattern.prefix = (
        _spaced(positive, symbol[-1:], before=True),
        _spaced(negative, symbol[-1:], before=True),
    )
    positive, negative = pattern.suffix
    pattern.suffix = (
        _spaced(positive, symbol[:1], before=False),
        _spaced(negative, symbol[:1], before=False),
    )
    return pattern


def _spaced(affix: str, symbol_edge: str, *, before: bool) -> str:
    """``affix`` with a no-break space between the currency sign and the number when the
    symbol's character next to the number is neither a symbol nor a space (CLDR)."""
    if not symbol_edge or unicodedata.category(symbol_edge)[0] in "SZ":
        return affix
    if before and affix.endswith(_CURRENCY_SIGN):
        return affix + _NO_BREAK_SPACE
    if not before and affix.startswith(_CURRENCY_SIGN):
        return _NO_BREAK_SPACE + affix
    return affix
