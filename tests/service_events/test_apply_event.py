"""``RefundService.apply_event``: webhook events applied idempotently and order-insensitively
(rules L5, L2, B4, S1, S3, F3, E5)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from kanorio_refunds import (
    ActivityKind,
    EventEffect,
    EventOutcome,
    GatewayEvent,
    OrderStatus,
    RefundStatus,
)
from kanorio_refunds.adapters.stripe import parse_event
from kanorio_refunds.domain import EventId, EventKind, RefundOrigin
from kanorio_refunds.domain._balance import refundable_balance
from kanorio_refunds.errors import GatewayRejected, GatewayUnavailable
from kanorio_refunds.testing.fake_stripe import Fault
from tests.support.gateway import Crash
from tests.support.world import ORDER_ID, OWNER, World, of_type, usd


def results(outcomes: list[EventOutcome]) -> list[EventEffect]:
    return [o.effect for o in outcomes]


def test_a_duplicate_event_changes_nothing() -> None:
    """L5: the same event delivered twice is applied once; the second delivery is reported as a
    duplicate and leaves the order (and its version) untouched."""
    w = World.with_order(default_refund_status="pending")
    refund = w.refund(usd("30.00"))
    w.stripe.set_refund_status(w.stripe_refund_of(refund)["id"], "succeeded")
    (updated,) = of_type(w.new_events(), "refund.updated")
    first = w.service.apply_event(parse_event(updated))
    after_first = w.order()
    second = w.service.apply_event(parse_event(updated))
    assert first.effect is EventEffect.APPLIED
    assert second.effect is EventEffect.DUPLICATE
    assert w.order() == after_first
    assert w.order().refund(refund.id).status is RefundStatus.SUCCEEDED


def test_a_duplicate_event_in_another_process_changes_nothing() -> None:
    """L5: without a shared record of processed events (two host processes), the refund's own
    Stripe event timeline still makes the second application a no-op."""
    w = World.with_order(default_refund_status="pending", services=2)
    refund = w.refund(usd("30.00"))
    w.stripe.set_refund_status(w.stripe_refund_of(refund)["id"], "succeeded")
    (updated,) = of_type(w.new_events(), "refund.updated")
    w.services[0].apply_event(parse_event(updated))
    after_first = w.order()
    again = w.services[1].apply_event(parse_event(updated))
    assert again.effect is EventEffect.DUPLICATE
    assert w.order() == after_first


def test_reordered_events_end_in_the_newest_status() -> None:
    """L5, S3, F3: pending → succeeded delivered newest first: the refund ends SUCCEEDED and the
    late refund.created (pending) joins the Stripe event timeline marked not applied."""
    w = World.with_order(default_refund_status="pending")
    refund = w.refund(usd("30.00"))
    w.stripe.set_refund_status(w.stripe_refund_of(refund)["id"], "succeeded")
    events = of_type(w.new_events(), "refund.created", "refund.updated")
    outcomes = w.deliver(list(reversed(events)))
    assert results(outcomes) == [EventEffect.APPLIED, EventEffect.STALE]
    recorded = w.order().refund(refund.id)
    assert recorded.status is RefundStatus.SUCCEEDED
    assert [(e.type, e.status, e.applied) for e in recorded.events] == [
        ("refund.updated", RefundStatus.SUCCEEDED, True),
        ("refund.created", RefundStatus.PENDING, False),
    ]


def test_a_stale_pending_after_failed_never_moves_the_refund_back() -> None:
    """L5, S3: a late refund.updated saying pending after the refund already failed leaves it
    FAILED; the event is recorded in the timeline, marked not applied."""
    w = World.with_order(default_refund_status="pending")
    refund = w.refund(usd("30.00"))
    gateway_id = w.stripe_refund_of(refund)["id"]
    w.stripe.set_refund_status(gateway_id, "requires_action")
    w.stripe.set_refund_status(gateway_id, "pending")
    w.stripe.set_refund_status(gateway_id, "failed", failure_reason="declined")
    events = of_type(w.new_events(), "refund.updated", "refund.failed")
    to_pending, to_failed, failed = events[1:]
    assert to_pending["data"]["object"]["status"] == "pending"
    assert results(w.deliver([failed, to_failed, to_pending])) == [
        EventEffect.APPLIED,
        EventEffect.UNCHANGED,
        EventEffect.STALE,
    ]
    recorded = w.order().refund(refund.id)
    assert recorded.status is RefundStatus.FAILED
    assert recorded.failure_reason == "declined"
    assert recorded.events[-1].status is RefundStatus.PENDING
    assert recorded.events[-1].applied is False
    assert w.order().status is OrderStatus.PAID


def test_late_failure_after_succeeded_reopens_a_refunded_order() -> None:
    """S1, S3, F3, L5: a refund failing after it succeeded (refund.updated + refund.failed) is
    FAILED with Stripe's reason, releases its reservation, and the order goes from REFUNDED to
    PARTIALLY_REFUNDED, with activity entries for both."""
    w = World.with_order()
    first = w.refund(usd("50.00"))
    w.refund()  # the remaining 45.80
    assert w.order().status is OrderStatus.REFUNDED
    w.new_events()
    w.stripe.set_refund_status(
        w.stripe_refund_of(first)["id"], "failed", failure_reason="expired_or_canceled_card"
    )
    activity_before = len(w.order().activity)
    outcomes = w.deliver_new()
    assert EventEffect.APPLIED in results(outcomes)
    order = w.order()
    failed = order.refund(first.id)
    assert failed.status is RefundStatus.FAILED
    assert failed.failure_reason == "expired_or_canceled_card"
    assert order.status is OrderStatus.PARTIALLY_REFUNDED
    new_kinds = [a.kind for a in order.activity[activity_before:]]
    assert new_kinds == [ActivityKind.REFUND_FAILED, ActivityKind.STATUS_CHANGED]
    assert "expired_or_canceled_card" in order.activity[activity_before].message
    assert order.payment is not None
    assert refundable_balance(order.payment, order.refunds).refundable == usd("50.00")
    assert w.service.eligibility(ORDER_ID, OWNER).refundable == usd("50.00")


def test_late_failure_of_the_only_refund_puts_the_order_back_to_paid() -> None:
    """S1, S2: the only refund failing late leaves nothing reserved: REFUNDED → PAID."""
    w = World.with_order()
    refund = w.refund()
    w.new_events()
    w.stripe.set_refund_status(w.stripe_refund_of(refund)["id"], "failed")
    w.deliver_new()
    assert w.order().status is OrderStatus.PAID
    assert w.order().refund(refund.id).failure_reason == "unknown"


def test_late_failure_event_after_a_sync_uses_what_stripe_allows_again() -> None:
    """S1, B2: (regression) after a sync recorded Stripe's amount_refunded, a late failure
    learned by webhook gives the amount back to Stripe's cap too. With no fees (net = captured)
    the order used to stay REFUNDED with nothing refundable, where Stripe allows 50.00 again."""
    w = World.with_order(stripe_fee=usd("0"), platform_fee=usd("0"))
    first = w.refund(usd("50.00"))
    w.refund()
    w.service.sync(ORDER_ID)
    assert w.order().status is OrderStatus.REFUNDED
    w.new_events()
    w.stripe.set_refund_status(w.stripe_refund_of(first)["id"], "failed")
    w.deliver_new()
    order = w.order()
    assert order.status is OrderStatus.PARTIALLY_REFUNDED
    assert order.payment is not None
    assert order.payment.amount_refunded == usd("50.00")
    assert refundable_balance(order.payment, order.refunds).refundable == usd("50.00")
    assert w.service.sync(ORDER_ID).version == order.version  # nothing left to learn


def test_a_dashboard_refund_is_imported_once_from_its_events() -> None:
    """B4, L5, F3: a refund made in the Stripe dashboard is imported with origin EXTERNAL from
    its refund.created event; its later events update that record, never a second one."""
    w = World.with_order(default_refund_status="pending")
    made = w.dashboard_refund(usd("20.00"), reason="requested_by_customer")
    outcomes = w.deliver_new()
    assert EventEffect.APPLIED in results(outcomes)
    w.stripe.set_refund_status(made["id"], "succeeded")
    w.deliver_new()
    (imported,) = w.order().refunds
    assert imported.origin is RefundOrigin.EXTERNAL
    assert imported.gateway_refund_id == made["id"]
    assert imported.amount == usd("20.00")
    assert imported.status is RefundStatus.SUCCEEDED
    assert [a.kind for a in w.order().activity].count(ActivityKind.EXTERNAL_REFUND_IMPORTED) == 1
    assert w.order().status is OrderStatus.PARTIALLY_REFUNDED


def test_the_webhook_echo_before_the_create_response_is_not_imported() -> None:
    """L5, L2, B4: Stripe's refund.created for our refund arriving while the refund is still
    SUBMITTING (before the create response) is matched by our metadata: one refund, ours,
    never imported as external."""
    w = World.with_order()
    outcomes: list[EventOutcome] = []

    def echo() -> None:
        assert w.order().refunds[0].status is RefundStatus.SUBMITTING
        outcomes.extend(w.deliver_new())

    w.gateway.after_create.append(echo)
    refund = w.refund(usd("30.00"))
    assert results(outcomes)[0] is EventEffect.APPLIED  # refund.created: SUBMITTING → SUCCEEDED
    (recorded,) = w.order().refunds
    assert recorded.id == refund.id
    assert recorded.origin is RefundOrigin.LOCAL
    assert recorded.status is RefundStatus.SUCCEEDED
    assert recorded.gateway_refund_id == w.stripe_refund_of(refund)["id"]
    assert ActivityKind.EXTERNAL_REFUND_IMPORTED not in [a.kind for a in w.order().activity]
    assert len(w.stripe_refunds()) == 1


def test_unknown_event_types_are_ignored() -> None:
    """L5: event types the library does not act on are ignored (and remembered), not raised."""
    w = World.with_order()
    event = GatewayEvent(
        id=EventId("evt_other"),
        kind=EventKind.IGNORED,
        type="customer.created",
        created_at=datetime(2026, 11, 26, tzinfo=UTC),
    )
    version = w.order().version
    assert w.service.apply_event(event).effect is EventEffect.IGNORED
    assert w.service.apply_event(event).effect is EventEffect.DUPLICATE
    assert w.order().version == version


def test_events_for_an_unknown_order_say_so() -> None:
    """L5: a refund event for a payment of no order returns UNKNOWN_ORDER (the endpoint answers
    2xx), it does not raise."""
    w = World.with_order()
    stray = w.stripe.create_payment(5000, "usd", stripe_fee=100)
    w.stripe.create_refund({"payment_intent": stray["id"], "amount": 1000})
    outcomes = w.deliver_new()
    assert results(outcomes) == [EventEffect.UNKNOWN_ORDER, EventEffect.UNKNOWN_ORDER]
    assert all("no order" in o.message for o in outcomes)
    assert w.order().refunds == ()


def test_dispute_events_refresh_the_payment_and_block_refunds() -> None:
    """E5, B4, L5: charge.dispute.created refreshes the payment from Stripe: the order shows the
    dispute (activity) and refunds are refused while it is open."""
    w = World.with_order()
    w.stripe.open_dispute(w.pi())
    (created,) = w.deliver_new()
    assert created.effect is EventEffect.APPLIED
    order = w.order()
    assert order.payment is not None
    assert order.payment.disputed
    assert order.activity[-1].kind is ActivityKind.PAYMENT_UPDATED
    assert "payment_disputed" in w.service.eligibility(ORDER_ID, OWNER).codes


def test_a_dispute_opened_during_the_call_fails_the_refund_and_releases_it() -> None:
    """L3, E5: a dispute opened between the write-ahead and Stripe's call: Stripe refuses the
    refund (charge_disputed), the refund is FAILED with that code and reserves nothing; the
    dispute event then blocks further refunds; processing the quote again does not retry it."""
    w = World.with_order()
    w.gateway.before_create.append(lambda: w.stripe.open_dispute(w.pi()))
    quote = w.service.quote(ORDER_ID, OWNER, usd("10.00"))
    with pytest.raises(GatewayRejected) as refused:
        w.service.process(quote, OWNER)
    assert refused.value.gateway_code == "charge_disputed"
    assert w.service.process(quote, OWNER).status is RefundStatus.FAILED  # not retried
    assert w.stripe_refunds() == []
    (failed,) = w.order().refunds
    assert failed.status is RefundStatus.FAILED
    assert failed.failure_reason is not None
    assert "charge_disputed" in failed.failure_reason
    assert w.order().status is OrderStatus.PAID
    w.deliver_new()
    assert "payment_disputed" in w.service.eligibility(ORDER_ID, OWNER).codes


def test_a_charge_event_while_stripe_is_down_is_redelivered() -> None:
    """L5: a charge/dispute event needs a live read; if Stripe cannot be read the event raises
    GatewayUnavailable (the endpoint answers 5xx), is not remembered, and its redelivery is
    applied."""
    w = World.with_order()
    w.stripe.open_dispute(w.pi())
    (event,) = w.new_events()
    w.gateway.arm_fault("read", Fault.SERVER_ERROR)
    with pytest.raises(GatewayUnavailable):
        w.service.apply_event(parse_event(event))
    assert w.service.apply_event(parse_event(event)).effect is EventEffect.APPLIED
    assert w.order().payment is not None
    assert w.order().payment.disputed


def test_a_refund_stripe_makes_after_refusing_an_attempt_is_recorded() -> None:
    """L2, L3: (regression, found by the state machine) a refund refused for one attempt (FAILED,
    released) but made by Stripe for a retry with the same idempotency key (another process
    resuming it) was dropped as a stale report: the money moved, the record said FAILED, and
    the released amount could be refunded again. It is now recorded beside the refusal."""
    w = World.with_order(services=2, stripe_fee=usd("0"), platform_fee=usd("0"))

    def other_process_syncs() -> None:
        # It finds the refund SUBMITTING and not at Stripe, resubmits it with the same key and
        # is refused (a refusal Stripe does not keep for the key: e.g. a validation error).
        w.gateway.arm_fault("create", Fault.REJECT, "amount_too_large")
        w.services[1].sync(ORDER_ID)

    w.gateway.before_create.append(other_process_syncs)
    quote = w.service.quote(ORDER_ID, OWNER, usd("60.00"))
    made = w.service.process(quote, OWNER)
    assert w.service.process(quote, OWNER) == made  # the quote's refund, every time (F2)
    assert made.quote_id == quote.id
    order = w.order()
    refused = next(r for r in order.refunds if r.status is RefundStatus.FAILED)
    assert refused.gateway_refund_id is None
    assert made.status is RefundStatus.SUCCEEDED
    assert made.gateway_refund_id == w.stripe_refunds()[0]["id"]
    assert made.origin is RefundOrigin.LOCAL
    assert made.amount == usd("60.00")
    assert order.payment is not None
    assert refundable_balance(order.payment, order.refunds).refundable == usd("40.00")
    assert order.status is OrderStatus.PARTIALLY_REFUNDED
    # and the events and a sync agree
    w.deliver_new()
    assert w.service.sync(ORDER_ID).refunds == w.order().refunds
    assert len(w.order().refunds) == 2


def test_a_replacement_refund_learned_before_the_failure_it_replaces_matches_stripe() -> None:
    """B2, S1, L5, L6: Stripe fails a refund and a dashboard refund reuses the room, and the new
    refund's event arrives first. That event names a refund the order does not know, so Stripe
    is read first: the order matches Stripe at once (the failure included, 100.00 refunded, not
    a count above the captured amount), the remaining events change nothing, and a sync has
    nothing to correct."""
    w = World.with_order(stripe_fee=usd("0"), platform_fee=usd("0"))
    ours = w.refund(usd("50.00"))
    w.dashboard_refund(usd("50.00"))
    w.deliver_new()
    w.stripe.set_refund_status(w.stripe_refund_of(ours)["id"], "failed")
    replacement_id = w.dashboard_refund(usd("50.00"))["id"]
    events = w.new_events()
    (replacement,) = [
        e for e in of_type(events, "refund.created") if e["data"]["object"]["id"] == replacement_id
    ]
    assert results(w.deliver([replacement])) == [EventEffect.APPLIED]
    stored = w.order()
    assert stored.payment is not None
    assert stored.payment.amount_refunded == usd("100.00")
    assert stored.refund(ours.id).status is RefundStatus.FAILED
    assert stored.status is OrderStatus.REFUNDED
    assert refundable_balance(stored.payment, stored.refunds).refundable == usd("0")
    w.deliver(events)
    order = w.order()
    assert order.payment is not None
    assert order.payment.amount_refunded == usd("100.00")
    assert [r.amount for r in order.refunds if r.reserves] == [usd("50.00"), usd("50.00")]
    assert w.service.sync(ORDER_ID).version == order.version


@pytest.mark.parametrize(("outcome", "blocked"), [("won", False), ("lost", True)])
def test_dispute_closed_events_refresh_the_payment(outcome: str, blocked: bool) -> None:
    """E5, B4, L5: charge.dispute.closed refreshes the payment: a won dispute makes the order
    refundable again, a lost one keeps refunds blocked."""
    w = World.with_order()
    w.stripe.open_dispute(w.pi())
    w.deliver_new()
    w.stripe.close_dispute(w.pi(), outcome)
    (closed,) = w.deliver_new()
    assert closed.effect is (EventEffect.APPLIED if not blocked else EventEffect.UNCHANGED)
    order = w.order()
    assert order.payment is not None
    assert order.payment.disputed is blocked
    assert ("payment_disputed" in w.service.eligibility(ORDER_ID, OWNER).codes) is blocked


@pytest.mark.parametrize(
    ("stripe_status", "expected", "order_status"),
    [
        ("succeeded", RefundStatus.SUCCEEDED, OrderStatus.PARTIALLY_REFUNDED),
        ("failed", RefundStatus.FAILED, OrderStatus.PAID),
    ],
)
def test_charge_refund_updated_alone_moves_the_refund(
    stripe_status: str, expected: RefundStatus, order_status: OrderStatus
) -> None:
    """L5: under API 2023-08-16 Stripe reports a card refund's changes only as
    charge.refund.updated: that event alone moves the refund (and re-derives the order, S1)."""
    w = World.with_order(default_refund_status="pending")
    refund = w.refund(usd("30.00"))
    w.new_events()  # refund.created and charge.refunded: not the point here
    w.stripe.set_refund_status(w.stripe_refund_of(refund)["id"], stripe_status)
    (update,) = of_type(w.new_events(), "charge.refund.updated")
    outcome = w.service.apply_event(parse_event(update))
    assert outcome.effect is EventEffect.APPLIED
    assert w.order().refund(refund.id).status is expected
    assert w.order().status is order_status


@pytest.mark.parametrize("order_of_delivery", [("ra", "ca"), ("ca", "ra")])
def test_missed_states_are_walked_whatever_the_delivery_order(
    order_of_delivery: tuple[str, str],
) -> None:
    """L5, S3: a refund that went succeeded → requires_action → canceled ends CANCELED (its
    amount released, the order PAID again) whichever of the two webhooks arrives first."""
    w = World.with_order()
    refund = w.refund(usd("50.00"))
    w.deliver_new()
    gateway_id = w.stripe_refund_of(refund)["id"]
    w.stripe.set_refund_status(gateway_id, "requires_action")
    events = {"ra": of_type(w.new_events(), "refund.updated")}
    w.stripe.set_refund_status(gateway_id, "canceled")
    events["ca"] = of_type(w.new_events(), "refund.updated")
    for name in order_of_delivery:
        w.deliver(events[name])
    assert w.order().refund(refund.id).status is RefundStatus.CANCELED
    assert w.order().status is OrderStatus.PAID
    assert refundable_balance(w.order().payment, w.order().refunds).refundable == usd("95.80")


# ----------------------------------------------------------------- L6: events are prompts


def _forged(event: dict[str, Any], **refund_fields: Any) -> dict[str, Any]:
    """A copy of a real Stripe event whose refund object says something else (as a validly
    signed but contradicting event would: a replay from another account, a bug, a leaked
    secret). ``apply_event`` takes events already verified, so no signature is involved."""
    forged = copy.deepcopy(event)
    forged["id"] = f"{event['id']}_forged"
    forged["data"]["object"].update(refund_fields)
    return forged


def test_an_event_with_an_altered_amount_never_changes_the_refund_amount() -> None:
    """L6: (regression) a refund event whose amount contradicts the record used to rewrite the
    stored amount while reporting UNCHANGED. The event is a prompt: Stripe is read, the stored
    amount stays 30.00 (Stripe's), and a sync agrees."""
    w = World.with_order(default_refund_status="pending")
    refund = w.refund(usd("30.00"))
    (created,) = of_type(w.new_events(), "refund.created")
    reads_before = len(w.stripe.requests)

    outcome = w.service.apply_event(parse_event(_forged(created, amount=1_200)))

    stored = w.order().refund(refund.id)
    assert stored.amount == usd("30.00")
    assert stored.status is RefundStatus.PENDING
    assert outcome.effect is EventEffect.UNCHANGED
    assert len(w.stripe.requests) > reads_before  # Stripe was read before anything was trusted
    assert w.order().payment is not None
    assert w.order().payment.amount_refunded == usd("30.00")
    assert w.service.sync(ORDER_ID).refund(refund.id).amount == usd("30.00")


def test_an_event_with_an_altered_amount_still_moves_the_status() -> None:
    """L6: a signed event may move a known refund's status, even when its amount is wrong:
    the status follows the event, the amount stays the record's."""
    w = World.with_order(default_refund_status="pending")
    refund = w.refund(usd("30.00"))
    w.stripe.set_refund_status(w.stripe_refund_of(refund)["id"], "succeeded")
    (updated,) = of_type(w.new_events(), "refund.updated")

    outcome = w.service.apply_event(parse_event(_forged(updated, amount=9_000)))

    assert outcome.effect is EventEffect.APPLIED
    stored = w.order().refund(refund.id)
    assert (stored.status, stored.amount) == (RefundStatus.SUCCEEDED, usd("30.00"))


def test_an_event_for_a_refund_stripe_does_not_hold_creates_nothing() -> None:
    """L6: (regression) events naming refund ids Stripe does not hold used to create refunds
    that sync never removed (an order REFUNDED with nothing refundable while Stripe had
    refunded 12.00 of 95.80). Now Stripe is read first: the refund is UNCONFIRMED, nothing is
    created, and after sync the order is exactly Stripe's truth."""
    w = World.with_order()
    made = w.dashboard_refund(usd("12.00"))
    (created,) = of_type(w.new_events(), "refund.created")

    forged = _forged(created, id="re_not_at_stripe", amount=8_380, status="succeeded")
    outcome = w.service.apply_event(parse_event(forged))

    assert outcome.effect is EventEffect.UNCONFIRMED
    assert "does not show" in outcome.message
    order = w.order()
    # The read imported what Stripe does hold (the dashboard refund), nothing else.
    assert [(r.gateway_refund_id, r.amount) for r in order.refunds] == [(made["id"], usd("12.00"))]
    synced = w.service.sync(ORDER_ID)
    assert [(r.gateway_refund_id, r.amount, r.status) for r in synced.refunds] == [
        (made["id"], usd("12.00"), RefundStatus.SUCCEEDED)
    ]
    assert synced.status is OrderStatus.PARTIALLY_REFUNDED
    assert synced.payment is not None
    assert synced.payment.amount_refunded == usd("12.00")
    assert refundable_balance(synced.payment, synced.refunds).refundable == usd("83.80")
    assert w.service.eligibility(ORDER_ID, OWNER).refundable == usd("83.80")


def test_an_unconfirmed_event_is_not_applied_twice() -> None:
    """L6, L5: an event Stripe's data does not confirm is remembered like any other: its
    redelivery is a duplicate, and the order is left as it was."""
    w = World.with_order()
    w.refund(usd("10.00"))
    (created,) = of_type(w.new_events(), "refund.created")
    forged = parse_event(_forged(created, id="re_ghost", metadata={}))
    assert w.service.apply_event(forged).effect is EventEffect.UNCONFIRMED
    after = w.order()

    assert w.service.apply_event(forged).effect is EventEffect.DUPLICATE
    assert w.order() == after
    assert len(after.refunds) == 1


def test_an_event_for_a_known_refund_needs_no_stripe_read() -> None:
    """L6: a webhook for a refund the order knows, with its amount, is applied on its own
    (Stripe signed it): no Stripe request is made."""
    w = World.with_order(default_refund_status="pending")
    refund = w.refund(usd("30.00"))
    w.stripe.set_refund_status(w.stripe_refund_of(refund)["id"], "succeeded")
    (updated,) = of_type(w.new_events(), "refund.updated")
    requests_before = len(w.stripe.requests)

    assert w.service.apply_event(parse_event(updated)).effect is EventEffect.APPLIED

    assert len(w.stripe.requests) == requests_before
    assert w.order().refund(refund.id).status is RefundStatus.SUCCEEDED


def test_an_event_never_ties_our_refund_to_a_stripe_refund_that_does_not_exist() -> None:
    """L6, L2: our refund is written ahead and the process dies before calling Stripe; a signed
    event then names a Stripe refund Stripe does not hold, carrying our refund's metadata.
    Matching it by metadata would mark the refund SUCCEEDED under that id, so sync would never
    send it: a lost refund. Stripe is read first and shows no such refund: UNCONFIRMED, the
    refund stays SUBMITTING, and sync makes exactly one refund at Stripe."""
    w = World.with_order()
    w.dashboard_refund(usd("1.00"))
    (template,) = of_type(w.new_events(), "refund.created")
    w.gateway.crash_before = 1
    with pytest.raises(Crash):
        w.refund(usd("30.00"))
    submitting = next(r for r in w.order().refunds if r.status is RefundStatus.SUBMITTING)
    metadata = {"kanorio_order_id": ORDER_ID, "kanorio_refund_id": submitting.id}

    forged = _forged(template, id="re_forged", amount=3_000, status="succeeded", metadata=metadata)
    outcome = w.service.apply_event(parse_event(forged))

    assert outcome.effect is EventEffect.UNCONFIRMED
    still = w.order().refund(submitting.id)
    assert (still.status, still.gateway_refund_id) == (RefundStatus.SUBMITTING, None)
    synced = w.service.sync(ORDER_ID).refund(submitting.id)
    assert synced.status is RefundStatus.SUCCEEDED
    assert synced.gateway_refund_id == w.stripe_refund_of(submitting)["id"] != "re_forged"
    assert sorted(r["amount"] for r in w.stripe_refunds()) == [100, 3_000]
