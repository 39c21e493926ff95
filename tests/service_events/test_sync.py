"""``RefundService.sync``: the order made to match Stripe, SUBMITTING refunds resumed
(rules L2, B4, S1, S3, F3)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kanorio_refunds import ActivityKind, OrderStatus, RefundStatus
from kanorio_refunds.domain import RefundOrigin
from kanorio_refunds.domain._balance import refundable_balance
from kanorio_refunds.errors import GatewayUnavailable
from kanorio_refunds.testing.fake_stripe import Fault
from tests.support.gateway import Crash
from tests.support.world import ORDER_ID, OWNER, World, usd


def create_requests(w: World) -> list[str | None]:
    """The idempotency keys of every refund creation Stripe received."""
    return [r.idempotency_key for r in w.stripe.requests if r.operation == "create_refund"]


def our_key(w: World, refund_id: str) -> str:
    """The idempotency key of our first POST /v1/refunds, checked to name our refund (L1)."""
    key = create_requests(w)[0]
    assert key is not None
    assert refund_id in key
    return key


def test_sync_is_idempotent() -> None:
    """B4, L2: a second sync with nothing new at Stripe changes nothing, not even the version."""
    w = World.with_order()
    w.refund(usd("30.00"))
    w.dashboard_refund(usd("5.00"))
    first = w.service.sync(ORDER_ID)
    assert w.service.sync(ORDER_ID) == first
    assert w.order().version == first.version


def test_sync_imports_a_dashboard_refund_once() -> None:
    """B4, F3: a refund made in the Stripe dashboard is recorded by sync with origin EXTERNAL,
    its amount and status, and the order status follows (S1)."""
    w = World.with_order()
    made = w.dashboard_refund(usd("95.80"))
    order = w.service.sync(ORDER_ID)
    (imported,) = order.refunds
    assert imported.origin is RefundOrigin.EXTERNAL
    assert imported.gateway_refund_id == made["id"]
    assert imported.amount == usd("95.80")
    assert imported.status is RefundStatus.SUCCEEDED
    assert order.status is OrderStatus.REFUNDED
    assert w.service.sync(ORDER_ID).refunds == order.refunds


@pytest.mark.parametrize("first", ["event", "sync"])
def test_a_dashboard_refund_seen_by_event_and_sync_is_imported_once(first: str) -> None:
    """B4, L5: whichever comes first, the webhook or the sync, the dashboard refund is recorded
    once, with one import entry in the activity."""
    w = World.with_order()
    made = w.dashboard_refund(usd("20.00"))
    events = w.new_events()
    if first == "event":
        w.deliver(events)
        w.service.sync(ORDER_ID)
    else:
        w.service.sync(ORDER_ID)
        w.deliver(events)
    (imported,) = w.order().refunds
    assert imported.gateway_refund_id == made["id"]
    assert [a.kind for a in w.order().activity].count(ActivityKind.EXTERNAL_REFUND_IMPORTED) == 1


def test_sync_adopts_statuses_and_failure_reasons() -> None:
    """S1, S3, F3: sync adopts a late failure with Stripe's reason, releases the amount and
    re-derives the status, even when every webhook was lost."""
    w = World.with_order()
    refund = w.refund()
    assert w.order().status is OrderStatus.REFUNDED
    w.stripe.set_refund_status(
        w.stripe_refund_of(refund)["id"], "failed", failure_reason="declined"
    )
    order = w.service.sync(ORDER_ID)
    recorded = order.refund(refund.id)
    assert recorded.status is RefundStatus.FAILED
    assert recorded.failure_reason == "declined"
    assert order.status is OrderStatus.PAID
    assert ActivityKind.REFUND_FAILED in [a.kind for a in order.activity]


def test_sync_resumes_after_a_timeout_by_adopting_stripes_refund() -> None:
    """L2: Stripe made the refund but the answer timed out: sync finds it by our metadata and
    adopts it, without asking Stripe to create anything again."""
    w = World.with_order()
    w.gateway.arm_fault("create", Fault.TIMEOUT_AFTER_CREATE)
    with pytest.raises(GatewayUnavailable) as unknown:
        w.refund(usd("30.00"))
    (submitting,) = w.order().refunds
    assert unknown.value.refund_id == submitting.id
    assert submitting.status is RefundStatus.SUBMITTING
    assert w.order().activity[-1].kind is ActivityKind.REFUND_OUTCOME_UNKNOWN
    order = w.service.sync(ORDER_ID)
    (adopted,) = order.refunds
    assert adopted.id == submitting.id
    assert adopted.status is RefundStatus.SUCCEEDED
    assert adopted.gateway_refund_id == w.stripe_refund_of(submitting)["id"]
    assert create_requests(w) == [our_key(w, submitting.id)]
    assert len(w.stripe_refunds()) == 1


def test_sync_resumes_after_a_crash_between_write_ahead_and_call() -> None:
    """L1, L2: the process died after saving the refund SUBMITTING and before calling Stripe:
    the amount stays reserved, and sync submits it (once, with its key)."""
    w = World.with_order()
    w.gateway.crash_before = 1
    quote = w.service.quote(ORDER_ID, OWNER, usd("30.00"))
    with pytest.raises(Crash):
        w.service.process(quote, OWNER)
    (submitting,) = w.order().refunds
    assert submitting.status is RefundStatus.SUBMITTING
    assert w.service.eligibility(ORDER_ID, OWNER).refundable == usd("65.80")
    assert create_requests(w) == []
    order = w.service.sync(ORDER_ID)
    assert order.refund(submitting.id).status is RefundStatus.SUCCEEDED
    assert create_requests(w) == [our_key(w, submitting.id)]
    assert w.service.sync(ORDER_ID).version == order.version


def test_sync_resumes_after_a_crash_after_the_call() -> None:
    """L2: the process died after Stripe made the refund: sync adopts it by metadata."""
    w = World.with_order()
    w.gateway.crash_after = 1
    with pytest.raises(Crash):
        w.refund(usd("30.00"))
    (submitting,) = w.order().refunds
    order = w.service.sync(ORDER_ID)
    assert order.refund(submitting.id).status is RefundStatus.SUCCEEDED
    assert len(create_requests(w)) == 1


def test_two_processes_resuming_the_same_refund_make_one() -> None:
    """L2, L4: a second process syncs while the first is still calling Stripe for the same
    refund: both use the same key, Stripe makes one refund, the order records one."""
    w = World.with_order(services=2)
    w.gateway.before_create.append(lambda: w.services[1].sync(ORDER_ID))
    refund = w.refund(usd("30.00"))
    key = our_key(w, refund.id)
    assert create_requests(w) == [key, key]
    assert len(w.stripe_refunds()) == 1
    (recorded,) = w.order().refunds
    assert recorded.status is RefundStatus.SUCCEEDED


def test_sync_after_resuming_a_refund_is_idempotent() -> None:
    """L2, B2: (regression, found by the state machine) a sync that resumed a SUBMITTING refund
    kept the amount_refunded of its read from before the refund, so the next sync changed the
    order again. The refund's answer now counts in amount_refunded as it does at Stripe."""
    w = World.with_order()
    w.gateway.crash_before = 1
    with pytest.raises(Crash):
        w.refund()
    synced = w.service.sync(ORDER_ID)
    assert synced.payment is not None
    assert synced.payment.amount_refunded == usd("95.80")
    assert w.service.sync(ORDER_ID).version == synced.version


def test_sync_walks_a_refund_through_a_missed_requires_action() -> None:
    """S3, B4: (regression, found by the state machine) Stripe moved a succeeded refund to
    requires_action and then to pending (or canceled), and both webhooks were lost. S3 has no
    SUCCEEDED → PENDING edge, so sync kept the refund SUCCEEDED for good; it now goes through
    the REQUIRES_ACTION it missed."""
    w = World.with_order()
    refund = w.refund(usd("30.00"))
    gateway_id = w.stripe_refund_of(refund)["id"]
    w.stripe.set_refund_status(gateway_id, "requires_action")
    w.stripe.set_refund_status(gateway_id, "canceled")
    order = w.service.sync(ORDER_ID)
    recorded = order.refund(refund.id)
    assert recorded.status is RefundStatus.CANCELED
    assert order.status is OrderStatus.PAID
    kinds = [a.kind for a in order.activity]
    assert kinds[-3:] == [
        ActivityKind.REFUND_REQUIRES_ACTION,
        ActivityKind.REFUND_CANCELED,
        ActivityKind.STATUS_CHANGED,
    ]
    assert w.service.sync(ORDER_ID).version == order.version


def test_sync_reports_an_unreadable_gateway_and_keeps_the_order() -> None:
    """L2: when Stripe cannot be read, sync raises GatewayUnavailable and changes nothing."""
    w = World.with_order()
    w.gateway.arm_fault("create", Fault.CONNECTION_ERROR)
    with pytest.raises(GatewayUnavailable):
        w.refund(usd("30.00"))
    before = w.order()
    w.gateway.arm_fault("read", Fault.SERVER_ERROR)
    with pytest.raises(GatewayUnavailable):
        w.service.sync(ORDER_ID)
    assert w.order() == before


def test_sync_keeps_a_refund_submitting_while_its_outcome_stays_unknown() -> None:
    """L2: the resubmission times out again: the refund stays SUBMITTING (reserved) and sync
    raises GatewayUnavailable; the next sync adopts what Stripe made."""
    w = World.with_order()
    w.gateway.arm_fault("create", Fault.CONNECTION_ERROR)
    with pytest.raises(GatewayUnavailable):
        w.refund(usd("30.00"))
    w.gateway.arm_fault("create", Fault.TIMEOUT_AFTER_CREATE)
    with pytest.raises(GatewayUnavailable):
        w.service.sync(ORDER_ID)
    assert w.order().refunds[0].status is RefundStatus.SUBMITTING
    order = w.service.sync(ORDER_ID)
    assert order.refunds[0].status is RefundStatus.SUCCEEDED
    assert len(w.stripe_refunds()) == 1
    assert order.payment is not None
    assert refundable_balance(order.payment, order.refunds).refundable == usd("65.80")


def test_a_live_read_is_never_applied_over_newer_knowledge() -> None:
    """B4, L4: (regression, found by the state machine) another process recorded a refund
    between this sync's Stripe read and its save. The read used to be re-applied to the newer
    order on the version conflict, putting back Stripe's amount_refunded from before that
    refund; the next sync then had to change the order again. The gateway is now read again."""
    w = World.with_order(services=2, stripe_fee=usd("0"), platform_fee=usd("0"))
    first = w.refund()
    w.stripe.set_refund_status(w.stripe_refund_of(first)["id"], "failed")
    w.orders.before_save.append(lambda: w.refund(usd("50.00"), service=1))
    synced = w.service.sync(ORDER_ID)
    assert synced.payment is not None
    assert synced.payment.amount_refunded == usd("50.00")
    assert [r.status for r in synced.refunds] == [RefundStatus.FAILED, RefundStatus.SUCCEEDED]
    assert synced.status is OrderStatus.PARTIALLY_REFUNDED
    assert w.service.sync(ORDER_ID).version == synced.version


def test_sync_is_never_stale_when_stripes_clock_runs_ahead() -> None:
    """L2, B4, S3: with Stripe's clock 3 s ahead of ours and every webhook lost, a refund that
    went succeeded → requires_action → canceled is CANCELED after one sync (the live read is
    the newer truth), and a second sync changes nothing."""
    w = World.with_order(tick=timedelta(0), stripe_offset=timedelta(seconds=3))
    refund = w.refund(usd("95.80"))
    gateway_id = w.stripe_refund_of(refund)["id"]
    w.stripe.set_refund_status(gateway_id, "requires_action")
    w.stripe.set_refund_status(gateway_id, "canceled")
    w.clock.advance(1)
    once = w.service.sync(ORDER_ID)
    assert once.refund(refund.id).status is RefundStatus.CANCELED
    assert once.status is OrderStatus.PAID
    w.clock.advance(1)
    assert w.service.sync(ORDER_ID) == once


def test_a_sync_retrying_an_unknown_outcome_notes_it_once() -> None:
    """L2: while Stripe keeps answering 500 to the same idempotency key, each sync leaves the
    order (version and activity) as it was: the unknown outcome is noted once."""
    w = World.with_order()
    w.gateway.arm_fault("create", Fault.SERVER_ERROR)
    with pytest.raises(GatewayUnavailable):
        w.refund(usd("30.00"))
    before = w.order()
    for _ in range(3):
        w.gateway.arm_fault("create", Fault.SERVER_ERROR)
        with pytest.raises(GatewayUnavailable):
            w.service.sync(ORDER_ID)
        assert w.order() == before
