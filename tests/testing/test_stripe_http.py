"""The fake Stripe HTTP backend drives the real ``stripe`` SDK like Stripe's API would.

These tests pin the SDK behaviour the Stripe adapter relies on (docs/dev/stripe-sdk-notes.md) and
check that what the fake answers has Stripe's shape (testing/stripe_openapi, API 2023-08-16).
No network is used: every request is served in-process by ``FakeStripe``.
"""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
import stripe
from hypothesis import given
from hypothesis import strategies as st
from stripe._encode import _api_encode
from stripe.params import RefundCreateParams

from kanorio_refunds.testing.fake_stripe import FakeStripe, Fault
from kanorio_refunds.testing.stripe_http import (
    FAKE_API_KEY,
    dumps_stripe_json,
    load_fixtures,
    load_subset,
    make_client,
    parse_stripe_params,
    schema_problems,
    transport_of,
    validate_object,
)

REFUND_FORM = load_subset()["operations"]["POST /v1/refunds"]["form_params"]


@pytest.fixture
def model() -> FakeStripe:
    return FakeStripe()


def _payment(model: FakeStripe, amount: int = 10_000) -> str:
    pi = model.create_payment(amount, "usd", stripe_fee=320)
    return str(pi["id"])


def _refund_params(pi: str, amount: int = 500, **extra: Any) -> RefundCreateParams:
    params: RefundCreateParams = {"payment_intent": pi, "amount": amount}
    params.update(extra)  # type: ignore[typeddict-item]
    return params


# ---------------------------------------------------------------- the OpenAPI subset itself


def test_subset_holds_the_schemas_and_operations_of_api_2023_08_16() -> None:
    subset = load_subset()
    assert subset["x-api-version"] == "2023-08-16"
    for name in (
        "refund",
        "charge",
        "payment_intent",
        "balance_transaction",
        "fee",
        "event",
        "error",
        "api_errors",
    ):
        assert "properties" in subset["schemas"][name], name
    assert set(subset["operations"]) == {
        "GET /v1/payment_intents/{intent}",
        "GET /v1/charges/{charge}",
        "POST /v1/refunds",
        "GET /v1/refunds",
        "GET /v1/refunds/{refund}",
        "GET /v1/balance_transactions/{id}",
        "GET /v1/disputes",
    }
    assert "properties" in subset["schemas"]["dispute"]
    assert REFUND_FORM["reason"]["enum"] == ["duplicate", "fraudulent", "requested_by_customer"]
    assert len(json.dumps(subset)) < 1_000_000


@pytest.mark.parametrize(
    ("fixture", "schema"),
    [
        ("refund", "refund"),
        ("charge", "charge"),
        ("payment_intent", "payment_intent"),
        ("balance_transaction", "balance_transaction"),
        ("dispute", "dispute"),
        ("event", "event"),
    ],
)
def test_stripes_own_examples_validate(fixture: str, schema: str) -> None:
    validate_object(load_fixtures()[fixture], schema)


def test_the_list_example_validates_as_a_refund_list() -> None:
    schema = load_subset()["operations"]["GET /v1/refunds"]["response"]
    assert schema_problems(load_fixtures()["list"], schema) == []


def test_the_validator_reports_each_kind_of_deviation() -> None:
    refund = dict(load_fixtures()["refund"])
    del refund["currency"]
    refund.update(amount="100", bogus=1, failure_reason=None, metadata={"k": 5})
    refund["charge"] = {"id": "ch_1", "object": "charge"}  # expanded, but incomplete
    problems = "\n".join(schema_problems(refund, "refund"))
    assert "unknown key 'bogus'" in problems
    assert "required key 'currency' missing" in problems
    assert "refund.amount: expected integer" in problems
    assert "refund.failure_reason: null but not nullable" in problems
    assert "refund.metadata.k: expected string" in problems
    assert "refund.charge: matches none of anyOf" in problems
    with pytest.raises(AssertionError, match="not Stripe's shape"):
        validate_object(refund, "refund")


# ---------------------------------------------------------------- wire format


def _sdk_encode(params: dict[str, Any]) -> str:
    """Exactly how the SDK encodes a v1 body or query string."""
    return urlencode(list(_api_encode(params))).replace("%5B", "[").replace("%5D", "]")


def test_form_decoding_types_every_parameter_like_stripe() -> None:
    body = _sdk_encode(
        {
            "payment_intent": "pi_1",
            "amount": 1250,
            "reason": "duplicate",
            "metadata": {"order_id": "ord_1", "0": "digit key", "empty": ""},
            "expand": ["charge", "balance_transaction"],
            "refund_application_fee": False,
            "reverse_transfer": True,
        }
    )
    assert "expand[0]=charge" in body
    assert "refund_application_fee=false" in body
    assert parse_stripe_params(body, REFUND_FORM, where="test") == {
        "payment_intent": "pi_1",
        "amount": 1250,
        "reason": "duplicate",
        "metadata": {"order_id": "ord_1", "0": "digit key", "empty": ""},
        "expand": ["charge", "balance_transaction"],
        "refund_application_fee": False,
        "reverse_transfer": True,
    }
    # Stripe also accepts the unindexed array form and unsetting all metadata with "".
    assert parse_stripe_params("expand[]=a&expand[]=b&metadata=", REFUND_FORM, where="t") == {
        "expand": ["a", "b"],
        "metadata": "",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("idempotency_key=k", "parameter 'idempotency_key' is not in Stripe's API"),
        ("reason=other", "'other' is not one of"),
        ("amount=12.5", "expected an integer"),
        ("refund_application_fee=1", "expected true/false"),
        ("expand=charge", "expected an array"),
        ("metadata[a][b]=c", "matches no alternative"),
        ("amount=1&amount=2", "sent twice"),
    ],
)
def test_form_decoding_refuses_what_stripe_refuses(body: str, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        parse_stripe_params(body, REFUND_FORM, where="POST /v1/refunds")


_metadata_keys = st.text(
    alphabet=st.characters(exclude_characters="[]", exclude_categories=["Cs"]),
    min_size=1,
    max_size=40,
)
_metadata_values = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=500)


@given(metadata=st.dictionaries(_metadata_keys, _metadata_values, max_size=8))
def test_metadata_survives_the_sdks_encoding(metadata: dict[str, str]) -> None:
    """N3/N4: whatever notes end up in metadata reach Stripe unchanged (``&``, ``=``, brackets,
    newlines, non-ASCII)."""
    body = _sdk_encode({"charge": "ch_1", "metadata": metadata})
    parsed = parse_stripe_params(body, REFUND_FORM, where="test")
    assert parsed.get("metadata", {}) == metadata


def test_decimals_are_serialised_as_json_numbers() -> None:
    text = dumps_stripe_json({"exchange_rate": Decimal("1.08561234"), "nested": [Decimal("2")]})
    assert json.loads(text, parse_float=Decimal) == {
        "exchange_rate": Decimal("1.08561234"),
        "nested": [2],
    }
    assert '"1.08561234"' not in text


# ---------------------------------------------------------------- each endpoint through the SDK


def test_retrieve_payment_intent_with_expanded_charge_and_balance_transaction(
    model: FakeStripe,
) -> None:
    """B3/B4: the live data the balance needs, in one call; the exchange rate is exact."""
    pi_id = str(
        model.create_payment(
            10_000,
            "eur",
            stripe_fee=350,
            settlement_currency="usd",
            exchange_rate=Decimal("1.0856"),
        )["id"]
    )
    client = make_client(model)
    pi = client.v1.payment_intents.retrieve(
        pi_id, params={"expand": ["latest_charge.balance_transaction"]}
    )
    assert isinstance(pi, stripe.PaymentIntent)
    charge = pi.latest_charge
    assert isinstance(charge, stripe.Charge)
    txn = charge.balance_transaction
    assert isinstance(txn, stripe.BalanceTransaction)
    assert isinstance(txn.exchange_rate, float)
    assert Decimal(str(txn.exchange_rate)) == Decimal("1.0856")
    assert (pi.amount, pi.currency, charge.amount_captured) == (10_000, "eur", 10_000)
    assert txn.fee == 350
    assert txn.fee_details[0].type == "stripe_fee"
    (request,) = transport_of(client).requests
    assert request.operation == "GET /v1/payment_intents/{intent}"
    assert request.path_params == {"intent": pi_id}
    assert request.params == {"expand": ["latest_charge.balance_transaction"]}
    assert request.raw == "expand[0]=latest_charge.balance_transaction"


def test_retrieve_charge_refund_and_balance_transaction(model: FakeStripe) -> None:
    pi_id = _payment(model)
    client = make_client(model)
    refund = client.v1.refunds.create(params=_refund_params(pi_id))
    charge = client.v1.charges.retrieve(str(refund.charge), params={"expand": ["payment_intent"]})
    assert isinstance(charge, stripe.Charge)
    assert isinstance(charge.payment_intent, stripe.PaymentIntent)
    assert charge.amount_refunded == 500
    again = client.v1.refunds.retrieve(refund.id)
    assert isinstance(again, stripe.Refund)
    assert again.to_dict() == refund.to_dict()
    txn = client.v1.balance_transactions.retrieve(str(refund.balance_transaction))
    assert isinstance(txn, stripe.BalanceTransaction)
    assert (txn.type, txn.amount, txn.exchange_rate) == ("refund", -500, None)
    transport = transport_of(client)
    assert [r.outcome for r in transport.requests] == ["200"] * 4
    transport.assert_no_violations()


def test_a_destination_charge_and_reverse_transfer_through_the_sdk(model: FakeStripe) -> None:
    """Connect: a destination charge reads (``transfer``, ``transfer_data``) and refunds with
    ``reverse_transfer`` (the refund names its ``transfer_reversal``) in Stripe's shape."""
    pi = model.create_payment(10_000, "usd", stripe_fee=320, destination="acct_1Shop")
    client = make_client(model)
    refund = client.v1.refunds.create(params=_refund_params(pi["id"], reverse_transfer=True))
    charge = client.v1.charges.retrieve(str(refund.charge), params={"expand": ["transfer"]})
    intent = client.v1.payment_intents.retrieve(pi["id"])
    transport = transport_of(client)
    transport.assert_no_violations()
    assert transport.requests_to("POST /v1/refunds")[0].params["reverse_transfer"] is True
    assert isinstance(refund.transfer_reversal, str)
    assert isinstance(charge.transfer, stripe.Transfer)
    assert charge.transfer.amount_reversed == 500
    assert charge.transfer_data is not None
    assert charge.transfer_data.destination == "acct_1Shop"
    assert intent.transfer_data is not None
    assert intent.transfer_data.destination == "acct_1Shop"


def test_create_refund_sends_params_idempotency_key_and_account(model: FakeStripe) -> None:
    """L1: our idempotency key and ids travel as the Idempotency-Key header and metadata."""
    pi_id = _payment(model)
    client = make_client(model, stripe_account="acct_default")
    refund = client.v1.refunds.create(
        params=_refund_params(
            pi_id,
            reason="requested_by_customer",
            metadata={"order_id": "ord_1", "refund_id": "rf_1", "notes": "a&b=c [x]\nline 2"},
        ),
        options={"idempotency_key": "kanorio-rf_1", "stripe_account": "acct_123"},
    )
    assert isinstance(refund, stripe.Refund)
    assert (refund.amount, refund.status, refund.reason) == (
        500,
        "succeeded",
        "requested_by_customer",
    )
    assert refund.metadata is not None
    assert refund.metadata.to_dict() == {
        "order_id": "ord_1",
        "refund_id": "rf_1",
        "notes": "a&b=c [x]\nline 2",
    }
    assert refund.last_response is not None
    assert refund.last_response.idempotency_key == "kanorio-rf_1"
    assert refund.last_response.request_id is not None
    (request,) = transport_of(client).requests
    assert request.method == "POST"
    assert request.path == "/v1/refunds"
    assert request.idempotency_key == "kanorio-rf_1"
    assert request.stripe_account == "acct_123"
    assert request.header("content-type") == "application/x-www-form-urlencoded"
    assert request.params["metadata"]["refund_id"] == "rf_1"
    assert FAKE_API_KEY not in repr(request)  # P3: the recorded headers hide the key
    (model_request,) = model.requests
    assert (model_request.idempotency_key, model_request.stripe_account) == (
        "kanorio-rf_1",
        "acct_123",
    )


def test_the_sdk_invents_an_idempotency_key_when_none_is_given(model: FakeStripe) -> None:
    client = make_client(model)
    client.v1.refunds.create(params=_refund_params(_payment(model)))
    (request,) = transport_of(client).requests
    assert request.idempotency_key  # random: useless for L2, so the adapter must pass its own


def test_list_refunds_one_page(model: FakeStripe) -> None:
    pi_id = _payment(model)
    client = make_client(model)
    for amount in (100, 200, 300):
        client.v1.refunds.create(params=_refund_params(pi_id, amount))
    page = client.v1.refunds.list(params={"payment_intent": pi_id, "limit": 2})
    assert isinstance(page, stripe.ListObject)
    assert [r.amount for r in page.data] == [300, 200]  # newest first
    assert page.has_more is True
    assert page.url == "/v1/refunds"
    assert transport_of(client).requests[-1].params == {"payment_intent": pi_id, "limit": 2}


def test_auto_paging_walks_more_than_100_refunds(model: FakeStripe) -> None:
    """B4/L2: finding every refund of a payment needs more than one page."""
    pi_id = _payment(model, amount=1_000)
    for i in range(105):
        model.create_refund({"payment_intent": pi_id, "amount": 1}, idempotency_key=f"k{i}")
    client = make_client(model)
    started = time.monotonic()
    refunds = list(
        client.v1.refunds.list(
            params={"payment_intent": pi_id, "limit": 100, "expand": ["data.charge"]},
            options={"stripe_account": "acct_123"},
        ).auto_paging_iter()
    )
    assert time.monotonic() - started < 5
    assert len(refunds) == 105
    assert len({r.id for r in refunds}) == 105
    assert all(isinstance(r.charge, stripe.Charge) for r in refunds)
    first, second = transport_of(client).requests_to("GET /v1/refunds")
    assert first.params == {"payment_intent": pi_id, "limit": 100, "expand": ["data.charge"]}
    assert second.params == {**first.params, "starting_after": refunds[99].id}
    assert second.stripe_account == "acct_123"  # request options stick to the list's pages


def test_list_disputes_of_a_charge(model: FakeStripe) -> None:
    """E5: GET /v1/disputes?charge=… answers Stripe's list of dispute objects (checked against
    the ``dispute`` schema), and follows the dispute's life (won: still listed, status won)."""
    pi_id = _payment(model)
    other = _payment(model)
    model.open_dispute(other, inquiry=True)
    charge_id = model.charge_of(pi_id)["id"]
    client = make_client(model)

    assert client.v1.disputes.list(params={"charge": charge_id}).data == []
    model.open_dispute(pi_id)
    model.close_dispute(pi_id, "won")
    page = client.v1.disputes.list(
        params={"charge": charge_id, "limit": 100, "expand": ["data.charge"]},
        options={"stripe_account": "acct_123"},
    )

    assert isinstance(page, stripe.ListObject)
    assert page.url == "/v1/disputes"
    (dispute,) = page.data
    assert isinstance(dispute, stripe.Dispute)
    assert (dispute.status, dispute.payment_intent) == ("won", pi_id)
    assert isinstance(dispute.charge, stripe.Charge)
    assert dispute.charge.disputed is True
    everything = client.v1.disputes.list(params={"limit": 1})
    assert [d.status for d in everything.auto_paging_iter()] == ["won", "warning_needs_response"]
    transport = transport_of(client)
    assert transport.requests_to("GET /v1/disputes")[1].params == {
        "charge": charge_id,
        "limit": 100,
        "expand": ["data.charge"],
    }
    assert transport.requests_to("GET /v1/disputes")[1].stripe_account == "acct_123"
    assert transport.requests_to("GET /v1/disputes")[-1].params == {
        "limit": 1,
        "starting_after": page.data[0].id,
    }
    transport.assert_no_violations()


def test_list_disputes_errors_and_faults(model: FakeStripe) -> None:
    """An unknown charge is a 404; injected faults reach the SDK like on every operation."""
    client = make_client(model)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.disputes.list(params={"charge": "ch_missing"})
    assert (info.value.http_status, info.value.code) == (404, "resource_missing")
    model.inject_fault(Fault.SERVER_ERROR, operation="list_disputes")
    with pytest.raises(stripe.APIError):
        client.v1.disputes.list(params={"limit": 3})
    with pytest.raises(NotImplementedError, match="created"):
        client.v1.disputes.list(params={"created": {"gte": 1}})
    with pytest.raises(AssertionError, match="parameter 'status' is not in Stripe's API"):
        client.v1.disputes.list(params={"status": "won"})  # type: ignore[arg-type]


def test_async_calls_use_the_same_backend(model: FakeStripe) -> None:
    pi_id = _payment(model)
    client = make_client(model, max_network_retries=1)
    model.inject_fault(Fault.SERVER_ERROR)

    async def run() -> stripe.Refund:
        return await client.v1.refunds.create_async(
            params=_refund_params(pi_id), options={"idempotency_key": "k-async"}
        )

    refund = asyncio.run(run())
    assert refund.amount == 500
    assert [r.outcome for r in transport_of(client).requests] == ["500", "200"]


# ---------------------------------------------------------------- idempotency (L1, L2)


def test_same_key_same_params_replays_the_first_refund(model: FakeStripe) -> None:
    """L2: a retry with the same key never makes a second refund."""
    pi_id = _payment(model)
    client = make_client(model)
    params = _refund_params(pi_id, metadata={"refund_id": "rf_1"})
    first = client.v1.refunds.create(params=params, options={"idempotency_key": "kanorio-rf_1"})
    second = client.v1.refunds.create(params=params, options={"idempotency_key": "kanorio-rf_1"})
    assert second.id == first.id
    assert len(model.refunds_of(pi_id)) == 1
    assert second.last_response is not None
    assert second.last_response.headers.get("idempotent-replayed") == "true"


def test_same_key_other_params_is_an_idempotency_error(model: FakeStripe) -> None:
    pi_id = _payment(model)
    client = make_client(model)
    client.v1.refunds.create(params=_refund_params(pi_id), options={"idempotency_key": "k"})
    with pytest.raises(stripe.IdempotencyError) as info:
        client.v1.refunds.create(
            params=_refund_params(pi_id, 600), options={"idempotency_key": "k"}
        )
    assert info.value.http_status == 400
    assert info.value.code is None  # e.code is only filled for InvalidRequestError/CardError
    assert info.value.error is not None
    assert info.value.error.type == "idempotency_error"


# ---------------------------------------------------------------- Stripe's error answers (L3)


def test_refund_of_a_disputed_charge_is_an_invalid_request_with_code(model: FakeStripe) -> None:
    """L3/E5: a definitive rejection carries Stripe's code on ``e.code`` and ``e.error.code``."""
    pi_id = _payment(model)
    model.open_dispute(pi_id)
    client = make_client(model, max_network_retries=2)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create(params=_refund_params(pi_id), options={"idempotency_key": "k"})
    err = info.value
    assert (err.http_status, err.code) == (400, "charge_disputed")
    assert err.error is not None
    assert err.error.code == "charge_disputed"
    assert err.user_message
    assert "charged back" in err.user_message
    assert isinstance(err.json_body, dict)
    assert err.json_body["error"]["type"] == "invalid_request_error"
    assert err.request_id is not None
    assert len(transport_of(client).requests) == 1  # 4xx is never retried


def test_amount_too_large_names_the_param(model: FakeStripe) -> None:
    """L3/B2: Stripe's own cap answers ``amount_too_large`` on ``amount``."""
    pi_id = _payment(model, amount=1_000)
    client = make_client(model)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create(params=_refund_params(pi_id, 1_001))
    assert (info.value.code, info.value.param) == ("amount_too_large", "amount")


def test_unknown_object_is_a_404_resource_missing(model: FakeStripe) -> None:
    client = make_client(model)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.payment_intents.retrieve("pi_missing")
    assert (info.value.http_status, info.value.code) == (404, "resource_missing")


def test_injected_rejection_code_reaches_the_sdk(model: FakeStripe) -> None:
    pi_id = _payment(model)
    model.inject_fault(Fault.REJECT, code="charge_already_refunded")
    client = make_client(model)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.refunds.create(params=_refund_params(pi_id))
    assert info.value.code == "charge_already_refunded"
    assert model.refunds_of(pi_id) == []


# ---------------------------------------------------------------- 429 / 409 / 5xx and retries


def test_429_is_a_rate_limit_error_and_is_not_retried_by_default(model: FakeStripe) -> None:
    pi_id = _payment(model)
    model.inject_fault(Fault.RATE_LIMITED)
    client = make_client(model, max_network_retries=2)
    with pytest.raises(stripe.RateLimitError) as info:
        client.v1.refunds.create(params=_refund_params(pi_id), options={"idempotency_key": "k"})
    assert info.value.http_status == 429
    assert info.value.code is None
    assert info.value.error is not None
    assert info.value.error.code == "rate_limit"
    assert len(transport_of(client).requests) == 1


def test_429_with_stripe_should_retry_is_retried(model: FakeStripe) -> None:
    pi_id = _payment(model)
    model.inject_fault(Fault.RATE_LIMITED)
    client = make_client(model, max_network_retries=2)
    transport = transport_of(client)
    transport.inject_response_headers({"Stripe-Should-Retry": "true"})
    refund = client.v1.refunds.create(
        params=_refund_params(pi_id), options={"idempotency_key": "k"}
    )
    assert refund.amount == 500
    assert [r.outcome for r in transport.requests] == ["429", "200"]


def test_500_is_retried_with_the_same_key_without_sleeping(model: FakeStripe) -> None:
    """L2: the SDK's own retries reuse the idempotency key; tests never sleep."""
    pi_id = _payment(model)
    model.inject_fault(Fault.SERVER_ERROR, times=2)
    client = make_client(model, max_network_retries=2)
    transport = transport_of(client)
    started = time.monotonic()
    refund = client.v1.refunds.create(
        params=_refund_params(pi_id), options={"idempotency_key": "k"}
    )
    assert time.monotonic() - started < 0.5  # the SDK asked for >= 0.5 s per retry
    assert refund.amount == 500
    assert [r.outcome for r in transport.requests] == ["500", "500", "200"]
    assert {r.idempotency_key for r in transport.requests} == {"k"}
    assert len(transport.retry_delays) == 2
    assert min(transport.retry_delays) >= 0.5
    assert len(model.refunds_of(pi_id)) == 1


def test_500_after_the_last_retry_is_an_api_error(model: FakeStripe) -> None:
    """L2: a 5xx leaves the outcome unknown; the SDK says ``APIError``."""
    pi_id = _payment(model)
    model.inject_fault(Fault.SERVER_ERROR, times=2)
    client = make_client(model, max_network_retries=1)
    with pytest.raises(stripe.APIError) as info:
        client.v1.refunds.create(params=_refund_params(pi_id))
    assert info.value.http_status == 500
    assert len(transport_of(client).requests) == 2


def test_409_is_an_api_error_and_is_retried(model: FakeStripe) -> None:
    pi_id = _payment(model)
    model.inject_fault(Fault.CONFLICT, times=2)
    client = make_client(model, max_network_retries=1)
    with pytest.raises(stripe.APIError) as info:
        client.v1.refunds.create(params=_refund_params(pi_id))
    assert not isinstance(info.value, stripe.IdempotencyError)
    assert info.value.http_status == 409
    assert info.value.error is not None
    assert info.value.error.code == "lock_timeout"
    assert len(transport_of(client).requests) == 2


# ---------------------------------------------------------------- connection faults (L2)


def test_connection_error_raises_api_connection_error_and_creates_nothing(
    model: FakeStripe,
) -> None:
    pi_id = _payment(model)
    model.inject_fault(Fault.CONNECTION_ERROR)
    client = make_client(model)
    with pytest.raises(stripe.APIConnectionError) as info:
        client.v1.refunds.create(params=_refund_params(pi_id), options={"idempotency_key": "k"})
    assert info.value.should_retry is True
    assert info.value.http_status is None
    assert model.refunds_of(pi_id) == []
    assert [r.outcome for r in transport_of(client).requests] == ["connection_error"]


def test_connection_error_is_retried_by_the_sdk(model: FakeStripe) -> None:
    pi_id = _payment(model)
    model.inject_fault(Fault.CONNECTION_ERROR)
    client = make_client(model, max_network_retries=1)
    refund = client.v1.refunds.create(
        params=_refund_params(pi_id), options={"idempotency_key": "k"}
    )
    assert [r.id for r in [refund]] == [r["id"] for r in model.refunds_of(pi_id)]


def test_timeout_after_the_side_effect_then_retry_with_the_same_key(model: FakeStripe) -> None:
    """L2: the refund exists at Stripe although the caller saw a connection error; retrying
    with the same key returns it instead of refunding twice."""
    pi_id = _payment(model)
    model.inject_fault(Fault.TIMEOUT_AFTER_CREATE)
    client = make_client(model)
    params = _refund_params(pi_id, metadata={"refund_id": "rf_1"})
    with pytest.raises(stripe.APIConnectionError) as info:
        client.v1.refunds.create(params=params, options={"idempotency_key": "kanorio-rf_1"})
    assert "Read timed out" in str(info.value)
    (created,) = model.refunds_of(pi_id)
    retried = client.v1.refunds.create(params=params, options={"idempotency_key": "kanorio-rf_1"})
    assert retried.id == created["id"]
    assert len(model.refunds_of(pi_id)) == 1
    assert [r.outcome for r in transport_of(client).requests] == ["timeout", "200"]


# ---------------------------------------------------------------- only Stripe's API gets through


def test_request_options_smuggled_into_params_are_caught(model: FakeStripe) -> None:
    """``RefundCreateParams`` inherits ``RequestOptions``, so this type-checks, but the SDK
    sends ``idempotency_key`` as a form field and no Idempotency-Key header."""
    pi_id = _payment(model)
    client = make_client(model)
    bad: Any = {**_refund_params(pi_id), "idempotency_key": "k"}
    with pytest.raises(AssertionError, match="idempotency_key"):
        client.v1.refunds.create(params=bad)
    transport = transport_of(client)
    assert transport.requests[0].outcome == "rejected_by_schema"
    with pytest.raises(AssertionError, match="off-spec Stripe traffic"):
        transport.assert_no_violations()
    assert model.requests == []


def test_invalid_enum_never_reaches_the_model(model: FakeStripe) -> None:
    """N4: OTHER has no Stripe reason; sending ``reason=other`` would be a 400 at Stripe."""
    client = make_client(model)
    with pytest.raises(AssertionError, match="'other' is not one of"):
        client.v1.refunds.create(params={"payment_intent": _payment(model), "reason": "other"})


def test_endpoints_outside_the_subset_are_refused(model: FakeStripe) -> None:
    client = make_client(model)
    with pytest.raises(AssertionError, match="not an operation of the Stripe subset"):
        client.v1.customers.retrieve("cus_1")
    with pytest.raises(AssertionError, match="not an operation of the Stripe subset"):
        client.v1.refunds.cancel("re_1")


def test_valid_but_unmodelled_parameters_say_so(model: FakeStripe) -> None:
    client = make_client(model)
    with pytest.raises(NotImplementedError, match="created"):
        client.v1.refunds.list(params={"created": {"gte": 1}})
    assert transport_of(client).requests[0].params == {"created": {"gte": 1}}
    assert transport_of(client).requests[0].outcome == "not_modelled"


def test_off_spec_model_answers_are_caught(model: FakeStripe) -> None:
    class SloppyStripe(FakeStripe):
        def retrieve_refund(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            refund = super().retrieve_refund(*args, **kwargs)
            refund["destination_details"] = {}  # not in API 2023-08-16
            return refund

    sloppy = SloppyStripe()
    pi_id = _payment(sloppy)
    client = make_client(sloppy)
    refund = client.v1.refunds.create(params=_refund_params(pi_id))
    with pytest.raises(AssertionError, match="unknown key 'destination_details'"):
        client.v1.refunds.retrieve(refund.id)
    assert make_client(sloppy, validate_responses=False).v1.refunds.retrieve(refund.id)


# ---------------------------------------------------------------- webhooks (P1)


def test_model_events_have_stripes_shape_and_verify_with_the_sdk(model: FakeStripe) -> None:
    """P1: Stripe's signature over the raw body, several v1 signatures during rotation."""
    pi_id = _payment(model)
    make_client(model).v1.refunds.create(params=_refund_params(pi_id))
    events = model.events()
    assert [e["type"] for e in events] == ["refund.created", "charge.refunded"]
    for event in events:
        validate_object(event, "event")
    payload = json.dumps(events[0])
    now = int(time.time())
    old_sig = stripe.WebhookSignature.generate_signature_header(payload, "whsec_old", now)
    new_sig = stripe.WebhookSignature.generate_signature_header(payload, "whsec_new", now)
    header = f"t={now},v1={old_sig.split('v1=')[1]},v1={new_sig.split('v1=')[1]}"
    assert stripe.WebhookSignature.verify_header(payload, header, "whsec_new", 300) is True
    event = stripe.Webhook.construct_event(payload.encode(), header, "whsec_old")
    assert isinstance(event, stripe.Event)
    assert isinstance(event.data.object, stripe.Refund)
    stale = stripe.WebhookSignature.generate_signature_header(payload, "whsec_new", now - 301)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.WebhookSignature.verify_header(payload, stale, "whsec_new", 300)
    assert stripe.WebhookSignature.verify_header(payload, stale, "whsec_new", None) is True
