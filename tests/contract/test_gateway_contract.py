"""The ``PaymentGateway`` port contract, run against every gateway adapter (see conftest.py).

Same inputs, same observable results: ``FakeStripeGateway`` over ``FakeStripe`` and
``StripeGateway`` over the real SDK and the fake HTTP backend serving the same model must give
equal snapshots, refunds and errors. ``test_both_gateways_observe_the_same_history`` runs one
scenario through both and compares everything they return.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from kanorio_refunds.domain._ids import ChargeId, PaymentIntentId, RefundId
from kanorio_refunds.domain._money import Currency, Money
from kanorio_refunds.domain._order import Order
from kanorio_refunds.domain._payment import (
    METADATA_NOTES,
    METADATA_ORDER_ID,
    METADATA_REASON,
    METADATA_REFUND_ID,
    GatewayRefund,
    RefundRequest,
    idempotency_key_for,
    refund_metadata,
)
from kanorio_refunds.domain._refund import RefundReason, RefundStatus
from kanorio_refunds.errors import (
    GatewayProtocolError,
    GatewayRejected,
    GatewayUnavailable,
    InvalidAmount,
    OrderNotFound,
    RefundError,
)
from kanorio_refunds.testing.fake_stripe import FakeStripe, Fault, stripe_paid_order
from tests.contract.conftest import GATEWAY_BUILDERS, GatewayHarness, MakeHarness

# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

_UNAVAILABLE_FAULTS_FOR_READS = [
    Fault.CONNECTION_ERROR,
    Fault.TIMEOUT_AFTER_CREATE,
    Fault.RATE_LIMITED,
    Fault.CONFLICT,
    Fault.SERVER_ERROR,
]


def _m(text: str, currency: str) -> Money:
    return Money.parse(text, currency)


def _order(
    model: FakeStripe,
    total: str = "100.00",
    currency: str = "USD",
    *,
    fee: str = "3.20",
    platform: str = "0",
    settlement: str | None = None,
    rate: Decimal | None = None,
    order_id: str = "ord_1",
) -> Order:
    settle = settlement or currency
    return stripe_paid_order(
        model,
        order_id=order_id,
        site_id="shop-1",
        total=_m(total, currency),
        stripe_fee=_m(fee, settle),
        platform_fee=_m(platform, settle),
        exchange_rate=rate,
    )


def _pi(order: Order) -> PaymentIntentId:
    assert order.payment is not None
    assert order.payment.payment_intent_id is not None
    return order.payment.payment_intent_id


def _ch(order: Order) -> ChargeId:
    assert order.payment is not None
    assert order.payment.charge_id is not None
    return order.payment.charge_id


def _request(
    order: Order,
    amount: str,
    *,
    refund_id: str = "rf_1",
    reason: RefundReason | None = RefundReason.CUSTOMER_REQUEST,
    notes: str = "",
    by_charge: bool = False,
) -> RefundRequest:
    rid = RefundId(refund_id)
    assert order.payment is not None
    return RefundRequest(
        payment_intent_id=None if by_charge else order.payment.payment_intent_id,
        charge_id=order.payment.charge_id,
        amount=_m(amount, order.total.currency.code),
        reason=reason,
        idempotency_key=idempotency_key_for(rid),
        metadata=refund_metadata(order.id, rid, reason, notes),
    )


def _stripe_refunds(model: FakeStripe, order: Order) -> list[dict[str, Any]]:
    return model.refunds_of(_pi(order))


# ---------------------------------------------------------------------------------------------
# fetch_payment
# ---------------------------------------------------------------------------------------------


def test_snapshot_of_a_payment_with_stripe_and_platform_fees(gateway: GatewayHarness) -> None:
    """B1, B4: captured amount, Stripe fee and application fee come from the balance
    transaction's fee_details; nothing refunded, not disputed, no refunds yet."""
    order = _order(gateway.model, "100.00", fee="3.20", platform="1.00")

    snapshot = gateway.gateway.fetch_payment(_pi(order), _ch(order))

    record = snapshot.record
    assert record.payment_intent_id == _pi(order)
    assert record.charge_id == _ch(order)
    assert record.captured == _m("100.00", "USD")
    assert record.stripe_fee == _m("3.20", "USD")
    assert record.platform_fee == _m("1.00", "USD")
    assert record.settlement_currency == Currency.of("USD")
    assert record.amount_refunded == _m("0", "USD")
    assert record.exchange_rate is None
    assert record.disputed is False
    assert snapshot.refunds == ()
    assert record == order.payment  # what stripe_paid_order read from the model directly


def test_snapshot_by_charge_only_is_the_same_payment(gateway: GatewayHarness) -> None:
    """B4: a payment known only by its Charge id reads the same record (Charge with its
    balance_transaction expanded) and its refunds by charge."""
    order = _order(gateway.model, "80.00", fee="2.62")
    gateway.gateway.create_refund(_request(order, "5.00"))

    by_charge = gateway.gateway.fetch_payment(None, _ch(order))
    by_intent = gateway.gateway.fetch_payment(_pi(order), _ch(order))

    assert by_charge.record == by_intent.record
    assert [r.id for r in by_charge.refunds] == [r.id for r in by_intent.refunds]
    assert by_charge.record.amount_refunded == _m("5.00", "USD")


def test_cross_currency_snapshot_carries_the_exchange_rate(gateway: GatewayHarness) -> None:
    """B3: a USD payment settled in EUR: fees in EUR, the exchange rate exactly as Stripe sent
    it (a Decimal, never a float)."""
    order = _order(
        gateway.model,
        "100.00",
        "USD",
        fee="2.50",
        platform="1.00",
        settlement="EUR",
        rate=Decimal("0.912345"),
    )

    record = gateway.gateway.fetch_payment(_pi(order), None).record

    assert record.settlement_currency == Currency.of("EUR")
    assert record.stripe_fee == _m("2.50", "EUR")
    assert record.platform_fee == _m("1.00", "EUR")
    assert record.exchange_rate == Decimal("0.912345")
    assert isinstance(record.exchange_rate, Decimal)
    assert record.captured == _m("100.00", "USD")


def test_jpy_is_zero_decimal_both_ways(gateway: GatewayHarness) -> None:
    """M3: JPY is zero-decimal at Stripe: ¥5,000 is 5000 units, a ¥1,500 refund sends 1500."""
    order = _order(gateway.model, "5000", "JPY", fee="180")

    record = gateway.gateway.fetch_payment(_pi(order), None).record
    refund = gateway.gateway.create_refund(_request(order, "1500"))

    assert record.captured == _m("5000", "JPY")
    assert record.stripe_fee == _m("180", "JPY")
    assert refund.amount == _m("1500", "JPY")
    assert _stripe_refunds(gateway.model, order)[0]["amount"] == 1500


def test_kwd_is_three_decimal_in_multiples_of_ten(gateway: GatewayHarness) -> None:
    """M3: KWD has three decimals at Stripe and amounts must be multiples of 10: 1.230 KWD is
    sent as 1230; 1.235 KWD is refused before anything is sent."""
    order = _order(gateway.model, "12.340", "KWD", fee="0.400")
    before = len(gateway.model.requests)

    with pytest.raises(InvalidAmount):
        gateway.gateway.create_refund(_request(order, "1.235", refund_id="rf_bad"))
    assert len(gateway.model.requests) == before  # nothing reached Stripe

    refund = gateway.gateway.create_refund(_request(order, "1.230"))
    record = gateway.gateway.fetch_payment(_pi(order), None).record

    assert refund.amount == _m("1.230", "KWD")
    assert _stripe_refunds(gateway.model, order)[0]["amount"] == 1230
    assert record.captured == _m("12.340", "KWD")
    assert record.amount_refunded == _m("1.230", "KWD")


def test_unknown_payment_is_rejected_with_resource_missing(gateway: GatewayHarness) -> None:
    """L3: a payment Stripe does not have is a definitive rejection with Stripe's code."""
    with pytest.raises(GatewayRejected) as info:
        gateway.gateway.fetch_payment(PaymentIntentId("pi_missing"), None)
    assert info.value.gateway_code == "resource_missing"


def test_a_payment_needs_an_id(gateway: GatewayHarness) -> None:
    """Neither a PaymentIntent nor a Charge id: nothing to fetch."""
    with pytest.raises(OrderNotFound):
        gateway.gateway.fetch_payment(None, None)


# ---------------------------------------------------------------------------------------------
# create_refund
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "stripe_reason"),
    [
        (RefundReason.DUPLICATE, "duplicate"),
        (RefundReason.FRAUDULENT, "fraudulent"),
        (RefundReason.CUSTOMER_REQUEST, "requested_by_customer"),
        (RefundReason.OTHER, None),
        (None, None),
    ],
)
def test_create_refund_maps_the_reason_and_writes_metadata(
    gateway: GatewayHarness, reason: RefundReason | None, stripe_reason: str | None
) -> None:
    """N4, L1: Stripe gets its reason (none for OTHER or no reason) and our order id, refund id,
    reason and notes in metadata; the answer reads back our reason and ids."""
    order = _order(gateway.model)
    notes = "Customer wrote in.\nSecond line, café ✓" if reason is not None else ""

    refund = gateway.gateway.create_refund(_request(order, "12.50", reason=reason, notes=notes))

    stored = _stripe_refunds(gateway.model, order)
    assert len(stored) == 1
    assert stored[0]["reason"] == stripe_reason
    assert stored[0]["amount"] == 1250
    expected_metadata = {METADATA_ORDER_ID: "ord_1", METADATA_REFUND_ID: "rf_1"}
    if reason is not None:
        expected_metadata[METADATA_REASON] = reason.value
        expected_metadata[METADATA_NOTES] = notes
    assert stored[0]["metadata"] == expected_metadata
    assert refund.id == stored[0]["id"]
    assert refund.amount == _m("12.50", "USD")
    assert refund.status is RefundStatus.SUCCEEDED
    assert refund.reason is reason
    assert refund.local_refund_id == "rf_1"
    assert refund.local_order_id == "ord_1"
    assert refund.payment_intent_id == _pi(order)
    assert refund.charge_id == _ch(order)
    # The idempotency key travelled as Stripe's Idempotency-Key, never as a parameter.
    create = [r for r in gateway.model.requests if r.operation == "create_refund"][-1]
    assert create.idempotency_key == "kanorio-refund-rf_1"
    assert "idempotency_key" not in create.params


def test_metadata_round_trips_through_fetch_and_list(gateway: GatewayHarness) -> None:
    """N3, N4: 500 characters of notes (Stripe's metadata value limit) come back unchanged from
    the refund listing, with our ids."""
    order = _order(gateway.model)
    notes = ("Ünïcödé notes, with a\ttab and a newline\n" * 20)[:500]
    assert len(notes) == 500

    created = gateway.gateway.create_refund(
        _request(order, "7.00", reason=RefundReason.OTHER, notes=notes)
    )
    listed = gateway.gateway.list_refunds(_pi(order), None)
    fetched = gateway.gateway.fetch_payment(_pi(order), None).refunds

    assert listed == fetched == (created,)
    assert listed[0].metadata_value(METADATA_NOTES) == notes
    assert listed[0].reason is RefundReason.OTHER
    assert listed[0].local_refund_id == "rf_1"


def test_refund_by_charge_only(gateway: GatewayHarness) -> None:
    """A payment known only by its Charge is refunded with ``charge=``."""
    order = _order(gateway.model)

    refund = gateway.gateway.create_refund(_request(order, "3.00", by_charge=True))

    create = [r for r in gateway.model.requests if r.operation == "create_refund"][-1]
    assert create.params.get("charge") == _ch(order)
    assert "payment_intent" not in create.params
    assert refund.charge_id == _ch(order)


def test_refund_application_fee_only_when_configured(make_gateway: MakeHarness) -> None:
    """The platform's application fee is refunded only when the gateway is configured to."""
    plain = make_gateway()
    order = _order(plain.model, platform="1.00")
    plain.gateway.create_refund(_request(order, "3.00"))
    create = [r for r in plain.model.requests if r.operation == "create_refund"][-1]
    assert create.params.get("refund_application_fee") in (None, False, "false")

    with_fee = make_gateway(refund_application_fee=True)
    order = _order(with_fee.model, platform="1.00")
    with_fee.gateway.create_refund(_request(order, "3.00"))
    create = [r for r in with_fee.model.requests if r.operation == "create_refund"][-1]
    assert create.params.get("refund_application_fee") in (True, "true")


def test_same_key_same_request_replays_the_same_refund(gateway: GatewayHarness) -> None:
    """L1, L2: sending the same request again (same idempotency key, same parameters) returns
    the same refund and never makes a second one."""
    order = _order(gateway.model)
    request = _request(order, "20.00")

    first = gateway.gateway.create_refund(request)
    again = gateway.gateway.create_refund(request)

    assert again == first
    assert len(_stripe_refunds(gateway.model, order)) == 1
    assert gateway.gateway.fetch_payment(_pi(order), None).record.amount_refunded == _m(
        "20.00", "USD"
    )


def test_same_key_other_parameters_is_an_idempotency_error(gateway: GatewayHarness) -> None:
    """L1: reusing a key with different parameters is refused (``idempotency_error``), and no
    second refund is made."""
    order = _order(gateway.model)
    gateway.gateway.create_refund(_request(order, "20.00"))

    with pytest.raises(GatewayRejected) as info:
        gateway.gateway.create_refund(_request(order, "21.00"))

    assert info.value.gateway_code == "idempotency_error"
    assert len(_stripe_refunds(gateway.model, order)) == 1


def test_over_refund_is_rejected_amount_too_large(gateway: GatewayHarness) -> None:
    """L3, B2: more than Stripe still allows is a definitive rejection; nothing is created."""
    order = _order(gateway.model, "50.00")
    gateway.gateway.create_refund(_request(order, "30.00"))

    with pytest.raises(GatewayRejected) as info:
        gateway.gateway.create_refund(_request(order, "20.01", refund_id="rf_2"))

    assert info.value.gateway_code == "amount_too_large"
    assert len(_stripe_refunds(gateway.model, order)) == 1


def test_fully_refunded_charge_is_rejected_already_refunded(gateway: GatewayHarness) -> None:
    """L3: a charge with nothing left to refund answers ``charge_already_refunded``."""
    order = _order(gateway.model, "50.00")
    gateway.gateway.create_refund(_request(order, "50.00"))

    with pytest.raises(GatewayRejected) as info:
        gateway.gateway.create_refund(_request(order, "1.00", refund_id="rf_2"))

    assert info.value.gateway_code == "charge_already_refunded"
    record = gateway.gateway.fetch_payment(_pi(order), None).record
    assert record.amount_refunded == record.captured


def test_disputed_payment_reads_disputed_and_refuses_refunds(gateway: GatewayHarness) -> None:
    """E5, L3: an open dispute shows as ``disputed`` and refunds fail with ``charge_disputed``;
    after the dispute is won, the payment reads as not disputed (although Stripe keeps
    ``charge.disputed`` true) and refunds work again."""
    order = _order(gateway.model)
    gateway.model.open_dispute(_pi(order))

    assert gateway.gateway.fetch_payment(_pi(order), None).record.disputed is True
    with pytest.raises(GatewayRejected) as info:
        gateway.gateway.create_refund(_request(order, "10.00"))
    assert info.value.gateway_code == "charge_disputed"
    assert _stripe_refunds(gateway.model, order) == []

    gateway.model.close_dispute(_pi(order), "won")
    assert gateway.model.charge_of(_pi(order))["disputed"] is True
    assert gateway.gateway.fetch_payment(_pi(order), None).record.disputed is False
    refund = gateway.gateway.create_refund(_request(order, "10.00", refund_id="rf_2"))
    assert refund.status is RefundStatus.SUCCEEDED
    after = gateway.gateway.fetch_payment(_pi(order), None)
    assert after.record.disputed is False
    assert after.record.amount_refunded == _m("10.00", "USD")


# (model steps after opening, whether refunds are then blocked): E5's rule, both gateways.
_DISPUTE_LIVES: dict[str, tuple[tuple[str, ...], bool]] = {
    "chargeback open": ((), True),
    "chargeback under review": (("update",), True),
    "chargeback won": (("won",), False),
    "chargeback lost": (("lost",), True),
    "chargeback under review, then won": (("update", "won"), False),
    "inquiry open": (("inquiry",), True),
    "inquiry under review": (("inquiry", "update"), True),
    "inquiry warning_closed": (("inquiry", "warning_closed"), False),
}


def _live_through(model: FakeStripe, order: Order, steps: tuple[str, ...]) -> None:
    model.open_dispute(_pi(order), inquiry="inquiry" in steps)
    for step in steps:
        if step == "update":
            model.update_dispute(_pi(order))
        elif step != "inquiry":
            model.close_dispute(_pi(order), step)


@pytest.mark.parametrize("by_charge", [False, True], ids=["by_intent", "by_charge"])
@pytest.mark.parametrize("life", list(_DISPUTE_LIVES))
def test_disputed_exactly_while_a_dispute_blocks_refunds(
    gateway: GatewayHarness, life: str, by_charge: bool
) -> None:
    """E5: ``disputed`` is true while the charge's dispute is open (inquiry or chargeback, also
    under review) or lost, and false once it is won or the inquiry closed; the gateway agrees
    with Stripe's refusals in every case. The disputes are listed once per read."""
    steps, blocked = _DISPUTE_LIVES[life]
    order = _order(gateway.model)
    _live_through(gateway.model, order, steps)
    ids = (None, _ch(order)) if by_charge else (_pi(order), None)

    record = gateway.gateway.fetch_payment(*ids).record

    assert record.disputed is blocked
    listings = [r for r in gateway.model.requests if r.operation == "list_disputes"]
    assert [r.params for r in listings] == [{"charge": _ch(order), "limit": 100}]
    if blocked:
        with pytest.raises(GatewayRejected) as info:
            gateway.gateway.create_refund(_request(order, "10.00", by_charge=by_charge))
        assert info.value.gateway_code == "charge_disputed"
    else:
        refund = gateway.gateway.create_refund(_request(order, "10.00", by_charge=by_charge))
        assert refund.status is RefundStatus.SUCCEEDED
        assert gateway.gateway.fetch_payment(*ids).record.disputed is False


def test_an_undisputed_payment_lists_no_disputes(gateway: GatewayHarness) -> None:
    """E5: the dispute listing is only read for a charge Stripe flags disputed."""
    order = _order(gateway.model)
    gateway.gateway.fetch_payment(_pi(order), None)
    gateway.gateway.fetch_payment(None, _ch(order))
    assert "list_disputes" not in [r.operation for r in gateway.model.requests]


@pytest.mark.parametrize("fault", _UNAVAILABLE_FAULTS_FOR_READS, ids=lambda f: f.value)
def test_a_failed_dispute_listing_is_unavailable(gateway: GatewayHarness, fault: Fault) -> None:
    """L2, E5: when the disputes cannot be read, the payment is not guessed: the read fails as
    ``GatewayUnavailable`` and the next one works."""
    order = _order(gateway.model)
    _live_through(gateway.model, order, ("won",))
    gateway.model.inject_fault(fault, operation="list_disputes")

    with pytest.raises(GatewayUnavailable):
        gateway.gateway.fetch_payment(_pi(order), None)

    assert gateway.gateway.fetch_payment(_pi(order), None).record.disputed is False


# ---------------------------------------------------------------------------------------------
# unreadable answers (the port promises GatewayProtocolError, nothing else)
# ---------------------------------------------------------------------------------------------


def _corrupt(model: FakeStripe, object_id: str, **fields: Any) -> None:
    """Change a stored Stripe object behind the model's back (data Stripe would never send,
    but of a type the OpenAPI schema allows, so the HTTP backend serves it)."""
    model._objects[object_id].update(fields)


def _corrupt_txn(model: FakeStripe, order: Order, **fields: Any) -> None:
    _corrupt(model, model.charge_of(_pi(order))["balance_transaction"], **fields)


_CORRUPTIONS: dict[str, Callable[[FakeStripe, Order], None]] = {
    "unknown charge currency": lambda m, o: _corrupt(m, _ch(o), currency="xxx"),
    "negative amount_refunded": lambda m, o: _corrupt(m, _ch(o), amount_refunded=-5),
    "unknown settlement currency": lambda m, o: _corrupt_txn(m, o, currency="zzz"),
    "fee in an unknown currency": lambda m, o: _corrupt_txn(
        m, o, fee_details=[{"amount": 1, "currency": "qqq", "type": "stripe_fee"}]
    ),
    "fee in another currency": lambda m, o: _corrupt_txn(
        m, o, fee_details=[{"amount": 1, "currency": "eur", "type": "stripe_fee"}]
    ),
    "fee without an amount": lambda m, o: _corrupt_txn(
        m, o, fee_details=[{"currency": "usd", "type": "stripe_fee"}]
    ),
    "a fraction of our unit (ISK)": lambda m, o: _corrupt(m, _ch(o), currency="isk"),
    "refund in an unknown currency": lambda m, o: _corrupt(
        m, m.refunds_of(_pi(o))[0]["id"], currency="xyz"
    ),
}


@pytest.mark.parametrize("case", list(_CORRUPTIONS))
def test_unreadable_stripe_data_is_a_protocol_error(gateway: GatewayHarness, case: str) -> None:
    """Port contract: malformed Stripe data surfaces as ``GatewayProtocolError``, never as
    InvalidAmount, UnknownCurrency or a bare ValueError/KeyError."""
    order = _order(gateway.model, "100.01")
    gateway.gateway.create_refund(_request(order, "1.00"))
    _CORRUPTIONS[case](gateway.model, order)

    with pytest.raises(GatewayProtocolError) as info:
        gateway.gateway.fetch_payment(_pi(order), None)

    assert info.value.code == "gateway_protocol_error"
    assert info.value.retryable is False


def test_asynchronous_statuses_and_failure_reasons_are_read(gateway: GatewayHarness) -> None:
    """S3: a refund born pending is PENDING; after Stripe fails it the listing shows FAILED with
    Stripe's failure reason, and the charge's refunded amount is given back."""
    gateway.model.default_refund_status = "pending"
    order = _order(gateway.model)

    created = gateway.gateway.create_refund(_request(order, "10.00"))
    assert created.status is RefundStatus.PENDING

    gateway.model.set_refund_status(created.id, "failed", failure_reason="expired_or_canceled_card")
    snapshot = gateway.gateway.fetch_payment(_pi(order), None)

    assert [r.status for r in snapshot.refunds] == [RefundStatus.FAILED]
    assert snapshot.refunds[0].failure_reason == "expired_or_canceled_card"
    assert snapshot.record.amount_refunded == _m("0", "USD")


# ---------------------------------------------------------------------------------------------
# faults
# ---------------------------------------------------------------------------------------------

_UNAVAILABLE_FAULTS = [
    Fault.CONNECTION_ERROR,
    Fault.RATE_LIMITED,
    Fault.CONFLICT,
    Fault.SERVER_ERROR,
]


@pytest.mark.parametrize("fault", _UNAVAILABLE_FAULTS, ids=lambda f: f.value)
def test_transient_faults_on_create_are_unavailable_and_create_nothing(
    gateway: GatewayHarness, fault: Fault
) -> None:
    """L2: connection errors, 429, 409 and 500 are retryable ``GatewayUnavailable``; in these
    faults nothing happened at Stripe, and the same request afterwards makes exactly one refund."""
    order = _order(gateway.model)
    request = _request(order, "10.00")
    gateway.model.inject_fault(fault)

    with pytest.raises(GatewayUnavailable) as info:
        gateway.gateway.create_refund(request)

    assert info.value.retryable is True
    assert _stripe_refunds(gateway.model, order) == []
    gateway.gateway.create_refund(request)
    assert len(_stripe_refunds(gateway.model, order)) == 1


def test_timeout_after_create_is_unavailable_but_the_refund_exists(
    gateway: GatewayHarness,
) -> None:
    """L2: a lost answer is ``GatewayUnavailable`` (outcome unknown) although Stripe created
    the refund; sending the same request again returns that refund (never a second one), and
    it is found by our metadata in the listing."""
    order = _order(gateway.model)
    request = _request(order, "10.00")
    gateway.model.inject_fault(Fault.TIMEOUT_AFTER_CREATE)

    with pytest.raises(GatewayUnavailable):
        gateway.gateway.create_refund(request)

    stored = _stripe_refunds(gateway.model, order)
    assert len(stored) == 1
    listed = gateway.gateway.list_refunds(_pi(order), None)
    assert [r.local_refund_id for r in listed] == ["rf_1"]
    again = gateway.gateway.create_refund(request)
    assert again.id == stored[0]["id"]
    assert len(_stripe_refunds(gateway.model, order)) == 1


@pytest.mark.parametrize(
    "code", ["charge_disputed", "amount_too_large", "charge_already_refunded", "resource_missing"]
)
def test_rejections_carry_stripe_code(gateway: GatewayHarness, code: str) -> None:
    """L3: a definitive refusal is ``GatewayRejected`` with Stripe's code, not retryable."""
    order = _order(gateway.model)
    gateway.model.inject_fault(Fault.REJECT, code=code)

    with pytest.raises(GatewayRejected) as info:
        gateway.gateway.create_refund(_request(order, "10.00"))

    assert info.value.gateway_code == code
    assert info.value.retryable is False
    assert _stripe_refunds(gateway.model, order) == []


@pytest.mark.parametrize("operation", ["retrieve_payment_intent", "list_refunds"])
@pytest.mark.parametrize("fault", _UNAVAILABLE_FAULTS, ids=lambda f: f.value)
def test_transient_faults_on_reads_are_unavailable(
    gateway: GatewayHarness, fault: Fault, operation: str
) -> None:
    """L2: a read that fails transiently is ``GatewayUnavailable``; the next read works."""
    order = _order(gateway.model)
    gateway.model.inject_fault(fault, operation=operation)

    with pytest.raises(GatewayUnavailable):
        gateway.gateway.fetch_payment(_pi(order), None)

    assert gateway.gateway.fetch_payment(_pi(order), None).record == order.payment


def test_fault_on_charge_read_is_unavailable(gateway: GatewayHarness) -> None:
    """L2: the Charge read (payments known by charge only) fails like the others."""
    order = _order(gateway.model)
    gateway.model.inject_fault(Fault.SERVER_ERROR, operation="retrieve_charge")

    with pytest.raises(GatewayUnavailable):
        gateway.gateway.fetch_payment(None, _ch(order))


# ---------------------------------------------------------------------------------------------
# listing
# ---------------------------------------------------------------------------------------------


def test_listing_follows_every_page_oldest_first(gateway: GatewayHarness) -> None:
    """B4: more than 100 refunds (Stripe's page limit) are all listed, oldest first, by
    PaymentIntent and by Charge, and fetch_payment includes them all."""
    order = _order(gateway.model, "300.00")
    for i in range(205):
        gateway.model.create_refund(
            {"payment_intent": _pi(order), "amount": 1}, idempotency_key=f"k{i}"
        )
    expected = [r["id"] for r in _stripe_refunds(gateway.model, order)]

    by_intent = gateway.gateway.list_refunds(_pi(order), None)
    by_charge = gateway.gateway.list_refunds(None, _ch(order))
    snapshot = gateway.gateway.fetch_payment(_pi(order), None)

    assert [r.id for r in by_intent] == expected
    assert [r.id for r in by_charge] == expected
    assert [r.id for r in snapshot.refunds] == expected
    assert len(expected) == 205
    pages = [r for r in gateway.model.requests if r.operation == "list_refunds"]
    assert len(pages) == 3 * 3  # three listings of three pages (100 + 100 + 5)


def test_listing_only_shows_this_payments_refunds(gateway: GatewayHarness) -> None:
    """Refunds of another payment are not listed."""
    first = _order(gateway.model, order_id="ord_1")
    second = _order(gateway.model, order_id="ord_2")
    gateway.gateway.create_refund(_request(first, "1.00", refund_id="rf_a"))
    gateway.gateway.create_refund(_request(second, "2.00", refund_id="rf_b"))

    assert [r.local_refund_id for r in gateway.gateway.list_refunds(_pi(first), None)] == ["rf_a"]
    assert [r.local_refund_id for r in gateway.gateway.list_refunds(None, _ch(second))] == ["rf_b"]


# ---------------------------------------------------------------------------------------------
# differential: one history, both gateways, equal observations
# ---------------------------------------------------------------------------------------------

Observation = Any


def _history(harness: GatewayHarness) -> list[Observation]:
    """A scenario touching every operation and outcome; returns what the gateway reported."""
    model, gw = harness.model, harness.gateway
    seen: list[Observation] = []

    def attempt(call: Callable[[], Any]) -> None:
        try:
            seen.append(call())
        except RefundError as e:
            seen.append((type(e).__name__, e.code, getattr(e, "gateway_code", None)))

    usd = _order(model, "100.00", fee="3.20", platform="1.00", order_id="ord_usd")
    fx = _order(
        model, "80.00", "USD", fee="2.00", settlement="EUR", rate=Decimal("0.91"), order_id="ord_fx"
    )
    jpy = _order(model, "5000", "JPY", fee="180", order_id="ord_jpy")
    attempt(lambda: gw.fetch_payment(_pi(usd), _ch(usd)))
    attempt(lambda: gw.create_refund(_request(usd, "10.00", refund_id="r1")))
    attempt(lambda: gw.create_refund(_request(usd, "10.00", refund_id="r1")))
    attempt(lambda: gw.create_refund(_request(usd, "11.00", refund_id="r1")))
    attempt(lambda: gw.create_refund(_request(usd, "95.00", refund_id="r2")))
    model.inject_fault(Fault.TIMEOUT_AFTER_CREATE)
    attempt(lambda: gw.create_refund(_request(usd, "5.00", refund_id="r3")))
    attempt(lambda: gw.create_refund(_request(usd, "5.00", refund_id="r3")))
    model.default_refund_status = "pending"
    attempt(lambda: gw.create_refund(_request(fx, "8.00", refund_id="r4", by_charge=True)))
    model.set_refund_status(model.refunds_of(_pi(fx))[0]["id"], "failed")
    model.default_refund_status = "succeeded"
    attempt(lambda: gw.create_refund(_request(jpy, "1000", refund_id="r5", notes="x")))
    model.open_dispute(_pi(jpy))
    attempt(lambda: gw.create_refund(_request(jpy, "1000", refund_id="r6")))
    attempt(lambda: gw.fetch_payment(_pi(jpy), None))
    model.open_dispute(_pi(fx), inquiry=True)
    model.close_dispute(_pi(fx), "warning_closed")
    for fault in (*_UNAVAILABLE_FAULTS, Fault.REJECT):
        model.inject_fault(fault, code="charge_disputed" if fault is Fault.REJECT else None)
        attempt(lambda: gw.create_refund(_request(usd, "1.00", refund_id="r7")))
    for order in (usd, fx, jpy):
        attempt(lambda o=order: gw.fetch_payment(_pi(o), None))  # type: ignore[misc]
        attempt(lambda o=order: gw.fetch_payment(None, _ch(o)))  # type: ignore[misc]
        attempt(lambda o=order: gw.list_refunds(_pi(o), None))  # type: ignore[misc]
    return seen


def test_both_gateways_observe_the_same_history() -> None:
    """L1–L3, B3, B4: the same scenario (fees, FX, JPY, replays, idempotency errors, rejections,
    every fault kind, async failure, disputes, listings) gives equal results through both
    gateways: equal snapshots, refunds (ids, statuses, metadata, times) and error codes."""
    histories = {}
    for name, build in GATEWAY_BUILDERS.items():
        harness = build(FakeStripe(), False)
        histories[name] = _history(harness)
        harness.assert_clean_wire()
    memory, stripe = histories["memory"], histories["stripe"]
    assert len(memory) == len(stripe) > 20
    for i, (left, right) in enumerate(zip(memory, stripe, strict=True)):
        assert left == right, f"observation {i} differs"
    assert any(isinstance(o, GatewayRefund) for o in memory)
    assert ("GatewayUnavailable", "gateway_unavailable", None) in memory
