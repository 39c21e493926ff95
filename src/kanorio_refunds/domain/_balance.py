"""The refundable balance (rules B1, B2, B3, B5) and its breakdown for the confirmation window."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Final

import attrs

from kanorio_refunds.domain._ids import OrderId, RefundId
from kanorio_refunds.domain._memo import remember
from kanorio_refunds.domain._money import (
    Currency,
    Money,
    _of_int,
    convert_rounding_up,
    stripe_step,
    total,
)
from kanorio_refunds.domain._order import refunds_index
from kanorio_refunds.domain._payment import PaymentRecord
from kanorio_refunds.domain._refund import RELEASED, Refund, RefundOrigin, RefundStatus
from kanorio_refunds.domain._slots import fast_init
from kanorio_refunds.errors import CurrencyMismatch, InvalidPaymentRecord


class FeePolicy(enum.Enum):
    """B5: whether fees reduce what the seller can refund.

    ``NET_OF_FEES`` (the default, as the help page says): Stripe and platform fees are not
    refunded to the seller, so the seller can refund at most what they received net.
    ``GROSS``: Stripe's own cap, the whole captured amount; the seller absorbs the fees.
    """

    # Hashed by identity, as members compare (issue 10: Enum's own __hash__ is Python code,
    # run on every set or dict lookup of a member).
    __hash__ = object.__hash__

    NET_OF_FEES = "net_of_fees"
    GROSS = "gross"


@fast_init
@attrs.frozen
class BalanceBreakdown:
    """How the refundable balance was computed, in the order currency (shown by the quote)."""

    policy: FeePolicy
    captured: Money
    stripe_fee: Money
    platform_fee: Money
    net_received: Money
    reserved: Money
    stripe_remaining: Money
    refundable: Money
    settlement_currency: Currency
    cross_currency: bool


def fee_in_order_currency(fee: Money, payment: PaymentRecord) -> Money:
    """B3: a settlement-currency fee in the order (presentment) currency.

    Converted with the balance transaction's exchange rate and rounded *up* (M5), so the
    refundable balance computed from it is never overstated.
    """
    presentment = payment.captured.currency
    if fee.currency is presentment or fee.currency == presentment:
        return fee
    if payment.exchange_rate is None:
        # Without a rate we cannot know the fee's size in the order currency; treating the
        # payment as non-refundable is safer than guessing (the record is then invalid, E4).
        raise InvalidPaymentRecord(
            f"the fee is in {fee.currency.code} but the payment is in {presentment.code} and "
            f"has no exchange rate; sync the payment from Stripe to get its balance transaction"
        )
    return convert_rounding_up(fee, payment.exchange_rate, presentment)


def reserved_amount(refunds: Iterable[Refund], currency: Currency) -> Money:
    """B1: the sum of refunds that hold part of the balance (all but FAILED and CANCELED)."""
    if type(refunds) is not tuple:
        return total([r.amount for r in refunds if r.status not in RELEASED], currency)
    # An order's refunds: the sum is kept with the tuple's index, derived from the previous
    # tuple's sum by ``Order.with_refund`` (issue 10: no sum over every refund per use).
    index = refunds_index(refunds)
    known = index.reserved
    if known is None or (known.currency is not currency and known.currency != currency):
        known = total([r.amount for r in refunds if r.status not in RELEASED], currency)
        index.reserved = known
    return known


def refundable_balance(
    payment: PaymentRecord,
    refunds: Iterable[Refund],
    policy: FeePolicy = FeePolicy.NET_OF_FEES,
) -> BalanceBreakdown:
    """B1–B3, B5: what can still be refunded, with its breakdown.

    refundable = min(net received − reserved, captured − Stripe's amount_refunded), never
    negative, rounded down to an amount Stripe accepts in that currency (M3) so that "Refund
    Full Amount" (A5) is always sendable.
    """
    if type(refunds) is not tuple:
        return _breakdown(payment, refunds, policy)
    # Issue 10: a use case asks several times for the balance of the same (immutable) payment
    # record and refunds; it is computed once per pair. Keyed by identity, holding both, so a
    # key is never reused for other values; bounded (the oldest goes when full). A record
    # that gives no balance raises every time, as it is not remembered.
    key = (id(payment), id(refunds), policy)
    known = _BREAKDOWNS.get(key)
    if known is not None and known[0] is payment and known[1] is refunds:
        return known[2]
    breakdown = _breakdown(payment, refunds, policy)
    remember(_BREAKDOWNS, key, (payment, refunds, breakdown), _MAX_BREAKDOWNS)  # oldest goes
    return breakdown


def refundable_amount(
    payment: PaymentRecord,
    refunds: Iterable[Refund],
    policy: FeePolicy = FeePolicy.NET_OF_FEES,
    *,
    also_reserved: Money | None = None,
) -> Money:
    """B1–B3, B5: ``refundable_balance(payment, refunds, policy).refundable``, the figure alone;
    with ``also_reserved``, the figure once a further refund of that amount reserves its part
    too (the balance of ``refunds`` and that refund).

    S1 asks for it after every change to an order's refunds (``_status.rederive_status``), on a
    refunds tuple no breakdown was made for yet: computed on the minor units, with no breakdown
    and no memo, when every amount is in the order currency; otherwise (fees to convert, or an
    amount in a wrong currency, which raises) by ``refundable_balance`` itself.
    """
    captured = payment.captured
    currency = captured.currency
    code = currency.code
    stripe_fee, platform_fee = payment.stripe_fee, payment.platform_fee
    refunded = payment.amount_refunded
    if not (
        # One object per currency (``Currency.of``): identity is the usual answer.
        stripe_fee.currency is currency
        and platform_fee.currency is currency
        and refunded.currency is currency
    ) and not (
        stripe_fee.currency.code == code
        and platform_fee.currency.code == code
        and refunded.currency.code == code
    ):
        if also_reserved is not None:
            refunds = [*refunds, _reserving(also_reserved)]
        return refundable_balance(payment, refunds, policy).refundable
    reserved = reserved_amount(refunds, currency)
    if also_reserved is not None:
        reserved = reserved + also_reserved  # CurrencyMismatch as the sum over refunds raises
    net = captured.minor
    if policy is FeePolicy.NET_OF_FEES:
        net -= stripe_fee.minor + platform_fee.minor
    raw = net - reserved.minor
    remaining = captured.minor - refunded.minor
    if remaining < raw:
        raw = remaining
    if raw <= 0:
        return _of_int(0, currency)
    return _of_int(raw - raw % stripe_step(currency), currency)


def _reserving(amount: Money) -> Refund:
    """A refund of ``amount`` that reserves (SUBMITTING), for ``refundable_amount``."""
    return Refund(
        id=RefundId("rf_reserved"),
        order_id=OrderId("-"),
        amount=amount,
        status=RefundStatus.SUBMITTING,
        created_at=_EPOCH,
        origin=RefundOrigin.LOCAL,
    )


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


_MAX_BREAKDOWNS: Final = 4096  # as the refunds indexes (domain/_order.py)
_BREAKDOWNS: dict[
    tuple[int, int, FeePolicy], tuple[PaymentRecord, tuple[Refund, ...], BalanceBreakdown]
] = {}


def _breakdown(
    payment: PaymentRecord, refunds: Iterable[Refund], policy: FeePolicy
) -> BalanceBreakdown:
    currency = payment.captured.currency
    stripe_fee = fee_in_order_currency(payment.stripe_fee, payment)
    platform_fee = fee_in_order_currency(payment.platform_fee, payment)
    reserved = reserved_amount(refunds, currency)
    refunded = payment.amount_refunded
    if refunded.currency is not currency and refunded.currency != currency:
        raise CurrencyMismatch(
            f"cannot subtract {currency.code} and {refunded.currency.code}; amounts must be in "
            f"the same currency"
        )
    # On the minor units (every amount is in ``currency`` now), each Money built once.
    captured = payment.captured.minor
    net = captured - stripe_fee.minor - platform_fee.minor
    if policy is not FeePolicy.NET_OF_FEES:
        net = captured
    remaining = captured - refunded.minor
    raw = max(min(net - reserved.minor, remaining), 0)
    return BalanceBreakdown(
        policy,
        payment.captured,
        stripe_fee,
        platform_fee,
        _of_int(net, currency),
        reserved,
        _of_int(max(remaining, 0), currency),
        _of_int(raw - raw % stripe_step(currency), currency),
        payment.settlement_currency,
        payment.settlement_currency != currency,
    )
