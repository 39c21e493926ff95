"""Tests of ``FakeStripe``, the in-memory model of Stripe's API (2023-08-16) both adapters use."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from typing import Any

import attrs
import pytest

from kanorio_refunds.adapters import _stripe_json as stripe_objects
from kanorio_refunds.testing.fake_stripe import (
    API_VERSION,
    FakeStripe,
    Fault,
    StripeApiError,
    StripeConnectionFault,
    StripeTimeoutFault,
)
from kanorio_refunds.testing.fake_stripe._model import (
    DISPUTE_STATUSES,
    DISPUTE_STATUSES_BLOCKING_REFUNDS,
)


@pytest.fixture
def fake() -> FakeStripe:
    return FakeStripe()


def pay(fake: FakeStripe, amount: int = 10_000, **kwargs: Any) -> str:
    """A succeeded USD payment (unless overridden); returns the PaymentIntent id."""
    kwargs.setdefault("stripe_fee", 320)
    currency = kwargs.pop("currency", "usd")
    pi: dict[str, Any] = fake.create_payment(amount, currency, **kwargs)
    return str(pi["id"])


def api_error(fake: FakeStripe, params: dict[str, Any], **kwargs: Any) -> StripeApiError:
    with pytest.raises(StripeApiError) as info:
        fake.create_refund(params, **kwargs)
    return info.value


def txn_of(fake: FakeStripe, pi_id: str) -> dict[str, Any]:
    pi = fake.retrieve_payment_intent(pi_id, expand=["latest_charge.balance_transaction"])
    txn: dict[str, Any] = pi["latest_charge"]["balance_transaction"]
    return txn


# ------------------------------------------------------------------------------- payments


def test_same_currency_payment_shapes(fake: FakeStripe) -> None:
    """B1: fees come from the charge's balance transaction; net = amount - fee."""
    pi = fake.create_payment(10_000, "USD", stripe_fee=320, metadata={"order": "o1"})
    assert pi["object"] == "payment_intent"
    assert pi["status"] == "succeeded"
    assert (pi["amount"], pi["amount_received"], pi["currency"]) == (10_000, 10_000, "usd")
    assert pi["metadata"] == {"order": "o1"}
    assert pi["application_fee_amount"] is None
    charge = fake.retrieve_charge(pi["latest_charge"])
    assert charge == fake.charge_of(pi["id"])
    assert charge["payment_intent"] == pi["id"]
    assert (charge["amount_captured"], charge["amount_refunded"]) == (10_000, 0)
    assert charge["captured"]
    assert charge["paid"]
    assert not charge["refunded"]
    assert charge["disputed"] is False
    assert "refunds" not in charge  # not included by default since API 2022-11-15
    txn = fake.retrieve_balance_transaction(charge["balance_transaction"])
    assert txn["type"] == "charge"
    assert txn["source"] == charge["id"]
    assert (txn["amount"], txn["currency"], txn["exchange_rate"]) == (10_000, "usd", None)
    assert (txn["fee"], txn["net"]) == (320, 9_680)
    assert [(f["type"], f["amount"], f["currency"]) for f in txn["fee_details"]] == [
        ("stripe_fee", 320, "usd")
    ]


def test_application_fee_is_a_second_fee_detail(fake: FakeStripe) -> None:
    """B1: platform (application) fees are listed apart from Stripe's fee."""
    pi_id = pay(fake, 10_000, stripe_fee=320, application_fee=500)
    txn = txn_of(fake, pi_id)
    assert [(f["type"], f["amount"]) for f in txn["fee_details"]] == [
        ("stripe_fee", 320),
        ("application_fee", 500),
    ]
    assert (txn["fee"], txn["net"]) == (820, 9_180)
    assert fake.charge_of(pi_id)["application_fee_amount"] == 500


def test_cross_currency_payment_rounds_half_even(fake: FakeStripe) -> None:
    """B3, M5: 10.00 EUR at 1.0865 is 10.865 USD, rounded half-even to 10.86 (not 10.87)."""
    pi_id = pay(
        fake,
        1_000,
        currency="eur",
        stripe_fee=61,
        settlement_currency="usd",
        exchange_rate=Decimal("1.0865"),
    )
    assert fake.charge_of(pi_id)["currency"] == "eur"
    txn = txn_of(fake, pi_id)
    assert (txn["amount"], txn["currency"]) == (1_086, "usd")
    assert Decimal(str(txn["exchange_rate"])) == Decimal("1.0865")
    assert (txn["fee"], txn["net"]) == (61, 1_025)


def test_zero_decimal_settlement_currency(fake: FakeStripe) -> None:
    """B3, M3: JPY has no decimals at Stripe: 10.00 USD at 150.25 is 1502.5 JPY -> 1502."""
    pi_id = pay(
        fake,
        1_000,
        stripe_fee=55,
        application_fee=150,
        settlement_currency="jpy",
        exchange_rate=Decimal("150.25"),
    )
    txn = txn_of(fake, pi_id)
    assert (txn["amount"], txn["currency"], txn["fee"], txn["net"]) == (1_502, "jpy", 205, 1_297)
    # 150 JPY back in USD: 150 / 150.25 = 0.99834 USD -> 100 cents.
    assert fake.charge_of(pi_id)["application_fee_amount"] == 100


def test_zero_decimal_presentment_and_three_decimal_settlement(fake: FakeStripe) -> None:
    """M3: 1000 JPY at 0.0067 is 6.70 USD; 10.00 USD at 0.30755 KWD is 3.0755 -> 3.076 KWD."""
    jpy = pay(
        fake,
        1_000,
        currency="jpy",
        stripe_fee=30,
        settlement_currency="usd",
        exchange_rate=Decimal("0.0067"),
    )
    assert txn_of(fake, jpy)["amount"] == 670
    kwd = pay(
        fake, 1_000, stripe_fee=100, settlement_currency="kwd", exchange_rate=Decimal("0.30755")
    )
    assert (txn_of(fake, kwd)["amount"], txn_of(fake, kwd)["currency"]) == (3_076, "kwd")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"amount": 0},
        {"amount": 10.0},
        {"stripe_fee": -1},
        {"settlement_currency": "usd", "exchange_rate": Decimal("1.1")},
        {"settlement_currency": "eur"},
        {"settlement_currency": "eur", "exchange_rate": Decimal("0")},
        {"stripe_fee": 20_000},
    ],
)
def test_create_payment_refuses_nonsense(fake: FakeStripe, kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {"amount": 10_000, "currency": "usd", "stripe_fee": 320, **kwargs}
    with pytest.raises((ValueError, TypeError)):
        fake.create_payment(**args)


# ------------------------------------------------------------------------------- refunds


def test_refund_updates_charge_and_books_a_refund_transaction(fake: FakeStripe) -> None:
    pi_id = pay(fake)
    refund = fake.create_refund(
        {
            "payment_intent": pi_id,
            "amount": 2_500,
            "reason": "requested_by_customer",
            "metadata": {"order_id": "o1", "blank": ""},
        }
    )
    assert refund["object"] == "refund"
    assert refund["status"] == "succeeded"
    assert (refund["amount"], refund["currency"], refund["reason"]) == (
        2_500,
        "usd",
        "requested_by_customer",
    )
    assert refund["payment_intent"] == pi_id
    assert refund["metadata"] == {"order_id": "o1"}  # an empty value unsets the key
    assert "failure_reason" not in refund
    charge = fake.charge_of(pi_id)
    assert refund["charge"] == charge["id"]
    assert (charge["amount_refunded"], charge["refunded"]) == (2_500, False)
    txn = fake.retrieve_balance_transaction(refund["balance_transaction"])
    assert (txn["type"], txn["amount"], txn["net"], txn["source"]) == (
        "refund",
        -2_500,
        -2_500,
        refund["id"],
    )
    assert fake.retrieve_refund(refund["id"]) == refund
    assert fake.refunds_of(pi_id) == [refund]


def test_refund_by_charge_id_and_default_amount_is_the_remaining_amount(fake: FakeStripe) -> None:
    """A5: without an amount Stripe refunds everything that remains."""
    pi_id = pay(fake)
    charge_id = fake.charge_of(pi_id)["id"]
    fake.create_refund({"charge": charge_id, "amount": 4_000})
    rest = fake.create_refund({"charge": charge_id})
    assert rest["amount"] == 6_000
    assert rest["payment_intent"] == pi_id
    charge = fake.charge_of(pi_id)
    assert (charge["amount_refunded"], charge["refunded"]) == (10_000, True)


def test_form_encoded_params_are_accepted(fake: FakeStripe) -> None:
    """The fake HTTP backend passes what the SDK form-encodes: ints and bools as strings."""
    pi_id = pay(fake)
    refund = fake.create_refund(
        {"payment_intent": pi_id, "amount": "700", "refund_application_fee": "true"}
    )
    assert refund["amount"] == 700


def test_over_refund_is_amount_too_large(fake: FakeStripe) -> None:
    """A3 at Stripe: B2's cap is Stripe's captured - amount_refunded."""
    pi_id = pay(fake)
    fake.create_refund({"payment_intent": pi_id, "amount": 9_000})
    err = api_error(fake, {"payment_intent": pi_id, "amount": 1_001})
    assert (err.http_status, err.type, err.code, err.param) == (
        400,
        "invalid_request_error",
        "amount_too_large",
        "amount",
    )
    assert "10.01 USD" in err.message
    assert "10.00 USD" in err.message
    assert fake.charge_of(pi_id)["amount_refunded"] == 9_000


def test_fully_refunded_is_charge_already_refunded(fake: FakeStripe) -> None:
    pi_id = pay(fake)
    fake.create_refund({"payment_intent": pi_id})
    err = api_error(fake, {"payment_intent": pi_id, "amount": 1})
    assert (err.http_status, err.code) == (400, "charge_already_refunded")
    assert len(fake.refunds_of(pi_id)) == 1


def test_pending_refunds_count_in_amount_refunded(fake: FakeStripe) -> None:
    """B1/B2: pending and requires_action refunds reserve their amount at Stripe too."""
    fake.default_refund_status = "pending"
    pi_id = pay(fake)
    assert fake.create_refund({"payment_intent": pi_id, "amount": 6_000})["status"] == "pending"
    fake.default_refund_status = "requires_action"
    assert fake.create_refund({"payment_intent": pi_id, "amount": 3_000})["status"] == (
        "requires_action"
    )
    assert api_error(fake, {"payment_intent": pi_id, "amount": 1_001}).code == "amount_too_large"
    with pytest.raises(ValueError, match="status"):
        fake.default_refund_status = "failed"


@pytest.mark.parametrize(
    ("params", "status", "code", "param"),
    [
        ({}, 400, "parameter_missing", None),
        ({"amount": 100}, 400, "parameter_missing", None),
        ({"payment_intent": "pi_nope"}, 404, "resource_missing", "payment_intent"),
        ({"charge": "ch_nope"}, 404, "resource_missing", "charge"),
        ({"PI": True, "amount": 0}, 400, "parameter_invalid_integer", "amount"),
        ({"PI": True, "amount": -5}, 400, "parameter_invalid_integer", "amount"),
        ({"PI": True, "amount": 1.5}, 400, "parameter_invalid_integer", "amount"),
        ({"PI": True, "amount": "12.5"}, 400, "parameter_invalid_integer", "amount"),
        ({"PI": True, "amount": True}, 400, "parameter_invalid_integer", "amount"),
        ({"PI": True, "reason": "other"}, 400, None, "reason"),
        ({"PI": True, "metadata": {f"k{i}": "v" for i in range(51)}}, 400, None, "metadata"),
        ({"PI": True, "metadata": {"k" * 41: "v"}}, 400, None, "metadata"),
        ({"PI": True, "metadata": {"k": "v" * 501}}, 400, None, "metadata[k]"),
        ({"PI": True, "metadata": {"k": 5}}, 400, None, "metadata[k]"),
        ({"PI": True, "reverse_transfer": "maybe"}, 400, None, "reverse_transfer"),
        ({"PI": True, "currency": "usd"}, 400, "parameter_unknown", "currency"),
    ],
)
def test_stripe_validation_errors(
    fake: FakeStripe, params: dict[str, Any], status: int, code: str | None, param: str | None
) -> None:
    pi_id = pay(fake)
    if params.pop("PI", False):
        params["payment_intent"] = pi_id
    err = api_error(fake, params)
    assert (err.http_status, err.type, err.code, err.param) == (
        status,
        "invalid_request_error",
        code,
        param,
    )
    assert fake.refunds_of(pi_id) == []
    assert fake.events() == []


def test_metadata_at_the_limits_is_accepted(fake: FakeStripe) -> None:
    pi_id = pay(fake)
    metadata = {f"{i:040d}": "v" * 500 for i in range(50)}
    assert fake.create_refund({"payment_intent": pi_id, "metadata": metadata})["metadata"] == (
        metadata
    )


def test_charge_not_of_that_payment_intent_is_refused(fake: FakeStripe) -> None:
    pi_a, pi_b = pay(fake), pay(fake)
    err = api_error(fake, {"payment_intent": pi_a, "charge": fake.charge_of(pi_b)["id"]})
    assert (err.http_status, err.param) == (400, "charge")
    ok = fake.create_refund({"payment_intent": pi_a, "charge": fake.charge_of(pi_a)["id"]})
    assert ok["payment_intent"] == pi_a


# ------------------------------------------------------------------------------- disputes


def test_dispute_blocks_refunds_until_won(fake: FakeStripe) -> None:
    """E5: Stripe refuses refunds on a charge under an open dispute (charge_disputed)."""
    pi_id = pay(fake)
    mark = len(fake.events())
    dispute = fake.open_dispute(pi_id)
    assert dispute["object"] == "dispute"
    assert (dispute["status"], dispute["payment_intent"]) == ("needs_response", pi_id)
    assert fake.charge_of(pi_id)["disputed"] is True
    err = api_error(fake, {"payment_intent": pi_id, "amount": 100})
    assert (err.http_status, err.code) == (400, "charge_disputed")
    closed = fake.close_dispute(pi_id, "won")
    assert closed["status"] == "won"
    assert fake.charge_of(pi_id)["disputed"] is True  # Stripe keeps the flag
    assert fake.create_refund({"payment_intent": pi_id, "amount": 100})["amount"] == 100
    types = [e["type"] for e in fake.events_since(mark)]
    assert types == [
        "charge.dispute.created",
        "charge.dispute.closed",
        "refund.created",
        "charge.refunded",
    ]
    assert fake.events_since(mark)[1]["data"]["previous_attributes"] == {"status": "needs_response"}


def test_lost_dispute_keeps_refunds_blocked(fake: FakeStripe) -> None:
    pi_id = pay(fake)
    fake.open_dispute(pi_id)
    with pytest.raises(ValueError, match="already"):
        fake.open_dispute(pi_id)
    fake.close_dispute(pi_id, "lost")
    assert fake.dispute_of(pi_id) is not None
    assert api_error(fake, {"payment_intent": pi_id}).code == "charge_disputed"
    with pytest.raises(ValueError, match="closed"):
        fake.close_dispute(pi_id, "won")
    with pytest.raises(ValueError, match="won"):
        fake.close_dispute(pay(fake), "withdrawn")
    with pytest.raises(ValueError, match="no dispute"):
        fake.close_dispute(pay(fake), "won")


def test_inquiries_block_refunds_until_warning_closed(fake: FakeStripe) -> None:
    """E5: an inquiry (warning_*) blocks refunds like a chargeback while open, also under
    review; it closes as warning_closed (not won/lost), after which refunds work again."""
    pi_id = pay(fake)
    mark = len(fake.events())
    assert fake.open_dispute(pi_id, inquiry=True)["status"] == "warning_needs_response"
    assert api_error(fake, {"payment_intent": pi_id}).code == "charge_disputed"
    updated = fake.update_dispute(pi_id)
    assert updated["status"] == "warning_under_review"
    assert updated["evidence_details"]["submission_count"] == 1
    assert api_error(fake, {"payment_intent": pi_id}).code == "charge_disputed"
    with pytest.raises(ValueError, match="an inquiry cannot close as 'won'"):
        fake.close_dispute(pi_id, "won")
    with pytest.raises(ValueError, match="already warning_under_review"):
        fake.update_dispute(pi_id)
    assert fake.close_dispute(pi_id, "warning_closed")["status"] == "warning_closed"
    assert fake.charge_of(pi_id)["disputed"] is True
    assert fake.create_refund({"payment_intent": pi_id, "amount": 100})["status"] == "succeeded"
    assert [e["type"] for e in fake.events_since(mark)][:3] == [
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
    ]
    assert fake.events_since(mark)[1]["data"]["previous_attributes"] == {
        "status": "warning_needs_response"
    }


def test_chargeback_under_review_still_blocks_and_cannot_close_as_an_inquiry(
    fake: FakeStripe,
) -> None:
    pi_id = pay(fake)
    fake.open_dispute(pi_id)
    assert fake.update_dispute(pi_id)["status"] == "under_review"
    assert api_error(fake, {"payment_intent": pi_id}).code == "charge_disputed"
    with pytest.raises(ValueError, match="a chargeback cannot close as 'warning_closed'"):
        fake.close_dispute(pi_id, "warning_closed")
    fake.close_dispute(pi_id, "won")
    with pytest.raises(ValueError, match="closed"):
        fake.update_dispute(pi_id)
    with pytest.raises(ValueError, match="no dispute"):
        fake.update_dispute(pay(fake))


@pytest.mark.parametrize(
    ("steps", "blocked"),
    [
        ((), True),
        (("update",), True),
        (("won",), False),
        (("update", "lost"), True),
        (("inquiry",), True),
        (("inquiry", "update"), True),
        (("inquiry", "warning_closed"), False),
    ],
)
def test_refunds_are_blocked_exactly_in_the_blocking_statuses(
    fake: FakeStripe, steps: tuple[str, ...], blocked: bool
) -> None:
    """The model's rule is the readers' rule (stripe_objects), status by status."""
    pi_id = pay(fake)
    fake.open_dispute(pi_id, inquiry="inquiry" in steps)
    for step in steps:
        if step == "update":
            fake.update_dispute(pi_id)
        elif step != "inquiry":
            fake.close_dispute(pi_id, step)
    dispute = fake.dispute_of(pi_id)
    assert dispute is not None
    assert (dispute["status"] in DISPUTE_STATUSES_BLOCKING_REFUNDS) is blocked
    if blocked:
        assert api_error(fake, {"payment_intent": pi_id}).code == "charge_disputed"
    else:
        assert fake.create_refund({"payment_intent": pi_id})["amount"] == 10_000


def test_the_model_and_the_readers_share_one_dispute_rule() -> None:
    assert DISPUTE_STATUSES_BLOCKING_REFUNDS == stripe_objects.DISPUTE_STATUSES_BLOCKING_REFUNDS
    assert DISPUTE_STATUSES == stripe_objects.DISPUTE_STATUSES
    reopening = DISPUTE_STATUSES - DISPUTE_STATUSES_BLOCKING_REFUNDS
    assert reopening == {"won", "warning_closed"}


def test_list_disputes_filters_pages_and_expands(fake: FakeStripe) -> None:
    """GET /v1/disputes: newest first, by charge or PaymentIntent, cursor pagination both ways,
    ``data.`` expansions; a list object like Stripe's."""
    payments = [pay(fake) for _ in range(5)]
    assert fake.list_disputes() == {
        "object": "list",
        "data": [],
        "has_more": False,
        "url": "/v1/disputes",
    }
    for i, pi_id in enumerate(payments):
        fake.open_dispute(pi_id, inquiry=i % 2 == 1)
    ids = [fake.dispute_of(pi)["id"] for pi in reversed(payments)]  # type: ignore[index]

    everything = fake.list_disputes(limit=100)
    assert [d["id"] for d in everything["data"]] == ids
    assert everything["has_more"] is False
    first = fake.list_disputes(limit=2)
    assert ([d["id"] for d in first["data"]], first["has_more"]) == (ids[:2], True)
    second = fake.list_disputes(limit=2, starting_after=ids[1])
    assert [d["id"] for d in second["data"]] == ids[2:4]
    last = fake.list_disputes(limit=2, starting_after=ids[3])
    assert ([d["id"] for d in last["data"]], last["has_more"]) == (ids[4:], False)
    back = fake.list_disputes(limit=2, ending_before=ids[4])
    assert ([d["id"] for d in back["data"]], back["has_more"]) == (ids[2:4], True)

    charge_id = fake.charge_of(payments[2])["id"]
    by_charge = fake.list_disputes(charge=charge_id, expand=["data.charge"])
    (dispute,) = by_charge["data"]
    assert dispute["charge"]["id"] == charge_id
    assert dispute["charge"]["disputed"] is True
    by_intent = fake.list_disputes(payment_intent=payments[3], expand=["data.payment_intent"])
    assert by_intent["data"][0]["payment_intent"]["id"] == payments[3]
    assert by_intent["data"][0]["status"] == "warning_needs_response"
    assert fake.list_disputes(charge=fake.charge_of(pay(fake))["id"])["data"] == []
    assert [r.operation for r in fake.requests].count("list_disputes") == 9


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"limit": 0}, 400, "parameter_invalid_integer"),
        ({"limit": 101}, 400, "parameter_invalid_integer"),
        ({"starting_after": "dp_nope"}, 404, "resource_missing"),
        ({"charge": "ch_nope"}, 404, "resource_missing"),
        ({"payment_intent": "pi_nope"}, 404, "resource_missing"),
        ({"starting_after": "X", "ending_before": "X"}, 400, "parameters_exclusive"),
        ({"expand": ["charge"]}, 400, None),
    ],
)
def test_list_disputes_errors(
    fake: FakeStripe, kwargs: dict[str, Any], status: int, code: str | None
) -> None:
    fake.open_dispute(pay(fake))
    with pytest.raises(StripeApiError) as info:
        fake.list_disputes(**kwargs)
    assert (info.value.http_status, info.value.code) == (status, code)


def test_list_disputes_is_faultable(fake: FakeStripe) -> None:
    pi_id = pay(fake)
    fake.open_dispute(pi_id)
    fake.inject_fault(Fault.CONNECTION_ERROR, operation="list_disputes")
    fake.inject_fault(Fault.TIMEOUT_AFTER_CREATE, operation="list_disputes")
    with pytest.raises(StripeConnectionFault):
        fake.list_disputes()
    with pytest.raises(StripeTimeoutFault) as info:
        fake.list_disputes()
    assert info.value.result is not None
    assert len(info.value.result["data"]) == 1
    assert fake.pending_faults("list_disputes") == 0
    assert len(fake.list_disputes()["data"]) == 1


# ------------------------------------------------------------------------------- idempotency


def test_idempotent_replay_returns_the_first_refund_and_emits_nothing(fake: FakeStripe) -> None:
    """L2: retrying with the same key never makes a second refund."""
    pi_id = pay(fake)
    params = {"payment_intent": pi_id, "amount": 500, "metadata": {"refund_id": "r1"}}
    first = fake.create_refund(params, idempotency_key="key-1")
    mark = len(fake.events())
    again = fake.create_refund(
        {"payment_intent": pi_id, "amount": "500", "metadata": {"refund_id": "r1"}},
        idempotency_key="key-1",
    )
    assert again == first
    assert fake.events_since(mark) == []
    assert len(fake.refunds_of(pi_id)) == 1
    assert fake.charge_of(pi_id)["amount_refunded"] == 500
    assert [r.idempotent_replayed for r in fake.requests[-2:]] == [False, True]
    assert fake.last_request() == fake.requests[-1]


def test_replay_returns_the_original_response_not_the_current_state(fake: FakeStripe) -> None:
    fake.default_refund_status = "pending"
    pi_id = pay(fake)
    first = fake.create_refund({"payment_intent": pi_id}, idempotency_key="k")
    fake.set_refund_status(first["id"], "succeeded")
    assert fake.create_refund({"payment_intent": pi_id}, idempotency_key="k")["status"] == (
        "pending"
    )


def test_same_key_other_params_is_an_idempotency_error(fake: FakeStripe) -> None:
    pi_id = pay(fake)
    fake.create_refund({"payment_intent": pi_id, "amount": 500}, idempotency_key="key-1")
    err = api_error(fake, {"payment_intent": pi_id, "amount": 600}, idempotency_key="key-1")
    assert (err.http_status, err.type, err.code) == (400, "idempotency_error", None)
    assert "key-1" in err.message
    assert len(fake.refunds_of(pi_id)) == 1
    # Keys are scoped by account: the same key on a connected account is a new request.
    other = fake.create_refund(
        {"payment_intent": pi_id, "amount": 600}, idempotency_key="key-1", stripe_account="acct_1"
    )
    assert other["amount"] == 600


def test_validation_errors_are_not_stored_for_the_key(fake: FakeStripe) -> None:
    """Stripe saves a result only once the endpoint began executing."""
    pi_id = pay(fake)
    assert api_error(fake, {"payment_intent": pi_id, "amount": 0}, idempotency_key="k").code == (
        "parameter_invalid_integer"
    )
    assert api_error(fake, {"payment_intent": "pi_nope"}, idempotency_key="k").http_status == 404
    assert (
        fake.create_refund({"payment_intent": pi_id, "amount": 5}, idempotency_key="k")["amount"]
        == 5
    )


def test_errors_raised_while_executing_are_replayed(fake: FakeStripe) -> None:
    pi_id = pay(fake)
    params = {"payment_intent": pi_id, "amount": 20_000}
    assert api_error(fake, params, idempotency_key="k").code == "amount_too_large"
    replayed = api_error(fake, params, idempotency_key="k")
    assert replayed.code == "amount_too_large"
    assert fake.requests[-1].idempotent_replayed is True
    assert api_error(fake, {"payment_intent": pi_id}, idempotency_key="k").type == (
        "idempotency_error"
    )


# ------------------------------------------------------------------------------- async life


LEGAL = [
    ("pending", "succeeded"),
    ("pending", "failed"),
    ("pending", "canceled"),
    ("pending", "requires_action"),
    ("requires_action", "pending"),
    ("requires_action", "succeeded"),
    ("requires_action", "failed"),
    ("requires_action", "canceled"),
    ("succeeded", "failed"),
    ("succeeded", "requires_action"),
]
ALL = ["pending", "requires_action", "succeeded", "failed", "canceled"]


def refund_in(fake: FakeStripe, pi_id: str, status: str) -> str:
    """A 1000-unit refund brought to ``status`` through legal steps."""
    fake.default_refund_status = "pending"
    refund_id = str(fake.create_refund({"payment_intent": pi_id, "amount": 1_000})["id"])
    if status != "pending":
        fake.set_refund_status(refund_id, status)
    return refund_id


@pytest.mark.parametrize(("old", "new"), LEGAL)
def test_legal_refund_transitions(fake: FakeStripe, old: str, new: str) -> None:
    """S3: Stripe's refund transitions; failed/canceled give the amount back."""
    pi_id = pay(fake)
    refund_id = refund_in(fake, pi_id, old)
    mark = len(fake.events())
    refund = fake.set_refund_status(refund_id, new)
    assert refund["status"] == new
    released = new in ("failed", "canceled")
    charge = fake.charge_of(pi_id)
    assert charge["amount_refunded"] == (0 if released else 1_000)
    assert charge["refunded"] is False
    events = fake.events_since(mark)
    expected = ["refund.updated", "charge.refund.updated"]
    assert (
        [e["type"] for e in events] == [*expected, "refund.failed"]
        if new == "failed"
        else (expected)
    )
    assert events[0]["data"]["previous_attributes"] == {"status": old}
    assert events[0]["data"]["object"] == refund
    assert events[0]["request"] == {"id": None, "idempotency_key": None}
    if new == "failed":
        assert refund["failure_reason"] == "unknown"
    if released:
        txn = fake.retrieve_balance_transaction(refund["failure_balance_transaction"])
        assert (txn["type"], txn["amount"]) == ("refund_failure", 1_000)


@pytest.mark.parametrize(
    ("old", "new"),
    [(o, n) for o in ALL for n in ALL if (o, n) not in LEGAL],
)
def test_illegal_refund_transitions(fake: FakeStripe, old: str, new: str) -> None:
    """S3: failed and canceled are final; nothing moves backwards to pending from succeeded."""
    pi_id = pay(fake)
    refund_id = refund_in(fake, pi_id, old)
    before = (fake.retrieve_refund(refund_id), fake.charge_of(pi_id), len(fake.events()))
    with pytest.raises(ValueError, match="illegal"):
        fake.set_refund_status(refund_id, new)
    assert (fake.retrieve_refund(refund_id), fake.charge_of(pi_id), len(fake.events())) == before


def test_late_failure_releases_the_amount_for_a_new_refund(fake: FakeStripe) -> None:
    """L3/B1: a failed refund reserves nothing, so the amount can be refunded again."""
    pi_id = pay(fake)
    refund = fake.create_refund({"payment_intent": pi_id})
    assert fake.charge_of(pi_id)["refunded"] is True
    failed = fake.set_refund_status(
        refund["id"], "failed", failure_reason="expired_or_canceled_card"
    )
    assert failed["failure_reason"] == "expired_or_canceled_card"
    charge = fake.charge_of(pi_id)
    assert (charge["amount_refunded"], charge["refunded"]) == (0, False)
    assert fake.events()[-1]["type"] == "refund.failed"
    assert fake.create_refund({"payment_intent": pi_id})["amount"] == 10_000


def test_set_refund_status_argument_checks(fake: FakeStripe) -> None:
    pi_id = pay(fake)
    refund_id = refund_in(fake, pi_id, "pending")
    with pytest.raises(ValueError, match="unknown refund status"):
        fake.set_refund_status(refund_id, "done")
    with pytest.raises(ValueError, match="failure_reason must be one of"):
        fake.set_refund_status(refund_id, "failed", failure_reason="bad_luck")
    with pytest.raises(ValueError, match="only goes with"):
        fake.set_refund_status(refund_id, "succeeded", failure_reason="declined")
    with pytest.raises(KeyError):
        fake.set_refund_status("re_nope", "succeeded")
    canceled = fake.set_refund_status(refund_id, "canceled", failure_reason="merchant_request")
    assert canceled["failure_reason"] == "merchant_request"


# ------------------------------------------------------------------------------- listing


def test_list_pagination_over_150_refunds_in_both_directions(fake: FakeStripe) -> None:
    pi_id = pay(fake, 1_000_000)
    created = [fake.create_refund({"payment_intent": pi_id, "amount": 1})["id"] for _ in range(150)]
    newest_first = created[::-1]

    first = fake.list_refunds(payment_intent=pi_id, limit=100)
    assert (first["object"], first["url"], first["has_more"]) == ("list", "/v1/refunds", True)
    second = fake.list_refunds(
        payment_intent=pi_id, limit=100, starting_after=first["data"][-1]["id"]
    )
    assert second["has_more"] is False
    assert [r["id"] for r in first["data"] + second["data"]] == newest_first

    # Backwards from the oldest: each page holds the refunds just newer than the cursor.
    back1 = fake.list_refunds(limit=100, ending_before=created[0])
    assert [r["id"] for r in back1["data"]] == newest_first[49:149]
    assert back1["has_more"] is True
    back2 = fake.list_refunds(limit=100, ending_before=back1["data"][0]["id"])
    assert [r["id"] for r in back2["data"]] == newest_first[:49]
    assert back2["has_more"] is False

    # Pages ending exactly at the last refund say there is no more.
    last = fake.list_refunds(limit=50, starting_after=newest_first[99])
    assert ([r["id"] for r in last["data"]], last["has_more"]) == (newest_first[100:], False)
    assert fake.list_refunds(limit=100, ending_before=newest_first[100])["has_more"] is False
    assert [r["id"] for r in fake.list_refunds()["data"]] == newest_first[:10]
    assert fake.list_refunds(limit=1, starting_after=created[0]) == {
        "object": "list",
        "data": [],
        "has_more": False,
        "url": "/v1/refunds",
    }


def test_list_filters_and_expansion(fake: FakeStripe) -> None:
    pi_a, pi_b = pay(fake), pay(fake)
    ra = fake.create_refund({"payment_intent": pi_a, "amount": 1})
    rb = fake.create_refund({"payment_intent": pi_b, "amount": 2})
    assert [r["id"] for r in fake.list_refunds(payment_intent=pi_a)["data"]] == [ra["id"]]
    charge_b = fake.charge_of(pi_b)["id"]
    assert [r["id"] for r in fake.list_refunds(charge=charge_b)["data"]] == [rb["id"]]
    assert fake.list_refunds(charge=charge_b, payment_intent=pi_a)["data"] == []
    expanded = fake.list_refunds(payment_intent=pi_a, expand=["data.balance_transaction"])
    assert expanded["data"][0]["balance_transaction"]["type"] == "refund"


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"limit": 0}, 400, "parameter_invalid_integer"),
        ({"limit": 101}, 400, "parameter_invalid_integer"),
        ({"starting_after": "re_nope"}, 404, "resource_missing"),
        ({"payment_intent": "pi_nope"}, 404, "resource_missing"),
        ({"starting_after": "X", "ending_before": "X"}, 400, "parameters_exclusive"),
        ({"expand": ["charge"]}, 400, None),
    ],
)
def test_list_errors(fake: FakeStripe, kwargs: dict[str, Any], status: int, code: str) -> None:
    pay(fake)
    with pytest.raises(StripeApiError) as info:
        fake.list_refunds(**kwargs)
    assert (info.value.http_status, info.value.code) == (status, code)


def test_retrieve_expansions_and_errors(fake: FakeStripe) -> None:
    pi_id = pay(fake)
    pi = fake.retrieve_payment_intent(pi_id, expand=["latest_charge"])
    assert pi["latest_charge"]["object"] == "charge"
    assert isinstance(pi["latest_charge"]["balance_transaction"], str)
    charge = fake.retrieve_charge(pi["latest_charge"]["id"], expand=["balance_transaction"])
    assert charge["balance_transaction"]["object"] == "balance_transaction"
    with pytest.raises(StripeApiError) as info:
        fake.retrieve_payment_intent(pi_id, expand=["customer"])
    assert (info.value.http_status, info.value.param) == (400, "expand")
    for call, bad in [
        (fake.retrieve_payment_intent, charge["id"]),
        (fake.retrieve_charge, pi_id),
        (fake.retrieve_refund, "re_nope"),
        (fake.retrieve_balance_transaction, "txn_nope"),
    ]:
        with pytest.raises(StripeApiError) as info:
            call(bad)
        assert (info.value.http_status, info.value.code) == (404, "resource_missing")
        assert f"'{bad}'" in info.value.message


# ------------------------------------------------------------------------------- faults


def test_connection_error_does_nothing(fake: FakeStripe) -> None:
    """L2: the caller cannot know; here nothing happened at Stripe."""
    pi_id = pay(fake)
    fake.inject_fault(Fault.CONNECTION_ERROR)
    with pytest.raises(StripeConnectionFault) as info:
        fake.create_refund({"payment_intent": pi_id}, idempotency_key="k")
    assert info.value.request_id.startswith("req_")
    assert fake.refunds_of(pi_id) == []
    assert fake.events() == []
    record = fake.requests[-1]
    assert (record.fault, record.http_status) == (Fault.CONNECTION_ERROR, None)
    assert fake.create_refund({"payment_intent": pi_id}, idempotency_key="k")["amount"] == 10_000


def test_timeout_after_create_creates_the_refund_and_a_retry_replays_it(fake: FakeStripe) -> None:
    """L2: the refund exists at Stripe although the caller saw a timeout; the same key finds it."""
    pi_id = pay(fake)
    fake.inject_fault(Fault.TIMEOUT_AFTER_CREATE)
    with pytest.raises(StripeTimeoutFault) as info:
        fake.create_refund({"payment_intent": pi_id, "amount": 300}, idempotency_key="k")
    created = info.value.result
    assert created is not None
    assert created["amount"] == 300
    assert fake.refunds_of(pi_id) == [created]
    assert [e["type"] for e in fake.events()] == ["refund.created", "charge.refunded"]
    assert fake.create_refund({"payment_intent": pi_id, "amount": 300}, idempotency_key="k") == (
        created
    )
    assert len(fake.refunds_of(pi_id)) == 1


@pytest.mark.parametrize(
    ("fault", "code", "status", "type_", "expected_code"),
    [
        (Fault.RATE_LIMITED, None, 429, "invalid_request_error", "rate_limit"),
        (Fault.SERVER_ERROR, None, 500, "api_error", None),
        (Fault.CONFLICT, None, 409, "invalid_request_error", "lock_timeout"),
        (Fault.REJECT, "charge_disputed", 400, "invalid_request_error", "charge_disputed"),
        (Fault.REJECT, "amount_too_large", 400, "invalid_request_error", "amount_too_large"),
        (
            Fault.REJECT,
            "charge_already_refunded",
            400,
            "invalid_request_error",
            "charge_already_refunded",
        ),
    ],
)
def test_http_faults_do_nothing(
    fake: FakeStripe,
    fault: Fault,
    code: str | None,
    status: int,
    type_: str,
    expected_code: str | None,
) -> None:
    pi_id = pay(fake)
    fake.inject_fault(fault, code=code)
    err = api_error(fake, {"payment_intent": pi_id}, idempotency_key="k")
    assert (err.http_status, err.type, err.code) == (status, type_, expected_code)
    assert err.to_json()["error"]["type"] == type_
    assert fake.refunds_of(pi_id) == []
    assert fake.events() == []
    assert (fake.requests[-1].fault, fake.requests[-1].http_status) == (fault, status)
    # The fault was consumed and nothing was stored under the key.
    assert fake.create_refund({"payment_intent": pi_id}, idempotency_key="k")["amount"] == 10_000


def test_faults_fire_in_fifo_order_per_operation(fake: FakeStripe) -> None:
    pi_id = pay(fake)
    fake.inject_fault(Fault.RATE_LIMITED, times=2)
    fake.inject_fault(Fault.SERVER_ERROR)
    fake.inject_fault(Fault.CONNECTION_ERROR, operation="retrieve_payment_intent")
    assert fake.pending_faults() == 3
    fake.retrieve_charge(fake.charge_of(pi_id)["id"])  # other operations are unaffected
    statuses = []
    for _ in range(3):
        with pytest.raises(StripeApiError) as info:
            fake.create_refund({"payment_intent": pi_id, "amount": 1})
        statuses.append(info.value.http_status)
    assert statuses == [429, 429, 500]
    assert fake.create_refund({"payment_intent": pi_id, "amount": 1})["amount"] == 1
    with pytest.raises(StripeConnectionFault):
        fake.retrieve_payment_intent(pi_id)
    assert fake.retrieve_payment_intent(pi_id)["id"] == pi_id


def test_faults_on_reads(fake: FakeStripe) -> None:
    pi_id = pay(fake)
    fake.inject_fault(Fault.TIMEOUT_AFTER_CREATE, operation="retrieve_payment_intent")
    fake.inject_fault(Fault.SERVER_ERROR, operation="list_refunds")
    with pytest.raises(StripeTimeoutFault) as info:
        fake.retrieve_payment_intent(pi_id)
    assert info.value.result is not None
    assert info.value.result["id"] == pi_id
    with pytest.raises(StripeApiError) as api:
        fake.list_refunds()
    assert api.value.http_status == 500


def test_inject_fault_argument_checks(fake: FakeStripe) -> None:
    with pytest.raises(ValueError, match="code"):
        fake.inject_fault(Fault.REJECT)
    with pytest.raises(ValueError, match="operation"):
        fake.inject_fault(Fault.RATE_LIMITED, operation="create_payout")
    with pytest.raises(ValueError, match="times"):
        fake.inject_fault(Fault.RATE_LIMITED, times=0)


# ------------------------------------------------------------------------------- events, log


def test_events_content(fake: FakeStripe) -> None:
    """L5: events are Stripe event dicts with unique ids, naming the request that caused them."""
    pi_id = pay(fake)
    refund = fake.create_refund(
        {"payment_intent": pi_id, "amount": 400}, idempotency_key="k1", stripe_account="acct_9"
    )
    created, refunded = fake.events()
    request_id = fake.requests[-1].request_id
    for event in (created, refunded):
        assert event["object"] == "event"
        assert event["id"].startswith("evt_")
        assert (event["api_version"], event["livemode"], event["pending_webhooks"]) == (
            API_VERSION,
            False,
            1,
        )
        assert event["request"] == {"id": request_id, "idempotency_key": "k1"}
        assert event["account"] == "acct_9"
        assert isinstance(event["created"], int)
    assert created["id"] != refunded["id"]
    assert created["type"] == "refund.created"
    assert created["data"] == {"object": refund}
    assert refunded["type"] == "charge.refunded"
    assert refunded["data"]["object"]["amount_refunded"] == 400
    assert refunded["data"]["previous_attributes"] == {"amount_refunded": 0}
    fake.create_refund({"payment_intent": pi_id})
    assert fake.events()[-1]["data"]["previous_attributes"] == {
        "amount_refunded": 400,
        "refunded": False,
    }
    assert fake.events_since(2) == fake.events()[2:]
    assert fake.events_since(100) == []


def test_requests_log_records_what_was_sent(fake: FakeStripe) -> None:
    pi_id = pay(fake)
    fake.create_refund(
        {"payment_intent": pi_id, "amount": 1}, idempotency_key="k", stripe_account="acct_1"
    )
    fake.list_refunds(payment_intent=pi_id, limit=5)
    create, listing = fake.requests
    assert (create.operation, create.params, create.idempotency_key, create.stripe_account) == (
        "create_refund",
        {"payment_intent": pi_id, "amount": 1},
        "k",
        "acct_1",
    )
    assert (create.http_status, create.fault, create.idempotent_replayed) == (200, None, False)
    assert (listing.operation, listing.params) == (
        "list_refunds",
        {"payment_intent": pi_id, "limit": 5},
    )
    assert create.request_id != listing.request_id


def test_error_body_has_stripes_shape(fake: FakeStripe) -> None:
    pi_id = pay(fake)
    err = api_error(fake, {"payment_intent": pi_id, "amount": 10_001})
    body = err.to_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "amount_too_large"
    assert body["error"]["param"] == "amount"
    assert body["error"]["doc_url"].endswith("/amount-too-large")
    assert err.request_id is not None
    assert err.request_id in body["error"]["request_log_url"]
    assert json.loads(json.dumps(body)) == body
    reason = api_error(fake, {"payment_intent": pi_id, "reason": "x"}).to_json()["error"]
    assert "code" not in reason
    assert "doc_url" not in reason


def test_objects_are_copies(fake: FakeStripe) -> None:
    pi_id = pay(fake, metadata={"a": "1"})
    pi = fake.retrieve_payment_intent(pi_id, expand=["latest_charge.balance_transaction"])
    pi["metadata"]["a"] = "changed"
    pi["latest_charge"]["amount_refunded"] = 999
    pi["latest_charge"]["balance_transaction"]["fee_details"].clear()
    refund = fake.create_refund({"payment_intent": pi_id, "amount": 5})
    refund["status"] = "failed"
    fake.events()[0]["data"]["object"]["amount"] = 0
    fake.requests[1].params["amount"] = 0
    fake.charge_of(pi_id)["disputed"] = True
    fake.refunds_of(pi_id)[0]["amount"] = 1
    assert fake.retrieve_payment_intent(pi_id)["metadata"] == {"a": "1"}
    assert fake.charge_of(pi_id)["amount_refunded"] == 5
    assert fake.charge_of(pi_id)["disputed"] is False
    assert len(txn_of(fake, pi_id)["fee_details"]) == 1
    assert fake.retrieve_refund(refund["id"])["status"] == "succeeded"
    assert fake.events()[0]["data"]["object"]["amount"] == 5
    assert fake.requests[1].params == {"payment_intent": pi_id, "amount": 5}
    assert fake.refunds_of(pi_id)[0]["amount"] == 5


def test_injected_clock_and_deterministic_ids() -> None:
    ticks = iter(range(5_000, 6_000, 10))
    fakes = [FakeStripe(clock=lambda: next(ticks)), FakeStripe()]
    pi_id = pay(fakes[0])
    assert fakes[0].retrieve_payment_intent(pi_id)["created"] == 5_000
    assert fakes[0].create_refund({"payment_intent": pi_id})["created"] == 5_020
    pi_default = fakes[1].create_payment(100, "usd", stripe_fee=3)
    assert pi_default["created"] == 1_700_000_000
    assert pi_default["id"] == pi_id  # ids come from per-instance counters


def test_two_threads_racing_never_over_refund() -> None:
    """L4 at Stripe: concurrent refunds on one charge are serialised; only one 600 fits in 1000."""
    fake = FakeStripe()
    pi_id = pay(fake, 1_000, stripe_fee=30)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def worker() -> None:
        barrier.wait()
        try:
            fake.create_refund({"payment_intent": pi_id, "amount": 600})
            outcomes.append("ok")
        except StripeApiError as err:
            outcomes.append(str(err.code))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["amount_too_large"] * 7 + ["ok"]
    assert fake.charge_of(pi_id)["amount_refunded"] == 600


# ------------------------------------------------------------------------------- Connect

ACCOUNT = "acct_1ConnectedShop"

# The ``transfer`` and ``transfer_reversal`` schemas of API 2023-08-16 (spec3.json), which the
# copied OpenAPI subset only holds as stubs: property types, nullability, required keys.
_ID_OR_OBJECT: dict[str, Any] = {"anyOf": [{"type": "string"}, {"type": "object"}]}
TRANSFER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "amount",
        "amount_reversed",
        "created",
        "currency",
        "id",
        "livemode",
        "metadata",
        "object",
        "reversals",
        "reversed",
    ],
    "properties": {
        "amount": {"type": "integer"},
        "amount_reversed": {"type": "integer"},
        "balance_transaction": {**_ID_OR_OBJECT, "nullable": True},
        "created": {"type": "integer"},
        "currency": {"type": "string"},
        "description": {"type": "string", "nullable": True},
        "destination": {**_ID_OR_OBJECT, "nullable": True},
        "destination_payment": _ID_OR_OBJECT,
        "id": {"type": "string"},
        "livemode": {"type": "boolean"},
        "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
        "object": {"type": "string", "enum": ["transfer"]},
        "reversals": {"type": "object"},
        "reversed": {"type": "boolean"},
        "source_transaction": {**_ID_OR_OBJECT, "nullable": True},
        "source_type": {"type": "string"},
        "transfer_group": {"type": "string", "nullable": True},
    },
}
TRANSFER_REVERSAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["amount", "created", "currency", "id", "object", "transfer"],
    "properties": {
        "amount": {"type": "integer"},
        "balance_transaction": {**_ID_OR_OBJECT, "nullable": True},
        "created": {"type": "integer"},
        "currency": {"type": "string"},
        "destination_payment_refund": {**_ID_OR_OBJECT, "nullable": True},
        "id": {"type": "string"},
        "metadata": {
            "type": "object",
            "nullable": True,
            "additionalProperties": {"type": "string"},
        },
        "object": {"type": "string", "enum": ["transfer_reversal"]},
        "source_refund": {**_ID_OR_OBJECT, "nullable": True},
        "transfer": _ID_OR_OBJECT,
    },
}


def transfer_of(fake: FakeStripe, pi_id: str) -> dict[str, Any]:
    transfer = fake.transfer_of(pi_id)
    assert transfer is not None
    return transfer


def test_a_destination_charge_transfers_the_payment_to_the_connected_account(
    fake: FakeStripe,
) -> None:
    """Connect: transfer_data.destination on the PaymentIntent and the Charge, and a transfer
    of the whole amount (Stripe's default) named by ``charge.transfer``."""
    pi = fake.create_payment(10_000, "usd", stripe_fee=320, destination=ACCOUNT)
    assert pi["transfer_data"] == {"destination": ACCOUNT}
    charge = fake.charge_of(pi["id"])
    assert charge["transfer_data"] == {"amount": None, "destination": ACCOUNT}
    transfer = transfer_of(fake, pi["id"])
    assert charge["transfer"] == transfer["id"]
    assert transfer["id"].startswith("tr_")
    assert (transfer["amount"], transfer["currency"], transfer["destination"]) == (
        10_000,
        "usd",
        ACCOUNT,
    )
    assert (transfer["amount_reversed"], transfer["reversed"]) == (0, False)
    assert transfer["source_transaction"] == charge["id"]
    assert transfer["reversals"]["data"] == []
    expanded = fake.retrieve_charge(charge["id"], expand=["transfer"])
    assert expanded["transfer"] == transfer
    # An ordinary charge has no transfer: the key is absent (the schema does not let it be null).
    plain = pay(fake)
    assert "transfer" not in fake.charge_of(plain)
    assert fake.charge_of(plain)["transfer_data"] is None
    assert fake.transfer_of(plain) is None


def test_a_destination_charge_with_a_transfer_amount(fake: FakeStripe) -> None:
    """transfer_data[amount]: the platform keeps the rest (instead of an application fee)."""
    pi = fake.create_payment(
        10_000, "usd", stripe_fee=320, destination=ACCOUNT, transfer_amount=8_000
    )
    assert pi["transfer_data"] == {"amount": 8_000, "destination": ACCOUNT}
    assert fake.charge_of(pi["id"])["transfer_data"] == {"amount": 8_000, "destination": ACCOUNT}
    assert transfer_of(fake, pi["id"])["amount"] == 8_000


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"destination": "shop-2"}, ValueError),
        ({"destination": ""}, ValueError),
        ({"transfer_amount": 100}, ValueError),
        ({"destination": ACCOUNT, "transfer_amount": 0}, ValueError),
        ({"destination": ACCOUNT, "transfer_amount": 10_001}, ValueError),
        ({"destination": ACCOUNT, "transfer_amount": 10.0}, TypeError),
        ({"destination": ACCOUNT, "transfer_amount": 9_000, "application_fee": 100}, ValueError),
        (
            {
                "destination": ACCOUNT,
                "settlement_currency": "eur",
                "exchange_rate": Decimal("0.9"),
            },
            ValueError,
        ),
    ],
)
def test_create_payment_refuses_destination_nonsense(
    fake: FakeStripe, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        fake.create_payment(10_000, "usd", stripe_fee=320, **kwargs)


def test_reverse_transfer_reverses_in_proportion_and_the_last_refund_takes_the_rest(
    fake: FakeStripe,
) -> None:
    """reverse_transfer: each refund reverses its share of the transfer (1,001 of 3,000:
    1,000 refunded reverses 333.67, so 334), recorded on the refund and the transfer; the refund
    that leaves nothing refundable reverses what remains (333), so the transfer is reversed."""
    pi_id = pay(fake, 3_000, stripe_fee=90, destination=ACCOUNT, transfer_amount=1_001)
    mark = len(fake.events())
    first = fake.create_refund({"payment_intent": pi_id, "amount": 1_000, "reverse_transfer": True})
    second = fake.create_refund(
        {"payment_intent": pi_id, "amount": 1_000, "reverse_transfer": "true"}
    )
    after_two = transfer_of(fake, pi_id)
    assert (after_two["amount_reversed"], after_two["reversed"]) == (668, False)
    last = fake.create_refund({"payment_intent": pi_id, "reverse_transfer": True})
    assert last["amount"] == 1_000

    transfer = transfer_of(fake, pi_id)
    assert (transfer["amount_reversed"], transfer["reversed"]) == (1_001, True)
    reversals = transfer["reversals"]["data"]
    assert [r["amount"] for r in reversals] == [333, 334, 334]  # newest first
    assert [r["source_refund"] for r in reversals] == [last["id"], second["id"], first["id"]]
    for refund, reversal in zip((last, second, first), reversals, strict=True):
        assert refund["transfer_reversal"] == reversal["id"]
        assert reversal["id"].startswith("trr_")
        assert (reversal["transfer"], reversal["currency"]) == (transfer["id"], "usd")
    expanded = fake.retrieve_refund(first["id"], expand=["transfer_reversal"])
    assert expanded["transfer_reversal"] == reversals[2]

    reversed_events = [e for e in fake.events_since(mark) if e["type"] == "transfer.reversed"]
    assert [e["data"]["previous_attributes"] for e in reversed_events] == [
        {"amount_reversed": 0},
        {"amount_reversed": 334},
        {"amount_reversed": 668, "reversed": False},
    ]
    assert reversed_events[-1]["data"]["object"] == transfer
    assert [e["type"] for e in fake.events_since(mark)][:3] == [
        "refund.created",
        "charge.refunded",
        "transfer.reversed",
    ]


def test_reverse_transfer_rounds_half_even(fake: FakeStripe) -> None:
    """M5: 2 refunded of a 4,000 charge whose transfer is 1,000 is 0.5 -> 0 (nothing reversed,
    no reversal object); 6 is 1.5 -> 2."""
    pi_id = pay(fake, 4_000, stripe_fee=120, destination=ACCOUNT, transfer_amount=1_000)
    nothing = fake.create_refund({"payment_intent": pi_id, "amount": 2, "reverse_transfer": True})
    assert nothing["transfer_reversal"] is None
    two = fake.create_refund({"payment_intent": pi_id, "amount": 6, "reverse_transfer": True})
    assert (
        fake.retrieve_refund(two["id"], expand=["transfer_reversal"])["transfer_reversal"]["amount"]
        == 2
    )
    assert transfer_of(fake, pi_id)["amount_reversed"] == 2
    assert [e["type"] for e in fake.events()].count("transfer.reversed") == 1


def test_without_reverse_transfer_the_transfer_stays(fake: FakeStripe) -> None:
    """The platform's balance alone pays a refund sent without reverse_transfer (false too)."""
    pi_id = pay(fake, destination=ACCOUNT)
    plain = fake.create_refund({"payment_intent": pi_id, "amount": 1_000})
    explicit = fake.create_refund(
        {"payment_intent": pi_id, "amount": 1_000, "reverse_transfer": "false"}
    )
    assert plain["transfer_reversal"] is None
    assert explicit["transfer_reversal"] is None
    assert transfer_of(fake, pi_id)["amount_reversed"] == 0
    assert "transfer.reversed" not in {e["type"] for e in fake.events()}


def test_reverse_transfer_on_a_charge_without_a_transfer_reverses_nothing(
    fake: FakeStripe,
) -> None:
    pi_id = pay(fake)
    refund = fake.create_refund({"payment_intent": pi_id, "amount": 500, "reverse_transfer": True})
    assert refund["transfer_reversal"] is None
    assert [e["type"] for e in fake.events()] == ["refund.created", "charge.refunded"]


def test_an_idempotent_replay_reverses_nothing_twice(fake: FakeStripe) -> None:
    """L2: the retry of a refund with reverse_transfer replays it; the transfer is reversed once."""
    pi_id = pay(fake, destination=ACCOUNT)
    params = {"payment_intent": pi_id, "amount": 2_500, "reverse_transfer": True}
    first = fake.create_refund(params, idempotency_key="k")
    again = fake.create_refund({**params, "reverse_transfer": "true"}, idempotency_key="k")
    assert again == first
    assert transfer_of(fake, pi_id)["amount_reversed"] == 2_500
    other = api_error(fake, {**params, "reverse_transfer": False}, idempotency_key="k")
    assert other.type == "idempotency_error"


def test_a_failed_refund_keeps_its_transfer_reversal(fake: FakeStripe) -> None:
    """Documented limit: Stripe's re-transfer after a failed refund is not modelled; the
    reversal stays, and a new refund reverses at most what remains."""
    pi_id = pay(fake, destination=ACCOUNT)
    refund = fake.create_refund({"payment_intent": pi_id, "reverse_transfer": True})
    fake.set_refund_status(refund["id"], "failed")
    assert transfer_of(fake, pi_id)["amount_reversed"] == 10_000
    again = fake.create_refund({"payment_intent": pi_id, "reverse_transfer": True})
    assert again["transfer_reversal"] is None
    assert transfer_of(fake, pi_id)["amount_reversed"] == 10_000


def test_a_transfer_embeds_its_ten_most_recent_reversals(fake: FakeStripe) -> None:
    pi_id = pay(fake, 12_000, destination=ACCOUNT)
    refunds = [
        fake.create_refund({"payment_intent": pi_id, "amount": 100, "reverse_transfer": True})
        for _ in range(12)
    ]
    reversals = transfer_of(fake, pi_id)["reversals"]
    assert reversals["has_more"] is True
    assert [r["source_refund"] for r in reversals["data"]] == [r["id"] for r in refunds[::-1][:10]]
    assert reversals["url"].endswith("/reversals")


def test_destination_objects_have_stripes_shape(fake: FakeStripe) -> None:
    """Every object and event of a destination charge and its reversal has the shape of API
    2023-08-16 (the subset's schemas; the transfer ones copied above from spec3.json)."""
    from kanorio_refunds.testing.stripe_http import validate_object

    pi = fake.create_payment(10_000, "usd", stripe_fee=320, destination=ACCOUNT)
    with_amount = fake.create_payment(
        10_000, "usd", stripe_fee=320, destination=ACCOUNT, transfer_amount=9_000
    )
    refund = fake.create_refund(
        {"payment_intent": pi["id"], "amount": 100, "reverse_transfer": True}
    )
    for intent in (pi, with_amount):
        validate_object(
            fake.retrieve_payment_intent(intent["id"], ["latest_charge"]), "payment_intent"
        )
    validate_object(refund, "refund")
    transfer = transfer_of(fake, pi["id"])
    validate_object(transfer, TRANSFER_SCHEMA)
    for reversal in transfer["reversals"]["data"]:
        validate_object(reversal, TRANSFER_REVERSAL_SCHEMA)
    for event in fake.events():
        validate_object(event, "event", deep=False)


def test_fake_stripe_gateway_sends_reverse_transfer_when_configured() -> None:
    """FakeStripeGateway(reverse_transfer=True) sends it with every refund, like StripeGateway;
    by default it sends none."""
    from kanorio_refunds.domain._ids import PaymentIntentId
    from kanorio_refunds.domain._money import Money
    from kanorio_refunds.domain._payment import RefundRequest
    from kanorio_refunds.testing.fake_stripe import FakeStripeGateway

    model = FakeStripe()
    pi_id = pay(model, destination=ACCOUNT)
    request = RefundRequest(
        payment_intent_id=PaymentIntentId(pi_id),
        charge_id=None,
        amount=Money.parse("25.00", "USD"),
        reason=None,
        idempotency_key="k-1",
        metadata={"kanorio_refund_id": "rf_1"},
    )
    plain = FakeStripeGateway(model)
    assert (plain.reverse_transfer, plain.refund_application_fee) == (False, False)
    plain.create_refund(request)
    assert "reverse_transfer" not in model.requests[-1].params
    assert transfer_of(model, pi_id)["amount_reversed"] == 0

    connect = FakeStripeGateway(model, reverse_transfer=True)
    assert connect.reverse_transfer is True
    connect.create_refund(attrs.evolve(request, idempotency_key="k-2"))
    assert model.requests[-1].params["reverse_transfer"] is True
    assert transfer_of(model, pi_id)["amount_reversed"] == 2_500
    with pytest.raises(TypeError, match="reverse_transfer"):
        FakeStripeGateway(model, reverse_transfer="yes")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- spec shapes


def test_object_keys_are_in_the_openapi_schemas(fake: FakeStripe) -> None:
    """Every object the model emits has Stripe's shape (API 2023-08-16): checked against the
    copy of Stripe's OpenAPI schemas in testing/stripe_openapi (keys, required keys, types)."""
    from kanorio_refunds.testing.stripe_http import load_subset, validate_object

    subset = load_subset()
    assert subset["x-api-version"] == API_VERSION
    schemas = subset["schemas"]

    pi_id = pay(fake, 10_000, application_fee=100)
    fake.default_refund_status = "pending"
    refund = fake.create_refund({"payment_intent": pi_id, "amount": 100, "metadata": {"a": "b"}})
    failed = fake.set_refund_status(refund["id"], "failed", failure_reason="declined")
    dispute = fake.open_dispute(pi_id)
    inquiry = fake.open_dispute(pay(fake), inquiry=True)
    validate_object(fake.retrieve_payment_intent(pi_id), "payment_intent")
    validate_object(fake.charge_of(pi_id), "charge")
    validate_object(refund, "refund")
    validate_object(failed, "refund")
    validate_object(dispute, "dispute")
    validate_object(inquiry, "dispute")
    assert set(schemas["dispute"]["properties"]["status"]["enum"]) == DISPUTE_STATUSES
    disputes = fake.list_disputes()
    validate_object(disputes, subset["operations"]["GET /v1/disputes"]["response"])
    for listed in disputes["data"]:
        validate_object(listed, "dispute")
    for txn_id in (
        fake.charge_of(pi_id)["balance_transaction"],
        failed["balance_transaction"],
        failed["failure_balance_transaction"],
    ):
        txn = fake.retrieve_balance_transaction(txn_id)
        validate_object(txn, "balance_transaction")
        for fee in txn["fee_details"]:
            validate_object(fee, "fee")
    for event in fake.events():
        validate_object(event, "event", deep=False)
        assert set(event["data"]) <= set(schemas["notification_event_data"]["properties"])
        assert set(event["request"]) <= set(schemas["notification_event_request"]["properties"])
    error = api_error(fake, {"payment_intent": pi_id}).to_json()
    validate_object(error, "error")
    validate_object(error["error"], "api_errors")
    validate_object(fake.list_refunds(), subset["operations"]["GET /v1/refunds"]["response"])
