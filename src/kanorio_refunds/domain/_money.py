"""Money: an integer number of minor units of one ISO 4217 currency (rules M1–M5).

No floats anywhere: amounts are ``int`` minor units, user input is parsed from ``str`` or
``Decimal``, and every conversion that could produce a fraction of a minor unit names its
rounding (M5).
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Final

import attrs

from kanorio_refunds.errors import CurrencyMismatch, InvalidAmount, UnknownCurrency

# ISO 4217 minor-unit exponents (list one, active codes with a numeric minor unit). Every code not
# in the exceptions below has exponent 2.
_ISO_EXPONENT_2: Final = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN
    BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK
    LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK
    NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD
    SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG
    YER ZAR ZMW ZWG ZWL
    """.split()
)
_ISO_EXPONENT_0: Final = frozenset(
    """
    BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF
    """.split()
)
_ISO_EXPONENT_3: Final = frozenset(
    """
    BHD IQD JOD KWD LYD OMR TND
    """.split()
)
_ISO_EXPONENT_4: Final = frozenset(
    """
    CLF UYW
    """.split()
)

ISO_EXPONENTS: Final[dict[str, int]] = {
    **dict.fromkeys(_ISO_EXPONENT_2, 2),
    **dict.fromkeys(_ISO_EXPONENT_0, 0),
    **dict.fromkeys(_ISO_EXPONENT_3, 3),
    **dict.fromkeys(_ISO_EXPONENT_4, 4),
}

# Stripe's amount rules (M3), from https://docs.stripe.com/currencies ("Zero-decimal currencies",
# "Three-decimal currencies", "Special cases") and Stripe's support note on ISK
# (support.stripe.com/questions/deprecation-of-fractional-isk-charges-and-refunds):
# - zero-decimal: the amount is sent as is, never multiplied by 100;
# - three-decimal: sent in thousandths, and the last digit must be 0 (a multiple of 10);
# - ISK: zero-decimal for people and in ISO, but Stripe's API keeps it two-decimal and requires
#   a multiple of 100 (ISK 5 is sent as 500);
# - HUF and TWD: two-decimal in the API for charges and refunds (only payouts must be whole
#   units), so they follow the default rule;
# - amounts have at most 8 digits (12 for IDR).
STRIPE_ZERO_DECIMAL: Final = frozenset(
    """
    BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF
    """.split()
)
STRIPE_THREE_DECIMAL: Final = frozenset(
    """
    BHD JOD KWD OMR TND
    """.split()
)
STRIPE_WHOLE_UNITS_IN_TWO_DECIMALS: Final = frozenset({"ISK"})
STRIPE_MAX_DIGITS: Final = 8
STRIPE_MAX_DIGITS_BY_CURRENCY: Final[dict[str, int]] = {"IDR": 12}

# ASCII digits only: ``\d`` and ``Decimal`` would also take Arabic-Indic or full-width digits.
_DECIMAL_TEXT: Final = re.compile(r"^[0-9]+(?:\.[0-9]*)?$|^\.[0-9]+$")
#: Far beyond any real amount (Stripe allows 12 digits at most); refusing early keeps a hostile
#: ``Decimal("1E+999999999")`` from building a gigantic integer.
MAX_AMOUNT_DIGITS: Final = 30
#: Bound on the digits (and decimal places, trailing zeros included) of any amount parsed.
MAX_TOTAL_DIGITS: Final = 64


def stripe_decimals(code: str) -> int:
    """The number of decimal places of ``code`` in Stripe's API amounts (``'usd'`` → 2).

    Raises ``UnknownCurrency`` for a code that is not ISO 4217.
    """
    known = _DECIMALS.get(code)
    if known is not None:
        return known
    upper = Currency.of(code).code
    decimals = 0 if upper in STRIPE_ZERO_DECIMAL else 3 if upper in STRIPE_THREE_DECIMAL else 2
    if len(_DECIMALS) < _MAX_CURRENCIES:
        _DECIMALS[code] = decimals
    return decimals


# Stripe's decimals by the exact text asked for (issue 10: asked for every amount sent or read).
_DECIMALS: dict[str, int] = {}


@attrs.frozen
class Currency:
    """An ISO 4217 currency: its upper-case ``code`` and its minor-unit ``exponent``.

    Build one with ``Currency.of("usd")``; two currencies are equal when their codes are.
    """

    code: str
    exponent: int = attrs.field(eq=False)

    # Equality by code, as attrs would generate it, with an identity shortcut first (issue 10:
    # currencies are compared on every amount computed, and ``Currency.of`` shares one object
    # per code, so the shortcut is the usual answer). attrs sees these and generates none.
    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Currency)
        return self.code == other.code

    def __ne__(self, other: object) -> bool:
        if self is other:
            return False
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Currency)
        return self.code != other.code

    def __hash__(self) -> int:
        return hash(self.code)

    @classmethod
    def of(cls, code: str | Currency) -> Currency:
        """The currency for an ISO 4217 code (ASCII letters, case-insensitive, surrounding
        whitespace ignored). Raises ``UnknownCurrency``."""
        if isinstance(code, Currency):
            return code
        known = _CURRENCIES.get(code) if type(code) is str else None
        if known is not None:
            return known
        if not isinstance(code, str):
            raise UnknownCurrency(
                f"a currency must be given as an ISO 4217 code string such as 'USD', "
                f"got {type(code).__name__}"
            )
        stripped = code.strip()
        # ASCII only, checked before case folding: str.upper() maps "ſ" (long s) to "S" and the
        # dotless "ı" to "I", so "uſd" would otherwise be USD and "ınr" INR.
        upper = stripped.upper() if stripped.isascii() else ""
        exponent = ISO_EXPONENTS.get(upper)
        if exponent is None:
            raise UnknownCurrency(
                f"{code!r} is not an ISO 4217 currency code this library knows; "
                f"use a three-letter ASCII code such as 'USD', 'EUR' or 'JPY'"
            )
        # One object per code, whatever text asked for it ("usd" as Stripe writes it, "USD"):
        # comparisons of currencies then end at their identity shortcut (issue 10).
        currency = _CURRENCIES.get(upper) if cls is Currency else None
        if currency is None:
            currency = cls(upper, exponent)
        if type(code) is str and len(_CURRENCIES) < _MAX_CURRENCIES - 1:
            _CURRENCIES[code] = currency
            _CURRENCIES.setdefault(upper, currency)
        return currency

    def __str__(self) -> str:
        return self.code


# Currencies by the exact text they were asked for with (issue 10: ``Currency.of`` runs on every
# amount read or computed). Currencies are immutable values, so sharing one changes nothing but
# speed; bounded, since the texts come from outside.
_MAX_CURRENCIES: Final = 1024
_CURRENCIES: dict[str, Currency] = {}


def _check_minor(_instance: object, _attribute: object, value: int) -> None:
    # bool is a subclass of int: refuse it explicitly so True never becomes one cent (M1).
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAmount(
            f"a money amount must be an integer number of minor units, got "
            f"{type(value).__name__} {value!r}; parse text or Decimal with Money.parse"
        )


@attrs.frozen(order=False)
class Money:
    """An integer amount of minor units of one currency (M1).

    Arithmetic and ordering work only within one currency (``CurrencyMismatch`` otherwise);
    ``==`` across currencies is simply False (M4). Values are immutable and hashable.
    """

    minor: int = attrs.field(validator=_check_minor)
    currency: Currency

    # As attrs would generate them (same class, equal minor units and currency), written out
    # for speed (issue 10); attrs sees them and generates none.
    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Money)
        return self.minor == other.minor and (
            self.currency is other.currency or self.currency == other.currency
        )

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        return hash((self.minor, self.currency))

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def from_minor(cls, minor: int, currency: str | Currency) -> Money:
        """``Money.from_minor(1250, "USD")`` is USD 12.50. Refuses floats and bools (M1)."""
        return cls(minor, Currency.of(currency))

    @classmethod
    def zero(cls, currency: str | Currency) -> Money:
        """Zero in ``currency``."""
        return cls(0, Currency.of(currency))

    @classmethod
    def parse(cls, text: str | Decimal, currency: str | Currency) -> Money:
        """Parse user input such as ``"12.50"`` or ``Decimal("12.5")`` (M2).

        Accepts plain non-negative decimal numbers with at most as many decimals as the currency
        has. Refuses, with a message naming the problem: empty text, non-numeric text, NaN,
        Infinity, exponent notation, signs, too many decimals, floats and bools.
        """
        cur = Currency.of(currency)
        if type(text) is str:
            # Issue 10: the usual input ("12.50"), read on its ASCII digits; anything else, and
            # every refusal, goes the checked way below.
            whole, _, fraction = text.strip().partition(".")
            exp = cur.exponent
            if (
                0 < len(whole) <= 20
                and len(fraction) <= 20
                and whole.isdigit()
                and whole.isascii()
                and (not fraction or (fraction.isdigit() and fraction.isascii()))
                and not fraction[exp:].strip("0")
            ):
                units = int(whole) * 10**exp
                if exp and fraction:
                    units += int(fraction[:exp].ljust(exp, "0"))
                return _of_int(units, cur) if cls is Money else cls(units, cur)
        if isinstance(text, (bool, float)):
            raise InvalidAmount(
                f"{text!r} is a {type(text).__name__}; amounts must be given as text such as "
                f"'12.50' or as a Decimal, never as a float or bool"
            )
        if isinstance(text, Decimal):
            return cls._from_decimal(text, cur, shown=str(text))
        if not isinstance(text, str):
            raise InvalidAmount(
                f"cannot parse an amount from {type(text).__name__}; give text such as '12.50'"
            )
        stripped = text.strip()
        if not stripped:
            raise InvalidAmount("the amount is empty; enter a number such as '12.50'")
        if stripped.startswith("-"):
            raise InvalidAmount(f"{text!r} is negative; enter a positive amount such as '12.50'")
        if stripped.startswith("+"):
            raise InvalidAmount(f"{text!r} has a sign; enter the number alone, such as '12.50'")
        lowered = stripped.lower()
        if lowered in {"nan", "snan", "qnan"}:
            raise InvalidAmount(f"{text!r} is not a number; enter a number such as '12.50'")
        if lowered in {"inf", "infinity"}:
            raise InvalidAmount(f"{text!r} is infinite; enter a finite amount such as '12.50'")
        if "e" in lowered and re.fullmatch(r"[0-9.]+e[+-]?[0-9]+", lowered):
            raise InvalidAmount(
                f"{text!r} uses exponent notation; write the amount out, such as '1200.00'"
            )
        match = _DECIMAL_TEXT.match(stripped)
        if match is None:
            raise InvalidAmount(
                f"{text!r} is not a plain decimal number; enter digits with an optional "
                f"decimal point, such as '12.50'"
            )
        return cls._from_decimal(Decimal(stripped), cur, shown=text)

    @classmethod
    def _from_decimal(cls, value: Decimal, currency: Currency, *, shown: str) -> Money:
        if value.is_nan():
            raise InvalidAmount(f"{shown!r} is not a number; enter a number such as '12.50'")
        if value.is_infinite():
            raise InvalidAmount(f"{shown!r} is infinite; enter a finite amount such as '12.50'")
        if value.is_signed() and value != 0:
            raise InvalidAmount(f"{shown!r} is negative; enter a positive amount such as '12.50'")
        # Exact integer arithmetic: Decimal operations round to the context precision (28
        # digits), which would silently round long amounts (M1).
        _sign, digits, exponent = value.as_tuple()
        if not isinstance(exponent, int):  # pragma: no cover - NaN and Infinity refused above
            raise InvalidAmount(f"{shown!r} is not a finite number")
        if exponent > 0:
            raise InvalidAmount(
                f"{shown!r} uses exponent notation; write the amount out, such as '1200.00'"
            )
        if len(digits) > MAX_TOTAL_DIGITS or -exponent > MAX_TOTAL_DIGITS:
            # Bounds the integer arithmetic below: Decimal("1E-999999999") would otherwise
            # build 10**999999999.
            raise InvalidAmount(
                f"{shown!r} has too many digits; amounts have at most {MAX_AMOUNT_DIGITS} digits "
                f"before the decimal point and {currency.exponent} after it"
            )
        if value and value.adjusted() >= MAX_AMOUNT_DIGITS:
            raise InvalidAmount(
                f"{shown!r} is too large: amounts have at most {MAX_AMOUNT_DIGITS} digits before "
                f"the decimal point"
            )
        coefficient = int("".join(map(str, digits)) or "0")
        shift = exponent + currency.exponent
        if shift >= 0:
            return cls(coefficient * 10**shift, currency)
        minor, fraction = divmod(coefficient, 10**-shift)
        if fraction:
            raise InvalidAmount(
                f"{shown!r} has more decimal places than {currency.code} allows "
                f"({currency.exponent}); round it to {currency.exponent} decimals"
            )
        return cls(minor, currency)

    # -- queries ----------------------------------------------------------------------------

    @property
    def amount(self) -> Decimal:
        """The amount in major units as an exact ``Decimal`` (USD 12.50 → ``Decimal('12.50')``)."""
        return Decimal(self.amount_text())  # exact: Decimal arithmetic would round at 28 digits

    def is_zero(self) -> bool:
        """True when the amount is zero."""
        return self.minor == 0

    def is_positive(self) -> bool:
        """True when the amount is greater than zero."""
        return self.minor > 0

    def format(self) -> str:
        """Plain text for people and for round trips: ``'12.50 USD'``, ``'1500 JPY'``."""
        return f"{self.amount_text()} {self.currency.code}"

    def amount_text(self) -> str:
        """The amount alone, with exactly the currency's decimals: ``'12.50'``; parseable."""
        sign = "-" if self.minor < 0 else ""
        digits = str(abs(self.minor))
        exp = self.currency.exponent
        if exp == 0:
            return sign + digits
        digits = digits.rjust(exp + 1, "0")
        return f"{sign}{digits[:-exp]}.{digits[-exp:]}"

    def __str__(self) -> str:
        return f"{self.amount_text()} {self.currency.code}"  # ``format``, one call less

    # -- arithmetic (M4) --------------------------------------------------------------------

    def _same(self, other: object, op: str) -> Money:
        if not isinstance(other, Money):
            raise InvalidAmount(
                f"cannot {op} Money and {type(other).__name__}; both sides must be Money"
            )
        if other.currency is not self.currency and other.currency != self.currency:
            raise CurrencyMismatch(
                f"cannot {op} {self.currency.code} and {other.currency.code}; "
                f"amounts must be in the same currency"
            )
        return other

    def __add__(self, other: Money) -> Money:
        return _of_int(self.minor + self._same(other, "add").minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        return _of_int(self.minor - self._same(other, "subtract").minor, self.currency)

    def __neg__(self) -> Money:
        return _of_int(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.minor < self._same(other, "compare").minor

    def __le__(self, other: Money) -> bool:
        return self.minor <= self._same(other, "compare").minor

    def __gt__(self, other: Money) -> bool:
        return self.minor > self._same(other, "compare").minor

    def __ge__(self, other: Money) -> bool:
        return self.minor >= self._same(other, "compare").minor

    def min(self, other: Money) -> Money:
        """The smaller of two amounts of the same currency."""
        return self if self <= other else other

    def max(self, other: Money) -> Money:
        """The larger of two amounts of the same currency."""
        return self if self >= other else other


def _of_int(minor: int, currency: Currency) -> Money:
    """``Money(minor, currency)`` without the M1 check, for results of arithmetic on the
    ``minor`` of Money values, which are ints already (issue 10: the hot paths build many).
    An ``int`` subclass's arithmetic may give anything: that result is checked as usual."""
    if type(minor) is not int:
        return Money(minor, currency)
    money = _new_money(Money)
    # Money is frozen: its own __setattr__ refuses; its slots are set directly (what attrs'
    # generated __init__ does, one lookup less).
    _set_minor(money, minor)
    _set_currency(money, currency)
    return money


_new_money: Final = object.__new__
_set_minor: Final = Money.__dict__["minor"].__set__
_set_currency: Final = Money.__dict__["currency"].__set__


def total(amounts: list[Money] | tuple[Money, ...], currency: Currency) -> Money:
    """The sum of ``amounts`` (all in ``currency``); zero for none."""
    result = Money.zero(currency)
    minor = 0
    for amount in amounts:
        minor += result._same(amount, "add").minor
    return _of_int(minor, result.currency)


# -- Stripe units (M3) ------------------------------------------------------------------------


def stripe_step(currency: Currency) -> int:
    """The smallest amount, in our minor units, that Stripe accepts as a step for ``currency``.

    Three-decimal currencies go in multiples of 10 thousandths; ISK in whole krónur; a currency
    whose ISO exponent exceeds Stripe's decimals (e.g. MGA) in whole Stripe units.
    """
    key = (currency.code, currency.exponent)
    known = _STEPS.get(key)
    if known is not None:
        return known
    code = currency.code
    decimals = stripe_decimals(code)
    step: int = 10 ** max(0, currency.exponent - decimals)
    if code in STRIPE_THREE_DECIMAL:
        step = max(step, 10)
    if len(_STEPS) < _MAX_CURRENCIES:
        _STEPS[key] = step
    return step


# Each currency's step, once computed (issue 10: asked on every balance); bounded like
# ``_CURRENCIES``.
_STEPS: dict[tuple[str, int], int] = {}


def to_stripe_amount(money: Money) -> int:
    """``money`` in Stripe's integer units, enforcing Stripe's amount rules (M3, A4).

    Raises ``InvalidAmount`` naming the rule when Stripe would refuse the amount.
    """
    code = money.currency.code
    if money.minor % stripe_step(money.currency) != 0:
        step_money = Money(stripe_step(money.currency), money.currency)
        raise InvalidAmount(
            f"{money} cannot be sent to Stripe: {code} amounts must be multiples of "
            f"{step_money.amount_text()} {code}"
        )
    decimals = stripe_decimals(code)
    shift = decimals - money.currency.exponent
    units: int = money.minor * 10**shift if shift >= 0 else money.minor // 10**-shift
    max_digits = STRIPE_MAX_DIGITS_BY_CURRENCY.get(code, STRIPE_MAX_DIGITS)
    if abs(units) >= 10**max_digits:  # more than max_digits digits
        raise InvalidAmount(
            f"{money} is too large for Stripe: amounts have at most {max_digits} digits in "
            f"Stripe's units of {code}"
        )
    return units


def from_stripe_amount(units: int, currency: str | Currency, *, rounding: str = "exact") -> Money:
    """Stripe's integer ``units`` of ``currency`` as Money (M3, M5).

    ``rounding`` must be named when Stripe's unit is finer than ours (ISK): ``"exact"`` (the
    default) raises ``InvalidAmount`` on a fraction; ``"up"`` and ``"down"`` round explicitly.
    """
    cur = Currency.of(currency)
    if isinstance(units, bool) or not isinstance(units, int):
        raise InvalidAmount(f"Stripe amounts are integers, got {type(units).__name__}")
    shift = cur.exponent - stripe_decimals(cur.code)
    if shift >= 0:
        return Money(units * 10**shift, cur)
    value = Decimal(units).scaleb(shift)
    if rounding == "exact":
        if value != value.to_integral_value():
            raise InvalidAmount(
                f"Stripe amount {units} of {cur.code} is a fraction of our smallest unit; "
                f"name a rounding ('up' or 'down')"
            )
        return Money(int(value), cur)
    modes = {"up": ROUND_CEILING, "down": ROUND_FLOOR, "half_even": ROUND_HALF_EVEN}
    if rounding not in modes:
        raise ValueError(f"rounding must be one of 'exact', {', '.join(modes)}; got {rounding!r}")
    return Money(int(value.to_integral_value(rounding=modes[rounding])), cur)


def convert_rounding_up(amount: Money, rate: Decimal, target: Currency) -> Money:
    """Convert ``amount`` into ``target`` by dividing by ``rate`` (target per source major unit
    is ``1 / rate``), rounding *up* to the next minor unit (M5).

    Used for fees: Stripe's ``exchange_rate`` converts presentment to settlement currency
    (settlement = presentment × rate), so a settlement-currency fee is fee / rate in presentment
    currency; rounding up never understates a fee, so the refundable balance is never overstated
    (B3).
    """
    if not isinstance(rate, Decimal) or not rate.is_finite() or rate <= 0:
        raise InvalidAmount(f"an exchange rate must be a positive finite Decimal, got {rate!r}")
    # Exact rational arithmetic: Decimal division rounds its quotient to 28 digits (half-even),
    # which could round a fee down before the ceiling and overstate the balance.
    rate_num, rate_den = rate.as_integer_ratio()
    numerator = amount.minor * rate_den * 10**target.exponent
    denominator = rate_num * 10**amount.currency.exponent
    return Money(-(-numerator // denominator), target)  # ceiling division
