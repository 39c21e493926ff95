"""Issue 9, item 2: whatever Stripe (or a proxy in between) answers, ``StripeGateway`` raises a
``RefundError``, never ``AttributeError``/``TypeError``/``IndexError``; for ``create_refund`` an
unreadable answer is an unknown outcome. Stripe's nullable fields (API 2023-08-16) are read.

Answers are injected raw into the fake HTTP transport, so the real SDK parses them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kanorio_refunds.adapters._stripe_json import parse_refund
from kanorio_refunds.domain._refund import RefundStatus
from kanorio_refunds.errors import (
    GatewayProtocolError,
    GatewayRejected,
    GatewayUnavailable,
    RefundError,
)
from kanorio_refunds.testing.fake_stripe import FakeStripe
from kanorio_refunds.testing.stripe_http import FakeStripeHTTPClient, load_fixtures

from .stripe_world import (
    CREATE_REFUND,
    LIST_DISPUTES,
    LIST_REFUNDS,
    RETRIEVE_CHARGE,
    RETRIEVE_INTENT,
    chain_of,
    gateway,
    intent_of,
    paid_order,
    request_for,
)

_REFUND = load_fixtures()["refund"]

#: 2xx bodies that are not the answer asked for, by name.
MALFORMED_2XX: dict[str, str] = {
    "empty array": "[]",
    "null": "null",
    "a number": "1",
    "a string": '"ok"',
    "true": "true",
    "empty object": "{}",
    "an empty page that has more": '{"object": "list", "data": [], "has_more": true}',
    "a page whose data is not a list": '{"object": "list", "data": 5, "has_more": false}',
    "a page whose data is an object": '{"object": "list", "data": {"a": 1}, "has_more": false}',
    "a page of numbers": '{"object": "list", "data": [1, 2], "has_more": false}',
    "a page of nulls that has more": '{"object": "list", "data": [null], "has_more": true}',
    "a page without has_more": '{"object": "list", "data": []}',
    "a page with a string has_more": '{"object": "list", "data": [], "has_more": "no"}',
    "a page naming another url": json.dumps(
        {"object": "list", "data": [{"id": "x"}], "has_more": True, "url": "/v1/customers"}
    ),
    "an error object with a 200": '{"error": {"type": "api_error", "message": "boom"}}',
    "an object without id": '{"object": "payment_intent"}',
    "an id that is a number": '{"object": "refund", "id": 5}',
    "a refund as is": json.dumps(_REFUND),
    "a nested array": "[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]",
}

#: Error answers whose error object is unreadable.
MALFORMED_ERRORS: dict[str, tuple[int, str]] = {
    "400 error a number": (400, '{"error": 5}'),
    "402 error null": (402, '{"error": null}'),
    "404 error a list": (404, '{"error": ["resource_missing"]}'),
    "400 error a string": (400, '{"error": "invalid_grant"}'),
    "500 error a number": (500, '{"error": 7}'),
    "400 type a number": (400, '{"error": {"type": 5, "code": "x", "message": "no"}}'),
    "402 no type": (402, '{"error": {"code": "card_declined", "message": "no"}}'),
    "302 no error": (302, '{"object": "payment_intent"}'),
    "204 empty": (204, ""),
}

OPERATIONS = (RETRIEVE_INTENT, RETRIEVE_CHARGE, LIST_REFUNDS, LIST_DISPUTES, CREATE_REFUND)


def _act(model: FakeStripe, transports: list[FakeStripeHTTPClient], operation: str) -> Any:
    """Call the gateway method that sends ``operation``; return the gateway's transport."""
    # Up to 10 refunds come with the payment (issue 10): the listing is asked for beyond that.
    order = paid_order(
        model, disputed=operation == LIST_DISPUTES, refunds=11 if operation == LIST_REFUNDS else 0
    )
    stripe_gateway, transport = gateway(model, transports)
    assert order.payment is not None

    def call() -> object:
        if operation == CREATE_REFUND:
            return stripe_gateway.create_refund(request_for(order))
        if operation == RETRIEVE_CHARGE:
            return stripe_gateway.fetch_payment(None, order.payment.charge_id)  # type: ignore[union-attr]
        return stripe_gateway.fetch_payment(intent_of(order), None)

    return transport, call


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("case", sorted(MALFORMED_2XX))
def test_a_2xx_answer_of_the_wrong_shape_is_a_refund_error(
    model: FakeStripe, transports: list[FakeStripeHTTPClient], case: str, operation: str
) -> None:
    """L2 (issue 9 item 2): a 200 body that is not the object asked for (``[]``, ``null``,
    ``1``, an empty page that has more, ``data`` not a list, …) is a GatewayProtocolError or
    GatewayUnavailable, for fetch_payment and create_refund alike; for create_refund both mean
    "outcome unknown" to the service. Nothing is chained (P3)."""
    transport, call = _act(model, transports, operation)
    transport.inject_http_response(200, MALFORMED_2XX[case], operation=operation, times=5)

    with pytest.raises(RefundError) as info:
        call()

    assert type(info.value) in (GatewayProtocolError, GatewayUnavailable)
    assert chain_of(info.value) == [info.value]
    # Answered at once: an endless "has more" is never followed.
    assert len(transport.requests_to(operation)) == 1


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("case", sorted(MALFORMED_ERRORS))
def test_an_error_answer_without_a_readable_error_object_is_a_refund_error(
    model: FakeStripe, transports: list[FakeStripeHTTPClient], case: str, operation: str
) -> None:
    """L2, L3 (issue 9 item 2): an error status whose ``error`` is not an object with a type
    (the SDK itself fails on ``{"error": 5}`` with AttributeError; ``"error": "…"`` is the
    OAuth shape, never the refunds API's), or a status Stripe never sends, is
    GatewayUnavailable: nothing proves a refusal, so no reservation is ever released on it."""
    status, body = MALFORMED_ERRORS[case]
    transport, call = _act(model, transports, operation)
    transport.inject_http_response(status, body, operation=operation)

    with pytest.raises(GatewayUnavailable) as info:
        call()

    assert chain_of(info.value) == [info.value]
    if operation == CREATE_REFUND:
        assert "outcome unknown" in info.value.message
        assert info.value.refund_id == "rf_1"


@pytest.mark.parametrize(
    ("error", "gateway_code"),
    [
        ({"type": "invalid_request_error", "code": [1], "message": 5}, "invalid_request_error"),
        ({"type": "invalid_request_error", "code": "sk_test_abc"}, "invalid_request_error"),
        ({"type": "card_error", "code": "Not A Code!"}, "card_error"),
        ({"type": "api_error "}, "http_400"),
    ],
)
def test_a_rejection_takes_only_a_readable_code(
    model: FakeStripe,
    transports: list[FakeStripeHTTPClient],
    error: dict[str, Any],
    gateway_code: str,
) -> None:
    """L3, P3: a 400 with a typed error object is a rejection; a code that is not a plain
    snake_case word (a list, a secret echoed there, free text) is not taken for Stripe's code,
    and the message is quoted only when it is text."""
    transport, call = _act(model, transports, CREATE_REFUND)
    transport.inject_http_response(400, {"error": error})

    with pytest.raises(GatewayRejected) as info:
        call()

    assert info.value.gateway_code == gateway_code
    assert "sk_test_abc" not in info.value.message


def test_a_list_page_naming_another_url_is_never_followed(
    model: FakeStripe, transports: list[FakeStripeHTTPClient]
) -> None:
    """B4 (issue 9 item 2): pages are asked for by the gateway itself (``starting_after`` the last
    id, same path and options), never at the ``url`` an answer names."""
    order = paid_order(model, refunds=13)
    assert order.payment is not None
    stripe_gateway, transport = gateway(model, transports)
    newest = model.list_refunds(payment_intent=intent_of(order), limit=10)
    first_page = model.list_refunds(
        charge=order.payment.charge_id, limit=2, starting_after=newest["data"][-1]["id"]
    )
    first_page["url"] = "/v1/customers"
    transport.inject_http_response(200, first_page, operation=LIST_REFUNDS)

    snapshot = stripe_gateway.fetch_payment(intent_of(order), None)

    listings = transport.requests_to(LIST_REFUNDS)
    assert [r.path for r in listings] == ["/v1/refunds", "/v1/refunds"]
    assert listings[1].params == {
        "charge": order.payment.charge_id,
        "limit": 100,
        "starting_after": first_page["data"][-1]["id"],
    }
    assert len(snapshot.refunds) == 13


def test_a_listing_that_repeats_itself_ends_as_a_protocol_error(
    model: FakeStripe, transports: list[FakeStripeHTTPClient]
) -> None:
    """B4 (issue 9 item 2): a page answered again and again (has_more forever) is refused as soon as
    an id comes back, not paged forever."""
    order = paid_order(model, refunds=11)
    stripe_gateway, transport = gateway(model, transports)
    newest = model.list_refunds(payment_intent=intent_of(order), limit=10)["data"]
    page = model.list_refunds(payment_intent=intent_of(order), starting_after=newest[-1]["id"])
    page["has_more"] = True
    transport.inject_http_response(200, page, operation=LIST_REFUNDS, times=50)

    with pytest.raises(GatewayProtocolError, match="repeats"):
        stripe_gateway.fetch_payment(intent_of(order), None)

    assert len(transport.requests_to(LIST_REFUNDS)) == 2


def test_a_listing_of_another_payments_refunds_is_a_protocol_error(
    model: FakeStripe, transports: list[FakeStripeHTTPClient]
) -> None:
    """B4: refunds of another payment in the answer would be imported on this order as made in
    the dashboard; such an answer is refused instead."""
    order = paid_order(model, refunds=11)
    other = model.create_payment(5_000, "usd", stripe_fee=100)
    model.create_refund({"payment_intent": other["id"], "amount": 100}, idempotency_key="o")
    stripe_gateway, transport = gateway(model, transports)
    transport.inject_http_response(
        200, model.list_refunds(payment_intent=other["id"]), operation=LIST_REFUNDS
    )

    with pytest.raises(GatewayProtocolError, match="another charge"):
        stripe_gateway.fetch_payment(intent_of(order), None)


@pytest.mark.parametrize(
    ("operation", "change"),
    [
        (RETRIEVE_INTENT, {"id": "pi_someoneElse"}),
        (RETRIEVE_INTENT, {"object": "charge"}),
        (RETRIEVE_INTENT, {"latest_charge": "ch_notExpanded"}),
        (RETRIEVE_CHARGE, {"id": "ch_someoneElse"}),
        (RETRIEVE_CHARGE, {"amount_refunded": None}),
    ],
)
def test_an_answer_about_another_object_is_a_protocol_error(
    model: FakeStripe,
    transports: list[FakeStripeHTTPClient],
    operation: str,
    change: dict[str, Any],
) -> None:
    """B2, B4: the payment read must be the one asked for, with the fields its balance needs
    (``amount_refunded`` is never taken as zero: that would overstate the balance)."""
    order = paid_order(model)
    assert order.payment is not None
    stripe_gateway, transport = gateway(model, transports)
    if operation == RETRIEVE_INTENT:
        body = model.retrieve_payment_intent(
            intent_of(order), expand=["latest_charge.balance_transaction"]
        )
    else:
        body = model.retrieve_charge(order.payment.charge_id, expand=["balance_transaction"])
    body.update(change)
    transport.inject_http_response(200, body, operation=operation)
    intent, charge = (
        (intent_of(order), None)
        if operation == RETRIEVE_INTENT
        else (None, order.payment.charge_id)
    )

    with pytest.raises(GatewayProtocolError):
        stripe_gateway.fetch_payment(intent, charge)


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 999},
        {"metadata": {"kanorio_refund_id": "rf_other"}},
        {"metadata": None},
        {"payment_intent": "pi_someoneElse"},
        {"object": "charge"},
    ],
    ids=["amount", "refund id", "no metadata", "payment", "object"],
)
def test_a_created_refund_that_is_not_ours_is_an_unknown_outcome(
    model: FakeStripe, transports: list[FakeStripeHTTPClient], change: dict[str, Any]
) -> None:
    """L2: Stripe holds our refund but the answer names another one (another amount, refund
    id, payment, object): GatewayProtocolError, the service's "outcome unknown"; sending the
    same request again (same key) returns the one refund Stripe made."""
    order = paid_order(model)
    stripe_gateway, transport = gateway(model, transports)
    first = stripe_gateway.create_refund(request_for(order))
    (stored,) = model.refunds_of(intent_of(order))
    transport.inject_http_response(200, {**stored, **change}, operation=CREATE_REFUND)

    with pytest.raises(GatewayProtocolError):
        stripe_gateway.create_refund(request_for(order))
    again = stripe_gateway.create_refund(request_for(order))

    assert again.id == first.id == stored["id"]
    assert len(model.refunds_of(intent_of(order))) == 1


# ---------------------------------------------------------------------------------------------
# Stripe's nullable fields
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [None, "absent"])
def test_a_refund_without_a_status_is_read_as_pending(status: str | None) -> None:
    """B1, S3 (issue 9 item 2): ``refund.status`` is nullable and optional in API 2023-08-16;
    such a refund is PENDING: it reserves its amount (never refunded twice) and is not final
    (the real status still applies later)."""
    refund = dict(_REFUND)
    if status == "absent":
        del refund["status"]
    else:
        refund["status"] = status

    read = parse_refund(refund)

    assert read.status is RefundStatus.PENDING
    assert read.status.reserves
    assert not read.status.is_final


@pytest.mark.parametrize(
    "field",
    [
        "balance_transaction",
        "charge",
        "metadata",
        "payment_intent",
        "reason",
        "receipt_number",
        "source_transfer_reversal",
        "status",
        "transfer_reversal",
    ],
)
def test_every_nullable_refund_field_may_be_null(field: str) -> None:
    """B4 (issue 9 item 2): each field API 2023-08-16 marks nullable on a refund reads as null."""
    read = parse_refund({**_REFUND, field: None})
    assert read.id == _REFUND["id"]


def test_a_created_refund_with_a_null_status_is_pending_over_the_wire(
    model: FakeStripe, transports: list[FakeStripeHTTPClient]
) -> None:
    """L1, L2 (issue 9 item 2): the answer to our create with ``status: null`` is read (PENDING),
    not refused: Stripe holds the refund, and its outcome follows by webhook or sync."""
    order = paid_order(model)
    stripe_gateway, transport = gateway(model, transports)
    request = request_for(order)
    created = model.create_refund(
        {"payment_intent": intent_of(order), "amount": 1000, "metadata": dict(request.metadata)},
        idempotency_key="elsewhere",
    )
    transport.inject_http_response(200, {**created, "status": None}, operation=CREATE_REFUND)

    refund = stripe_gateway.create_refund(request)

    assert refund.status is RefundStatus.PENDING
    assert refund.id == created["id"]


def test_listed_refunds_with_null_fields_are_read(
    model: FakeStripe, transports: list[FakeStripeHTTPClient]
) -> None:
    """B4 (issue 9 item 2): a listed refund with every nullable field null is read."""
    order = paid_order(model)
    model.create_refund({"payment_intent": intent_of(order), "amount": 500}, idempotency_key="k")
    stripe_gateway, transport = gateway(model, transports)
    page = model.list_refunds(payment_intent=intent_of(order))
    nullable = ("balance_transaction", "charge", "metadata", "reason", "status")
    page["data"] = [{**r, **dict.fromkeys(nullable)} for r in page["data"]]
    transport.inject_http_response(200, page, operation=LIST_REFUNDS)

    (refund,) = stripe_gateway.list_refunds(intent_of(order), None)

    assert refund.status is RefundStatus.PENDING
    assert refund.charge_id is None
    assert refund.metadata == ()
