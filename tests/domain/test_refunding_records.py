"""What the use cases' changes write, field by field (rules F3, L2, L3, L5, L6, S1).

The companions of test_refunding.py: the times entries carry, the fee policy a rejection's
status is derived with, the outcome an event reports, and the recent activity of the order
page. Expected values are written out.
"""

from __future__ import annotations

from datetime import timedelta

from kanorio_refunds.domain._balance import FeePolicy
from kanorio_refunds.domain._details import order_details
from kanorio_refunds.domain._events import EventEffect, EventKind, EventOutcome, GatewayEvent
from kanorio_refunds.domain._ids import EventId, RefundId
from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._order import ActivityEntry, ActivityKind, Order, OrderStatus
from kanorio_refunds.domain._payment import GatewayRefund
from kanorio_refunds.domain._refund import RefundStatus
from kanorio_refunds.domain._refunding import (
    apply_refund_event,
    record_rejection,
    record_unknown_outcome,
)
from kanorio_refunds.testing import T0, gateway_refund, owner, paid_order, refund, with_refunds

NET = FeePolicy.NET_OF_FEES
R = RefundStatus
EVENT_AT = T0 + timedelta(minutes=1)
NOW = T0 + timedelta(minutes=9)


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


def _event(report: GatewayRefund) -> GatewayEvent:
    return GatewayEvent(
        id=EventId("evt_7"),
        kind=EventKind.REFUND_UPDATED,
        type="refund.updated",
        created_at=EVENT_AT,
        refunds=(report,),
    )


def _refunded_with_one_submitting() -> Order:
    """95.80 succeeded (all of the net balance) and 1.00 still submitting: REFUNDED."""
    order = paid_order()
    done = refund(order, "95.80", R.SUCCEEDED, refund_id="rf_done")
    sending = refund(order, "1.00", R.SUBMITTING, refund_id="rf_sending")
    return with_refunds(order, [done, sending], at=T0)


# -- L3 --------------------------------------------------------------------------------------


def test_a_rejection_is_stamped_now_and_derived_with_the_policy_given() -> None:
    """L3, S1, F3: a refused refund is FAILED as of now, its entry stamped now; the order's
    status is derived with the caller's policy (NET_OF_FEES: nothing left, still REFUNDED)."""
    order = _refunded_with_one_submitting()
    assert order.status is OrderStatus.REFUNDED
    result = record_rejection(
        order, RefundId("rf_sending"), "charge_disputed", "disputed", NET, at=NOW
    )
    failed = result.refund(RefundId("rf_sending"))
    assert (failed.status, failed.status_as_of) == (R.FAILED, NOW)
    assert failed.failure_reason == "charge_disputed: disputed"
    assert result.status is OrderStatus.REFUNDED
    assert result.activity[len(order.activity) :] == (
        ActivityEntry(
            at=NOW,
            kind=ActivityKind.REFUND_FAILED,
            message="Refund of 1.00 USD failed (charge_disputed: disputed)",
            refund_id=RefundId("rf_sending"),
        ),
    )


def test_a_rejection_under_gross_leaves_the_fees_refundable() -> None:
    """L3, S1, B5: the same rejection under GROSS leaves 4.20 refundable: PARTIALLY_REFUNDED,
    with the status entry stamped now."""
    order = _refunded_with_one_submitting()
    result = record_rejection(
        order, RefundId("rf_sending"), "amount_too_large", "no", FeePolicy.GROSS, at=NOW
    )
    assert result.status is OrderStatus.PARTIALLY_REFUNDED
    assert [(a.kind, a.at) for a in result.activity[len(order.activity) :]] == [
        (ActivityKind.REFUND_FAILED, NOW),
        (ActivityKind.STATUS_CHANGED, NOW),
    ]


# -- L2 --------------------------------------------------------------------------------------


def test_an_unknown_outcome_on_an_order_without_entries_for_it_is_noted_now() -> None:
    """L2, F3: the first "outcome unknown" of a refund with no entry of its own yet is noted,
    stamped now."""
    order = paid_order()
    order = order.with_refund(refund(order, "5.00", R.SUBMITTING, refund_id="rf_1"))
    assert order.activity == ()
    result = record_unknown_outcome(order, RefundId("rf_1"), "timeout", at=NOW)
    assert result.activity == (
        ActivityEntry(
            at=NOW,
            kind=ActivityKind.REFUND_OUTCOME_UNKNOWN,
            message=(
                "Stripe did not confirm refund rf_1 (timeout); it stays submitting until sync "
                "resolves it"
            ),
            refund_id=RefundId("rf_1"),
        ),
    )


# -- L5, L6 ------------------------------------------------------------------------------------


def _pending_order() -> Order:
    order = paid_order()
    known = refund(order, "95.80", R.PENDING, refund_id="rf_1", gateway_refund_id="re_1")
    return with_refunds(order, [known], at=T0)


def test_an_applied_event_reports_its_id_and_order_and_stamps_entries_now() -> None:
    """L5, F3, S1: an event that moves a refund reports its id, the order and no message of
    its own; the entries it adds are stamped when we learned it (now), not at the event's
    creation; the refund's timeline keeps the event's time."""
    order = _pending_order()
    report = gateway_refund(
        order, "95.80", R.FAILED, gateway_id="re_1", local=order.refund(RefundId("rf_1"))
    )
    result, outcome = apply_refund_event(order, _event(report), NET, at=NOW, read_changed=False)
    assert outcome == EventOutcome(EventId("evt_7"), EventEffect.APPLIED, order.id, message="")
    added = result.activity[len(order.activity) :]
    assert [(a.kind, a.at) for a in added] == [
        (ActivityKind.REFUND_FAILED, NOW),
        (ActivityKind.STATUS_CHANGED, NOW),
    ]
    assert result.status is OrderStatus.PAID
    assert result.refund(RefundId("rf_1")).events[0].occurred_at == EVENT_AT


def test_an_unconfirmed_event_says_so() -> None:
    """L6: an event naming a refund Stripe's own data lacks reports UNCONFIRMED with the
    sentence that says nothing was recorded."""
    order = _pending_order()
    ghost = gateway_refund(order, "5.00", R.SUCCEEDED, gateway_id="re_ghost")
    _, outcome = apply_refund_event(order, _event(ghost), NET, at=NOW, read_changed=True)
    assert outcome == EventOutcome(
        EventId("evt_7"),
        EventEffect.UNCONFIRMED,
        order.id,
        message="it names a refund Stripe's own data does not show: nothing recorded",
    )


# -- F3: the order page ------------------------------------------------------------------------


def _order_with_entries(count: int) -> Order:
    order = paid_order()
    return order.with_activity(
        *(
            ActivityEntry(
                at=T0 + timedelta(minutes=n), kind=ActivityKind.PAYMENT_UPDATED, message=f"{n}"
            )
            for n in range(count)
        )
    )


def test_the_order_page_shows_the_20_newest_entries_first() -> None:
    """F3: the details view shows the 20 most recent activity entries, newest first."""
    details = order_details(_order_with_entries(25), owner(), NET)
    assert [a.message for a in details.recent_activity] == [str(n) for n in range(24, 4, -1)]


def test_the_order_page_shows_as_many_entries_as_asked() -> None:
    """F3: ``recent`` entries are shown; 1 is the newest alone; 0 or fewer none."""
    order = _order_with_entries(3)
    assert [a.message for a in order_details(order, owner(), NET, recent=1).recent_activity] == [
        "2"
    ]
    assert order_details(order, owner(), NET, recent=0).recent_activity == ()
    assert order_details(order, owner(), NET, recent=-1).recent_activity == ()


def test_the_order_page_uses_the_policy_given() -> None:
    """F3, B5: the page's refundable balance and eligibility follow the caller's policy."""
    order = paid_order()
    assert order_details(order, owner(), NET).refundable == usd("95.80")
    gross = order_details(order, owner(), FeePolicy.GROSS)
    assert gross.refundable == usd("100.00")
    assert gross.eligibility.refundable == usd("100.00")
