"""Stripe's JSON objects (API 2023-08-16) read into our gateway-neutral types, and back.

Pure and SDK-free: both the Stripe adapter (over the real SDK) and the simulator's gateway
(``testing.fake_stripe``, over ``FakeStripe``) read Stripe-shaped dicts through these
functions, so they agree by construction and the port contract tests check the rest.

Whatever Stripe sends, the readers (``stripe_object``, ``list_page``, ``created_refund``,
``parse_payment``, ``parse_refund``, ``refunds_oldest_first``, ``latest_charge_of``,
``charge_refunds``, ``disputed_charge_id``, ``parse_event``) raise only ``GatewayProtocolError``
for data they cannot
read (not an object, another object than the one asked for, a missing field, a float amount, an
unknown currency); ``latest_charge_of`` also raises ``GatewayUnavailable`` for a PaymentIntent
without a charge yet. The port promises nothing else. Their errors are chained to nothing and
their messages are scrubbed of anything shaped like a secret: what they quote comes from
Stripe's answer, which may echo a key (P3).

Nullable fields of API 2023-08-16 are read as Stripe documents them. ``refund.status`` is
nullable and not even required: a refund without a status is read as PENDING (see
``parse_refund`` for why).

Disputes (E5) — the rule both gateways apply, and the one ``FakeStripe`` enforces:

* ``charge.disputed`` only says the charge *was ever* disputed: Stripe keeps it true after a
  dispute is won or closed. When it is true, the gateway lists the charge's disputes
  (``GET /v1/disputes?charge=…``) and hands them to ``parse_payment``.
* ``PaymentRecord.disputed`` is true while any of them blocks refunds
  (``DISPUTE_STATUSES_BLOCKING_REFUNDS``): an open inquiry or chargeback
  (``warning_needs_response``, ``warning_under_review``, ``needs_response``, ``under_review``)
  or a ``lost`` one (the cardholder already got the money back; a refund would pay twice).
  ``won`` and ``warning_closed`` make the charge refundable again.
* A charge flagged disputed whose disputes were not listed, or listed as none, stays disputed:
  nothing proves it refundable.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, ParamSpec, TypeVar

from kanorio_refunds.domain._events import EventKind, GatewayEvent
from kanorio_refunds.domain._ids import ChargeId, EventId, GatewayRefundId, PaymentIntentId
from kanorio_refunds.domain._money import (
    STRIPE_MAX_DIGITS,
    STRIPE_MAX_DIGITS_BY_CURRENCY,
    Currency,
    Money,
    _of_int,
    from_stripe_amount,
    stripe_decimals,
    stripe_step,
    to_stripe_amount,
)
from kanorio_refunds.domain._payment import (
    METADATA_REASON,
    GatewayRefund,
    LivePayment,
    PaymentRecord,
    PaymentState,
    RefundRequest,
    gateway_refund,
    payment_record,
)
from kanorio_refunds.domain._refund import RefundReason, RefundStatus
from kanorio_refunds.errors import (
    GatewayMisconfigured,
    GatewayProtocolError,
    GatewayRejected,
    GatewayUnavailable,
    OrderNotFound,
    RefundError,
)

_REFUND_STATUSES: Final[dict[str, RefundStatus]] = {
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.REQUIRES_ACTION,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELED,
}
#: Dispute statuses in which Stripe refuses to refund the charge (E5): open inquiries and
#: chargebacks, and lost chargebacks (the money already went back to the cardholder).
DISPUTE_STATUSES_BLOCKING_REFUNDS: Final = frozenset(
    {
        "warning_needs_response",
        "warning_under_review",
        "needs_response",
        "under_review",
        "lost",
    }
)
#: Every ``dispute.status`` of API 2023-08-16; ``won`` and ``warning_closed`` allow refunds.
DISPUTE_STATUSES: Final = DISPUTE_STATUSES_BLOCKING_REFUNDS | {"won", "warning_closed"}

# Longest message of a GatewayProtocolError (it quotes unreadable Stripe data).
_MAX_QUOTE: Final = 300

P = ParamSpec("P")
T = TypeVar("T")


def _reader(what: str) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Make every failure of a reader of Stripe's ``what`` a ``GatewayProtocolError``.

    Our own errors for malformed data (``InvalidAmount``, ``UnknownCurrency``, …) and the
    ``ValueError``/``KeyError``/``TypeError``/``AttributeError``/… of unexpected shapes leave as
    ``GatewayProtocolError`` naming the original's type; ``GatewayProtocolError`` and
    ``GatewayUnavailable`` (a PaymentIntent without a charge yet) keep their class. Every
    message is scrubbed and clipped (it quotes Stripe's data), and the error is raised outside
    the ``except`` clause: neither ``__cause__`` nor ``__context__`` keeps the original, whose
    text is unscrubbed (P3).
    """

    def decorate(read: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(read)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            error: RefundError
            try:
                return read(*args, **kwargs)
            except _READ_ERRORS as e:
                error = _read_error(e, what)
            raise error

        return wrapper

    return decorate


# What a reader turns into a ``GatewayProtocolError`` (or keeps, see ``_read_error``).
_READ_ERRORS: Final = (
    RefundError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    ArithmeticError,
    RecursionError,
)


def _read_error(e: BaseException, what: str) -> RefundError:
    """The error a reader of Stripe's ``what`` raises for ``e`` (one of ``_READ_ERRORS``), to
    be raised outside the ``except`` clause that caught ``e`` (see ``_reader``)."""
    if isinstance(e, GatewayUnavailable):
        return GatewayUnavailable(_quote(e.message))
    if isinstance(e, GatewayProtocolError):
        return GatewayProtocolError(_quote(e.message))
    detail = e.message if isinstance(e, RefundError) else str(e)
    return GatewayProtocolError(
        f"Stripe's {what} cannot be read ({type(e).__name__}: {_quote(detail)})"
    )


def _quote(text: str) -> str:
    """Stripe's text (or ours quoting Stripe's data), fit for a message: secrets scrubbed
    (P3) and clipped to ``_MAX_QUOTE`` characters."""
    text = redact_secrets(text)
    return text if len(text) <= _MAX_QUOTE else text[: _MAX_QUOTE - 1] + "…"


def _require_object(obj: Any, what: str) -> None:
    # ``type(...) is dict`` first: the usual answer, without the ABC's check (issue 10).
    if type(obj) is not dict and not isinstance(obj, Mapping):
        raise GatewayProtocolError(f"Stripe {what} is not an object: {type(obj).__name__}")


# The helpers below raise outside any except clause, like the readers: an error chained to
# what Python raised would quote Stripe's data unscrubbed (P3).


def _field(obj: Mapping[str, Any], key: str, what: str) -> Any:
    if (type(obj) is not dict and not isinstance(obj, Mapping)) or key not in obj:
        raise GatewayProtocolError(f"Stripe {what} has no {key!r}; cannot read it")
    return obj[key]


def _object_id(obj: Mapping[str, Any], what: str) -> str:
    value = _field(obj, "id", what)
    if not isinstance(value, str) or not value:
        raise GatewayProtocolError(f"Stripe {what} has no readable id: {value!r:.40}")
    return value


# Stripe's object ids: a prefix, an underscore, letters and digits (re_…, ch_…, du_…).
_STRIPE_ID_RE: Final = re.compile(r"[A-Za-z0-9_]{1,255}")


def _sendable_id(value: Any, what: str) -> str:
    """An id read from Stripe that this library sends back to Stripe (the cursor of a list's
    next page, the charge whose disputes are listed): it must look like a Stripe id, or it
    names no Stripe object and is no request to make."""
    if not isinstance(value, str) or _STRIPE_ID_RE.fullmatch(value) is None:
        raise GatewayProtocolError(f"Stripe {what} has an id that is not a Stripe id")
    return value


def _id_of(value: Any) -> str | None:
    """An expandable field's id, whether Stripe sent the id or the expanded object."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if type(value) is dict or isinstance(value, Mapping):
        inner = value.get("id")
        return inner if isinstance(inner, str) else None
    raise GatewayProtocolError(f"expected an id or an object, got {type(value).__name__}")


def _units(value: Any, what: str, *, missing_is_zero: bool = False) -> int:
    """A non-negative integer amount in Stripe's units (never a float, string or bool)."""
    if value is None and missing_is_zero:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise GatewayProtocolError(f"Stripe {what} is not an integer amount: {value!r:.40}")
    if value < 0:
        raise GatewayProtocolError(f"Stripe {what} is negative: {value}")
    return value


def _flag(value: Any, what: str) -> bool:
    """A boolean field (absent or null: false)."""
    if value is None:
        return False
    if not isinstance(value, bool):
        raise GatewayProtocolError(f"Stripe {what} is not a boolean: {value!r:.40}")
    return value


def _timestamp(value: Any, what: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int):
        raise GatewayProtocolError(f"Stripe {what} has a non-integer timestamp {value!r:.40}")
    moment = _moment(value)
    if moment is None:
        raise GatewayProtocolError(f"Stripe {what} has an impossible timestamp {value!r:.40}")
    return moment


def _moment(value: int) -> datetime | None:
    """The UTC moment of Stripe's timestamp ``value`` (an int, not a bool), None if there is
    none (out of ``datetime``'s range)."""
    if type(value) is int:
        known = _MOMENTS.get(value)
        if known is not None:
            return known
    try:
        moment: datetime | None = datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        moment = None
    if moment is not None and type(value) is int:
        if len(_MOMENTS) >= _MAX_MOMENTS:
            _MOMENTS.clear()  # bounded; the recent ones are the ones read again
        _MOMENTS[value] = moment
    return moment


# Moments by their timestamp (issue 10: ``datetime.fromtimestamp`` costs a third of a
# microsecond, and a refund's ``created`` is read again on every answer and live read that
# shows it). A datetime is immutable, so a shared one changes nothing but speed. Only exact
# ints are kept: an int subclass may convert itself otherwise.
_MAX_MOMENTS: Final = 4096
_MOMENTS: dict[int, datetime] = {}


def _stripe_units(code: str) -> tuple[Currency, int, Money] | None:
    """For a currency code (an exact ``str``): ``Currency.of(code)``, the factor from Stripe's
    units of it to our minor units, as ``from_stripe_amount`` multiplies (1 for usd and jpy,
    10 for MGA), or 0 when Stripe's unit is finer than ours (ISK: ``from_stripe_amount``
    rounds), and zero in that currency. None for text that is no currency: the checked
    reading refuses it."""
    known = _UNITS.get(code)
    if known is not None:
        return known
    try:
        currency = Currency.of(code)
    except RefundError:
        return None
    shift = currency.exponent - stripe_decimals(currency.code)
    units = (currency, 10**shift if shift >= 0 else 0, Money.zero(currency))
    if len(_UNITS) < _MAX_UNITS:
        _UNITS[code] = units
    return units


# ``_stripe_units`` by the exact text asked for (issue 10: every amount read names its
# currency); bounded like ``Currency.of``'s own memory, since the texts come from outside.
_MAX_UNITS: Final = 1024
_UNITS: dict[str, tuple[Currency, int, Money]] = {}


def _rate(value: Any) -> Decimal | None:
    """Stripe's ``exchange_rate`` as an exact Decimal. The SDK hands JSON numbers over as Python
    floats; the shortest repr of that float is the decimal Stripe sent, so it is read from the
    text, never used as a float."""
    if value is None:
        return None
    try:
        rate: Decimal | None = value if isinstance(value, Decimal) else Decimal(repr(value))
    except InvalidOperation:
        rate = None
    if rate is None:
        raise GatewayProtocolError(f"unreadable exchange rate {value!r:.40}")
    if not rate.is_finite() or rate <= 0:
        raise GatewayProtocolError(f"exchange rate {value!r:.40} is not a positive number")
    return rate


def parse_refund(obj: Mapping[str, Any]) -> GatewayRefund:
    """A Stripe ``refund`` object as a ``GatewayRefund``; ``GatewayProtocolError`` if
    unreadable.

    A refund whose ``status`` is null or absent (API 2023-08-16 allows both) is read as
    PENDING: Stripe holds the refund (it has an id and an amount) and has not said how it ends.
    PENDING is the only reading that is safe for money. It reserves the amount, as a SUCCEEDED
    refund does, so the refundable balance is never overstated and nothing can be refunded
    twice (B1, B2); it is not final, so the real status still applies when a webhook or a sync
    reports it (S3); FAILED or CANCELED would release money Stripe may be paying out. An
    unknown status *string* stays a ``GatewayProtocolError``: that is a newer API than the one
    read here, not a missing value."""
    # A reader as ``_reader`` makes them, written out (issue 10: this one runs on every refund
    # answered and read, and the decorator's wrapper costs a tenth of the plain reading).
    error: RefundError
    try:
        if type(obj) is dict:
            refund = _plain_refund(obj)
            if refund is not None:
                return refund
        return _read_refund(obj)
    except _READ_ERRORS as e:
        error = _read_error(e, "refund")
    raise error


def _plain_refund(obj: dict[str, Any]) -> GatewayRefund | None:
    """``_read_refund(obj)`` for a refund as Stripe's JSON gives it, read without the checks'
    calls (issue 10): every field it reads is of the exact type JSON gives (no subclass, no
    other mapping), the ids are not expanded objects, and the currency's Stripe units are whole
    minor units. None for anything else, and for anything ``_read_refund`` refuses: that
    reading then decides, so every value other than these, and every refusal with its message,
    stays its own (tests/adapters/test_stripe_json_speed.py compares both)."""
    get = obj.get
    status_text = get("status")
    if status_text is None:
        status = RefundStatus.PENDING
    elif type(status_text) is str:
        found = _REFUND_STATUSES.get(status_text)
        if found is None:
            return None
        status = found
    else:
        return None
    metadata = get("metadata")
    ours: str | None = None
    if metadata is None:
        frozen: tuple[tuple[str, str], ...] = ()
    elif type(metadata) is dict:
        for k, v in metadata.items():
            if type(k) is not str or type(v) is not str:
                return None
        # What GatewayRefund's converter makes of these plain strings (see _freeze_metadata).
        frozen = tuple(sorted(metadata.items()))
        ours = metadata.get(METADATA_REASON)
    else:
        return None
    code = get("currency")
    units = _stripe_units(code) if type(code) is str else None
    amount = get("amount")
    if units is None or not units[1] or type(amount) is not int or amount < 0:
        return None
    created = get("created")
    moment = _moment(created) if type(created) is int else None
    refund_id = get("id")
    if moment is None or type(refund_id) is not str or not refund_id:
        return None
    payment_intent = get("payment_intent")
    charge = get("charge")
    stripe_value = get("reason")
    failure_reason = get("failure_reason")
    if (
        (payment_intent is not None and type(payment_intent) is not str)
        or (charge is not None and type(charge) is not str)
        or (stripe_value is not None and type(stripe_value) is not str)
        or (failure_reason is not None and type(failure_reason) is not str)
    ):
        return None
    reason = _REASONS_BY_VALUE.get(ours) if ours else None
    if reason is None and stripe_value is not None:
        reason = _REASONS_BY_STRIPE.get(stripe_value)
    return gateway_refund(
        refund_id,
        _of_int(amount * units[1], units[0]),
        status,
        moment,
        payment_intent or None,
        charge or None,
        reason,
        failure_reason,
        frozen,
    )


def _read_refund(obj: Mapping[str, Any]) -> GatewayRefund:
    """``parse_refund``'s reading of any refund, every field checked on its own."""
    _require_object(obj, "refund")
    status_text = obj.get("status")
    if status_text is None:
        status = RefundStatus.PENDING
    else:
        found = _REFUND_STATUSES.get(status_text) if isinstance(status_text, str) else None
        if found is None:
            raise GatewayProtocolError(f"Stripe refund has an unknown status {status_text!r:.40}")
        status = found
    metadata = _metadata(obj.get("metadata"))
    currency = Currency.of(_field(obj, "currency", "refund"))
    return GatewayRefund(
        id=GatewayRefundId(_object_id(obj, "refund")),
        amount=from_stripe_amount(
            _units(_field(obj, "amount", "refund"), "refund amount"), currency
        ),
        status=status,
        created_at=_timestamp(_field(obj, "created", "refund"), "refund"),
        payment_intent_id=_pi(_id_of(obj.get("payment_intent"))),
        charge_id=_ch(_id_of(obj.get("charge"))),
        reason=reason_from_gateway(
            _optional_text(obj.get("reason"), "refund reason"), metadata.get(METADATA_REASON)
        ),
        failure_reason=_optional_text(obj.get("failure_reason"), "refund failure_reason"),
        metadata=metadata,
    )


def _metadata(value: Any) -> dict[str, str]:
    """Stripe ``metadata`` (nullable): a hash of strings. Anything else is refused rather than
    turned into text: our refund and order ids are read from it."""
    if value is None:
        return {}
    if type(value) is not dict and not isinstance(value, Mapping):
        raise GatewayProtocolError(f"Stripe refund metadata is not a hash: {value!r:.40}")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise GatewayProtocolError("Stripe refund metadata holds something that is not a string")
    return dict(value)


def _optional_text(value: Any, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise GatewayProtocolError(f"Stripe {what} is not a string: {value!r:.40}")


def _pi(value: str | None) -> PaymentIntentId | None:
    return PaymentIntentId(value) if value else None


def _ch(value: str | None) -> ChargeId | None:
    return ChargeId(value) if value else None


@_reader("PaymentIntent")
def latest_charge_of(intent: Mapping[str, Any]) -> Mapping[str, Any]:
    """The expanded ``latest_charge`` of a PaymentIntent fetched with
    ``expand=["latest_charge.balance_transaction"]``.

    A PaymentIntent without a charge yet (``latest_charge`` null: not paid, or still
    processing) has nothing to refund now: ``GatewayUnavailable``, as the in-memory gateway
    answers. A charge left unexpanded, something that is not a charge, or a charge of another
    PaymentIntent is a ``GatewayProtocolError``.
    """
    _require_object(intent, "PaymentIntent")
    charge = intent.get("latest_charge")
    if charge is None:
        raise GatewayUnavailable(
            f"PaymentIntent {intent.get('id')!s:.60} has no charge yet; try again later"
        )
    if not isinstance(charge, Mapping) or charge.get("object") != "charge":
        raise GatewayProtocolError(
            "the PaymentIntent's latest_charge is not an expanded charge object"
        )
    owner = _id_of(charge.get("payment_intent"))
    if owner is not None and owner != intent.get("id"):
        raise GatewayProtocolError("the PaymentIntent's latest_charge belongs to another payment")
    return charge


@_reader("answer")
def stripe_object(answer: Any, kind: str, *, object_id: str | None = None) -> Mapping[str, Any]:
    """Stripe's answer to a retrieve or create, checked to be the object asked for: a JSON
    object whose ``object`` is ``kind`` and whose ``id`` is a string (``object_id``, when
    given: an answer about another object is no answer). ``GatewayProtocolError`` otherwise:
    ``[]``, ``null``, ``1``, a list page, an error body with a 2xx status, …"""
    if not isinstance(answer, Mapping):
        raise GatewayProtocolError(
            f"Stripe answered {type(answer).__name__} where a {kind} object was expected"
        )
    if answer.get("object") != kind:
        raise GatewayProtocolError(
            f"Stripe answered a {answer.get('object')!s:.40} object where a {kind} was expected"
        )
    found = _object_id(answer, kind)
    if object_id is not None and found != object_id:
        raise GatewayProtocolError(f"Stripe answered about another {kind} than the one asked for")
    return answer


@_reader("list")
def list_page(
    answer: Any, kind: str, *, owner: tuple[str, str] | None = None
) -> tuple[list[Mapping[str, Any]], bool]:
    """One page of a Stripe list of ``kind`` objects: ``(objects, has_more)``.

    ``GatewayProtocolError`` unless the answer is ``{"object": "list", "data": [...],
    "has_more": bool}`` whose every item is a ``kind`` object with a Stripe id, and unless a
    page that says it has more holds something (its last id is where the next page starts;
    without one the listing could never end). ``owner`` (``(field, id)``, e.g.
    ``("payment_intent", "pi_…")``): every item must name that id in that field, or leave it
    null; a listing that holds another payment's objects is no answer about this one.
    """
    if not isinstance(answer, Mapping) or answer.get("object") != "list":
        raise GatewayProtocolError(f"Stripe answered something that is not a list of {kind}s")
    data = answer.get("data")
    has_more = answer.get("has_more")
    if not isinstance(data, list):
        raise GatewayProtocolError(f"the list of {kind}s has no data array")
    if not isinstance(has_more, bool):
        raise GatewayProtocolError(f"the list of {kind}s does not say whether it has more")
    if has_more and not data:
        raise GatewayProtocolError(f"an empty page of {kind}s says it has more")
    for item in data:
        if not isinstance(item, Mapping) or item.get("object") != kind:
            raise GatewayProtocolError(f"the list of {kind}s holds something that is not one")
        _sendable_id(item.get("id"), kind)  # the last one is the next page's cursor
        if owner is not None:
            field, owner_id = owner
            named = _id_of(item.get(field))
            if named is not None and named != owner_id:
                raise GatewayProtocolError(f"the list of {kind}s holds one of another {field}")
    return list(data), has_more


@_reader("charge's refunds")
def charge_refunds(charge: Mapping[str, Any]) -> tuple[ChargeId, list[Mapping[str, Any]], bool]:
    """The first page of a charge's refunds, read with the charge (``expand[]=refunds``, or
    ``latest_charge.refunds`` on a PaymentIntent): ``(charge id, refunds newest first,
    has_more)``. With ``has_more`` the rest is listed by ``GET /v1/refunds?charge=…`` starting
    after the last refund given here (Stripe's sub-lists hold the newest few only).

    Reading the refunds with the payment makes a live read one round trip (issue 10); the page
    is checked like any listing (``list_page``: refunds of this charge only). A charge whose
    ``refunds`` was not expanded is a ``GatewayProtocolError``: the refunds were asked for.
    """
    charge_id = ChargeId(_sendable_id(_field(charge, "id", "charge"), "charge"))
    listing = charge.get("refunds")
    if listing is None:
        raise GatewayProtocolError("the charge's refunds were not expanded")
    data, has_more = list_page(listing, "refund", owner=("charge", charge_id))
    return charge_id, data, has_more


@_reader("created refund")
def created_refund(answer: Any, request: RefundRequest) -> GatewayRefund:
    """Stripe's answer to POST /v1/refunds for ``request``, read and checked to be that refund:
    a refund object of the request's amount, of its payment, carrying its refund id in the
    metadata. Anything else (another refund, a mangled answer) is a ``GatewayProtocolError``,
    which the service treats as an unknown outcome (L2): the refund may exist at Stripe, and
    ``sync`` finds it by its metadata."""
    refund = parse_refund(stripe_object(answer, "refund"))
    if refund.amount != request.amount:
        raise GatewayProtocolError(
            "Stripe's answer names a refund of another amount than the one asked for"
        )
    local_id = request.local_refund_id
    if local_id is not None and refund.local_refund_id != local_id:
        raise GatewayProtocolError("Stripe's answer names a refund that is not the one asked for")
    if request.payment_intent_id:
        if refund.payment_intent_id not in (None, request.payment_intent_id):
            raise GatewayProtocolError("Stripe's answer names a refund of another payment")
    elif request.charge_id and refund.charge_id not in (None, request.charge_id):
        raise GatewayProtocolError("Stripe's answer names a refund of another charge")
    return refund


def no_payment_reference() -> OrderNotFound:
    """The error for a payment named by neither a PaymentIntent nor a Charge id."""
    return OrderNotFound("a payment needs a PaymentIntent or Charge id to be fetched")


@_reader("charge")
def disputed_charge_id(charge: Mapping[str, Any]) -> ChargeId | None:
    """The charge's id when Stripe flags it ``disputed`` (E5): its disputes must then be listed
    (``GET /v1/disputes?charge=…``, every page) and passed to ``parse_payment``, since the flag
    stays true after a dispute is won. None for a charge never disputed (nothing to list)."""
    _require_object(charge, "charge")
    if not _flag(charge.get("disputed"), "charge.disputed"):
        return None
    return ChargeId(_sendable_id(_field(charge, "id", "charge"), "disputed charge"))


def dispute_blocks_refunds(dispute: Mapping[str, Any]) -> bool:
    """Whether a Stripe ``dispute`` object keeps its charge from being refunded (E5): its
    status is in ``DISPUTE_STATUSES_BLOCKING_REFUNDS`` (see the module's docstring).
    ``GatewayProtocolError`` for something that is not a dispute or has an unknown status."""
    if not isinstance(dispute, Mapping) or dispute.get("object") != "dispute":
        raise GatewayProtocolError("Stripe's dispute listing holds something that is not a dispute")
    status = dispute.get("status")
    if not isinstance(status, str) or status not in DISPUTE_STATUSES:
        raise GatewayProtocolError(f"Stripe dispute has an unknown status {status!r:.40}")
    return status in DISPUTE_STATUSES_BLOCKING_REFUNDS


def parse_payment(
    charge: Mapping[str, Any],
    payment_intent_id: str | None,
    disputes: Iterable[Mapping[str, Any]] | None = None,
) -> PaymentRecord:
    """A captured Stripe ``charge`` (with ``balance_transaction`` expanded) as a PaymentRecord.

    Fees come from the balance transaction's ``fee_details``: ``application_fee`` entries are
    the platform's fee, every other entry (Stripe's fee, taxes on it) is a Stripe fee. They are
    in the settlement currency; converting them to Stripe's units of it rounds up (M5, B3).

    ``disputes``: the charge's dispute objects, listed when ``disputed_charge_id(charge)`` is
    not None (ignored otherwise). ``disputed`` is true while one of them blocks refunds; a
    charge flagged disputed without disputes given stays disputed (E5, module docstring).
    ``GatewayProtocolError`` for anything unreadable.
    """
    # A reader as ``_reader`` makes them, written out (issue 10: on every live read).
    error: RefundError
    try:
        if type(charge) is dict:
            record = _plain_payment(charge, payment_intent_id)
            if record is not None:
                return record
        return _read_payment(charge, payment_intent_id, disputes)
    except _READ_ERRORS as e:
        error = _read_error(e, "charge")
    raise error


def _plain_payment(charge: dict[str, Any], payment_intent_id: str | None) -> PaymentRecord | None:
    """``_read_payment(charge, payment_intent_id, disputes)`` for a charge as Stripe's JSON
    gives it, never disputed (so ``disputes`` is not read), read without the checks' calls
    (issue 10): every field it reads is of the exact type JSON gives, the ids are not expanded
    objects, and each currency's Stripe units are whole minor units. None for anything else,
    and for anything ``_read_payment`` refuses: that reading then decides (as for
    ``_plain_refund``). Only an ``exchange_rate`` is read by ``_rate`` itself, at the point
    ``_read_payment`` reads it, and so refused the same way."""
    get = charge.get
    code = get("currency")
    units = _stripe_units(code) if type(code) is str else None
    captured = get("amount_captured")
    refunded = get("amount_refunded")
    txn = get("balance_transaction")
    if (
        units is None
        or not units[1]
        or (captured is not None and (type(captured) is not int or captured < 0))
        or type(refunded) is not int
        or refunded < 0
        or type(txn) is not dict
    ):
        return None
    settlement_code = txn.get("currency")
    settlement = _stripe_units(settlement_code) if type(settlement_code) is str else None
    fee_details = txn.get("fee_details")
    if settlement is None or (fee_details is not None and type(fee_details) is not list):
        return None
    stripe_fee = platform_fee = 0
    for detail in fee_details or ():
        if type(detail) is not dict:
            return None
        fee = detail.get("amount")
        fee_code = detail.get("currency")
        kind = detail.get("type")
        fee_units = _stripe_units(fee_code) if type(fee_code) is str else None
        if (
            fee_units is None
            or not fee_units[1]
            or fee_units[0].code != settlement[0].code
            or type(fee) is not int
            or fee < 0
            or (kind is not None and type(kind) is not str)
        ):
            return None
        # Money's sum in the settlement currency, as ``Money.zero(settlement) + fee`` gives.
        if kind == "application_fee":
            platform_fee += fee * fee_units[1]
        else:
            stripe_fee += fee * fee_units[1]
    raw_rate = txn.get("exchange_rate")
    rate = None if raw_rate is None else _rate(raw_rate)
    if not payment_intent_id:
        payment_intent_id = get("payment_intent")
        if payment_intent_id is not None and type(payment_intent_id) is not str:
            return None
    charge_id = get("id")
    disputed = get("disputed")
    if (charge_id is not None and type(charge_id) is not str) or (
        disputed is not None and disputed is not False
    ):
        return None
    currency, factor, zero = units
    settlement_currency, _, settlement_zero = settlement
    # Zero amounts (no platform fee, nothing refunded yet) share their currency's zero: Money
    # is immutable, so only the time to build one is saved.
    return payment_record(
        payment_intent_id or None,
        charge_id or None,
        _of_int(captured * factor, currency) if captured else zero,
        _of_int(stripe_fee, settlement_currency) if stripe_fee else settlement_zero,
        _of_int(platform_fee, settlement_currency) if platform_fee else settlement_zero,
        settlement_currency,
        _of_int(refunded * factor, currency) if refunded else zero,
        rate if settlement_currency.code != currency.code else None,
        False,
    )


def _read_payment(
    charge: Mapping[str, Any],
    payment_intent_id: str | None,
    disputes: Iterable[Mapping[str, Any]] | None,
) -> PaymentRecord:
    """``parse_payment``'s reading of any charge, every field checked on its own."""
    _require_object(charge, "charge")
    currency = Currency.of(_field(charge, "currency", "charge"))
    captured = from_stripe_amount(
        _units(charge.get("amount_captured"), "charge.amount_captured", missing_is_zero=True),
        currency,
    )
    # Required by Stripe, and never read as zero when absent: that would overstate what
    # Stripe still lets us refund (B2).
    refunded = from_stripe_amount(
        _units(_field(charge, "amount_refunded", "charge"), "charge.amount_refunded"), currency
    )
    txn = charge.get("balance_transaction")
    if not isinstance(txn, Mapping):
        raise GatewayProtocolError(
            f"charge {charge.get('id')} has no expanded balance transaction yet, so its fees "
            f"are unknown; try again once Stripe has settled it"
        )
    settlement = Currency.of(_field(txn, "currency", "balance transaction"))
    stripe_fee = Money.zero(settlement)
    platform_fee = Money.zero(settlement)
    fee_details = txn.get("fee_details") or ()
    if not isinstance(fee_details, list | tuple):
        raise GatewayProtocolError("Stripe balance transaction fee_details is not a list")
    for detail in fee_details:
        fee = from_stripe_amount(
            _units(_field(detail, "amount", "fee"), "fee amount"),
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
        disputed=_refunds_blocked_by_dispute(charge, disputes),
    )


def _refunds_blocked_by_dispute(
    charge: Mapping[str, Any], disputes: Iterable[Mapping[str, Any]] | None
) -> bool:
    if disputed_charge_id(charge) is None:
        return False
    if disputes is None:
        return True  # not listed: nothing proves the dispute is over
    listed = list(disputes)
    if not listed:
        return True  # flagged but none found: nothing proves it refundable
    blocking = [dispute_blocks_refunds(d) for d in listed]  # reads (and checks) every one
    return any(blocking)


@_reader("refund list")
def refunds_oldest_first(refunds: Iterable[Mapping[str, Any]]) -> tuple[GatewayRefund, ...]:
    """Stripe lists newest first; the port promises oldest first."""
    parsed = [parse_refund(r) for r in refunds]
    return tuple(sorted(parsed, key=lambda r: (r.created_at, r.id)))


def refund_params(
    request: RefundRequest, *, refund_application_fee: bool, reverse_transfer: bool = False
) -> dict[str, Any]:
    """The POST /v1/refunds parameters for ``request`` (L1, N4, M3).

    Connect: ``refund_application_fee`` also refunds the platform's application fee;
    ``reverse_transfer`` (destination charges) takes the refunded amount back from the connected
    account the charge's transfer went to, in proportion. Each is sent only when set, so a
    platform without Connect sends neither."""
    params: dict[str, Any] = {
        "amount": _stripe_amount(request.amount),
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
    if reverse_transfer:
        params["reverse_transfer"] = True
    return params


def _stripe_amount(money: Money) -> int:
    """``to_stripe_amount(money)``; for a currency object sent before, without its calls
    (issue 10: on every refund created)."""
    currency = money.currency
    minor = money.minor
    known = _SENDING.get(currency.code)
    if known is not None and known[0] is currency and type(minor) is int:
        _, step, factor, divisor, limit = known
        if minor % step == 0:
            units = minor * factor if factor else minor // divisor
            if -limit < units < limit:
                return units
    units = to_stripe_amount(money)  # raises what Stripe would refuse; learns the rest
    if type(currency) is Currency and len(_SENDING) < _MAX_UNITS:
        # to_stripe_amount's figures for this currency object (its exponent may be any).
        code = currency.code
        shift = stripe_decimals(code) - currency.exponent
        _SENDING[code] = (
            currency,
            stripe_step(currency),
            10**shift if shift >= 0 else 0,
            10**-shift if shift < 0 else 1,
            10 ** STRIPE_MAX_DIGITS_BY_CURRENCY.get(code, STRIPE_MAX_DIGITS),
        )
    return units


# ``to_stripe_amount``'s figures by currency code, for the currency object they were last
# learned from (issue 10; another object of the code, whose exponent may differ, learns them
# again): the object itself, Stripe's step in our minor units, the factor (or else the
# divisor) from our minor units to Stripe's, and the bound amounts must stay below.
_SENDING: dict[str, tuple[Currency, int, int, int, int]] = {}


# N4: our reasons as Stripe's. OTHER and no reason send none (Stripe has no "other").
_STRIPE_REASONS: Final[dict[RefundReason, str]] = {
    RefundReason.DUPLICATE: "duplicate",
    RefundReason.FRAUDULENT: "fraudulent",
    RefundReason.CUSTOMER_REQUEST: "requested_by_customer",
}


# The two tables ``reason_from_gateway`` reads, by the text it is given.
_REASONS_BY_VALUE: Final[dict[str, RefundReason]] = {
    reason.value: reason for reason in RefundReason
}
_REASONS_BY_STRIPE: Final[dict[str, RefundReason]] = {
    value: reason for reason, value in _STRIPE_REASONS.items()
}


def stripe_reason(reason: RefundReason | None) -> str | None:
    """N4: the Stripe ``reason`` parameter for our reason (None: send no reason)."""
    return _STRIPE_REASONS.get(reason) if reason is not None else None


def reason_from_gateway(
    stripe_value: str | None, metadata_value: str | None
) -> RefundReason | None:
    """Our reason for a gateway refund: the one we wrote in metadata, else Stripe's own."""
    if (metadata_value is None or type(metadata_value) is str) and (
        stripe_value is None or type(stripe_value) is str
    ):
        # Issue 10: plain strings looked up (the loops below compare them by ``==``, which for
        # a plain str is the dicts' key equality; both tables have distinct values).
        found = _REASONS_BY_VALUE.get(metadata_value) if metadata_value else None
        if found is None and stripe_value is not None:
            found = _REASONS_BY_STRIPE.get(stripe_value)
        return found
    if metadata_value:
        for reason in RefundReason:
            if reason.value == metadata_value:
                return reason
    for reason, value in _STRIPE_REASONS.items():
        if value == stripe_value:
            return reason
    return None


# What each Stripe event type means to the library (EventKind). Refund events: ``refund.*``,
# and ``charge.refund.updated``, which is how API versions before 2024-10-28 report status
# changes of refunds of charges (they send ``refund.*`` only for refunds without a charge;
# docs.stripe.com/changelog/acacia/2024-10-28/refund-webhook-update).
_EVENT_KINDS: Final[dict[str, EventKind]] = {
    "refund.created": EventKind.REFUND_CREATED,
    "refund.updated": EventKind.REFUND_UPDATED,
    "refund.failed": EventKind.REFUND_FAILED,
    "charge.refund.updated": EventKind.REFUND_UPDATED,
    "charge.refunded": EventKind.PAYMENT_REFUNDED,
    "charge.dispute.created": EventKind.DISPUTE_OPENED,
    "charge.dispute.updated": EventKind.DISPUTE_UPDATED,
    "charge.dispute.closed": EventKind.DISPUTE_CLOSED,
    # I2: payment outcomes. The service re-reads the payment (events are prompts), so each
    # only says "look": ``payment_state`` decides what the order becomes.
    "payment_intent.succeeded": EventKind.PAYMENT_SUCCEEDED,
    "payment_intent.payment_failed": EventKind.PAYMENT_FAILED,
    "payment_intent.canceled": EventKind.PAYMENT_CANCELED,
    "charge.succeeded": EventKind.PAYMENT_SUCCEEDED,
    "charge.failed": EventKind.PAYMENT_FAILED,
    "charge.expired": EventKind.PAYMENT_CANCELED,
}


def event_kind(stripe_type: str) -> EventKind:
    """What a Stripe event type means to the library; IGNORED for types it does not act on."""
    return _EVENT_KINDS.get(stripe_type, EventKind.IGNORED)


@_reader("event")
def parse_event(event: Mapping[str, Any]) -> GatewayEvent:
    """A Stripe ``event`` object (the parsed JSON of one, API 2023-08-16) as the
    gateway-neutral ``GatewayEvent`` that ``RefundService.apply_event`` takes. Unknown types
    come out with their type string and kind IGNORED (the service ignores them).
    ``GatewayProtocolError`` (only) for anything that is not a readable Stripe event. Needs no
    SDK.

    Public as ``kanorio_refunds.adapters.stripe.parse_event``, for hosts that receive Stripe's
    events another way than a signed webhook (Amazon EventBridge, a queue, a poll of
    ``GET /v1/events``): check the event's origin first, as ``StripeWebhookVerifier`` does for
    webhooks. An event is a prompt: the service reads Stripe before it trusts one (L6).

    ``disputed`` (informational: the service reads the payment live on charge and dispute
    events) follows the dispute rule of this module: a dispute event says whether its status
    blocks refunds (None for a status this API version does not know); a charge event says
    False for a charge never disputed and None otherwise, as ``charge.disputed`` stays true
    after a won dispute."""
    _require_object(event, "event")
    event_type = _field(event, "type", "event")
    if not isinstance(event_type, str) or not event_type:
        raise GatewayProtocolError(f"Stripe event has no readable type: {event_type!r:.40}")
    data = _field(event, "data", "event")
    obj = _field(data, "object", "event data")
    created = _timestamp(_field(event, "created", "event"), "event")
    base: dict[str, Any] = {
        "id": EventId(_object_id(event, "event")),
        "kind": event_kind(event_type),
        "type": event_type,
        "created_at": created,
    }
    kind = obj.get("object") if isinstance(obj, Mapping) else None
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
            disputed=False if obj.get("disputed") is False else None,
        )
    if kind == "payment_intent":
        return GatewayEvent(**base, payment_intent_id=_pi(_id_of(obj.get("id"))))
    if kind == "dispute":
        return GatewayEvent(
            **base,
            payment_intent_id=_pi(_id_of(obj.get("payment_intent"))),
            charge_id=_ch(_id_of(obj.get("charge"))),
            disputed=_event_dispute_state(obj.get("status")),
        )
    return GatewayEvent(**base)


def _event_dispute_state(status: Any) -> bool | None:
    # Events come in the endpoint's API version, which may know statuses this one does not.
    if not isinstance(status, str) or status not in DISPUTE_STATUSES:
        return None
    return status in DISPUTE_STATUSES_BLOCKING_REFUNDS


# I1, I2: Stripe's PaymentIntent lifecycle (docs.stripe.com/payments/paymentintents/lifecycle)
# in our terms; docs/rules.md has the table. ``requires_payment_method`` is PENDING before any
# attempt and FAILED after one (``last_payment_error`` set): the buyer may retry. ``canceled``
# is final: EXPIRED (nothing was or will be captured).
_INTENT_STATES: Final[dict[str, PaymentState]] = {
    "requires_payment_method": PaymentState.PENDING,
    "requires_confirmation": PaymentState.PENDING,
    "requires_action": PaymentState.PENDING,
    "processing": PaymentState.PENDING,
    "requires_capture": PaymentState.PENDING,
    "succeeded": PaymentState.PAID,
    "canceled": PaymentState.EXPIRED,
}
# A Charge's ``status``: ``succeeded`` is PAID once captured (an authorisation alone is pending).
_CHARGE_STATES: Final[dict[str, PaymentState]] = {
    "pending": PaymentState.PENDING,
    "succeeded": PaymentState.PAID,
    "failed": PaymentState.FAILED,
}


@_reader("payment")
def payment_state(
    intent: Mapping[str, Any] | None, charge: Mapping[str, Any] | None
) -> PaymentState:
    """I1, I2: the payment's lifecycle state from its PaymentIntent's ``status`` (when there
    is one) or else its Charge's ``status`` and ``captured``. An unknown status is a
    ``GatewayProtocolError``: nothing is assumed about money."""
    if intent is not None:
        _require_object(intent, "PaymentIntent")
        status = intent.get("status")
        state = _INTENT_STATES.get(status) if isinstance(status, str) else None
        if state is None:
            raise GatewayProtocolError(f"Stripe PaymentIntent has an unknown status {status!r:.40}")
        if state is PaymentState.PENDING and intent.get("last_payment_error") is not None:
            return PaymentState.FAILED if status == "requires_payment_method" else state
        return state
    if charge is None:
        raise GatewayProtocolError("a payment's state needs its PaymentIntent or its Charge")
    _require_object(charge, "charge")
    status = charge.get("status")
    state = _CHARGE_STATES.get(status) if isinstance(status, str) else None
    if state is None:
        raise GatewayProtocolError(f"Stripe charge has an unknown status {status!r:.40}")
    if state is PaymentState.PAID and charge.get("captured") is False:
        return PaymentState.PENDING
    return state


@_reader("payment")
def payment_amount(payment: Mapping[str, Any]) -> Money:
    """I1: what the buyer is asked to pay: a PaymentIntent's or Charge's ``amount``."""
    currency = Currency.of(_field(payment, "currency", "payment"))
    return from_stripe_amount(
        _units(_field(payment, "amount", "payment"), "payment amount"), currency
    )


@_reader("payment")
def unsettled_payment(
    intent: Mapping[str, Any] | None, charge: Mapping[str, Any] | None
) -> LivePayment | None:
    """I1, I2: a payment with nothing captured yet, or never to be: a PaymentIntent without a
    charge, or whose charge is pending, failed or only authorised (Stripe gives those no
    balance transaction). Its live data: a record with zero amounts in the payment's currency,
    its state and amount, no refunds. None for a captured payment (``parse_payment`` reads it).
    ``charge`` is the PaymentIntent's ``latest_charge`` (an id or an object) or the charge."""
    state = payment_state(intent, charge if isinstance(charge, Mapping) else None)
    if state is PaymentState.PAID:
        return None  # captured: ``parse_payment`` reads its charge and balance transaction
    source = intent if intent is not None else charge
    assert isinstance(source, Mapping)  # payment_state checked there is one
    amount = payment_amount(source)
    zero = Money.zero(amount.currency)
    charge_id = charge.get("id") if isinstance(charge, Mapping) else charge
    record = PaymentRecord(
        payment_intent_id=_pi(_id_of(intent.get("id")) if intent is not None else None),
        charge_id=_ch(charge_id if isinstance(charge_id, str) else None),
        captured=zero,
        stripe_fee=zero,
        platform_fee=zero,
        settlement_currency=amount.currency,
        amount_refunded=zero,
    )
    return LivePayment(record=record, state=state, amount=amount)


# Anything shaped like a Stripe secret: API keys (secret, restricted; masked ones too, as Stripe
# echoes "sk_test_****1234" in 401 messages) and webhook signing secrets (P3).
_SECRET_RE: Final = re.compile(r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9*]+|whsec_[A-Za-z0-9+/=_]+")


def redact_secrets(text: str) -> str:
    """``text`` with anything shaped like a Stripe key or webhook secret replaced (P3)."""
    return _SECRET_RE.sub("[redacted]", text)


def error_from_stripe(
    http_status: int | None, error_type: object, code: object, message: object
) -> RefundError:
    """Our error for a Stripe error response (L2, L3). Never carries a credential (P3).

    Unavailable (retryable; outcome unknown for a create): no status (transport failure), a
    non-error status (an unreadable 2xx answer: the request may have worked), 409, 429 or a
    ``rate_limit`` code, and 5xx. Misconfigured: 401/403. Everything else is a definitive
    rejection carrying Stripe's code (``idempotency_error`` for idempotency errors).

    ``error_type``, ``code`` and ``message`` are taken as Stripe's error object gave them,
    whatever their JSON type: a code or type that is not a plain snake_case word (a number, a
    secret echoed there) is not used, and a message that is not text is not quoted.
    """
    text = redact_secrets(message if isinstance(message, str) and message else "")
    text = text or "Stripe returned an error"
    kind = _error_word(error_type)
    stripe_code = _error_word(code)
    if http_status in (401, 403) or kind in ("authentication_error", "permission_error"):
        return GatewayMisconfigured(
            f"Stripe refused the credentials or permissions ({http_status}): check the API key "
            f"and the connected account"
        )
    if (
        http_status is None
        or http_status < 400
        or http_status in (409, 429)
        or http_status >= 500
        or stripe_code == "rate_limit"
    ):
        return GatewayUnavailable(f"Stripe is unavailable ({http_status}): {text}")
    if kind == "idempotency_error":
        return GatewayRejected(text, gateway_code="idempotency_error")
    return GatewayRejected(text, gateway_code=stripe_code or kind or f"http_{http_status}")


# Stripe's error codes and types are snake_case words (``charge_disputed``, ``card_error``).
_ERROR_WORD_RE: Final = re.compile(r"[a-z][a-z0-9_]{0,99}")


def _error_word(value: object) -> str | None:
    """Stripe's error code or type, if it is one: hosts log and branch on ``gateway_code``."""
    if not isinstance(value, str) or _ERROR_WORD_RE.fullmatch(value) is None:
        return None
    return None if _SECRET_RE.search(value) else value
