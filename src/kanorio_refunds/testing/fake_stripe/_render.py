"""Stripe's JSON: the shape of every object the model stores (API 2023-08-16, checked against
Stripe's OpenAPI spec by the tests), how answers are rendered from them (fresh dicts, with the
requested expansions) and how they travel on the wire (``stripe_json``).

Stored objects are the model's state and never leave it: every answer is built from new dicts
and lists by ``fresh``, so no caller can change the model behind its back. ``fresh`` knows JSON's
types only, which is why it is about nine times faster than ``copy.deepcopy`` on a charge. What
the model keeps of an object as it was (events, idempotent answers) is copied by ``kept``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from kanorio_refunds.testing.fake_stripe._faults import invalid
from kanorio_refunds.testing.fake_stripe._params import expand as checked_expand

JsonDict = dict[str, Any]

#: The Stripe API version whose object shapes this model reproduces.
API_VERSION: Final = "2023-08-16"

# Which fields of which object type may be expanded, and where expanded ids point to.
EXPANDABLE: Final[Mapping[str, frozenset[str]]] = {
    "payment_intent": frozenset({"latest_charge"}),
    "charge": frozenset({"balance_transaction", "payment_intent", "refunds", "transfer"}),
    "refund": frozenset(
        {
            "balance_transaction",
            "charge",
            "payment_intent",
            "failure_balance_transaction",
            "transfer_reversal",
        }
    ),
    "balance_transaction": frozenset({"source"}),
    "dispute": frozenset({"charge", "payment_intent"}),
    "transfer": frozenset({"source_transaction"}),
    "transfer_reversal": frozenset({"transfer", "source_refund"}),
}

# Fields that are lists included only when expanded (since API 2022-11-15 ``charge.refunds``):
# the model builds them (``sublist``), as no stored object holds them.
SUBLISTS: Final[Mapping[str, frozenset[str]]] = {"charge": frozenset({"refunds"})}

#: How many objects an expanded sub-list holds (Stripe's default page size); the rest is
#: listed with the list endpoint (``has_more`` says whether there is more).
SUBLIST_SIZE: Final = 10

#: ``sublist(owner_id, field)``: the expanded list object of that field of that object.
Sublist = Callable[[str, str], JsonDict]

_SCALARS: Final = frozenset({str, int, float, bool, type(None)})

# Stripe makes card funds available two days later; only the shape matters here.
_AVAILABLE_AFTER_SECONDS: Final = 2 * 86_400


def fresh(value: Any) -> Any:
    """A copy of stored JSON data made of new dicts and lists all the way down; strings,
    numbers, booleans and None are immutable and shared. Stored Stripe objects hold nothing else
    (use ``snapshot`` for data a caller passed in)."""
    kind = type(value)
    if kind is dict:
        # dict.copy() copies the scalars at C speed; only containers are visited.
        out = value.copy()
        for key, item in value.items():
            item_kind = type(item)
            if item_kind is dict or item_kind is list:
                out[key] = fresh(item)
        return out
    if kind is list:
        return [fresh(v) if type(v) is dict or type(v) is list else v for v in value]
    return value


# Stored objects whose nested dicts and lists the model never changes in place: it changes
# charges and refunds by assigning their top-level fields only (``amount_refunded``,
# ``refunded``, ``disputed``, ``status``, ``failure_reason``, ...), and the shipped contract's
# tampering replaces top-level fields too. Disputes (``evidence_details``) and transfers
# (``reversals``) are changed deeper, so they are copied whole. A test runs every change the
# model makes and checks that no earlier event shows it.
_CHANGED_AT_TOP_LEVEL: Final = frozenset({"charge", "refund"})


def kept(obj: JsonDict) -> JsonDict:
    """A copy of a stored object that stays as the object is now, for what the model keeps
    itself (an event's object, an idempotency key's answer) and hands out only as ``fresh``
    copies of it: for a charge or a refund its top level (issue 10: a charge's copy costs a
    thirtieth of ``fresh``; the nested dicts are shared with the stored object, which never
    changes them), for any other object ``fresh``."""
    if obj["object"] in _CHANGED_AT_TOP_LEVEL:
        return obj.copy()
    copied: JsonDict = fresh(obj)
    return copied


def snapshot(value: Any) -> Any:
    """A copy of data a caller passed in (request parameters), which may hold anything:
    JSON's types are copied like ``fresh`` does, anything else is deep-copied."""
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _SCALARS else snapshot(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _SCALARS else snapshot(v) for v in value]
    if kind in _SCALARS:
        return value
    return copy.deepcopy(value)


def render(
    obj: JsonDict,
    expand: Sequence[str],
    lookup: Callable[[str], JsonDict],
    sublist: Sublist | None = None,
) -> JsonDict:
    """A fresh copy of ``obj`` with the ids named by the ``expand`` paths replaced by (fresh
    copies of) the objects they name; ``lookup`` finds a stored object by id, ``sublist``
    builds an expanded sub-list (``SUBLISTS``: a charge's ``refunds``).

    A path that does not name an expandable field is refused like Stripe does (400 ``expand``).
    """
    out: JsonDict = fresh(obj)
    for path in checked_expand(list(expand)):
        _expand(out, path.split("."), path, lookup, sublist)
    return out


def _expand(
    obj: JsonDict,
    parts: list[str],
    path: str,
    lookup: Callable[[str], JsonDict],
    sublist: Sublist | None,
) -> None:
    field, rest = parts[0], parts[1:]
    kind = obj.get("object", "")
    if field not in EXPANDABLE.get(kind, frozenset()):
        raise invalid(f"This property cannot be expanded ({path}).", param="expand")
    value = obj.get(field)
    if isinstance(value, str):
        value = fresh(lookup(value))
        obj[field] = value
    elif value is None and sublist is not None and field in SUBLISTS.get(kind, frozenset()):
        value = sublist(obj["id"], field)
        obj[field] = value
    if rest and isinstance(value, dict):
        _expand(value, rest, path, lookup, sublist)


def list_page(data: list[JsonDict], has_more: bool, url: str) -> JsonDict:
    """A Stripe list object."""
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def stripe_json(obj: Any) -> str:
    """JSON as Stripe sends it (a webhook body, an API answer): pretty-printed, UTF-8 text;
    ``Decimal`` values become JSON numbers (e.g. ``1.2345``)."""
    if _plain_json(obj):
        # Stored objects hold JSON's own types only: no conversion pass needed.
        return json.dumps(obj, indent=2, ensure_ascii=False)
    numbers: list[str] = []

    def convert(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): convert(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [convert(v) for v in value]
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise ValueError(f"Stripe sends no {value} numbers")
            numbers.append(format(value, "f"))
            return f"\x00decimal{len(numbers) - 1}\x00"
        return value

    text = json.dumps(convert(obj), indent=2, ensure_ascii=False)
    return re.sub(r'"\\u0000decimal(\d+)\\u0000"', lambda m: numbers[int(m.group(1))], text)


def _plain_json(value: Any) -> bool:
    """True when ``value`` is made of dicts with string keys, lists and JSON scalars only."""
    kind = type(value)
    if kind is dict:
        return all(type(k) is str and _plain_json(v) for k, v in value.items())
    if kind is list:
        return all(_plain_json(v) for v in value)
    return kind in _SCALARS


# --------------------------------------------------------------------------------------------
# Object shapes (API 2023-08-16)
# --------------------------------------------------------------------------------------------


def charge_balance_transaction(
    txn_id: str,
    ch_id: str,
    settled: int,
    currency: str,
    rate: Decimal | None,
    fee_details: list[JsonDict],
    now: int,
) -> JsonDict:
    """The ``charge`` balance transaction of a payment, in the settlement currency."""
    fee = sum(f["amount"] for f in fee_details)
    return {
        "id": txn_id,
        "object": "balance_transaction",
        "amount": settled,
        "available_on": now + _AVAILABLE_AFTER_SECONDS,
        "created": now,
        "currency": currency,
        "description": None,
        # A rate, not money: Stripe sends it as a JSON number, which the SDK hands over as a
        # float, so the model does too and both gateways exercise the same exact reading of it
        # (_stripe_json._rate, via its shortest repr).
        "exchange_rate": None if rate is None else float(rate),
        "fee": fee,
        "fee_details": fee_details,
        "net": settled - fee,
        "reporting_category": "charge",
        "source": ch_id,
        "status": "pending",
        "type": "charge",
    }


def fee_detail(amount: int, currency: str, *, application: bool) -> JsonDict:
    """One line of ``balance_transaction.fee_details``: Stripe's fee or an application fee."""
    if application:
        return {
            "amount": amount,
            "application": "ca_fake_platform",
            "currency": currency,
            "description": "Application fee",
            "type": "application_fee",
        }
    return {
        "amount": amount,
        "application": None,
        "currency": currency,
        "description": "Stripe processing fees",
        "type": "stripe_fee",
    }


def refund_balance_transaction(
    txn_id: str, refund_id: str, amount: int, currency: str, rate: Any, now: int, *, failure: bool
) -> JsonDict:
    """A refund's (negative ``amount``) or its failure's (positive) balance transaction."""
    kind = "refund_failure" if failure else "refund"
    return {
        "id": txn_id,
        "object": "balance_transaction",
        "amount": amount,
        "available_on": now,
        "created": now,
        "currency": currency,
        "description": None,
        "exchange_rate": rate,
        "fee": 0,
        "fee_details": [],
        "net": amount,
        "reporting_category": kind,
        "source": refund_id,
        "status": "available",
        "type": kind,
    }


def charge(
    ch_id: str,
    pi_id: str,
    txn_id: str,
    pm_id: str,
    amount: int,
    currency: str,
    application_fee_amount: int | None,
    metadata: dict[str, str],
    now: int,
    *,
    destination: str | None = None,
    transfer_amount: int | None = None,
    transfer_id: str | None = None,
) -> JsonDict:
    """A captured card charge; a destination charge names its ``transfer`` (the key is absent
    otherwise: the schema does not let it be null) and its ``transfer_data``."""
    # Since API 2022-11-15 ``refunds`` is not included unless expanded, so it is left out.
    obj: JsonDict = {
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
    if destination is not None:
        assert transfer_id is not None
        obj["transfer"] = transfer_id
        obj["transfer_data"] = {"amount": transfer_amount, "destination": destination}
    return obj


def payment_intent(
    pi_id: str,
    ch_id: str,
    pm_id: str,
    amount: int,
    currency: str,
    application_fee_amount: int | None,
    metadata: dict[str, str],
    now: int,
    *,
    destination: str | None = None,
    transfer_amount: int | None = None,
) -> JsonDict:
    """A succeeded PaymentIntent whose ``latest_charge`` is ``ch_id``."""
    transfer_data: JsonDict | None = None
    if destination is not None:
        # transfer_data.amount is an integer (never null) here: absent unless it was given.
        transfer_data = {"destination": destination}
        if transfer_amount is not None:
            transfer_data["amount"] = transfer_amount
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
        "transfer_data": transfer_data,
        "transfer_group": None,
    }


def refund(
    re_id: str,
    ch: JsonDict,
    amount: int,
    reason: str | None,
    metadata: dict[str, str],
    status: str,
    now: int,
) -> JsonDict:
    """A new refund of the charge ``ch`` (its balance transaction is booked right after)."""
    return {
        "id": re_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": None,
        "charge": ch["id"],
        "created": now,
        "currency": ch["currency"],
        "metadata": dict(metadata),
        "payment_intent": ch["payment_intent"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": status,
        "transfer_reversal": None,
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


def dispute(
    dp_id: str, ch: JsonDict, amount: int, reason: str, now: int, *, status: str
) -> JsonDict:
    """A new dispute (chargeback or inquiry) of the charge ``ch``."""
    return {
        "id": dp_id,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": ch["id"],
        "created": now,
        "currency": ch["currency"],
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
        "payment_intent": ch["payment_intent"],
        "payment_method_details": {
            "card": {"brand": "visa", "network_reason_code": "10.4"},
            "type": "card",
        },
        "reason": reason,
        "status": status,
    }


def transfer(
    tr_id: str, ch_id: str, amount: int, currency: str, destination: str, now: int
) -> JsonDict:
    """The transfer of a destination charge to the connected account (its balance transaction
    and the connected account's payment are not modelled: ``balance_transaction`` is null and
    ``destination_payment`` a made-up id)."""
    return {
        "id": tr_id,
        "object": "transfer",
        "amount": amount,
        "amount_reversed": 0,
        "balance_transaction": None,
        "created": now,
        "currency": currency,
        "description": None,
        "destination": destination,
        "destination_payment": f"py_{tr_id.removeprefix('tr_')}",
        "livemode": False,
        "metadata": {},
        "reversals": list_page([], False, f"/v1/transfers/{tr_id}/reversals"),
        "reversed": False,
        "source_transaction": ch_id,
        "source_type": "card",
        "transfer_group": None,
    }


def transfer_reversal(trr_id: str, tr: JsonDict, amount: int, refund_id: str, now: int) -> JsonDict:
    """A reversal of (part of) the transfer ``tr`` made by the refund ``refund_id``."""
    return {
        "id": trr_id,
        "object": "transfer_reversal",
        "amount": amount,
        "balance_transaction": None,
        "created": now,
        "currency": tr["currency"],
        "destination_payment_refund": None,
        "metadata": {},
        "source_refund": refund_id,
        "transfer": tr["id"],
    }


def event(
    evt_id: str,
    type_: str,
    obj: JsonDict,
    now: int,
    *,
    previous: JsonDict | None,
    request_id: str | None,
    idempotency_key: str | None,
    account: str | None,
) -> JsonDict:
    """A Stripe event about ``obj``, which the event holds as given (the model passes a
    ``fresh`` copy of what it kept when it emitted the event, built for a reader); the
    ``previous`` attributes are copied. Events of API calls name the request; back-office
    changes have no request."""
    data: JsonDict = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = dict(previous)
    out: JsonDict = {
        "id": evt_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": now,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": type_,
    }
    if account is not None:
        out["account"] = account
    return out
