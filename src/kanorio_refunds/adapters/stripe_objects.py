"""Stripe's JSON objects (API 2023-08-16) read into our gateway-neutral types, and back.

Pure and SDK-free: both the Stripe adapter (over the real SDK) and the in-memory gateway (over
``FakeStripe``) read Stripe-shaped dicts through these functions, so they agree by construction
and the port contract tests check the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from kanorio_refunds.domain.errors import (
    GatewayMisconfigured,
    GatewayProtocolError,
    GatewayRejected,
    GatewayUnavailable,
    OrderNotFound,
    RefundError,
)
from kanorio_refunds.domain.events import GatewayEvent
from kanorio_refunds.domain.ids import ChargeId, EventId, GatewayRefundId, PaymentIntentId
from kanorio_refunds.domain.money import Currency, Money, from_stripe_amount, to_stripe_amount
from kanorio_refunds.domain.payment import (
    METADATA_REASON,
    GatewayRefund,
    PaymentRecord,
    RefundRequest,
    reason_from_gateway,
    stripe_reason,
)
from kanorio_refunds.domain.refund import RefundStatus

_REFUND_STATUSES: Final[dict[str, RefundStatus]] = {
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.REQUIRES_ACTION,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELED,
}
# Dispute statuses in which the charge is still contested (Stripe's dispute.status values).
_OPEN_DISPUTE_STATUSES: Final = frozenset(
    {"warning_needs_response", "warning_under_review", "needs_response", "under_review"}
)


def _field(obj: Mapping[str, Any], key: str, what: str) -> Any:
    try:
        return obj[key]
    except (KeyError, TypeError) as e:
        raise GatewayProtocolError(f"Stripe {what} has no {key!r}; cannot read it") from e


def _id_of(value: Any) -> str | None:
    """An expandable field's id, whether Stripe sent the id or the expanded object."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        inner = value.get("id")
        return inner if isinstance(inner, str) else None
    raise GatewayProtocolError(f"expected an id or an object, got {type(value).__name__}")


def _timestamp(value: Any, what: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int):
        raise GatewayProtocolError(f"Stripe {what} has a non-integer timestamp {value!r}")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError) as e:
        raise GatewayProtocolError(f"Stripe {what} has an impossible timestamp {value!r}") from e


def _rate(value: Any) -> Decimal | None:
    """Stripe's ``exchange_rate`` as an exact Decimal. The SDK hands JSON numbers over as Python
    floats; the shortest repr of that float is the decimal Stripe sent, so it is read from the
    text, never used as a float."""
    if value is None:
        return None
    try:
        rate = value if isinstance(value, Decimal) else Decimal(repr(value))
    except InvalidOperation as e:
        raise GatewayProtocolError(f"unreadable exchange rate {value!r}") from e
    if not rate.is_finite() or rate <= 0:
        raise GatewayProtocolError(f"exchange rate {value!r} is not a positive number")
    return rate


def parse_refund(obj: Mapping[str, Any]) -> GatewayRefund:
    """A Stripe ``refund`` object as a ``GatewayRefund``."""
    status_text = _field(obj, "status", "refund")
    status = _REFUND_STATUSES.get(status_text)
    if status is None:
        raise GatewayProtocolError(f"Stripe refund has an unknown status {status_text!r}")
    metadata_raw = obj.get("metadata") or {}
    if not isinstance(metadata_raw, Mapping):
        raise GatewayProtocolError(f"Stripe refund metadata is not a hash: {metadata_raw!r}")
    metadata = {str(k): str(v) for k, v in metadata_raw.items()}
    currency = Currency.of(_field(obj, "currency", "refund"))
    return GatewayRefund(
        id=GatewayRefundId(_field(obj, "id", "refund")),
        amount=from_stripe_amount(_field(obj, "amount", "refund"), currency),
        status=status,
        created_at=_timestamp(_field(obj, "created", "refund"), "refund"),
        payment_intent_id=_pi(_id_of(obj.get("payment_intent"))),
        charge_id=_ch(_id_of(obj.get("charge"))),
        reason=reason_from_gateway(obj.get("reason"), metadata.get(METADATA_REASON)),
        failure_reason=obj.get("failure_reason"),
        metadata=metadata,
    )


def _pi(value: str | None) -> PaymentIntentId | None:
    return PaymentIntentId(value) if value else None


def _ch(value: str | None) -> ChargeId | None:
    return ChargeId(value) if value else None


def latest_charge_of(intent: Mapping[str, Any]) -> Mapping[str, Any]:
    """The expanded ``latest_charge`` of a PaymentIntent fetched with
    ``expand=["latest_charge.balance_transaction"]``.

    A PaymentIntent without a charge yet (not paid, or still processing) has nothing to refund
    now: ``GatewayUnavailable``, as the in-memory gateway answers.
    """
    charge = intent.get("latest_charge")
    if not isinstance(charge, Mapping):
        raise GatewayUnavailable(
            f"PaymentIntent {intent.get('id')} has no charge yet; try again later"
        )
    return charge


def no_payment_reference() -> OrderNotFound:
    """The error for a payment named by neither a PaymentIntent nor a Charge id."""
    return OrderNotFound("a payment needs a PaymentIntent or Charge id to be fetched")


def parse_payment(charge: Mapping[str, Any], payment_intent_id: str | None) -> PaymentRecord:
    """A captured Stripe ``charge`` (with ``balance_transaction`` expanded) as a PaymentRecord.

    Fees come from the balance transaction's ``fee_details``: ``application_fee`` entries are
    the platform's fee, every other entry (Stripe's fee, taxes on it) is a Stripe fee. They are
    in the settlement currency; converting them to Stripe's units of it rounds up (M5, B3).
    """
    currency = Currency.of(_field(charge, "currency", "charge"))
    captured = from_stripe_amount(int(charge.get("amount_captured") or 0), currency)
    refunded = from_stripe_amount(int(charge.get("amount_refunded") or 0), currency)
    txn = charge.get("balance_transaction")
    if not isinstance(txn, Mapping):
        raise GatewayProtocolError(
            f"charge {charge.get('id')} has no expanded balance transaction yet, so its fees "
            f"are unknown; try again once Stripe has settled it"
        )
    settlement = Currency.of(_field(txn, "currency", "balance transaction"))
    stripe_fee = Money.zero(settlement)
    platform_fee = Money.zero(settlement)
    for detail in txn.get("fee_details") or ():
        fee = from_stripe_amount(
            int(_field(detail, "amount", "fee")),
            Currency.of(_field(detail, "currency", "fee")),
            rounding="up",
        )
        if fee.currency != settlement:
            raise GatewayProtocolError(
                f"fee in {fee.currency.code} on a {settlement.code} balance transaction"
            )
        if detail.get("type") == "application_fee":
            platform_fee = platform_fee + fee
        else:
            stripe_fee = stripe_fee + fee
    rate = _rate(txn.get("exchange_rate"))
    return PaymentRecord(
        payment_intent_id=_pi(payment_intent_id or _id_of(charge.get("payment_intent"))),
        charge_id=_ch(_id_of(charge.get("id"))),
        captured=captured,
        stripe_fee=stripe_fee,
        platform_fee=platform_fee,
        settlement_currency=settlement,
        amount_refunded=refunded,
        exchange_rate=rate if settlement != currency else None,
        disputed=bool(charge.get("disputed")),
    )


def refunds_oldest_first(refunds: Iterable[Mapping[str, Any]]) -> tuple[GatewayRefund, ...]:
    """Stripe lists newest first; the port promises oldest first."""
    parsed = [parse_refund(r) for r in refunds]
    return tuple(sorted(parsed, key=lambda r: (r.created_at, r.id)))


def refund_params(request: RefundRequest, *, refund_application_fee: bool) -> dict[str, Any]:
    """The POST /v1/refunds parameters for ``request`` (L1, N4, M3)."""
    params: dict[str, Any] = {
        "amount": to_stripe_amount(request.amount),
        "metadata": dict(request.metadata),
    }
    if request.payment_intent_id:
        params["payment_intent"] = request.payment_intent_id
    elif request.charge_id:
        params["charge"] = request.charge_id
    else:
        raise GatewayProtocolError("a refund request must name a PaymentIntent or a Charge")
    reason = stripe_reason(request.reason)
    if reason is not None:
        params["reason"] = reason
    if refund_application_fee:
        params["refund_application_fee"] = True
    return params


def parse_event(event: Mapping[str, Any]) -> GatewayEvent:
    """A Stripe ``event`` as a gateway-neutral ``GatewayEvent``; unknown types come out with
    their type string (and are ignored by the service)."""
    event_type = str(_field(event, "type", "event"))
    data = _field(event, "data", "event")
    obj = _field(data, "object", "event data")
    created = _timestamp(_field(event, "created", "event"), "event")
    base: dict[str, Any] = {
        "id": EventId(str(_field(event, "id", "event"))),
        "type": event_type,
        "created_at": created,
    }
    kind = obj.get("object") if isinstance(obj, Mapping) else None
    # Refund events: ``refund.*``, and ``charge.refund.updated``, which is how API versions
    # before 2024-10-28 report status changes of refunds of charges (they send ``refund.*`` only
    # for refunds without a charge; docs.stripe.com/changelog/acacia/2024-10-28/
    # refund-webhook-update).
    if kind == "refund" and event_type.startswith(("refund.", "charge.refund.")):
        refund = parse_refund(obj)
        return GatewayEvent(
            **base,
            payment_intent_id=refund.payment_intent_id,
            charge_id=refund.charge_id,
            refunds=(refund,),
        )
    if kind == "charge":
        return GatewayEvent(
            **base,
            payment_intent_id=_pi(_id_of(obj.get("payment_intent"))),
            charge_id=_ch(_id_of(obj.get("id"))),
            disputed=bool(obj.get("disputed")) if "disputed" in obj else None,
        )
    if kind == "dispute":
        return GatewayEvent(
            **base,
            payment_intent_id=_pi(_id_of(obj.get("payment_intent"))),
            charge_id=_ch(_id_of(obj.get("charge"))),
            disputed=obj.get("status") in _OPEN_DISPUTE_STATUSES,
        )
    return GatewayEvent(**base)


# Anything shaped like a Stripe secret: API keys (secret, restricted; masked ones too, as Stripe
# echoes "sk_test_****1234" in 401 messages) and webhook signing secrets (P3).
_SECRET_RE: Final = re.compile(r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9*]+|whsec_[A-Za-z0-9+/=_]+")


def redact_secrets(text: str) -> str:
    """``text`` with anything shaped like a Stripe key or webhook secret replaced (P3)."""
    return _SECRET_RE.sub("[redacted]", text)


def error_from_stripe(
    http_status: int | None, error_type: str | None, code: str | None, message: str | None
) -> RefundError:
    """Our error for a Stripe error response (L2, L3). Never carries a credential (P3).

    Unavailable (retryable; outcome unknown for a create): no status (transport failure), a
    non-error status (an unreadable 2xx answer: the request may have worked), 409, 429 or a
    ``rate_limit`` code, and 5xx. Misconfigured: 401/403. Everything else is a definitive
    rejection carrying Stripe's code (``idempotency_error`` for idempotency errors).
    """
    text = redact_secrets(message or "Stripe returned an error")
    if http_status in (401, 403) or error_type in ("authentication_error", "permission_error"):
        return GatewayMisconfigured(
            f"Stripe refused the credentials or permissions ({http_status}): check the API key "
            f"and the connected account"
        )
    if (
        http_status is None
        or http_status < 400
        or http_status in (409, 429)
        or http_status >= 500
        or code == "rate_limit"
    ):
        return GatewayUnavailable(f"Stripe is unavailable ({http_status}): {text}")
    if error_type == "idempotency_error":
        return GatewayRejected(text, gateway_code="idempotency_error")
    return GatewayRejected(text, gateway_code=code or error_type or f"http_{http_status}")
