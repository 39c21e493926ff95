"""The order details view (F3) and the help page's walkthrough, end to end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kanorio_refunds import (
    FULL,
    ActivityKind,
    Actor,
    EventEffect,
    GatewayEvent,
    Order,
    OrderStatus,
    RefundStatus,
)
from kanorio_refunds.adapters.stripe import parse_event
from kanorio_refunds.errors import NotEligible
from tests.support.world import NET, ORDER_ID, World, cents, usd


def test_details_show_balance_refunds_and_newest_activity_first(
    world: World, order: Order, owner: Actor
) -> None:
    """F3: the details view shows the status, the refundable balance, the refund records and the
    recent activity newest first."""
    first = world.service.process(world.service.quote(ORDER_ID, owner, usd("30.00")), owner)
    world.service.revoke_buyer_access(ORDER_ID, owner)

    details = world.service.order_details(ORDER_ID, owner)

    stored = world.order()
    assert details.order == stored
    assert details.status is OrderStatus.PARTIALLY_REFUNDED
    assert details.refundable == usd("65.80")
    assert details.breakdown is not None
    assert details.breakdown.reserved == usd("30.00")
    assert details.refunds == (stored.refund(first.id),)
    assert details.recent_activity == tuple(reversed(stored.activity))
    assert details.recent_activity[0].kind is ActivityKind.BUYER_ACCESS_REVOKED
    assert details.recent_activity[-1].kind is ActivityKind.REFUND_REQUESTED
    assert details.buyer_access is False
    assert details.eligibility.allowed


def test_details_show_the_stripe_event_timeline_of_each_refund(owner: Actor) -> None:
    """F3, L5: with Stripe's events applied, a refund that went pending → succeeded shows its
    event timeline (event id, type, time, resulting status) and its final status."""
    world = World.build(default_refund_status="pending")
    world.add_order()
    refund = world.service.process(world.service.quote(ORDER_ID, owner, usd("30.00")), owner)
    assert refund.status is RefundStatus.PENDING
    assert world.order().status is OrderStatus.PARTIALLY_REFUNDED
    world.stripe.set_refund_status(str(refund.gateway_refund_id), "succeeded")

    outcomes = world.deliver_new()

    assert all(o.effect is not EventEffect.UNKNOWN_ORDER for o in outcomes)
    details = world.service.order_details(ORDER_ID, owner)
    (shown,) = details.refunds
    assert shown.status is RefundStatus.SUCCEEDED
    stripe_events = {
        e["id"]: e
        for e in world.stripe.events()
        if e["type"].startswith(("refund.", "charge.refund."))
        and e["data"]["object"]["id"] == refund.gateway_refund_id
    }
    # API 2023-08-16 reports a card refund's changes as charge.refund.updated; Stripe (and
    # FakeStripe) also send refund.updated: both join the timeline, both say SUCCEEDED.
    assert [(e.type, e.status) for e in shown.events] == [
        ("refund.created", RefundStatus.PENDING),
        ("refund.updated", RefundStatus.SUCCEEDED),
        ("charge.refund.updated", RefundStatus.SUCCEEDED),
    ]
    for record in shown.events:
        source = stripe_events[record.event_id]
        assert record.type == source["type"]
        assert record.occurred_at == datetime.fromtimestamp(source["created"], tz=UTC)
        assert record.applied
    assert [e.occurred_at for e in shown.events] == sorted(e.occurred_at for e in shown.events)
    assert details.recent_activity[0].kind is ActivityKind.REFUND_SUCCEEDED

    # redelivering every event changes nothing
    version = world.order().version
    again = [world.service.apply_event(e) for e in _parsed(world)]
    assert {o.effect for o in again} == {EventEffect.DUPLICATE}
    assert world.order().version == version


def _parsed(world: World) -> list[GatewayEvent]:
    return [parse_event(e) for e in world.stripe.events()]


def test_details_live_imports_dashboard_refunds(world: World, order: Order, owner: Actor) -> None:
    """F3, B4: the details view from stored data does not know a dashboard refund yet; the
    live view imports it and shows the reduced balance."""
    world.dashboard_refund(cents(1_000))

    stored_view = world.service.order_details(ORDER_ID, owner)
    live_view = world.service.order_details(ORDER_ID, owner, live=True)

    assert stored_view.refundable == NET
    assert stored_view.refunds == ()
    assert live_view.refundable == usd("85.80")
    assert len(live_view.refunds) == 1
    assert live_view.recent_activity[0].kind is ActivityKind.STATUS_CHANGED


def test_help_page_walkthrough(world: World, order: Order, owner: Actor) -> None:
    """Help page, F1, F2, S1, E1, E3: Paid → partial refund → Partially Refunded → "Refund Full
    Amount" of the remainder → Refunded → "Initiate Refund" no longer offered
    (status_not_refundable, no_refundable_balance)."""
    service = world.service
    assert world.order().status is OrderStatus.PAID
    eligibility = service.eligibility(ORDER_ID, owner)
    assert eligibility.allowed
    assert eligibility.refundable == NET

    # Partial refund: enter an amount less than the refundable balance
    partial = service.quote(ORDER_ID, owner, usd("30.00"), "customer_request")
    assert partial.resulting_status is OrderStatus.PARTIALLY_REFUNDED
    service.process(partial, owner)
    assert world.order().status is OrderStatus.PARTIALLY_REFUNDED
    assert service.eligibility(ORDER_ID, owner).refundable == usd("65.80")

    # Partial refunds can be issued again while a balance remains
    second = service.quote(ORDER_ID, owner, usd("5.80"), "duplicate")
    service.process(second, owner)
    assert world.order().status is OrderStatus.PARTIALLY_REFUNDED

    # "Refund Full Amount" populates the remaining refundable balance
    full = service.quote(ORDER_ID, owner, FULL, "other", "Closing the order")
    assert full.amount == usd("60.00")
    assert full.resulting_status is OrderStatus.REFUNDED
    service.process(full, owner)

    stored = world.order()
    assert stored.status is OrderStatus.REFUNDED
    assert [r.amount for r in stored.refunds] == [usd("30.00"), usd("5.80"), usd("60.00")]
    assert all(r.status is RefundStatus.SUCCEEDED for r in stored.refunds)
    assert world.stripe_refunded_minor() == NET.minor
    assert stored.buyer_access is True

    # Not eligible any more: the option is not displayed, and quoting is refused
    after = service.eligibility(ORDER_ID, owner)
    assert not after.allowed
    assert after.codes == ("status_not_refundable", "no_refundable_balance")
    assert after.refundable == usd("0.00")
    with pytest.raises(NotEligible) as info:
        service.quote(ORDER_ID, owner, usd("0.01"))
    assert set(info.value.reasons) == {"status_not_refundable", "no_refundable_balance"}

    # Stripe's events and a sync agree with what was recorded
    world.deliver_new()
    synced = service.sync(ORDER_ID)
    assert synced.status is OrderStatus.REFUNDED
    assert [r.status for r in synced.refunds] == [RefundStatus.SUCCEEDED] * 3
    changes = [a.message for a in synced.activity if a.kind is ActivityKind.STATUS_CHANGED]
    assert changes == [
        "Order status changed from Paid to Partially Refunded",
        "Order status changed from Partially Refunded to Refunded",
    ]


def test_a_late_failure_right_after_a_live_read_is_applied(owner: Actor) -> None:
    """F3, L5, S3: refund pending → succeeded (adopted by a live read at 09:00:01.2) → failed
    at Stripe at 09:00:01.5 (event `created` 09:00:01): the refund.failed webhook is newer than
    what we know and must be applied: FAILED, amount released, order PAID."""
    world = World.build(default_refund_status="pending", tick=timedelta(0))  # time set by hand
    service, clock, stripe = world.service, world.clock, world.stripe
    world.add_order()
    refund = service.process(service.quote(ORDER_ID, owner, usd("30.00")), owner)
    world.deliver_new()
    assert refund.gateway_refund_id is not None

    clock.advance(1)
    stripe.set_refund_status(refund.gateway_refund_id, "succeeded")  # Stripe time 09:00:01
    clock.advance(0.2)  # the live read adopts SUCCEEDED as of 09:00:01.2
    assert service.sync(ORDER_ID).refund(refund.id).status is RefundStatus.SUCCEEDED
    clock.advance(0.3)
    stripe.set_refund_status(refund.gateway_refund_id, "failed")  # Stripe time 09:00:01

    world.deliver_new()

    stored = world.order()
    assert stored.refund(refund.id).status is RefundStatus.FAILED
    assert stored.status is OrderStatus.PAID
    assert service.order_details(ORDER_ID, owner).refundable == NET
