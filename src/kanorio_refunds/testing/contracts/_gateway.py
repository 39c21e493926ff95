"""``PaymentGatewayContract``: what the service relies on from a ``PaymentGateway``.

The adapter under test talks to a ``FakeStripe`` simulator (in-process, or through the real SDK
and ``kanorio_refunds.testing.stripe_http``); the suite drives the simulator (payments, faults,
disputes, late failures) and checks what the gateway reports and what it sent. Same inputs, same
observable results as this library's reference ``FakeStripeGateway``:
``test_observes_what_the_reference_gateway_observes`` runs one long scenario through both and
compares everything they return.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from kanorio_refunds.domain import (
    METADATA_NOTES,
    METADATA_ORDER_ID,
    METADATA_REASON,
    METADATA_REFUND_ID,
    ChargeId,
    Currency,
    GatewayRefund,
    Money,
    Order,
    PaymentIntentId,
    RefundReason,
    RefundRequest,
    RefundStatus,
)
from kanorio_refunds.errors import (
    GatewayProtocolError,
    GatewayRejected,
    GatewayUnavailable,
    InvalidAmount,
    OrderNotFound,
    RefundError,
)
from kanorio_refunds.ports import PaymentGateway
from kanorio_refunds.testing.fake_stripe import (
    FakeStripe,
    FakeStripeGateway,
    Fault,
    RequestRecord,
    stripe_paid_order,
)

# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

# Faults after which nothing happened at Stripe.
_UNAVAILABLE_FAULTS = [
    Fault.CONNECTION_ERROR,
    Fault.RATE_LIMITED,
    Fault.CONFLICT,
    Fault.SERVER_ERROR,
]
# A read has no outcome to lose, so a timeout is one more way of being unavailable.
_UNAVAILABLE_FAULTS_FOR_READS = [*_UNAVAILABLE_FAULTS, Fault.TIMEOUT_AFTER_CREATE]


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
    """The request the service sends for refund ``refund_id``: the key and the metadata are
    spelled out here (not derived with the library's helpers) so the suite checks the gateway
    against what the service promises Stripe (L1, N4)."""
    assert order.payment is not None
    metadata = {METADATA_ORDER_ID: str(order.id), METADATA_REFUND_ID: refund_id}
    if reason is not None:
        metadata[METADATA_REASON] = reason.value
    if notes:
        metadata[METADATA_NOTES] = notes
    return RefundRequest(
        payment_intent_id=None if by_charge else order.payment.payment_intent_id,
        charge_id=order.payment.charge_id,
        amount=_m(amount, order.total.currency.code),
        reason=reason,
        idempotency_key=f"kanorio-refund-{refund_id}",
        metadata=metadata,
    )


def _stripe_refunds(model: FakeStripe, order: Order) -> list[dict[str, Any]]:
    return model.refunds_of(_pi(order))


def _calls(model: FakeStripe, operation: str) -> list[RequestRecord]:
    return [r for r in model.requests if r.operation == operation]


def _tamper(model: FakeStripe, object_id: str, **fields: Any) -> None:
    """Change a stored Stripe object behind the model's back: data Stripe would never send, but
    of a type the OpenAPI schema allows, so an HTTP transport serves it. The simulator has no
    public way to store impossible data (on purpose), hence its private store."""
    with model._lock:
        stored = model._objects[object_id]
        stored.update(fields)
        if stored.get("object") == "refund":
            model._revised(stored)  # so a reader that keeps what it parsed reads it again
        else:
            model._changed()


def _tamper_txn(model: FakeStripe, order: Order, **fields: Any) -> None:
    _tamper(model, model.charge_of(_pi(order))["balance_transaction"], **fields)


_CORRUPTIONS: dict[str, Callable[[FakeStripe, Order], None]] = {
    "unknown charge currency": lambda m, o: _tamper(m, _ch(o), currency="xxx"),
    "negative amount_refunded": lambda m, o: _tamper(m, _ch(o), amount_refunded=-5),
    "unknown settlement currency": lambda m, o: _tamper_txn(m, o, currency="zzz"),
    "fee in an unknown currency": lambda m, o: _tamper_txn(
        m, o, fee_details=[{"amount": 1, "currency": "qqq", "type": "stripe_fee"}]
    ),
    "fee in another currency": lambda m, o: _tamper_txn(
        m, o, fee_details=[{"amount": 1, "currency": "eur", "type": "stripe_fee"}]
    ),
    "fee without an amount": lambda m, o: _tamper_txn(
        m, o, fee_details=[{"currency": "usd", "type": "stripe_fee"}]
    ),
    "a fraction of our unit (ISK)": lambda m, o: _tamper(m, _ch(o), currency="isk"),
    "refund in an unknown currency": lambda m, o: _tamper(
        m, m.refunds_of(_pi(o))[0]["id"], currency="xyz"
    ),
}

# (model steps after opening, whether refunds are then blocked): E5's rule.
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


def _history(model: FakeStripe, gw: PaymentGateway) -> list[Any]:
    """A scenario touching every operation and outcome; returns what the gateway reported (its
    answers, and its errors as (class name, code, gateway code))."""
    seen: list[Any] = []

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
        attempt(functools.partial(gw.fetch_payment, _pi(order), None))
        attempt(functools.partial(gw.fetch_payment, None, _ch(order)))
    return seen


class PaymentGatewayContract:
    """The ``PaymentGateway`` port contract, as a pytest base class, over the Stripe simulator.

    Subclass it in a class named ``Test...`` and define ``make_gateway``; override
    ``check_wire`` to check what went over the wire after each test. Fixtures: ``stripe``, a
    fresh ``FakeStripe``, and ``gateway``, the adapter under test talking to it.
    """

    def make_gateway(
        self, stripe: FakeStripe, *, refund_application_fee: bool = False
    ) -> PaymentGateway:
        """A gateway of the adapter under test that talks to ``stripe`` (in-process, or through
        ``kanorio_refunds.testing.stripe_http``), refunding the platform's application fee with
        each refund when ``refund_application_fee`` is true."""
        raise NotImplementedError(
            f"{type(self).__name__} must define make_gateway() to run PaymentGatewayContract"
        )

    def check_wire(self) -> None:
        """Called after each test: fail it if the traffic was wrong (e.g. a request off Stripe's
        spec). The default checks nothing."""

    @pytest.fixture(autouse=True)
    def _wire_checked_after_each_test(self) -> Iterator[None]:
        yield
        self.check_wire()

    @pytest.fixture
    def stripe(self) -> FakeStripe:
        """A fresh Stripe simulator."""
        return FakeStripe()

    @pytest.fixture
    def gateway(self, stripe: FakeStripe) -> PaymentGateway:
        """The adapter under test, talking to ``stripe``."""
        return self.make_gateway(stripe)

    # -------------------------------------------------------------- fetch_payment

    def test_snapshot_of_a_payment_with_stripe_and_platform_fees(
        self, stripe: FakeStripe, gateway: PaymentGateway
    ) -> None:
        """B1, B4: captured amount, Stripe fee and application fee come from the balance
        transaction's fee_details; nothing refunded, not disputed, no refunds yet."""
        order = _order(stripe, "100.00", fee="3.20", platform="1.00")

        snapshot = gateway.fetch_payment(_pi(order), _ch(order))

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

    def test_snapshot_by_charge_only_is_the_same_payment(
        self, stripe: FakeStripe, gateway: PaymentGateway
    ) -> None:
        """B4: a payment known only by its Charge id reads the same record (Charge with its
        balance_transaction expanded) and its refunds by charge."""
        order = _order(stripe, "80.00", fee="2.62")
        gateway.create_refund(_request(order, "5.00"))

        by_charge = gateway.fetch_payment(None, _ch(order))
        by_intent = gateway.fetch_payment(_pi(order), _ch(order))

        assert by_charge.record == by_intent.record
        assert by_charge.refunds == by_intent.refunds
        assert len(by_charge.refunds) == 1
        assert by_charge.record.amount_refunded == _m("5.00", "USD")

    def test_cross_currency_snapshot_carries_the_exchange_rate(
        self, stripe: FakeStripe, gateway: PaymentGateway
    ) -> None:
        """B3: a USD payment settled in EUR: fees in EUR, the exchange rate exactly as Stripe
        sent it (a Decimal, never a float's expansion); the captured amount and refunds stay in
        USD."""
        order = _order(
            stripe,
            "100.00",
            "USD",
            fee="2.50",
            platform="1.00",
            settlement="EUR",
            rate=Decimal("0.912345"),
        )

        record = gateway.fetch_payment(_pi(order), None).record

        assert record.settlement_currency == Currency.of("EUR")
        assert record.stripe_fee == _m("2.50", "EUR")
        assert record.platform_fee == _m("1.00", "EUR")
        assert record.exchange_rate == Decimal("0.912345")
        assert isinstance(record.exchange_rate, Decimal)
        assert str(record.exchange_rate) == "0.912345"
        assert record.captured == _m("100.00", "USD")
        assert record == order.payment
        made = gateway.create_refund(_request(order, "10.00"))
        assert made.amount == _m("10.00", "USD")
        after = gateway.fetch_payment(_pi(order), None).record
        assert after.amount_refunded == _m("10.00", "USD")

    def test_jpy_is_zero_decimal_both_ways(
        self, stripe: FakeStripe, gateway: PaymentGateway
    ) -> None:
        """M3: JPY is zero-decimal at Stripe: ¥5,000 is 5000 units, a ¥1,500 refund sends
        1500."""
        order = _order(stripe, "5000", "JPY", fee="180")

        record = gateway.fetch_payment(_pi(order), None).record
        refund = gateway.create_refund(_request(order, "1500"))

        assert record.captured == _m("5000", "JPY")
        assert record.stripe_fee == _m("180", "JPY")
        assert refund.amount == _m("1500", "JPY")
        assert _stripe_refunds(stripe, order)[0]["amount"] == 1500

    def test_kwd_is_three_decimal_in_multiples_of_ten(
        self, stripe: FakeStripe, gateway: PaymentGateway
    ) -> None:
        """M3: KWD has three decimals at Stripe and amounts must be multiples of 10: 1.230 KWD
        is sent as 1230; 1.235 KWD is refused before anything is sent."""
        order = _order(stripe, "12.340", "KWD", fee="0.400")
        before = len(stripe.requests)

        with pytest.raises(InvalidAmount):
            gateway.create_refund(_request(order, "1.235", refund_id="rf_bad"))
        assert len(stripe.requests) == before  # nothing reached Stripe

        refund = gateway.create_refund(_request(order, "1.230"))
        record = gateway.fetch_payment(_pi(order), None).record

        assert refund.amount == _m("1.230", "KWD")
        assert _stripe_refunds(stripe, order)[0]["amount"] == 1230
        assert record.captured == _m("12.340", "KWD")
        assert record.amount_refunded == _m("1.230", "KWD")

    def test_unknown_payment_is_rejected_with_resource_missing(
        self, gateway: PaymentGateway
    ) -> None:
        """L3: a payment Stripe does not have is a definitive rejection with Stripe's code."""
        with pytest.raises(GatewayRejected) as info:
            gateway.fetch_payment(PaymentIntentId("pi_missing"), None)
        assert info.value.gateway_code == "resource_missing"

    def test_a_payment_needs_an_id(self, gateway: PaymentGateway) -> None:
        """Neither a PaymentIntent nor a Charge id: nothing to fetch."""
        with pytest.raises(OrderNotFound):
            gateway.fetch_payment(None, None)

    # -------------------------------------------------------------- create_refund

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
        self,
        stripe: FakeStripe,
        gateway: PaymentGateway,
        reason: RefundReason | None,
        stripe_reason: str | None,
    ) -> None:
        """N4, L1: Stripe gets its reason (none for OTHER or no reason) and our order id, refund
        id, reason and notes in metadata; the answer reads back our reason and ids."""
        order = _order(stripe)
        notes = "Customer wrote in.\nSecond line, café ✓" if reason is not None else ""

        refund = gateway.create_refund(_request(order, "12.50", reason=reason, notes=notes))

        stored = _stripe_refunds(stripe, order)
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
        create = _calls(stripe, "create_refund")[-1]
        assert create.idempotency_key == "kanorio-refund-rf_1"
        assert "idempotency_key" not in create.params

    def test_metadata_round_trips_through_fetch(
        self, stripe: FakeStripe, gateway: PaymentGateway
    ) -> None:
        """N3, N4: 500 characters of notes (Stripe's metadata value limit) come back unchanged
        from the payment's refunds, by PaymentIntent and by Charge, with our ids."""
        order = _order(stripe)
        notes = ("Ünïcödé notes, with a\ttab and a newline\n" * 20)[:500]
        assert len(notes) == 500

        created = gateway.create_refund(
            _request(order, "7.00", reason=RefundReason.OTHER, notes=notes)
        )
        by_intent = gateway.fetch_payment(_pi(order), None).refunds
        by_charge = gateway.fetch_payment(None, _ch(order)).refunds

        assert by_intent == by_charge == (created,)
        assert by_intent[0].metadata_value(METADATA_NOTES) == notes
        assert by_intent[0].reason is RefundReason.OTHER
        assert by_intent[0].local_refund_id == "rf_1"

    def test_refund_by_charge_only(self, stripe: FakeStripe, gateway: PaymentGateway) -> None:
        """A payment known only by its Charge is refunded with ``charge=``."""
        order = _order(stripe)

        refund = gateway.create_refund(_request(order, "3.00", by_charge=True))

        create = _calls(stripe, "create_refund")[-1]
        assert create.params.get("charge") == _ch(order)
        assert "payment_intent" not in create.params
        assert refund.charge_id == _ch(order)

    def test_refund_application_fee_only_when_configured(self) -> None:
        """The platform's application fee is refunded only when the gateway is configured
        to."""
        plain_model = FakeStripe()
        plain = self.make_gateway(plain_model)
        order = _order(plain_model, platform="1.00")
        plain.create_refund(_request(order, "3.00"))
        create = _calls(plain_model, "create_refund")[-1]
        assert create.params.get("refund_application_fee") in (None, False, "false")

        fee_model = FakeStripe()
        with_fee = self.make_gateway(fee_model, refund_application_fee=True)
        order = _order(fee_model, platform="1.00")
        with_fee.create_refund(_request(order, "3.00"))
        create = _calls(fee_model, "create_refund")[-1]
        assert create.params.get("refund_application_fee") in (True, "true")

    def test_same_key_same_request_replays_the_same_refund(
        self, stripe: FakeStripe, gateway: PaymentGateway
    ) -> None:
        """L1, L2: sending the same request again (same idempotency key, same parameters)
        returns the same refund and never makes a second one: Stripe sees an idempotent
        replay."""
        order = _order(stripe)
        request = _request(order, "20.00")

        first = gateway.create_refund(request)
        again = gateway.create_refund(request)

        assert again == first
        assert len(_stripe_refunds(stripe, order)) == 1
        assert [r.idempotent_replayed for r in _calls(stripe, "create_refund")] == [False, True]
        record = gateway.fetch_payment(_pi(order), None).record
        assert record.amount_refunded == _m("20.00", "USD")

    def test_same_key_other_parameters_is_an_idempotency_error(
        self, stripe: FakeStripe, gateway: PaymentGateway
    ) -> None:
        """L1: reusing a key with different parameters is refused (``idempotency_error``), and
        no second refund is made."""
        order = _order(stripe)
        gateway.create_refund(_request(order, "20.00"))

        with pytest.raises(GatewayRejected) as info:
            gateway.create_refund(_request(order, "21.00"))

        assert info.value.gateway_code == "idempotency_error"
        assert len(_stripe_refunds(stripe, order)) == 1

    def test_over_refund_is_rejected_amount_too_large(
        self, stripe: FakeStripe, gateway: PaymentGateway
    ) -> None:
        """L3, B2: more than Stripe still allows is a definitive rejection; nothing is
        created."""
        order = _order(stripe, "50.00")
        gateway.create_refund(_request(order, "30.00"))

        with pytest.raises(GatewayRejected) as info:
            gateway.create_refund(_request(order, "20.01", refund_id="rf_2"))

        assert info.value.gateway_code == "amount_too_large"
        assert len(_stripe_refunds(stripe, order)) == 1

    def test_fully_refunded_charge_is_rejected_already_refunded(
        self, stripe: FakeStripe, gateway: PaymentGateway
    ) -> None:
        """L3: a charge with nothing left to refund answers ``charge_already_refunded``."""
        order = _order(stripe, "50.00")
        gateway.create_refund(_request(order, "50.00"))

        with pytest.raises(GatewayRejected) as info:
            gateway.create_refund(_request(order, "1.00", refund_id="rf_2"))

        assert info.value.gateway_code == "charge_already_refunded"
        record = gateway.fetch_payment(_pi(order), None).record
        assert record.amount_refunded == record.captured

    # -------------------------------------------------------------- disputes (E5)

    def test_disputed_payment_reads_disputed_and_refuses_refunds(
        self, stripe: FakeStripe, gateway: PaymentGateway
    ) -> None:
        """E5, L3: an open dispute shows as ``disputed`` and refunds fail with
        ``charge_disputed``; after the dispute is won, the payment reads as not disputed
        (although Stripe keeps ``charge.disputed`` true) and refunds work again."""
        order = _order(stripe)
        stripe.open_dispute(_pi(order))

        assert gateway.fetch_payment(_pi(order), None).record.disputed is True
        with pytest.raises(GatewayRejected) as info:
            gateway.create_refund(_request(order, "10.00"))
        assert info.value.gateway_code == "charge_disputed"
        assert _stripe_refunds(stripe, order) == []

        stripe.close_dispute(_pi(order), "won")
        assert stripe.charge_of(_pi(order))["disputed"] is True
        assert gateway.fetch_payment(_pi(order), None).record.disputed is False
        refund = gateway.create_refund(_request(order, "10.00", refund_id="rf_2"))
        assert refund.status is RefundStatus.SUCCEEDED
        after = gateway.fetch_payment(_pi(order), None)
        assert after.record.disputed is False
        assert after.record.amount_refunded == _m("10.00", "USD")

    @pytest.mark.parametrize("by_charge", [False, True], ids=["by_intent", "by_charge"])
    @pytest.mark.parametrize("life", list(_DISPUTE_LIVES))
    def test_disputed_exactly_while_a_dispute_blocks_refunds(
        self, stripe: FakeStripe, gateway: PaymentGateway, life: str, by_charge: bool
    ) -> None:
        """E5: ``disputed`` is true while the charge's dispute is open (inquiry or chargeback,
        also under review) or lost, and false once it is won or the inquiry closed; the gateway
        agrees with Stripe's refusals in every case. The disputes are listed once per read."""
        steps, blocked = _DISPUTE_LIVES[life]
        order = _order(stripe)
        _live_through(stripe, order, steps)
        pi, ch = (None, _ch(order)) if by_charge else (_pi(order), None)

        record = gateway.fetch_payment(pi, ch).record

        assert record.disputed is blocked
        listings = _calls(stripe, "list_disputes")
        assert [r.params for r in listings] == [{"charge": _ch(order), "limit": 100}]
        if blocked:
            with pytest.raises(GatewayRejected) as info:
                gateway.create_refund(_request(order, "10.00", by_charge=by_charge))
            assert info.value.gateway_code == "charge_disputed"
        else:
            refund = gateway.create_refund(_request(order, "10.00", by_charge=by_charge))
            assert refund.status is RefundStatus.SUCCEEDED
            assert gateway.fetch_payment(pi, ch).record.disputed is False

    def test_an_undisputed_payment_lists_no_disputes(
        self, stripe: FakeStripe, gateway: PaymentGateway
    ) -> None:
        """E5: the dispute listing is only read for a charge Stripe flags disputed."""
        order = _order(stripe)
        gateway.fetch_payment(_pi(order), None)
        gateway.fetch_payment(None, _ch(order))
        assert _calls(stripe, "list_disputes") == []

    @pytest.mark.parametrize("fault", _UNAVAILABLE_FAULTS_FOR_READS, ids=lambda f: f.value)
    def test_a_failed_dispute_listing_is_unavailable(
        self, stripe: FakeStripe, gateway: PaymentGateway, fault: Fault
    ) -> None:
        """L2, E5: when the disputes cannot be read, the payment is not guessed: the read fails
        as ``GatewayUnavailable`` and the next one works."""
        order = _order(stripe)
        _live_through(stripe, order, ("won",))
        stripe.inject_fault(fault, operation="list_disputes")

        with pytest.raises(GatewayUnavailable):
            gateway.fetch_payment(_pi(order), None)

        assert gateway.fetch_payment(_pi(order), None).record.disputed is False

    # -------------------------------------------------------------- unreadable answers

    @pytest.mark.parametrize("case", list(_CORRUPTIONS))
    def test_unreadable_stripe_data_is_a_protocol_error(
        self, stripe: FakeStripe, gateway: PaymentGateway, case: str
    ) -> None:
        """Port contract: malformed Stripe data surfaces as ``GatewayProtocolError``, never as
        InvalidAmount, UnknownCurrency or a bare ValueError/KeyError."""
        order = _order(stripe, "100.01")
        gateway.create_refund(_request(order, "1.00"))
        _CORRUPTIONS[case](stripe, order)

        with pytest.raises(GatewayProtocolError) as info:
            gateway.fetch_payment(_pi(order), None)

        assert info.value.code == "gateway_protocol_error"
        assert info.value.retryable is False

    def test_asynchronous_statuses_and_failure_reasons_are_read(
        self, stripe: FakeStripe, gateway: PaymentGateway
    ) -> None:
        """S3: a refund born pending is PENDING; after Stripe fails it the payment's refunds
        show FAILED with Stripe's failure reason, and the charge's refunded amount is given
        back."""
        stripe.default_refund_status = "pending"
        order = _order(stripe)

        created = gateway.create_refund(_request(order, "10.00"))
        assert created.status is RefundStatus.PENDING

        stripe.set_refund_status(created.id, "failed", failure_reason="expired_or_canceled_card")
        snapshot = gateway.fetch_payment(_pi(order), None)

        assert [r.status for r in snapshot.refunds] == [RefundStatus.FAILED]
        assert snapshot.refunds[0].failure_reason == "expired_or_canceled_card"
        assert snapshot.record.amount_refunded == _m("0", "USD")

    # -------------------------------------------------------------- faults (L2, L3)

    @pytest.mark.parametrize("fault", _UNAVAILABLE_FAULTS, ids=lambda f: f.value)
    def test_transient_faults_on_create_are_unavailable_and_create_nothing(
        self, stripe: FakeStripe, gateway: PaymentGateway, fault: Fault
    ) -> None:
        """L2: connection errors, 429, 409 and 500 are retryable ``GatewayUnavailable``; in
        these faults nothing happened at Stripe, and the same request afterwards makes exactly
        one refund."""
        order = _order(stripe)
        request = _request(order, "10.00")
        stripe.inject_fault(fault)

        with pytest.raises(GatewayUnavailable) as info:
            gateway.create_refund(request)

        assert info.value.code == "gateway_unavailable"
        assert info.value.retryable is True
        assert _stripe_refunds(stripe, order) == []
        gateway.create_refund(request)
        assert len(_stripe_refunds(stripe, order)) == 1

    def test_timeout_after_create_is_unavailable_but_the_refund_exists(
        self, stripe: FakeStripe, gateway: PaymentGateway
    ) -> None:
        """L2: a lost answer is ``GatewayUnavailable`` (outcome unknown) although Stripe created
        the refund; it is found by our metadata among the payment's refunds, and sending the
        same request again returns that refund (never a second one)."""
        order = _order(stripe)
        request = _request(order, "10.00")
        stripe.inject_fault(Fault.TIMEOUT_AFTER_CREATE)

        with pytest.raises(GatewayUnavailable) as info:
            gateway.create_refund(request)

        assert info.value.retryable is True
        stored = _stripe_refunds(stripe, order)
        assert len(stored) == 1
        listed = gateway.fetch_payment(_pi(order), None).refunds
        assert [r.local_refund_id for r in listed] == ["rf_1"]
        again = gateway.create_refund(request)
        assert again.id == stored[0]["id"]
        assert len(_stripe_refunds(stripe, order)) == 1

    @pytest.mark.parametrize(
        "code",
        ["charge_disputed", "amount_too_large", "charge_already_refunded", "resource_missing"],
    )
    def test_rejections_carry_stripe_code(
        self, stripe: FakeStripe, gateway: PaymentGateway, code: str
    ) -> None:
        """L3: a definitive refusal is ``GatewayRejected`` (code ``gateway_rejected``) with
        Stripe's code, not retryable, and nothing is created."""
        order = _order(stripe)
        stripe.inject_fault(Fault.REJECT, code=code)

        with pytest.raises(GatewayRejected) as info:
            gateway.create_refund(_request(order, "10.00"))

        assert info.value.code == "gateway_rejected"
        assert info.value.gateway_code == code
        assert info.value.retryable is False
        assert _stripe_refunds(stripe, order) == []

    @pytest.mark.parametrize("operation", ["retrieve_payment_intent", "list_refunds"])
    @pytest.mark.parametrize("fault", _UNAVAILABLE_FAULTS_FOR_READS, ids=lambda f: f.value)
    def test_transient_faults_on_reads_are_unavailable(
        self, stripe: FakeStripe, gateway: PaymentGateway, fault: Fault, operation: str
    ) -> None:
        """L2, B4: a failing read of the payment or of its refunds is ``GatewayUnavailable``
        (retryable); the next read works. Refunds beyond the 10 that come with the payment are
        listed (issue 10), so the payment here has 11."""
        order = _order(stripe)
        for i in range(11):
            stripe.create_refund(
                {"payment_intent": _pi(order), "amount": 1}, idempotency_key=f"{i}"
            )
        stripe.inject_fault(fault, operation=operation)

        with pytest.raises(GatewayUnavailable) as info:
            gateway.fetch_payment(_pi(order), None)

        assert info.value.retryable is True
        again = gateway.fetch_payment(_pi(order), None)
        assert order.payment is not None
        assert again.record.captured == order.payment.captured
        assert len(again.refunds) == 11

    def test_fault_on_charge_read_is_unavailable(
        self, stripe: FakeStripe, gateway: PaymentGateway
    ) -> None:
        """L2: the Charge read (payments known by charge only) fails like the others."""
        order = _order(stripe)
        stripe.inject_fault(Fault.SERVER_ERROR, operation="retrieve_charge")

        with pytest.raises(GatewayUnavailable):
            gateway.fetch_payment(None, _ch(order))

    # -------------------------------------------------------------- refund pages (B4)

    def test_refunds_are_read_across_every_page_oldest_first(
        self, stripe: FakeStripe, gateway: PaymentGateway
    ) -> None:
        """B4: more than 100 refunds (Stripe's page limit) are all read, oldest first, by
        PaymentIntent and by Charge, following Stripe's cursor (each page starts after the last
        refund of the one before)."""
        order = _order(stripe, "300.00")
        for i in range(205):
            stripe.create_refund(
                {"payment_intent": _pi(order), "amount": 1}, idempotency_key=f"k{i}"
            )
        expected = [r["id"] for r in _stripe_refunds(stripe, order)]

        by_intent = gateway.fetch_payment(_pi(order), None)
        by_charge = gateway.fetch_payment(None, _ch(order))

        assert len(expected) == 205
        assert [r.id for r in by_intent.refunds] == expected
        assert [r.id for r in by_charge.refunds] == expected
        assert by_intent.record.amount_refunded == Money.from_minor(205, "USD")
        pages = _calls(stripe, "list_refunds")
        # Two reads of 10 refunds with the payment (issue 10), then two pages (100 + 95).
        assert len(pages) == 2 * 2
        # Stripe lists newest first: the first page starts after the 10 newest.
        assert [p.params.get("starting_after") for p in pages[:2]] == [
            expected[195],
            expected[95],
        ]

    def test_exactly_one_full_page_is_one_request(
        self, stripe: FakeStripe, gateway: PaymentGateway
    ) -> None:
        """B4: exactly 100 refunds need one page only (``has_more`` is false): 10 come with
        the payment, 90 on the page."""
        order = _order(stripe)
        for i in range(100):
            stripe.create_refund(
                {"payment_intent": _pi(order), "amount": 1}, idempotency_key=f"k{i}"
            )

        assert len(gateway.fetch_payment(_pi(order), None).refunds) == 100
        assert len(_calls(stripe, "list_refunds")) == 1

    def test_a_payment_shows_only_its_own_refunds(
        self, stripe: FakeStripe, gateway: PaymentGateway
    ) -> None:
        """B4: refunds of another payment are not read as this payment's."""
        first = _order(stripe, order_id="ord_1")
        second = _order(stripe, order_id="ord_2")
        gateway.create_refund(_request(first, "1.00", refund_id="rf_a"))
        gateway.create_refund(_request(second, "2.00", refund_id="rf_b"))

        of_first = gateway.fetch_payment(_pi(first), None).refunds
        of_second = gateway.fetch_payment(None, _ch(second)).refunds

        assert [r.local_refund_id for r in of_first] == ["rf_a"]
        assert [r.local_refund_id for r in of_second] == ["rf_b"]

    # -------------------------------------------------------------- one history, two gateways

    def test_observes_what_the_reference_gateway_observes(self) -> None:
        """L1-L3, B3, B4: one scenario (fees, FX, JPY, replays, idempotency errors, rejections,
        every fault kind, async failure, disputes) gives the same results through the adapter
        under test as through this library's ``FakeStripeGateway`` on a twin simulator: equal
        snapshots, refunds (ids, statuses, metadata, times) and error codes."""
        twin = FakeStripe()
        expected = _history(twin, FakeStripeGateway(twin))
        model = FakeStripe()

        observed = _history(model, self.make_gateway(model))

        assert len(observed) == len(expected) > 20
        for i, (got, want) in enumerate(zip(observed, expected, strict=True)):
            assert got == want, f"observation {i} differs"
        assert any(isinstance(o, GatewayRefund) for o in observed)
        assert ("GatewayUnavailable", "gateway_unavailable", None) in observed
