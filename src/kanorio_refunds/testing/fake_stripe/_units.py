"""Stripe units (ints of a currency's smallest unit at Stripe): conversions and display.

Amounts convert between currencies in major units at an exchange rate and round half-even, the
model's one named rounding (M5).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from kanorio_refunds.domain._money import stripe_decimals


def to_minor(major: Decimal, currency: str) -> int:
    """Major units -> Stripe units of ``currency``, rounding half-even (M5: named rounding)."""
    scaled = major.scaleb(stripe_decimals(currency))
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def to_major(amount: int, currency: str) -> Decimal:
    """Stripe units of ``currency`` -> major units, exactly."""
    return Decimal(amount).scaleb(-stripe_decimals(currency))


def convert(amount: int, source: str, target: str, rate: Decimal) -> int:
    """Convert Stripe units of ``source`` into Stripe units of ``target`` at ``rate``."""
    return to_minor(to_major(amount, source) * rate, target)


def proportion(amount: int, numerator: int, denominator: int) -> int:
    """``amount * numerator / denominator`` in whole units, rounded half-even (a transfer
    reversed in proportion to the part of the charge refunded)."""
    exact = Decimal(amount) * Decimal(numerator) / Decimal(denominator)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def display(amount: int, currency: str) -> str:
    """``1001, "usd"`` -> ``"10.01 USD"``, as Stripe writes amounts in its error messages."""
    return f"{to_major(amount, currency)} {currency.upper()}"
