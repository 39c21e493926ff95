"""Issue 9, item 6 (fuzz): every entry point of the Stripe adapter fed by outside data, fed
arbitrary data. Only ``RefundError`` subclasses may escape, and none of them shows a secret
that the data carried (P3).

- ``StripeGateway.fetch_payment`` / ``list_refunds`` / ``create_refund`` over the fake HTTP
  transport (the real SDK parses the bytes), with arbitrary status codes and bodies: any JSON,
  Stripe's own answers with one value anywhere replaced or removed, and text that is not JSON;
- ``StripeWebhookVerifier.verify`` with arbitrary payloads and headers, signed or not;
- the readers (``parse_event``, ``parse_refund``, ``parse_payment`` and the rest of
  ``_stripe_json``) with arbitrary JSON values and mangled real objects: only
  ``GatewayProtocolError`` (and ``GatewayUnavailable`` from ``latest_charge_of``).

Under the default (quick) profile each property runs its profile's examples in a second or two.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from kanorio_refunds.adapters._stripe_json import (
    created_refund,
    disputed_charge_id,
    latest_charge_of,
    list_page,
    parse_payment,
    parse_refund,
    refunds_oldest_first,
    stripe_object,
)
from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.stripe import StripeGateway, StripeWebhookVerifier, parse_event
from kanorio_refunds.domain._events import GatewayEvent
from kanorio_refunds.domain._order import Order
from kanorio_refunds.errors import (
    GatewayProtocolError,
    GatewayUnavailable,
    InvalidEvent,
    InvalidSignature,
    RefundError,
)
from kanorio_refunds.testing.fake_stripe import FakeStripe
from kanorio_refunds.testing.stripe_http import FakeStripeHTTPClient, dumps_stripe_json

from .stripe_world import (
    API_KEY,
    CREATE_REFUND,
    LIST_DISPUTES,
    LIST_REFUNDS,
    RETRIEVE_CHARGE,
    RETRIEVE_INTENT,
    SECRETS,
    WEBHOOK_SECRET,
    chain_of,
    everything_about,
    gateway,
    intent_of,
    paid_order,
    request_for,
)

# ---------------------------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------------------------

#: Words Stripe's JSON is made of, so that arbitrary JSON often looks like Stripe's.
_WORDS = [
    "object", "id", "data", "has_more", "url", "error", "type", "code", "message", "status",
    "amount", "amount_captured", "amount_refunded", "currency", "created", "metadata",
    "latest_charge", "balance_transaction", "fee_details", "exchange_rate", "disputed",
    "payment_intent", "charge", "reason", "failure_reason", "list", "refund", "dispute",
    "event", "payment_intent", "usd", "jpy", "succeeded", "pending", "failed", "won",
    "needs_response", "application_fee", "stripe_fee", "kanorio_refund_id", "re_1", "ch_1",
]  # fmt: skip
_text = st.sampled_from([*_WORDS, *SECRETS, ""]) | st.text(max_size=12)
_json: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | _text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_text, children, max_size=6),
    max_leaves=20,
)
_STATUSES = [200, 200, 200, 201, 204, 301, 400, 401, 402, 403, 404, 409, 429, 500, 502, 503]
_status = st.sampled_from(_STATUSES) | st.integers(min_value=100, max_value=599)


def _mutated(obj: Any, data: st.DataObject) -> Any:
    """``obj`` with one value anywhere inside (dicts and lists) replaced by arbitrary JSON, or
    removed."""
    obj = copy.deepcopy(obj)
    node = obj
    while isinstance(node, dict | list) and node:
        keys = sorted(node) if isinstance(node, dict) else list(range(len(node)))
        key = data.draw(st.sampled_from(keys))
        if isinstance(node[key], dict | list) and node[key] and data.draw(st.booleans()):
            node = node[key]
            continue
        if isinstance(node, dict) and data.draw(st.booleans()):
            del node[key]
        else:
            node[key] = data.draw(_json)
        break
    return obj


def _body(real: Any, data: st.DataObject) -> str:
    """An answer body: Stripe's real answer mangled, any JSON, or any text."""
    kind = data.draw(st.sampled_from(["mangled", "mangled", "json", "text"]))
    if kind == "mangled":
        return json.dumps(_mutated(real, data))
    if kind == "json":
        return json.dumps(data.draw(_json))
    return data.draw(st.text(max_size=40) | st.sampled_from(SECRETS))


def _check(error: RefundError) -> None:
    """P3: the error chains nothing and shows no secret the data carried."""
    assert chain_of(error) == [error]
    text = everything_about(error)
    for secret in SECRETS:
        assert secret not in text


# ---------------------------------------------------------------------------------------------
# the gateway over the wire
# ---------------------------------------------------------------------------------------------


@cache
def _world() -> tuple[FakeStripe, Order, dict[str, Any]]:
    """One disputed, partly refunded payment, read many times (reads change nothing), and
    Stripe's real answers to each operation on it."""
    model = FakeStripe()
    order = paid_order(model, disputed=True)
    pi = intent_of(order)
    model.create_refund({"payment_intent": pi, "amount": 500}, idempotency_key="fuzz-1")
    for i in range(11):  # more than come with the payment: the refunds are listed too
        model.create_refund({"payment_intent": pi, "amount": 1}, idempotency_key=f"fuzz-more-{i}")
    intent = model.retrieve_payment_intent(
        pi, expand=["latest_charge.balance_transaction", "latest_charge.refunds"]
    )
    charge = intent["latest_charge"]
    real = {
        RETRIEVE_INTENT: intent,
        RETRIEVE_CHARGE: model.retrieve_charge(
            charge["id"], expand=["balance_transaction", "refunds"]
        ),
        LIST_REFUNDS: model.list_refunds(payment_intent=pi),
        LIST_DISPUTES: model.list_disputes(charge=charge["id"]),
        CREATE_REFUND: model.refunds_of(pi)[0],
    }
    return model, order, real


def _inject(
    transport: FakeStripeHTTPClient,
    operations: list[str],
    real: dict[str, Any],
    data: st.DataObject,
) -> None:
    chosen = data.draw(st.lists(st.sampled_from(operations), min_size=1, max_size=3))
    for operation in chosen:
        transport.inject_http_response(
            data.draw(_status),
            _body(real[operation], data),
            operation=operation,
            times=data.draw(st.integers(min_value=1, max_value=3)),
            headers=data.draw(
                st.sampled_from([{}, {"Request-Id": API_KEY}, {"Stripe-Should-Retry": "true"}])
            ),
        )


def _fresh_gateway(model: FakeStripe) -> tuple[StripeGateway, FakeStripeHTTPClient]:
    # The model's own answers are Stripe's shape (tests/testing/test_fake_stripe.py); not re-checked
    # here, to keep examples fast.
    return gateway(model, [], http_client=FakeStripeHTTPClient(model, validate_responses=False))


@given(data=st.data())
def test_fetch_payment_over_any_answer_raises_only_refund_errors(data: st.DataObject) -> None:
    """B4, L2, P3 (issue 9 item 6): fetch_payment and list_refunds, by PaymentIntent or by
    Charge, with any status and body on any of their requests, return a payment or raise a
    RefundError that chains nothing and shows no secret."""
    model, order, real = _world()
    assert order.payment is not None
    stripe_gateway, transport = _fresh_gateway(model)
    by_charge = data.draw(st.booleans())
    read = RETRIEVE_CHARGE if by_charge else RETRIEVE_INTENT
    _inject(transport, [read, LIST_REFUNDS, LIST_DISPUTES], real, data)
    intent, charge = (None, order.payment.charge_id) if by_charge else (intent_of(order), None)
    listing_only = data.draw(st.booleans())

    try:
        if listing_only:
            stripe_gateway.list_refunds(intent, charge)
        else:
            stripe_gateway.fetch_payment(intent, charge)
    except RefundError as e:
        _check(e)
    transport.assert_no_violations()


@given(data=st.data())
def test_create_refund_over_any_answer_raises_only_refund_errors(data: st.DataObject) -> None:
    """L1, L2, P3 (issue 9 item 6): create_refund with any status and body, whether Stripe
    made the refund or not, returns our refund or raises a RefundError; an answer that is not
    a definitive refusal leaves the outcome unknown (GatewayUnavailable or
    GatewayProtocolError), never a rejection for a refund Stripe made."""
    model = FakeStripe()
    order = paid_order(model)
    stripe_gateway, transport = _fresh_gateway(model)
    request = request_for(order)
    real = {**model.retrieve_refund(stripe_gateway.create_refund(request).id)}
    stripe_acted = data.draw(st.booleans())
    status = data.draw(_status)
    transport.inject_http_response(
        status, _body(real, data), operation=CREATE_REFUND, after_model=stripe_acted
    )

    try:
        refund = stripe_gateway.create_refund(request)
    except RefundError as e:
        _check(e)
    else:
        # Our refund: its amount and our ids are checked (``created_refund``). An answer whose
        # id alone was garbled into another well-formed id cannot be told from the real one;
        # sync then finds the real refund by its metadata and records it too, both reserving:
        # the balance errs on the safe side.
        assert refund.amount == request.amount
        assert refund.local_refund_id == request.local_refund_id
        assert isinstance(refund.id, str)
        assert refund.id
    assert len(model.refunds_of(intent_of(order))) == 1  # one refund, whatever was answered
    transport.assert_no_violations()


# ---------------------------------------------------------------------------------------------
# webhooks
# ---------------------------------------------------------------------------------------------

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
_TS = int(NOW.timestamp())


@cache
def _events() -> list[dict[str, Any]]:
    model = FakeStripe()
    pi = model.create_payment(10_000, "usd", stripe_fee=320)
    model.default_refund_status = "pending"
    refund = model.create_refund({"payment_intent": pi["id"], "amount": 1000})
    model.set_refund_status(refund["id"], "succeeded")
    model.open_dispute(pi["id"])
    model.close_dispute(pi["id"], "won")
    return model.events()


def _sign(payload: bytes, secret: str, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + payload
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


@given(data=st.data())
def test_verify_any_delivery_raises_only_refund_errors(data: st.DataObject) -> None:
    """P1, P3, L5 (issue 9 item 6): whatever payload (bytes, signed or not: a mangled real
    event, any JSON, any bytes) and whatever Stripe-Signature header (correct, of another
    secret or time, any text, none) arrives, verify returns a GatewayEvent or raises
    InvalidSignature / InvalidEvent, which chain nothing and show no secret."""
    verifier = StripeWebhookVerifier(WEBHOOK_SECRET, clock=ManualClock(NOW))
    event = data.draw(st.sampled_from(_events()))
    kind = data.draw(st.sampled_from(["mangled", "json", "bytes"]))
    if kind == "mangled":
        payload = dumps_stripe_json(_mutated(event, data)).encode()
    elif kind == "json":
        payload = json.dumps(data.draw(_json)).encode()
    else:
        payload = data.draw(st.binary(max_size=200))
    offset = data.draw(st.sampled_from([0, 0, 0, 299, -299, 301, -301, 10**9]))
    header = data.draw(
        st.sampled_from(
            [
                _sign(payload, WEBHOOK_SECRET, _TS + offset),
                _sign(payload, "whsec_someoneElse", _TS),
                _sign(payload, WEBHOOK_SECRET, _TS) + f",v1={API_KEY}",
                None,
            ]
        )
        | st.text(max_size=120)
    )

    try:
        got = verifier.verify(payload, header)
    except (InvalidSignature, InvalidEvent) as e:
        _check(e)
    else:
        assert isinstance(got, GatewayEvent)


# ---------------------------------------------------------------------------------------------
# the readers
# ---------------------------------------------------------------------------------------------


def _readers(value: Any, real: dict[str, Any]) -> dict[str, Callable[[], object]]:
    _, order, answers = _world()
    return {
        "parse_event": lambda: parse_event(value),
        "parse_refund": lambda: parse_refund(value),
        "parse_payment": lambda: parse_payment(value, None),
        "parse_payment disputes": lambda: parse_payment(answers[RETRIEVE_CHARGE], None, value),
        "refunds_oldest_first": lambda: refunds_oldest_first(value),
        "latest_charge_of": lambda: latest_charge_of(value),
        "disputed_charge_id": lambda: disputed_charge_id(value),
        "stripe_object": lambda: stripe_object(value, "refund", object_id="re_1"),
        "list_page": lambda: list_page(value, "refund", owner=("payment_intent", "pi_1")),
        "created_refund": lambda: created_refund(value, request_for(order)),
    }


_REAL_FOR = {
    "parse_event": lambda: _events()[0],
    "parse_refund": lambda: _world()[2][CREATE_REFUND],
    "parse_payment": lambda: _world()[2][RETRIEVE_CHARGE],
    "parse_payment disputes": lambda: _world()[2][LIST_DISPUTES]["data"],
    "refunds_oldest_first": lambda: _world()[2][LIST_REFUNDS]["data"],
    "latest_charge_of": lambda: _world()[2][RETRIEVE_INTENT],
    "disputed_charge_id": lambda: _world()[2][RETRIEVE_CHARGE],
    "stripe_object": lambda: _world()[2][CREATE_REFUND],
    "list_page": lambda: _world()[2][LIST_REFUNDS],
    "created_refund": lambda: _world()[2][CREATE_REFUND],
}


@given(data=st.data())
def test_the_readers_raise_only_protocol_errors_on_any_json(data: st.DataObject) -> None:
    """B4, L5, P3 (issue 9 item 6): parse_event, parse_refund, parse_payment and every other
    reader of Stripe's JSON, given any JSON value or a mangled real object, read it or raise
    GatewayProtocolError (latest_charge_of: also GatewayUnavailable, a PaymentIntent without
    a charge), chaining nothing and showing no secret."""
    name = data.draw(st.sampled_from(sorted(_REAL_FOR)))
    real = _REAL_FOR[name]()
    value = _mutated(real, data) if data.draw(st.booleans()) else data.draw(_json)

    allowed: tuple[type[RefundError], ...] = (GatewayProtocolError,)
    if name == "latest_charge_of":
        allowed = (GatewayProtocolError, GatewayUnavailable)
    try:
        _readers(value, real)[name]()
    except allowed as e:
        _check(e)
