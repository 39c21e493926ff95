"""L2 unknown outcomes (timeouts, connection errors, 409/429/5xx) and L3 definitive rejections."""

from __future__ import annotations

import pytest

from kanorio_refunds import ActivityKind, Actor, Order, OrderStatus, RefundQuote, RefundStatus
from kanorio_refunds.errors import GatewayRejected, GatewayUnavailable
from kanorio_refunds.testing.fake_stripe import Fault
from tests.support.gateway import Answer
from tests.support.world import NET, ORDER_ID, World, reserved_minor, stored_refundable, usd

#: Faults after which Stripe certainly holds no refund.
NOTHING_HAPPENED = [Fault.CONNECTION_ERROR, Fault.RATE_LIMITED, Fault.SERVER_ERROR, Fault.CONFLICT]


def _fail_once(world: World, owner: Actor, fault: Fault, amount: str = "30.00") -> RefundQuote:
    """Quote ``amount``, make the next POST /v1/refunds fail with ``fault``, process: it must
    raise gateway_unavailable naming the refund."""
    quote = world.service.quote(ORDER_ID, owner, usd(amount))
    world.stripe.inject_fault(fault)
    with pytest.raises(GatewayUnavailable) as info:
        world.service.process(quote, owner)
    assert info.value.code == "gateway_unavailable"
    assert info.value.retryable
    assert info.value.refund_id == quote.refund_id
    return quote


def _assert_one_stripe_refund_of_our_refund(world: World, quote: RefundQuote) -> None:
    at_stripe = world.stripe_refunds()
    assert len(at_stripe) == 1
    assert at_stripe[0]["amount"] == quote.amount.minor
    keys = {r.idempotency_key for r in world.create_requests()}
    assert len(keys) == 1
    key = keys.pop()
    assert key is not None
    assert quote.refund_id in key
    stored = world.order()
    assert len(stored.refunds) == 1
    refund = stored.refund(quote.refund_id)
    assert refund.status is RefundStatus.SUCCEEDED
    assert refund.gateway_refund_id == at_stripe[0]["id"]
    assert stored.status is OrderStatus.PARTIALLY_REFUNDED
    assert stored_refundable(stored) == usd("65.80")


# ------------------------------------------------------------------------------------- L2


def test_timeout_after_create_leaves_the_refund_submitting_and_reserved(
    world: World, order: Order, owner: Actor
) -> None:
    """L2: Stripe made the refund but the answer was lost: gateway_unavailable with the refund
    id; exactly one Stripe refund; locally SUBMITTING, still reserving its amount."""
    quote = _fail_once(world, owner, Fault.TIMEOUT_AFTER_CREATE)

    assert len(world.stripe_refunds()) == 1
    stored = world.order()
    refund = stored.refund(quote.refund_id)
    assert refund.status is RefundStatus.SUBMITTING
    assert reserved_minor(stored) == 3_000
    assert world.service.order_details(ORDER_ID, owner).refundable == usd("65.80")
    assert stored.status is OrderStatus.PARTIALLY_REFUNDED
    assert stored.activity[-1].kind is ActivityKind.REFUND_OUTCOME_UNKNOWN
    assert stored.activity[-1].refund_id == quote.refund_id


def test_processing_the_same_quote_again_adopts_the_timed_out_refund(
    world: World, order: Order, owner: Actor
) -> None:
    """L2, F2: processing the same quote again finds the refund Stripe made and adopts it:
    no second POST, one Stripe refund, the same refund record now SUCCEEDED."""
    quote = _fail_once(world, owner, Fault.TIMEOUT_AFTER_CREATE)

    refund = world.service.process(quote, owner)

    assert refund.id == quote.refund_id
    assert refund.status is RefundStatus.SUCCEEDED
    assert len(world.create_requests()) == 1
    _assert_one_stripe_refund_of_our_refund(world, quote)


@pytest.mark.parametrize("fault", NOTHING_HAPPENED, ids=lambda f: f.value)
def test_failed_call_leaves_the_refund_submitting_and_nothing_at_stripe(
    world: World, order: Order, owner: Actor, fault: Fault
) -> None:
    """L2: a connection error, 409, 429 or 500 leaves the refund SUBMITTING and reserved; Stripe
    holds no refund."""
    quote = _fail_once(world, owner, fault)

    assert world.stripe_refunds() == []
    stored = world.order()
    assert stored.refund(quote.refund_id).status is RefundStatus.SUBMITTING
    assert reserved_minor(stored) == 3_000
    assert stored_refundable(stored) == usd("65.80")


@pytest.mark.parametrize("fault", NOTHING_HAPPENED, ids=lambda f: f.value)
def test_sync_resubmits_with_the_same_key(
    world: World, order: Order, owner: Actor, fault: Fault
) -> None:
    """L1, L2: sync sends a refund Stripe certainly does not hold again, with the same idempotency
    key; in the end exactly one Stripe refund exists, matching our record."""
    quote = _fail_once(world, owner, fault)

    world.service.sync(ORDER_ID)

    assert len(world.create_requests()) == 2
    _assert_one_stripe_refund_of_our_refund(world, quote)
    world.service.sync(ORDER_ID)
    assert len(world.create_requests()) == 2  # nothing left to resume


@pytest.mark.parametrize("fault", NOTHING_HAPPENED, ids=lambda f: f.value)
def test_processing_again_resubmits_with_the_same_key(
    world: World, order: Order, owner: Actor, fault: Fault
) -> None:
    """L2, F2: processing the same quote again (the user retries) resends it with the same key
    and returns the one refund."""
    quote = _fail_once(world, owner, fault)

    refund = world.service.process(quote, owner)

    assert refund.status is RefundStatus.SUCCEEDED
    _assert_one_stripe_refund_of_our_refund(world, quote)


def test_sync_while_stripe_is_still_down_keeps_the_refund_submitting(
    world: World, order: Order, owner: Actor
) -> None:
    """L2: a sync whose resubmission fails again raises gateway_unavailable and loses nothing;
    the next sync completes it, still with one Stripe refund."""
    quote = _fail_once(world, owner, Fault.SERVER_ERROR)
    world.stripe.inject_fault(Fault.CONNECTION_ERROR)

    with pytest.raises(GatewayUnavailable):
        world.service.sync(ORDER_ID)
    assert world.order().refund(quote.refund_id).status is RefundStatus.SUBMITTING
    assert world.stripe_refunds() == []

    world.service.sync(ORDER_ID)
    _assert_one_stripe_refund_of_our_refund(world, quote)


def test_repeated_timeouts_never_make_a_second_refund(
    world: World, order: Order, owner: Actor
) -> None:
    """L2: a connection error, then a timeout on the retry (after Stripe acted), still leave one
    Stripe refund, adopted on the next process."""
    quote = world.service.quote(ORDER_ID, owner, usd("30.00"))
    world.stripe.inject_fault(Fault.CONNECTION_ERROR)
    world.stripe.inject_fault(Fault.TIMEOUT_AFTER_CREATE)
    for _ in range(2):
        with pytest.raises(GatewayUnavailable):
            world.service.process(quote, owner)
    assert world.stripe.pending_faults() == 0
    assert world.order().refund(quote.refund_id).status is RefundStatus.SUBMITTING

    world.service.process(quote, owner)

    _assert_one_stripe_refund_of_our_refund(world, quote)


def test_webhook_of_the_timed_out_refund_resolves_it(
    world: World, order: Order, owner: Actor
) -> None:
    """L2, L5: the refund.created webhook of a timed-out refund matches our SUBMITTING record by
    its metadata and resolves it without a sync and without a second Stripe refund."""
    quote = _fail_once(world, owner, Fault.TIMEOUT_AFTER_CREATE)

    world.deliver_new()

    _assert_one_stripe_refund_of_our_refund(world, quote)
    assert len(world.create_requests()) == 1


# ------------------------------------------------------------------------------------- L3

REJECTIONS = ["charge_disputed", "amount_too_large", "charge_already_refunded"]


@pytest.mark.parametrize("code", REJECTIONS)
def test_rejection_fails_the_refund_and_releases_its_amount(
    world: World, order: Order, owner: Actor, code: str
) -> None:
    """L3: a definitive refusal raises gateway_rejected carrying Stripe's code; the refund is
    FAILED with that code in its failure reason; its amount is released and, with nothing else
    reserving, the order is PAID again."""
    quote = world.service.quote(ORDER_ID, owner, usd("30.00"))
    world.stripe.inject_fault(Fault.REJECT, code=code)

    with pytest.raises(GatewayRejected) as info:
        world.service.process(quote, owner)

    assert info.value.code == "gateway_rejected"
    assert info.value.gateway_code == code
    assert info.value.refund_id == quote.refund_id
    assert not info.value.retryable
    stored = world.order()
    refund = stored.refund(quote.refund_id)
    assert refund.status is RefundStatus.FAILED
    assert refund.failure_reason is not None
    assert code in refund.failure_reason
    assert reserved_minor(stored) == 0
    assert stored.status is OrderStatus.PAID
    assert stored.activity[-1].kind is ActivityKind.STATUS_CHANGED
    assert ActivityKind.REFUND_FAILED in [a.kind for a in stored.activity]
    assert world.stripe_refunds() == []
    assert world.service.eligibility(ORDER_ID, owner).refundable == NET


def test_rejection_after_a_full_refund_quote_goes_back_to_paid(
    world: World, order: Order, owner: Actor
) -> None:
    """L3, S1, S2: a rejected full refund takes the order PAID → REFUNDED (write-ahead) → PAID."""
    quote = world.service.quote(ORDER_ID, owner, usd("95.80"))
    world.stripe.inject_fault(Fault.REJECT, code="charge_disputed")

    with pytest.raises(GatewayRejected):
        world.service.process(quote, owner)

    changes = [a.message for a in world.order().activity if a.kind is ActivityKind.STATUS_CHANGED]
    assert changes == [
        "Order status changed from Paid to Refunded",
        "Order status changed from Refunded to Paid",
    ]


def test_rejection_keeps_the_status_of_other_refunds(
    world: World, order: Order, owner: Actor
) -> None:
    """L3, S1: a rejected second refund releases only its own amount; the earlier refund still
    reserves, so the order stays PARTIALLY_REFUNDED with 65.80 left."""
    world.service.process(world.service.quote(ORDER_ID, owner, usd("30.00")), owner)
    quote = world.service.quote(ORDER_ID, owner, usd("20.00"))
    world.stripe.inject_fault(Fault.REJECT, code="amount_too_large")

    with pytest.raises(GatewayRejected):
        world.service.process(quote, owner)

    stored = world.order()
    assert stored.status is OrderStatus.PARTIALLY_REFUNDED
    assert reserved_minor(stored) == 3_000
    assert world.service.quote(ORDER_ID, owner, usd("65.80")).amount == usd("65.80")


def test_a_rejected_quote_is_not_retried(world: World, order: Order, owner: Actor) -> None:
    """L3, F2: processing a rejected quote again returns the FAILED record without a new POST."""
    quote = world.service.quote(ORDER_ID, owner, usd("30.00"))
    world.stripe.inject_fault(Fault.REJECT, code="charge_disputed")
    with pytest.raises(GatewayRejected):
        world.service.process(quote, owner)

    again = world.service.process(quote, owner)

    assert again.status is RefundStatus.FAILED
    assert len(world.create_requests()) == 1


def test_sync_records_a_rejection_of_a_resubmitted_refund(
    world: World, order: Order, owner: Actor
) -> None:
    """L2, L3: a resubmission during sync that Stripe refuses (a dispute opened meanwhile)
    marks the refund FAILED; sync itself does not raise and releases the amount."""
    quote = _fail_once(world, owner, Fault.CONNECTION_ERROR)
    world.stripe.open_dispute(world.pi())

    synced = world.service.sync(ORDER_ID)

    refund = synced.refund(quote.refund_id)
    assert refund.status is RefundStatus.FAILED
    assert refund.failure_reason is not None
    assert "charge_disputed" in refund.failure_reason
    assert synced.status is OrderStatus.PAID
    assert world.stripe_refunds() == []


def test_an_unreadable_create_answer_is_an_unknown_outcome(
    world: World, order: Order, owner: Actor
) -> None:
    """L2: Stripe made the refund but its answer could not be read (GatewayProtocolError): the
    refund stays SUBMITTING and reserved, the caller hears gateway_unavailable, and sync adopts
    the refund Stripe made — one refund at Stripe, never two."""

    world.gateway.arm_fault("create", Answer.UNREADABLE)
    service = world.service
    quote = service.quote(ORDER_ID, owner, usd("30.00"))
    with pytest.raises(GatewayUnavailable) as caught:
        service.process(quote, owner)
    assert caught.value.refund_id == quote.refund_id
    assert world.order().refund(quote.refund_id).status is RefundStatus.SUBMITTING
    assert len(world.stripe_refunds()) == 1

    synced = world.service.sync(ORDER_ID)
    assert synced.refund(quote.refund_id).status is RefundStatus.SUCCEEDED
    assert len(world.stripe_refunds()) == 1
