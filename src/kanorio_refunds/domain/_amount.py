"""The refund amount (rules A1–A5)."""

from __future__ import annotations

import enum
from typing import Final

from kanorio_refunds.domain._money import Currency, Money, to_stripe_amount
from kanorio_refunds.errors import AmountExceedsRefundable, CurrencyMismatch, InvalidAmount


class FullAmount(enum.Enum):
    """The "Refund Full Amount" button (A5): exactly the current refundable balance."""

    FULL = "full"


FULL: Final = FullAmount.FULL


def check_positive(amount: Money) -> None:
    """A1: the amount is greater than zero."""
    if not amount.is_positive():
        raise InvalidAmount(f"the refund amount must be greater than zero, got {amount}")


def check_currency(amount: Money, currency: Currency) -> None:
    """A2: the amount is in the order currency."""
    if amount.currency is not currency and amount.currency != currency:
        raise CurrencyMismatch(
            f"the refund is in {amount.currency.code} but the order is in {currency.code}; "
            f"enter the amount in {currency.code}"
        )


def check_within_balance(amount: Money, refundable: Money) -> None:
    """A3: the amount is at most the refundable balance (the error carries the balance)."""
    if amount > refundable:
        raise AmountExceedsRefundable(
            f"{amount} is more than the refundable balance of {refundable}; enter at most "
            f"{refundable}",
            refundable,
        )


def check_sendable(amount: Money) -> None:
    """A4: the amount is representable in the currency and acceptable to Stripe (M3)."""
    to_stripe_amount(amount)


def resolve_amount(requested: Money | FullAmount, refundable: Money) -> Money:
    """A1–A5: the amount to refund, validated against ``refundable``.

    ``FULL`` means exactly the refundable balance (A5); it is refused like any amount when that
    balance is zero.
    """
    if isinstance(requested, FullAmount):
        amount = refundable
    elif isinstance(requested, Money):
        amount = requested
    else:
        raise InvalidAmount(
            f"the refund amount must be Money or FULL, got {type(requested).__name__}; parse "
            f"user input with Money.parse"
        )
    check_currency(amount, refundable.currency)
    check_positive(amount)
    check_sendable(amount)
    check_within_balance(amount, refundable)
    return amount
