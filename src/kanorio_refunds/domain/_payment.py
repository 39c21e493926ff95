"""What the gateway knows about a payment and its refunds, in gateway-neutral terms.

These are plain data carried across the ``PaymentGateway`` port: adapters build them from
Stripe's objects, the domain reads them. Amounts are in our Money (ISO minor units).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Final

import attrs

from kanorio_refunds.domain._ids import (
    ChargeId,
    GatewayRefundId,
    OrderId,
    PaymentIntentId,
    RefundId,
)
from kanorio_refunds.domain._money import Currency, Money
from kanorio_refunds.domain._refund import RefundReason, RefundStatus
from kanorio_refunds.domain._slots import fast_init, slot_setters

#: Metadata keys this library writes on every refund it creates (N4, L1).
METADATA_ORDER_ID: Final = "kanorio_order_id"
METADATA_REFUND_ID: Final = "kanorio_refund_id"
METADATA_REASON: Final = "kanorio_reason"
METADATA_NOTES: Final = "kanorio_notes"


def _freeze_metadata(value: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    if isinstance(value, tuple):
        return value
    if type(value) is dict:
        # Issue 10: the usual metadata, a plain dict of plain strings, is sorted as it is:
        # ``str()`` of a str is the str itself and a dict's keys are distinct, so the pairs
        # come out the same as below without a new pair per item. Anything else (str
        # subclasses, other mappings, other values) goes the general way.
        for k, v in value.items():
            if type(k) is not str or type(v) is not str:
                break
        else:
            return tuple(sorted(value.items()))
    return tuple(sorted((str(k), str(v)) for k, v in value.items()))


def _same_money(a: Money, b: Money) -> bool:
    """``a == b`` for two Money values, as ``Money.__eq__`` decides it, without the call."""
    return a is b or (
        a.__class__ is b.__class__
        and a.minor == b.minor
        and (a.currency is b.currency or a.currency == b.currency)
    )


@attrs.frozen
class PaymentRecord:
    """The order's payment as Stripe reports it (E4, B1–B3).

    ``stripe_fee`` and ``platform_fee`` are in the settlement currency, as on Stripe's balance
    transaction; ``exchange_rate`` converts presentment to settlement (settlement = presentment
    × rate) and is None when both currencies are the same. ``amount_refunded`` is Stripe's
    ``charge.amount_refunded`` (presentment currency).
    """

    payment_intent_id: PaymentIntentId | None
    charge_id: ChargeId | None
    captured: Money
    stripe_fee: Money
    platform_fee: Money
    settlement_currency: Currency
    amount_refunded: Money
    exchange_rate: Decimal | None = None
    disputed: bool = False

    # Equality as attrs would generate it (the same class, the fields pairwise equal, a field
    # equal to itself by identity first, as tuples compare), written out so the four amounts
    # compare without a Money.__eq__ call each (issue 10: every live read compares the stored
    # record with the live one). attrs sees these and generates none.
    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, PaymentRecord)
        return (
            _same_money(self.captured, other.captured)
            and _same_money(self.amount_refunded, other.amount_refunded)
            and _same_money(self.stripe_fee, other.stripe_fee)
            and _same_money(self.platform_fee, other.platform_fee)
            and self.payment_intent_id == other.payment_intent_id
            and self.charge_id == other.charge_id
            and (
                self.settlement_currency is other.settlement_currency
                or self.settlement_currency == other.settlement_currency
            )
            and (
                self.exchange_rate is other.exchange_rate
                or self.exchange_rate == other.exchange_rate
            )
            and self.disputed == other.disputed
        )

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        return hash(
            (
                self.payment_intent_id,
                self.charge_id,
                self.captured,
                self.stripe_fee,
                self.platform_fee,
                self.settlement_currency,
                self.amount_refunded,
                self.exchange_rate,
                self.disputed,
            )
        )

    @property
    def reference(self) -> str:
        """The id to show and to look the payment up by: the PaymentIntent, else the Charge."""
        return self.payment_intent_id or self.charge_id or ""

    def with_amount_refunded(self, amount_refunded: Money) -> PaymentRecord:
        """This record with Stripe's ``amount_refunded`` moved to ``amount_refunded``."""
        if type(self) is not PaymentRecord:
            return attrs.evolve(self, amount_refunded=amount_refunded)  # keeps a subclass's
        # Built directly (issue 10: ``attrs.evolve`` introspects the class on every call).
        return payment_record(
            self.payment_intent_id,
            self.charge_id,
            self.captured,
            self.stripe_fee,
            self.platform_fee,
            self.settlement_currency,
            amount_refunded,
            self.exchange_rate,
            self.disputed,
        )


@attrs.frozen
class GatewayRefund:
    """A refund as the gateway reports it."""

    id: GatewayRefundId
    amount: Money
    status: RefundStatus
    created_at: datetime
    payment_intent_id: PaymentIntentId | None = None
    charge_id: ChargeId | None = None
    reason: RefundReason | None = None
    failure_reason: str | None = None
    metadata: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_freeze_metadata)

    def metadata_value(self, key: str) -> str | None:
        """The metadata value under ``key``, if any."""
        for k, v in self.metadata:
            if k == key:
                return v
        return None

    @property
    def local_refund_id(self) -> RefundId | None:
        """Our refund id from the metadata, when this library created the refund."""
        value = self.metadata_value(METADATA_REFUND_ID)
        return RefundId(value) if value else None

    @property
    def local_order_id(self) -> OrderId | None:
        """Our order id from the metadata, when this library created the refund."""
        value = self.metadata_value(METADATA_ORDER_ID)
        return OrderId(value) if value else None


# Builders of the values adapters make for every answer they read (issue 10): attrs' generated
# ``__init__`` looks up ``object.__setattr__`` per field, keyword arguments cost more, and
# GatewayRefund's converter runs on every construction. These set the slots directly: the
# same value as ``cls(...)`` (the checks on import above keep it so), for arguments that are
# already what the fields hold (metadata as the converter's sorted tuple).
_new = object.__new__
(
    _set_record_pi,
    _set_record_charge,
    _set_captured,
    _set_stripe_fee,
    _set_platform_fee,
    _set_settlement,
    _set_refunded,
    _set_rate,
    _set_disputed,
) = slot_setters(
    PaymentRecord,
    (
        "payment_intent_id",
        "charge_id",
        "captured",
        "stripe_fee",
        "platform_fee",
        "settlement_currency",
        "amount_refunded",
        "exchange_rate",
        "disputed",
    ),
)
(
    _set_refund_id,
    _set_amount,
    _set_status,
    _set_created_at,
    _set_refund_pi,
    _set_refund_charge,
    _set_reason,
    _set_failure_reason,
    _set_metadata,
) = slot_setters(
    GatewayRefund,
    (
        "id",
        "amount",
        "status",
        "created_at",
        "payment_intent_id",
        "charge_id",
        "reason",
        "failure_reason",
        "metadata",
    ),
    converted=("metadata",),
)


def payment_record(
    payment_intent_id: str | None,
    charge_id: str | None,
    captured: Money,
    stripe_fee: Money,
    platform_fee: Money,
    settlement_currency: Currency,
    amount_refunded: Money,
    exchange_rate: Decimal | None,
    disputed: bool,
) -> PaymentRecord:
    """``PaymentRecord(...)`` of these fields, built without attrs' ``__init__`` (issue 10).
    The ids are the fields' NewTypes at runtime already (plain strings)."""
    record: PaymentRecord = _new(PaymentRecord)
    _set_record_pi(record, payment_intent_id)
    _set_record_charge(record, charge_id)
    _set_captured(record, captured)
    _set_stripe_fee(record, stripe_fee)
    _set_platform_fee(record, platform_fee)
    _set_settlement(record, settlement_currency)
    _set_refunded(record, amount_refunded)
    _set_rate(record, exchange_rate)
    _set_disputed(record, disputed)
    return record


def gateway_refund(
    refund_id: str,
    amount: Money,
    status: RefundStatus,
    created_at: datetime,
    payment_intent_id: str | None,
    charge_id: str | None,
    reason: RefundReason | None,
    failure_reason: str | None,
    metadata: tuple[tuple[str, str], ...],
) -> GatewayRefund:
    """``GatewayRefund(...)`` of these fields, built without attrs' ``__init__`` and without
    the metadata converter (issue 10): ``metadata`` must be what the converter makes, a tuple
    of ``(str, str)`` pairs sorted (the converter keeps a tuple as it is)."""
    refund: GatewayRefund = _new(GatewayRefund)
    _set_refund_id(refund, refund_id)
    _set_amount(refund, amount)
    _set_status(refund, status)
    _set_created_at(refund, created_at)
    _set_refund_pi(refund, payment_intent_id)
    _set_refund_charge(refund, charge_id)
    _set_reason(refund, reason)
    _set_failure_reason(refund, failure_reason)
    _set_metadata(refund, metadata)
    return refund


class PaymentState(enum.Enum):
    """I1, I2: where the payment is in the gateway's lifecycle, in gateway-neutral terms.

    ``adapters._stripe_json.payment_state`` reads it from a PaymentIntent's or Charge's
    ``status`` (docs/rules.md has the table). FAILED is not final for a PaymentIntent: Stripe
    lets the buyer retry a failed one, which may still succeed; EXPIRED (canceled) is final.
    """

    #: Not paid yet: awaiting a payment method, confirmation, an action or processing.
    PENDING = "pending"
    #: Captured: money was received.
    PAID = "paid"
    #: The last attempt failed (a PaymentIntent may still be retried and succeed).
    FAILED = "failed"
    #: Canceled or abandoned: it will never be paid.
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        """True when nothing the buyer does can change the payment's outcome any more: PAID and
        EXPIRED. A FAILED PaymentIntent may still be retried."""
        return self in (PaymentState.PAID, PaymentState.EXPIRED)


@fast_init
@attrs.frozen
class LivePayment:
    """Live data for one payment: its record and every refund the gateway holds for it (B4).

    ``state`` is the payment's lifecycle status (I1, I2; PAID for a gateway that only ever
    reports captured payments); ``amount`` is what the buyer is asked to pay, captured or not
    (None when the gateway does not say: the record's ``captured`` is then the amount). A
    PENDING payment has nothing captured yet: its record's amounts are zero.
    """

    record: PaymentRecord
    refunds: tuple[GatewayRefund, ...] = ()
    state: PaymentState = PaymentState.PAID
    amount: Money | None = None

    @property
    def payment_amount(self) -> Money:
        """The payment's amount: ``amount`` when the gateway gave it, else what was captured."""
        return self.amount if self.amount is not None else self.record.captured


@attrs.frozen
class RefundRequest:
    """What the service asks the gateway to do (L1, N4)."""

    payment_intent_id: PaymentIntentId | None
    charge_id: ChargeId | None
    amount: Money
    reason: RefundReason | None
    idempotency_key: str
    metadata: tuple[tuple[str, str], ...] = attrs.field(converter=_freeze_metadata)

    @property
    def local_refund_id(self) -> RefundId | None:
        """Our refund id, as written in the metadata."""
        for k, v in self.metadata:
            if k == METADATA_REFUND_ID:
                return RefundId(v)
        return None


def refund_metadata(
    order_id: OrderId, refund_id: RefundId, reason: RefundReason | None, notes: str
) -> dict[str, str]:
    """N4, L1: the metadata written on the gateway refund, so it can always be matched back."""
    metadata = {METADATA_ORDER_ID: order_id, METADATA_REFUND_ID: refund_id}
    if reason is not None:
        metadata[METADATA_REASON] = reason.value
    if notes:
        metadata[METADATA_NOTES] = notes
    return metadata


def idempotency_key_for(refund_id: RefundId) -> str:
    """L1: the gateway idempotency key of a refund, derived from our refund id only, so every
    retry of the same refund (after a timeout, a crash, a sync) carries the same key."""
    return f"kanorio-refund-{refund_id}"
