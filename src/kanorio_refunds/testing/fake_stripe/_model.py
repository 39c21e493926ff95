"""``FakeStripe``: an in-memory model of the part of Stripe's API (version 2023-08-16) we use.

It is the project's single Stripe model. The in-memory payment gateway wraps it for users' tests,
and a fake HTTP backend plugged into the real ``stripe`` SDK serves Stripe's REST endpoints from
it, so both adapters are tested against the same behaviour. It therefore speaks Stripe's language:
amounts are ints in Stripe's units, currencies are lowercase strings and every object is a
Stripe-shaped JSON dict (field names and shapes of API 2023-08-16, checked against Stripe's OpenAPI
spec), handed out as a deep copy so no caller can change the model behind its back.

What is modelled:

* succeeded PaymentIntents with one captured Charge and its ``charge`` balance transaction
  (Stripe fee, application fee, cross-currency settlement with an exchange rate);
* ``POST /v1/refunds`` with Stripe's validation errors, idempotency keys and Connect's
  ``Stripe-Account`` (recorded, and scoping idempotency keys; objects are not partitioned);
* the asynchronous life of a refund (pending, requires_action, late failure, …);
* disputes (chargebacks and inquiries) that block refunds while open or after being lost,
  listed by ``GET /v1/disputes``; webhook events, and injected transport/server faults.

Stripe behaviour is mimicked where the library depends on it; everything else is left out on
purpose (no customers, payment methods, transfers, application-fee objects or payouts).

Thread safety: every public operation runs under one lock, so two threads refunding the same
charge are serialised exactly like Stripe's per-object locking would do.
"""

from __future__ import annotations

import copy
import enum
import itertools
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Final

import attrs

from kanorio_refunds.domain._money import stripe_decimals

__all__ = [
    "API_VERSION",
    "DISPUTE_STATUSES",
    "DISPUTE_STATUSES_BLOCKING_REFUNDS",
    "FAILURE_REASONS",
    "OPERATIONS",
    "REFUND_STATUSES",
    "FakeStripe",
    "Fault",
    "RequestRecord",
    "StripeApiError",
    "StripeConnectionFault",
    "StripeTimeoutFault",
]

JsonDict = dict[str, Any]

#: The Stripe API version whose object shapes this model reproduces.
API_VERSION: Final = "2023-08-16"

#: The API operations of the model. Faults can be injected into each of them.
OPERATIONS: Final = frozenset(
    {
        "create_refund",
        "retrieve_payment_intent",
        "retrieve_charge",
        "retrieve_refund",
        "retrieve_balance_transaction",
        "list_refunds",
        "list_disputes",
    }
)

#: Every status a Stripe refund can have.
REFUND_STATUSES: Final = frozenset(
    {"pending", "requires_action", "succeeded", "failed", "canceled"}
)

#: Every ``dispute.status`` of API 2023-08-16 (``warning_*`` are inquiries).
DISPUTE_STATUSES: Final = frozenset(
    {
        "warning_needs_response",
        "warning_under_review",
        "warning_closed",
        "needs_response",
        "under_review",
        "won",
        "lost",
    }
)

#: Dispute statuses in which the model refuses refunds of the charge (``charge_disputed``):
#: open inquiries and chargebacks, and lost chargebacks (the money already went back to the
#: cardholder). ``won`` and ``warning_closed`` make the charge refundable again. The same rule
#: as ``stripe_objects.DISPUTE_STATUSES_BLOCKING_REFUNDS`` (a test keeps them equal).
DISPUTE_STATUSES_BLOCKING_REFUNDS: Final = DISPUTE_STATUSES - {"won", "warning_closed"}

#: Stripe's documented values of ``refund.failure_reason``.
FAILURE_REASONS: Final = frozenset(
    {
        "lost_or_stolen_card",
        "expired_or_canceled_card",
        "charge_for_pending_refund_disputed",
        "insufficient_funds",
        "declined",
        "merchant_request",
        "unknown",
    }
)

# Stripe's refund state machine. succeeded -> requires_action is a bank-transfer refund that
# needs the customer's details after all (DESIGN S3); failed and canceled are final.
_TRANSITIONS: Final[Mapping[str, frozenset[str]]] = {
    "pending": frozenset({"succeeded", "failed", "canceled", "requires_action"}),
    "requires_action": frozenset({"pending", "succeeded", "failed", "canceled"}),
    "succeeded": frozenset({"failed", "requires_action"}),
    "failed": frozenset(),
    "canceled": frozenset(),
}

# Statuses whose amount Stripe counts in ``charge.amount_refunded``.
_RESERVING: Final = frozenset({"pending", "requires_action", "succeeded"})

# A refund may be born in these statuses (card: succeeded/pending; bank transfer: requires_action).
_INITIAL_STATUSES: Final = frozenset({"pending", "requires_action", "succeeded"})

_REFUND_REASONS: Final = ("duplicate", "fraudulent", "requested_by_customer")
_REFUND_PARAMS: Final = frozenset(
    {
        "payment_intent",
        "charge",
        "amount",
        "reason",
        "metadata",
        "refund_application_fee",
        "reverse_transfer",
        "expand",
    }
)

# Which fields of which object type may be expanded, and where expanded ids point to.
_EXPANDABLE: Final[Mapping[str, frozenset[str]]] = {
    "payment_intent": frozenset({"latest_charge"}),
    "charge": frozenset({"balance_transaction", "payment_intent"}),
    "refund": frozenset(
        {"balance_transaction", "charge", "payment_intent", "failure_balance_transaction"}
    ),
    "balance_transaction": frozenset({"source"}),
    "dispute": frozenset({"charge", "payment_intent"}),
}

_METADATA_MAX_KEYS: Final = 50
_METADATA_MAX_KEY_LEN: Final = 40
_METADATA_MAX_VALUE_LEN: Final = 500
_LIST_MAX_LIMIT: Final = 100
# Stripe makes card funds available two days later; only the shape matters here.
_AVAILABLE_AFTER_SECONDS: Final = 2 * 86_400
_DEFAULT_EPOCH: Final = 1_700_000_000


# --------------------------------------------------------------------------------------------
# Errors and faults
# --------------------------------------------------------------------------------------------


class StripeApiError(Exception):
    """An HTTP error answer of Stripe (4xx/5xx) with Stripe's error body.

    ``type`` is one of Stripe's error types (``invalid_request_error``, ``api_error``,
    ``idempotency_error``, ``card_error``); ``code`` is Stripe's error code or None (Stripe sends
    no code for, e.g., invalid enum values or metadata limits). ``request_id`` is the ``req_…`` id
    of the request that failed (the HTTP backend sends it as the ``Request-Id`` header).
    """

    def __init__(
        self,
        http_status: int,
        type: str,
        code: str | None,
        message: str,
        param: str | None = None,
        *,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.type = type
        self.code = code
        self.message = message
        self.param = param
        self.request_id = request_id

    @property
    def doc_url(self) -> str | None:
        """Stripe's documentation link for ``code`` (None without a code)."""
        if self.code is None:
            return None
        return f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"

    def to_json(self) -> JsonDict:
        """Stripe's error body: ``{"error": {...}}``; absent fields are omitted as Stripe does."""
        body: JsonDict = {"type": self.type, "message": self.message}
        if self.code is not None:
            body["code"] = self.code
            body["doc_url"] = self.doc_url
        if self.param is not None:
            body["param"] = self.param
        if self.request_id is not None:
            body["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{self.request_id}"
        return {"error": body}

    def _clone(self) -> StripeApiError:
        return StripeApiError(self.http_status, self.type, self.code, self.message, self.param)

    def __repr__(self) -> str:
        return (
            f"StripeApiError(http_status={self.http_status}, type={self.type!r}, "
            f"code={self.code!r}, message={self.message!r}, param={self.param!r})"
        )


class StripeConnectionFault(Exception):
    """The request never reached Stripe (injected ``Fault.CONNECTION_ERROR``); nothing happened."""

    def __init__(self, operation: str, request_id: str) -> None:
        super().__init__(f"connection to Stripe failed during {operation}")
        self.operation = operation
        self.request_id = request_id


class StripeTimeoutFault(Exception):
    """Stripe did the work but the answer was lost (injected ``Fault.TIMEOUT_AFTER_CREATE``).

    ``result`` is a copy of the object Stripe created or returned, for tests only: the caller's
    code must behave as if it never saw it.
    """

    def __init__(self, operation: str, request_id: str, result: JsonDict | None) -> None:
        super().__init__(f"request to Stripe timed out during {operation}")
        self.operation = operation
        self.request_id = request_id
        self.result = result


class Fault(enum.Enum):
    """A failure to inject into the next call of an operation (see ``FakeStripe.inject_fault``)."""

    #: Nothing happens at Stripe; the caller gets ``StripeConnectionFault``.
    CONNECTION_ERROR = "connection_error"
    #: The operation runs (a refund IS created, events too); the caller gets ``StripeTimeoutFault``.
    TIMEOUT_AFTER_CREATE = "timeout_after_create"
    #: 429 ``rate_limit``; nothing happens.
    RATE_LIMITED = "rate_limited"
    #: 500 ``api_error``; nothing happens.
    SERVER_ERROR = "server_error"
    #: 409 ``lock_timeout``; nothing happens.
    CONFLICT = "conflict"
    #: 400 ``invalid_request_error`` with the Stripe ``code`` given at injection; nothing happens.
    REJECT = "reject"


# Messages Stripe gives for the codes a REJECT fault is typically used with.
_REJECT_MESSAGES: Final[Mapping[str, tuple[str, str | None]]] = {
    "charge_disputed": ("The charge has been charged back; cannot issue a refund.", None),
    "amount_too_large": (
        "Refund amount is greater than unrefunded amount on charge.",
        "amount",
    ),
    "charge_already_refunded": ("The charge has already been refunded.", None),
    "resource_missing": ("No such object.", "id"),
    "parameter_missing": ("A required parameter is missing.", None),
    "parameter_invalid_integer": ("Invalid positive integer", "amount"),
}


@attrs.frozen
class RequestRecord:
    """One API call as the model received it, for tests to assert what was sent.

    ``http_status`` is 200 on success, the error's status for ``StripeApiError`` and None when the
    caller saw a connection failure or a timeout. ``idempotent_replayed`` is True when Stripe
    would answer with ``Idempotent-Replayed: true``.
    """

    request_id: str
    operation: str
    params: JsonDict
    idempotency_key: str | None
    stripe_account: str | None
    created: int
    fault: Fault | None
    http_status: int | None
    idempotent_replayed: bool


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _invalid(
    message: str, *, code: str | None = None, param: str | None = None, status: int = 400
) -> StripeApiError:
    return StripeApiError(status, "invalid_request_error", code, message, param)


def _missing(kind: str, object_id: str, param: str) -> StripeApiError:
    return _invalid(
        f"No such {kind}: '{object_id}'", code="resource_missing", param=param, status=404
    )


def _to_minor(major: Decimal, currency: str) -> int:
    """Major units -> Stripe units of ``currency``, rounding half-even (M5: named rounding)."""
    scaled = major.scaleb(stripe_decimals(currency))
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _to_major(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-stripe_decimals(currency))


def _convert(amount: int, source: str, target: str, rate: Decimal) -> int:
    """Convert Stripe units of ``source`` into Stripe units of ``target`` at ``rate``."""
    return _to_minor(_to_major(amount, source) * rate, target)


def _display(amount: int, currency: str) -> str:
    return f"{_to_major(amount, currency)} {currency.upper()}"


def _canonical(value: Any) -> Any:
    """The value as it travels form-encoded, so 500 and "500" are the same parameter.

    Stripe compares an idempotent retry's parameters on the wire, where everything is a string.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return str(value)


def _parse_positive_int(value: Any, param: str) -> int:
    # Form-encoded requests carry integers as digit strings; in-process callers pass ints.
    if isinstance(value, bool):
        parsed = None
    elif isinstance(value, int):
        parsed = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        parsed = int(value)
    else:
        parsed = None
    if parsed is None or parsed <= 0:
        raise _invalid("Invalid positive integer", code="parameter_invalid_integer", param=param)
    return parsed


def _parse_bool(value: Any, param: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise _invalid(f"Invalid boolean: {value!r}", param=param)


def _parse_metadata(value: Any) -> dict[str, str]:
    """Validate metadata with Stripe's limits and messages (Stripe sends no error code here)."""
    if value is None or value == "":
        return {}
    if not isinstance(value, Mapping):
        raise _invalid(
            "Invalid metadata: must be a hash of keys to string values", param="metadata"
        )
    metadata: dict[str, str] = {}
    for key, val in value.items():
        if not isinstance(key, str) or not key or len(key) > _METADATA_MAX_KEY_LEN:
            raise _invalid(
                f"Invalid key: {key!r} must be a string under {_METADATA_MAX_KEY_LEN} characters",
                param="metadata",
            )
        if not isinstance(val, str) or len(val) > _METADATA_MAX_VALUE_LEN:
            raise _invalid(
                f"Invalid val: {val!r} must be a string under {_METADATA_MAX_VALUE_LEN} characters",
                param=f"metadata[{key}]",
            )
        # Posting an empty value unsets a key, so it never appears on the object.
        if val:
            metadata[key] = val
    if len(metadata) > _METADATA_MAX_KEYS:
        raise _invalid(
            f"Metadata can have up to {_METADATA_MAX_KEYS} keys, but you've set {len(metadata)}.",
            param="metadata",
        )
    return metadata


def _parse_expand(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise _invalid("Invalid array", param="expand")
    if not all(isinstance(v, str) and v for v in value):
        raise _invalid("Invalid array", param="expand")
    return tuple(value)


def _parse_limit(value: Any) -> int:
    limit = _parse_positive_int(value, "limit")
    if limit > _LIST_MAX_LIMIT:
        raise _invalid(
            f"This value must be less than or equal to {_LIST_MAX_LIMIT} (it currently is "
            f"'{limit}').",
            code="parameter_invalid_integer",
            param="limit",
        )
    return limit


@attrs.define
class _RefundParams:
    payment_intent: str | None
    charge: str | None
    amount: int | None
    reason: str | None
    metadata: dict[str, str]
    refund_application_fee: bool
    reverse_transfer: bool
    expand: tuple[str, ...]


def _parse_refund_params(params: Mapping[str, Any]) -> _RefundParams:
    """Stripe's parameter validation of POST /v1/refunds (nothing is stored if it fails)."""
    for name in params:
        if name not in _REFUND_PARAMS:
            raise _invalid(
                f"Received unknown parameter: {name}", code="parameter_unknown", param=name
            )
    ids: dict[str, str | None] = {}
    for name in ("payment_intent", "charge"):
        value = params.get(name)
        if value is not None and (not isinstance(value, str) or not value):
            raise _invalid(
                f"Invalid {name}: must be a non-empty string",
                code="parameter_invalid_string_empty",
                param=name,
            )
        ids[name] = value
    amount = params.get("amount")
    reason = params.get("reason")
    if reason is not None and reason not in _REFUND_REASONS:
        # Stripe answers an invalid enum value without an error code.
        raise _invalid(
            "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
            param="reason",
        )
    parsed = _RefundParams(
        payment_intent=ids["payment_intent"],
        charge=ids["charge"],
        amount=None if amount is None else _parse_positive_int(amount, "amount"),
        reason=reason,
        metadata=_parse_metadata(params.get("metadata")),
        refund_application_fee=_parse_bool(
            params.get("refund_application_fee", False), "refund_application_fee"
        ),
        reverse_transfer=_parse_bool(params.get("reverse_transfer", False), "reverse_transfer"),
        expand=_parse_expand(params.get("expand")),
    )
    if parsed.payment_intent is None and parsed.charge is None:
        raise _invalid(
            "One of the following params should be provided for this request: "
            "payment_intent or charge.",
            code="parameter_missing",
        )
    return parsed


def _read_params(object_id: str, expand: Sequence[str]) -> JsonDict:
    params: JsonDict = {"id": object_id}
    if expand:
        params["expand"] = list(expand)
    return params


def _default_clock() -> Callable[[], int]:
    return itertools.count(_DEFAULT_EPOCH).__next__


@attrs.define
class _Call:
    """The context of one API call: who asked, when, and how it ended."""

    request_id: str
    now: int
    idempotency_key: str | None
    stripe_account: str | None
    replayed: bool = False


@attrs.define
class _Saved:
    """An idempotency key's stored result: the first response or the error Stripe executed to."""

    operation: str
    params: Any
    response: JsonDict | None
    error: StripeApiError | None


@attrs.define
class _ChargeState:
    """What the model knows about a charge beyond its JSON."""

    # The charge's dispute, if any (one per charge); whether it blocks refunds follows from its
    # status (DISPUTE_STATUSES_BLOCKING_REFUNDS).
    dispute_id: str | None = None


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


class FakeStripe:
    """In-memory, deterministic, thread-safe model of Stripe's refund-related API (2023-08-16).

    ``clock`` returns unix seconds; by default a counter starting at 1_700_000_000 that advances
    one second per call. ``default_refund_status`` is the status new refunds get ("succeeded",
    "pending" for slow card/bank refunds, or "requires_action"); it can be changed at any time.

    API operations (``create_refund``, ``retrieve_*``, ``list_refunds``, ``list_disputes``) are
    logged in ``requests``, can be made to fail with ``inject_fault`` and raise
    ``StripeApiError``, ``StripeConnectionFault`` or ``StripeTimeoutFault``. The other methods
    drive the model like Stripe's back office would (payments, async refund outcomes, disputes)
    and are never faulted.
    """

    def __init__(
        self,
        clock: Callable[[], int] | None = None,
        *,
        default_refund_status: str = "succeeded",
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock if clock is not None else _default_clock()
        self._check_initial_status(default_refund_status)
        self._default_refund_status = default_refund_status
        self._counters: dict[str, itertools.count[int]] = {}
        # Every object by id; the id prefix tells its type, which is how expansion resolves ids.
        self._objects: dict[str, JsonDict] = {}
        self._charge_state: dict[str, _ChargeState] = {}
        # Refund ids in creation order (Stripe lists newest first, i.e. this order reversed).
        self._refund_order: list[str] = []
        self._refund_seq: dict[str, int] = {}
        # Dispute ids in creation order, likewise.
        self._dispute_order: list[str] = []
        self._dispute_seq: dict[str, int] = {}
        self._events: list[JsonDict] = []
        self._faults: dict[str, deque[tuple[Fault, str | None]]] = {}
        self._idempotency: dict[tuple[str | None, str], _Saved] = {}
        self._requests: list[RequestRecord] = []
        self._local = threading.local()

    # ---------------------------------------------------------------- configuration

    @property
    def default_refund_status(self) -> str:
        """The status new refunds are created with."""
        with self._lock:
            return self._default_refund_status

    @default_refund_status.setter
    def default_refund_status(self, status: str) -> None:
        self._check_initial_status(status)
        with self._lock:
            self._default_refund_status = status

    @staticmethod
    def _check_initial_status(status: str) -> None:
        if status not in _INITIAL_STATUSES:
            raise ValueError(
                f"a new refund's status must be one of {sorted(_INITIAL_STATUSES)}, not {status!r}"
            )

    # ---------------------------------------------------------------- back office: payments

    def create_payment(
        self,
        amount: int,
        currency: str,
        *,
        stripe_fee: int,
        application_fee: int = 0,
        settlement_currency: str | None = None,
        exchange_rate: Decimal | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> JsonDict:
        """Record a succeeded PaymentIntent with a captured Charge; return the PaymentIntent.

        ``amount`` is in Stripe units of the presentment ``currency``. ``stripe_fee`` and
        ``application_fee`` are in Stripe units of the settlement currency (default: the same
        currency), where the charge's balance transaction lives. For a cross-currency payment,
        ``exchange_rate`` converts presentment major units into settlement major units (Stripe's
        definition of ``balance_transaction.exchange_rate``); amounts round half-even.
        ``application_fee_amount`` on the PaymentIntent and Charge is the application fee
        converted back into the presentment currency (half-even), or None without one.
        """
        currency = currency.lower()
        settlement = (settlement_currency or currency).lower()
        for code in (currency, settlement):
            stripe_decimals(code)  # refuses codes that are not ISO 4217 currencies
        for name, value in (("amount", amount), ("stripe_fee", stripe_fee)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int of Stripe units, got {value!r}")
        if isinstance(application_fee, bool) or not isinstance(application_fee, int):
            raise TypeError(f"application_fee must be an int, got {application_fee!r}")
        if amount <= 0 or stripe_fee < 0 or application_fee < 0:
            raise ValueError("amount must be positive and fees must not be negative")
        if settlement == currency:
            if exchange_rate is not None:
                raise ValueError("exchange_rate is only meaningful when settlement differs")
            rate: Decimal | None = None
            settled = amount
        else:
            if not isinstance(exchange_rate, Decimal) or not exchange_rate > 0:
                raise ValueError("a cross-currency payment needs a positive Decimal exchange_rate")
            rate = exchange_rate
            settled = _convert(amount, currency, settlement, rate)
        fee = stripe_fee + application_fee
        if fee > settled:
            raise ValueError(f"fees ({fee}) exceed the settled amount ({settled})")
        if application_fee and rate is not None:
            app_fee_presentment: int | None = _to_minor(
                _to_major(application_fee, settlement) / rate, currency
            )
        else:
            app_fee_presentment = application_fee or None
        meta = dict(metadata or {})

        with self._lock:
            now = self._clock()
            pi_id, ch_id, txn_id = self._new_id("pi"), self._new_id("ch"), self._new_id("txn")
            pm_id = self._new_id("pm")
            fee_details = [
                {
                    "amount": stripe_fee,
                    "application": None,
                    "currency": settlement,
                    "description": "Stripe processing fees",
                    "type": "stripe_fee",
                }
            ]
            if application_fee:
                fee_details.append(
                    {
                        "amount": application_fee,
                        "application": "ca_fake_platform",
                        "currency": settlement,
                        "description": "Application fee",
                        "type": "application_fee",
                    }
                )
            self._objects[txn_id] = {
                "id": txn_id,
                "object": "balance_transaction",
                "amount": settled,
                "available_on": now + _AVAILABLE_AFTER_SECONDS,
                "created": now,
                "currency": settlement,
                "description": None,
                # A rate, not money: Stripe sends it as a JSON number, which the SDK hands over as
                # a float, so the model does too and both gateways exercise the same exact
                # reading of it (stripe_objects._rate, via its shortest repr).
                "exchange_rate": None if rate is None else float(rate),
                "fee": fee,
                "fee_details": fee_details,
                "net": settled - fee,
                "reporting_category": "charge",
                "source": ch_id,
                "status": "pending",
                "type": "charge",
            }
            self._objects[ch_id] = _charge_json(
                ch_id, pi_id, txn_id, pm_id, amount, currency, app_fee_presentment, meta, now
            )
            self._charge_state[ch_id] = _ChargeState()
            self._objects[pi_id] = _payment_intent_json(
                pi_id, ch_id, pm_id, amount, currency, app_fee_presentment, meta, now
            )
            return copy.deepcopy(self._objects[pi_id])

    # ---------------------------------------------------------------- API: reads

    def retrieve_payment_intent(
        self, id: str, expand: Sequence[str] = (), *, stripe_account: str | None = None
    ) -> JsonDict:
        """GET /v1/payment_intents/{id}; expand ``latest_charge`` and/or
        ``latest_charge.balance_transaction``."""
        return self._retrieve("payment_intent", id, expand, stripe_account)

    def retrieve_charge(
        self, id: str, expand: Sequence[str] = (), *, stripe_account: str | None = None
    ) -> JsonDict:
        """GET /v1/charges/{id}; expand ``balance_transaction`` and/or ``payment_intent``."""
        return self._retrieve("charge", id, expand, stripe_account)

    def retrieve_refund(
        self, id: str, expand: Sequence[str] = (), *, stripe_account: str | None = None
    ) -> JsonDict:
        """GET /v1/refunds/{id}; expand ``balance_transaction``, ``charge``, ``payment_intent``,
        ``failure_balance_transaction``."""
        return self._retrieve("refund", id, expand, stripe_account)

    def retrieve_balance_transaction(
        self, id: str, expand: Sequence[str] = (), *, stripe_account: str | None = None
    ) -> JsonDict:
        """GET /v1/balance_transactions/{id}; expand ``source``."""
        return self._retrieve("balance_transaction", id, expand, stripe_account)

    def _retrieve(
        self, kind: str, id: str, expand: Sequence[str], stripe_account: str | None
    ) -> JsonDict:
        """GET one object of ``kind`` (logged and faultable as ``retrieve_<kind>``)."""
        return self._call(
            f"retrieve_{kind}",
            _read_params(id, expand),
            None,
            stripe_account,
            lambda call: self._render(self._get(kind, id, "id"), expand),
        )

    def list_refunds(
        self,
        *,
        charge: str | None = None,
        payment_intent: str | None = None,
        limit: int | str = 10,
        starting_after: str | None = None,
        ending_before: str | None = None,
        expand: Sequence[str] = (),
        stripe_account: str | None = None,
    ) -> JsonDict:
        """GET /v1/refunds: a Stripe list object, newest first, with cursor pagination.

        ``starting_after`` pages towards older refunds, ``ending_before`` towards newer ones
        (``has_more`` then says whether newer ones remain). ``expand`` paths start with ``data.``.
        """
        return self._list_operation(
            "refund",
            charge=charge,
            payment_intent=payment_intent,
            limit=limit,
            starting_after=starting_after,
            ending_before=ending_before,
            expand=expand,
            stripe_account=stripe_account,
        )

    def list_disputes(
        self,
        *,
        charge: str | None = None,
        payment_intent: str | None = None,
        limit: int | str = 10,
        starting_after: str | None = None,
        ending_before: str | None = None,
        expand: Sequence[str] = (),
        stripe_account: str | None = None,
    ) -> JsonDict:
        """GET /v1/disputes: a Stripe list object of disputes, newest first, filtered by
        ``charge`` and/or ``payment_intent``, with the same cursor pagination and ``data.``
        expansions as ``list_refunds``."""
        return self._list_operation(
            "dispute",
            charge=charge,
            payment_intent=payment_intent,
            limit=limit,
            starting_after=starting_after,
            ending_before=ending_before,
            expand=expand,
            stripe_account=stripe_account,
        )

    def _list_operation(
        self,
        kind: str,
        *,
        charge: str | None,
        payment_intent: str | None,
        limit: int | str,
        starting_after: str | None,
        ending_before: str | None,
        expand: Sequence[str],
        stripe_account: str | None,
    ) -> JsonDict:
        """GET /v1/{kind}s: the list call shared by refunds and disputes (logged, faultable)."""
        params: JsonDict = {
            k: v
            for k, v in (
                ("charge", charge),
                ("payment_intent", payment_intent),
                ("limit", limit),
                ("starting_after", starting_after),
                ("ending_before", ending_before),
            )
            if v is not None
        }
        if expand:
            params["expand"] = list(expand)
        order, seq = (
            (self._refund_order, self._refund_seq)
            if kind == "refund"
            else (self._dispute_order, self._dispute_seq)
        )

        def run(call: _Call) -> JsonDict:
            return self._list(
                kind,
                order,
                seq,
                f"/v1/{kind}s",
                charge,
                payment_intent,
                limit,
                starting_after,
                ending_before,
                expand,
            )

        return self._call(f"list_{kind}s", params, None, stripe_account, run)

    # ---------------------------------------------------------------- API: create a refund

    def create_refund(
        self,
        params: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
        stripe_account: str | None = None,
    ) -> JsonDict:
        """POST /v1/refunds with Stripe's parameters, validation and idempotency.

        ``params``: ``payment_intent`` or ``charge`` (one required), ``amount`` (default: what
        remains refundable), ``reason``, ``metadata``, ``refund_application_fee``,
        ``reverse_transfer``, ``expand``. Ints and bools may also come form-encoded as strings.

        Idempotency like Stripe: the same key with the same parameters replays the first response
        (no new refund, no new event); other parameters give 400 ``idempotency_error``. Parameter
        validation errors (and unknown ids) are not stored for the key; errors raised while
        executing (``charge_disputed``, ``amount_too_large``, ``charge_already_refunded``) are,
        and are replayed. Keys are scoped by ``stripe_account``.
        """
        snapshot = copy.deepcopy(dict(params))
        return self._call(
            "create_refund",
            snapshot,
            idempotency_key,
            stripe_account,
            lambda call: self._create_refund(call, snapshot),
        )

    # ---------------------------------------------------------------- back office: refunds

    def set_refund_status(
        self, refund_id: str, status: str, *, failure_reason: str | None = None
    ) -> JsonDict:
        """Move a refund along Stripe's asynchronous life; return the updated refund.

        Allowed: pending -> succeeded | failed | canceled | requires_action; requires_action ->
        pending | succeeded | failed | canceled; succeeded -> failed (late failure) |
        requires_action (bank-transfer refund needing details). failed and canceled are final;
        anything else raises ValueError. Becoming failed or canceled gives the amount back to the
        charge (``amount_refunded`` decreases, ``refunded`` becomes false) and books a
        ``refund_failure`` balance transaction. ``failure_reason`` (Stripe's values) defaults to
        ``unknown`` for failed, is optional for canceled and refused otherwise.

        Emits ``refund.updated`` and ``charge.refund.updated`` (with ``previous_attributes``
        ``{"status": old}``) and, on failure, ``refund.failed``.
        """
        if status not in REFUND_STATUSES:
            raise ValueError(f"unknown refund status {status!r}")
        if failure_reason is not None:
            if failure_reason not in FAILURE_REASONS:
                raise ValueError(
                    f"failure_reason must be one of {sorted(FAILURE_REASONS)}, "
                    f"not {failure_reason!r}"
                )
            if status not in ("failed", "canceled"):
                raise ValueError("failure_reason only goes with failed or canceled")
        with self._lock:
            refund = self._objects.get(refund_id)
            if refund is None or refund["object"] != "refund":
                raise KeyError(f"no such refund: {refund_id!r}")
            old = refund["status"]
            if status not in _TRANSITIONS[old]:
                raise ValueError(f"illegal refund transition {old} -> {status}")
            now = self._clock()
            refund["status"] = status
            if status in ("failed", "canceled"):
                if status == "failed" or failure_reason is not None:
                    refund["failure_reason"] = failure_reason or "unknown"
                refund["failure_balance_transaction"] = self._book_refund_txn(
                    refund, now, failure=True
                )
                charge = self._objects[refund["charge"]]
                charge["amount_refunded"] -= refund["amount"]
                charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
            previous = {"status": old}
            self._emit("refund.updated", refund, now, previous=previous)
            self._emit("charge.refund.updated", refund, now, previous=previous)
            if status == "failed":
                self._emit("refund.failed", refund, now)
            return copy.deepcopy(refund)

    # ---------------------------------------------------------------- back office: disputes

    def open_dispute(
        self,
        payment_intent_id: str,
        *,
        reason: str = "general",
        amount: int | None = None,
        inquiry: bool = False,
    ) -> JsonDict:
        """Open a chargeback (status ``needs_response``) or, with ``inquiry``, an inquiry
        (``warning_needs_response``) on the payment's charge; return the dispute.

        The charge becomes ``disputed`` and refunds fail with ``charge_disputed`` while the
        dispute's status is in ``DISPUTE_STATUSES_BLOCKING_REFUNDS``. One dispute per charge.
        Emits ``charge.dispute.created``. Dispute balance transactions (withdrawn funds and
        fee) are not modelled.
        """
        with self._lock:
            charge = self._charge_of_pi(payment_intent_id)
            state = self._charge_state[charge["id"]]
            if state.dispute_id is not None:
                raise ValueError(f"charge {charge['id']} already has a dispute")
            now = self._clock()
            dp_id = self._new_id("dp")
            dispute = _dispute_json(
                dp_id,
                charge,
                charge["amount"] if amount is None else amount,
                reason,
                now,
                status="warning_needs_response" if inquiry else "needs_response",
            )
            self._objects[dp_id] = dispute
            self._dispute_seq[dp_id] = len(self._dispute_order)
            self._dispute_order.append(dp_id)
            state.dispute_id = dp_id
            charge["disputed"] = True
            self._emit("charge.dispute.created", dispute, now)
            return copy.deepcopy(dispute)

    def update_dispute(self, payment_intent_id: str) -> JsonDict:
        """Evidence was submitted: the open dispute goes under review (``needs_response`` ->
        ``under_review``, ``warning_needs_response`` -> ``warning_under_review``); refunds stay
        blocked. Emits ``charge.dispute.updated``; returns the dispute."""
        with self._lock:
            dispute = self._open_dispute_of(payment_intent_id)
            moves = {
                "needs_response": "under_review",
                "warning_needs_response": "warning_under_review",
            }
            if dispute["status"] not in moves:
                raise ValueError(f"dispute {dispute['id']} is already {dispute['status']}")
            now = self._clock()
            previous = {"status": dispute["status"]}
            dispute["status"] = moves[dispute["status"]]
            dispute["evidence_details"]["has_evidence"] = True
            dispute["evidence_details"]["submission_count"] += 1
            self._emit("charge.dispute.updated", dispute, now, previous=previous)
            return copy.deepcopy(dispute)

    def close_dispute(self, payment_intent_id: str, status: str = "won") -> JsonDict:
        """Close the payment's open dispute; return the dispute. A chargeback closes as
        ``won`` or ``lost``, an inquiry as ``warning_closed``.

        As at Stripe, ``charge.disputed`` stays true. The model then allows refunds again after
        ``won`` and ``warning_closed`` and keeps refusing them (``charge_disputed``) after
        ``lost``, since the cardholder already got the money back. Emits
        ``charge.dispute.closed``.
        """
        if status not in ("won", "lost", "warning_closed"):
            raise ValueError(
                f"a dispute closes as 'won', 'lost' or 'warning_closed', not {status!r}"
            )
        with self._lock:
            dispute = self._open_dispute_of(payment_intent_id)
            inquiry = dispute["status"].startswith("warning_")
            if inquiry != (status == "warning_closed"):
                raise ValueError(
                    f"{'an inquiry' if inquiry else 'a chargeback'} cannot close as {status!r}"
                )
            now = self._clock()
            previous = {"status": dispute["status"]}
            dispute["status"] = status
            self._emit("charge.dispute.closed", dispute, now, previous=previous)
            return copy.deepcopy(dispute)

    # ---------------------------------------------------------------- faults

    def inject_fault(
        self,
        fault: Fault,
        *,
        operation: str = "create_refund",
        times: int = 1,
        code: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``operation`` fail with ``fault`` (FIFO per operation).

        ``code`` is required for ``Fault.REJECT`` (a Stripe error code such as
        ``charge_disputed``) and overrides the default code of the HTTP faults.
        """
        if not isinstance(fault, Fault):
            raise TypeError(f"fault must be a Fault, got {fault!r}")
        if operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}; one of {sorted(OPERATIONS)}")
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ValueError("times must be a positive int")
        if fault is Fault.REJECT and not code:
            raise ValueError("Fault.REJECT needs the Stripe error code to answer with")
        with self._lock:
            queue = self._faults.setdefault(operation, deque())
            queue.extend([(fault, code)] * times)

    def pending_faults(self, operation: str = "create_refund") -> int:
        """How many injected faults of ``operation`` have not fired yet."""
        with self._lock:
            return len(self._faults.get(operation, ()))

    # ---------------------------------------------------------------- inspection

    def events(self) -> list[JsonDict]:
        """Every event emitted so far, in emission order (copies)."""
        with self._lock:
            return copy.deepcopy(self._events)

    def events_since(self, n: int) -> list[JsonDict]:
        """The events emitted after the first ``n`` (use ``len(events())`` as a bookmark)."""
        if n < 0:
            raise ValueError("n must not be negative")
        with self._lock:
            return copy.deepcopy(self._events[n:])

    @property
    def requests(self) -> list[RequestRecord]:
        """Every API call received so far, oldest first (copies)."""
        with self._lock:
            return copy.deepcopy(self._requests)

    def last_request(self) -> RequestRecord | None:
        """The last API call made by the calling thread (for a transport's ``Request-Id`` and
        ``Idempotent-Replayed`` headers), or None."""
        record: RequestRecord | None = getattr(self._local, "last", None)
        return copy.deepcopy(record)

    def refunds_of(self, payment_intent_id: str) -> list[JsonDict]:
        """All refunds of the payment, oldest first (copies; any status)."""
        with self._lock:
            charge_id = self._charge_of_pi(payment_intent_id)["id"]
            return [
                copy.deepcopy(self._objects[r])
                for r in self._refund_order
                if self._objects[r]["charge"] == charge_id
            ]

    def charge_of(self, payment_intent_id: str) -> JsonDict:
        """The payment's charge (a copy)."""
        with self._lock:
            return copy.deepcopy(self._charge_of_pi(payment_intent_id))

    def dispute_of(self, payment_intent_id: str) -> JsonDict | None:
        """The payment's dispute (a copy), or None."""
        with self._lock:
            dispute_id = self._charge_state[self._charge_of_pi(payment_intent_id)["id"]].dispute_id
            return None if dispute_id is None else copy.deepcopy(self._objects[dispute_id])

    # ================================================================ internals (lock held)

    def _new_id(self, prefix: str) -> str:
        counter = self._counters.setdefault(prefix, itertools.count(1))
        return f"{prefix}_fake{next(counter):010d}"

    def _call(
        self,
        operation: str,
        params: JsonDict,
        idempotency_key: str | None,
        stripe_account: str | None,
        run: Callable[[_Call], JsonDict],
    ) -> JsonDict:
        """Run one API operation: consume an injected fault, run it, log it, translate faults."""
        with self._lock:
            call = _Call(self._new_id("req"), self._clock(), idempotency_key, stripe_account)
            queue = self._faults.get(operation)
            fault, code = queue.popleft() if queue else (None, None)
            status: int | None = None
            try:
                if fault is Fault.CONNECTION_ERROR:
                    raise StripeConnectionFault(operation, call.request_id)
                if fault is not None and fault is not Fault.TIMEOUT_AFTER_CREATE:
                    raise _fault_error(fault, code)
                result = run(call)
                if fault is Fault.TIMEOUT_AFTER_CREATE:
                    raise StripeTimeoutFault(operation, call.request_id, copy.deepcopy(result))
                status = 200
                return result
            except StripeApiError as err:
                err.request_id = call.request_id
                status = err.http_status
                raise
            finally:
                record = RequestRecord(
                    request_id=call.request_id,
                    operation=operation,
                    params=copy.deepcopy(params),
                    idempotency_key=idempotency_key,
                    stripe_account=stripe_account,
                    created=call.now,
                    fault=fault,
                    http_status=status,
                    idempotent_replayed=call.replayed,
                )
                self._requests.append(record)
                self._local.last = record

    def _get(self, kind: str, object_id: str, param: str) -> JsonDict:
        obj = self._objects.get(object_id) if isinstance(object_id, str) else None
        if obj is None or obj["object"] != kind:
            # Stripe's wording: "No such payment_intent: 'pi_…'", "No such charge: 'ch_…'".
            raise _missing(kind, str(object_id), param)
        return obj

    def _open_dispute_of(self, payment_intent_id: str) -> JsonDict:
        charge = self._charge_of_pi(payment_intent_id)
        dispute_id = self._charge_state[charge["id"]].dispute_id
        if dispute_id is None:
            raise ValueError(f"charge {charge['id']} has no dispute")
        dispute = self._objects[dispute_id]
        if dispute["status"] in ("won", "lost", "warning_closed"):
            raise ValueError(f"dispute {dispute['id']} is already closed")
        return dispute

    def _refunds_blocked(self, charge_id: str) -> bool:
        dispute_id = self._charge_state[charge_id].dispute_id
        if dispute_id is None:
            return False
        return bool(self._objects[dispute_id]["status"] in DISPUTE_STATUSES_BLOCKING_REFUNDS)

    def _charge_of_pi(self, payment_intent_id: str) -> JsonDict:
        pi = self._objects.get(payment_intent_id)
        if pi is None or pi["object"] != "payment_intent":
            raise KeyError(f"no such payment intent: {payment_intent_id!r}")
        return self._objects[pi["latest_charge"]]

    def _render(self, obj: JsonDict, expand: Sequence[str]) -> JsonDict:
        """A deep copy of ``obj`` with the requested ids replaced by the objects they name."""
        out = copy.deepcopy(obj)
        for path in _parse_expand(list(expand)):
            self._expand(out, path.split("."), path)
        return out

    def _expand(self, obj: JsonDict, parts: list[str], path: str) -> None:
        field, rest = parts[0], parts[1:]
        if field not in _EXPANDABLE.get(obj.get("object", ""), frozenset()):
            raise _invalid(f"This property cannot be expanded ({path}).", param="expand")
        value = obj.get(field)
        if isinstance(value, str):
            value = copy.deepcopy(self._objects[value])
            obj[field] = value
        if rest and isinstance(value, dict):
            self._expand(value, rest, path)

    def _list(
        self,
        kind: str,
        order: Sequence[str],
        seq: Mapping[str, int],
        url: str,
        charge: str | None,
        payment_intent: str | None,
        limit_param: int | str,
        starting_after: str | None,
        ending_before: str | None,
        expand: Sequence[str],
    ) -> JsonDict:
        """A list object of the ``kind`` objects in ``order`` (creation order; ``seq`` maps an
        id to its position) of this charge / PaymentIntent, newest first, one page."""
        limit = _parse_limit(limit_param)
        if starting_after is not None and ending_before is not None:
            raise _invalid(
                "You may only specify one of these parameters: ending_before, starting_after.",
                code="parameters_exclusive",
            )
        for path in _parse_expand(list(expand)):
            if not path.startswith("data."):
                raise _invalid(f"This property cannot be expanded ({path}).", param="expand")
        if charge is not None:
            self._get("charge", charge, "charge")
        if payment_intent is not None:
            self._get("payment_intent", payment_intent, "payment_intent")
        newest_first = [
            self._objects[r]
            for r in reversed(order)
            if (charge is None or self._objects[r]["charge"] == charge)
            and (payment_intent is None or self._objects[r]["payment_intent"] == payment_intent)
        ]
        if starting_after is not None:
            cursor = seq[self._get(kind, starting_after, "starting_after")["id"]]
            older = [r for r in newest_first if seq[r["id"]] < cursor]
            page, has_more = older[:limit], len(older) > limit
        elif ending_before is not None:
            cursor = seq[self._get(kind, ending_before, "ending_before")["id"]]
            newer = [r for r in newest_first if seq[r["id"]] > cursor]
            # The page is the `limit` objects just before the cursor, still newest first.
            page, has_more = newer[-limit:], len(newer) > limit
        else:
            page, has_more = newest_first[:limit], len(newest_first) > limit
        data = [self._render(r, [p.removeprefix("data.") for p in expand]) for r in page]
        return {"object": "list", "data": data, "has_more": has_more, "url": url}

    def _create_refund(self, call: _Call, params: JsonDict) -> JsonDict:
        scope: tuple[str | None, str] | None = None
        canonical = _canonical(params)
        if call.idempotency_key is not None:
            scope = (call.stripe_account, call.idempotency_key)
            saved = self._idempotency.get(scope)
            if saved is not None:
                if saved.operation != "create_refund" or saved.params != canonical:
                    raise StripeApiError(
                        400,
                        "idempotency_error",
                        None,
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with. Try using a key other than "
                        f"'{call.idempotency_key}' if you meant to execute a different request.",
                    )
                call.replayed = True
                if saved.error is not None:
                    raise saved.error._clone()
                assert saved.response is not None
                return copy.deepcopy(saved.response)

        parsed = _parse_refund_params(params)
        charge = self._resolve_charge(parsed)
        try:
            refund = self._execute_refund(call, charge, parsed)
        except StripeApiError as err:
            if scope is not None:
                self._idempotency[scope] = _Saved("create_refund", canonical, None, err._clone())
            raise
        response = self._render(refund, parsed.expand)
        if scope is not None:
            self._idempotency[scope] = _Saved(
                "create_refund", canonical, copy.deepcopy(response), None
            )
        return response

    def _resolve_charge(self, parsed: _RefundParams) -> JsonDict:
        charge: JsonDict | None = None
        if parsed.payment_intent is not None:
            pi = self._get("payment_intent", parsed.payment_intent, "payment_intent")
            charge = self._objects[pi["latest_charge"]]
        if parsed.charge is not None:
            by_id = self._get("charge", parsed.charge, "charge")
            if charge is not None and by_id is not charge:
                raise _invalid(
                    f"The charge '{parsed.charge}' does not belong to PaymentIntent "
                    f"'{parsed.payment_intent}'.",
                    param="charge",
                )
            charge = by_id
        assert charge is not None
        return charge

    def _execute_refund(self, call: _Call, charge: JsonDict, parsed: _RefundParams) -> JsonDict:
        """The part of POST /v1/refunds that runs after validation (its errors are stored)."""
        ch_id = charge["id"]
        if self._refunds_blocked(ch_id):
            raise _invalid(
                f"Charge {ch_id} has been charged back; cannot issue a refund.",
                code="charge_disputed",
            )
        remaining = charge["amount_captured"] - charge["amount_refunded"]
        if remaining <= 0:
            raise _invalid(
                f"Charge {ch_id} has already been refunded.", code="charge_already_refunded"
            )
        amount = remaining if parsed.amount is None else parsed.amount
        if amount > remaining:
            raise _invalid(
                f"Refund amount ({_display(amount, charge['currency'])}) is greater than "
                f"unrefunded amount on charge ({_display(remaining, charge['currency'])})",
                code="amount_too_large",
                param="amount",
            )
        re_id = self._new_id("re")
        refund: JsonDict = {
            "id": re_id,
            "object": "refund",
            "amount": amount,
            "balance_transaction": None,
            "charge": ch_id,
            "created": call.now,
            "currency": charge["currency"],
            "metadata": dict(parsed.metadata),
            "payment_intent": charge["payment_intent"],
            "reason": parsed.reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": self._default_refund_status,
            "transfer_reversal": None,
        }
        self._objects[re_id] = refund
        refund["balance_transaction"] = self._book_refund_txn(refund, call.now, failure=False)
        self._refund_seq[re_id] = len(self._refund_order)
        self._refund_order.append(re_id)
        previous: JsonDict = {"amount_refunded": charge["amount_refunded"]}
        charge["amount_refunded"] += amount
        refunded = charge["amount_refunded"] >= charge["amount_captured"]
        if refunded != charge["refunded"]:
            previous["refunded"] = charge["refunded"]
            charge["refunded"] = refunded
        self._emit("refund.created", refund, call.now, call=call)
        self._emit("charge.refunded", charge, call.now, previous=previous, call=call)
        return refund

    def _book_refund_txn(self, refund: JsonDict, now: int, *, failure: bool) -> str:
        """Book the refund (negative) or its failure (positive) in the settlement currency."""
        charge = self._objects[refund["charge"]]
        charge_txn = self._objects[charge["balance_transaction"]]
        rate = charge_txn["exchange_rate"]
        if rate is None:
            settled = refund["amount"]
        else:
            # The rate is stored as Stripe's JSON number; str() gives back the exact decimal.
            settled = _convert(
                refund["amount"], charge["currency"], charge_txn["currency"], Decimal(str(rate))
            )
        kind = "refund_failure" if failure else "refund"
        amount = settled if failure else -settled
        txn_id = self._new_id("txn")
        self._objects[txn_id] = {
            "id": txn_id,
            "object": "balance_transaction",
            "amount": amount,
            "available_on": now,
            "created": now,
            "currency": charge_txn["currency"],
            "description": None,
            "exchange_rate": rate,
            "fee": 0,
            "fee_details": [],
            "net": amount,
            "reporting_category": kind,
            "source": refund["id"],
            "status": "available",
            "type": kind,
        }
        return txn_id

    def _emit(
        self,
        type_: str,
        obj: JsonDict,
        now: int,
        *,
        previous: JsonDict | None = None,
        call: _Call | None = None,
    ) -> None:
        data: JsonDict = {"object": copy.deepcopy(obj)}
        if previous is not None:
            data["previous_attributes"] = dict(previous)
        event: JsonDict = {
            "id": self._new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": now,
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            # Events of API calls name the request; back-office changes have no request.
            "request": {
                "id": call.request_id if call else None,
                "idempotency_key": call.idempotency_key if call else None,
            },
            "type": type_,
        }
        if call is not None and call.stripe_account is not None:
            event["account"] = call.stripe_account
        self._events.append(event)


def _fault_error(fault: Fault, code: str | None) -> StripeApiError:
    """The HTTP error an injected fault answers with (Stripe's status, type, code, message)."""
    if fault is Fault.RATE_LIMITED:
        return _invalid(
            "Request rate limit exceeded. Learn more about rate limits here "
            "https://stripe.com/docs/rate-limits.",
            code=code or "rate_limit",
            status=429,
        )
    if fault is Fault.SERVER_ERROR:
        return StripeApiError(
            500, "api_error", code, "An unknown error occurred while processing your request."
        )
    if fault is Fault.CONFLICT:
        return _invalid(
            "This object cannot be accessed right now because another API request or Stripe "
            "process is currently accessing it. If you see this error intermittently, retry "
            "the request.",
            code=code or "lock_timeout",
            status=409,
        )
    assert fault is Fault.REJECT
    assert code is not None
    message, param = _REJECT_MESSAGES.get(code, (f"The request was rejected ({code}).", None))
    return _invalid(message, code=code, param=param)


# --------------------------------------------------------------------------------------------
# Object shapes (API 2023-08-16)
# --------------------------------------------------------------------------------------------


def _charge_json(
    ch_id: str,
    pi_id: str,
    txn_id: str,
    pm_id: str,
    amount: int,
    currency: str,
    application_fee_amount: int | None,
    metadata: dict[str, str],
    now: int,
) -> JsonDict:
    # Since API 2022-11-15 ``refunds`` is not included unless expanded, so it is left out.
    return {
        "id": ch_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": application_fee_amount,
        "balance_transaction": txn_id,
        "billing_details": {
            "address": dict.fromkeys(("city", "country", "line1", "line2", "postal_code", "state")),
            "email": None,
            "name": None,
            "phone": None,
        },
        "calculated_statement_descriptor": "KANORIO",
        "captured": True,
        "created": now,
        "currency": currency,
        "customer": None,
        "description": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "invoice": None,
        "livemode": False,
        "metadata": dict(metadata),
        "on_behalf_of": None,
        "outcome": {
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": 20,
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": True,
        "payment_intent": pi_id,
        "payment_method": pm_id,
        "payment_method_details": {
            "card": {
                "brand": "visa",
                "country": "US",
                "exp_month": 12,
                "exp_year": 2034,
                "fingerprint": "fakefingerprint",
                "funding": "credit",
                "last4": "4242",
                "network": "visa",
            },
            "type": "card",
        },
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": f"https://pay.stripe.com/receipts/payment/{ch_id}",
        "refunded": False,
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }


def _payment_intent_json(
    pi_id: str,
    ch_id: str,
    pm_id: str,
    amount: int,
    currency: str,
    application_fee_amount: int | None,
    metadata: dict[str, str],
    now: int,
) -> JsonDict:
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": amount,
        "application": None,
        "application_fee_amount": application_fee_amount,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": f"{pi_id}_secret_fake",
        "confirmation_method": "automatic",
        "created": now,
        "currency": currency,
        "customer": None,
        "description": None,
        "invoice": None,
        "last_payment_error": None,
        "latest_charge": ch_id,
        "livemode": False,
        "metadata": dict(metadata),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": pm_id,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }


_EVIDENCE_FIELDS: Final = (
    "access_activity_log",
    "billing_address",
    "cancellation_policy",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_communication",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "customer_signature",
    "duplicate_charge_documentation",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "receipt",
    "refund_policy",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "service_documentation",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_documentation",
    "shipping_tracking_number",
    "uncategorized_file",
    "uncategorized_text",
)


def _dispute_json(
    dp_id: str, charge: JsonDict, amount: int, reason: str, now: int, *, status: str
) -> JsonDict:
    return {
        "id": dp_id,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": charge["id"],
        "created": now,
        "currency": charge["currency"],
        "evidence": dict.fromkeys(_EVIDENCE_FIELDS),
        "evidence_details": {
            "due_by": now + 7 * 86_400,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        # The model refuses refunds while a dispute is open (DISPUTE_STATUSES_BLOCKING_REFUNDS).
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": charge["payment_intent"],
        "payment_method_details": {
            "card": {"brand": "visa", "network_reason_code": "10.4"},
            "type": "card",
        },
        "reason": reason,
        "status": status,
    }
