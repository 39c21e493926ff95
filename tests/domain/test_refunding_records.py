"""What the use cases' changes write, field by field (rules F3, L2, L3, L5, L6, S1).

The companions of test_refunding.py: the times entries carry, the fee policy a rejection's
status is derived with, the outcome an event reports, and the recent activity of the order
page. Expected values are written out.
"""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from kanorio_refunds.domain._balance import FeePolicy
from kanorio_refunds.domain._details import order_details
from kanorio_refunds.domain._events import EventEffect, EventKind, EventOutcome, GatewayEvent
from kanorio_refunds.domain._ids import EventId, RefundId
from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._order import ActivityEntry, ActivityKind, Order, OrderStatus
from kanorio_refunds.domain._payment import GatewayRefund
from kanorio_refunds.domain._quote import RefundQuote, quote_id_for
from kanorio_refunds.domain._reconcile import reconcile
from kanorio_refunds.domain._refund import RefundReason, RefundStatus
from kanorio_refunds.domain._refunding import (
    apply_refund_event,
    process_quote,
    quote_refund,
    record_answer,
    record_rejection,
    record_unknown_outcome,
    refund_made,
    require_may_process,
    require_quote_holds,
    set_buyer_access,
)
from kanorio_refunds.errors import NotesRequired, PermissionDenied
from kanorio_refunds.testing import (
    T0,
    admin,
    gateway_refund,
    owner,
    paid_order,
    refund,
    with_refunds,
)

NET = FeePolicy.NET_OF_FEES
R = RefundStatus
EVENT_AT = T0 + timedelta(minutes=1)
NOW = T0 + timedelta(minutes=9)
OWNER = owner(actor_id="olivia")


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


# -- L1, F2, F3: the gateway's answer and processing -------------------------------------------


def _written() -> tuple[Order, RefundQuote]:
    order = paid_order()
    quote = quote_refund(order, OWNER, usd("95.80"), None, "", NET, at=T0)
    return process_quote(order, quote, OWNER, NET, at=T0), quote


def test_the_answer_stamps_its_entries_now() -> None:
    """L1, F3, S1: recording the gateway's answer stamps the "submitted", status and order
    status entries with now, not the refund's creation time."""
    written, quote = _written()
    answer = gateway_refund(
        written, "95.80", R.SUCCEEDED, local=written.refund(quote.refund_id), created_at=T0
    )
    result = record_answer(written, answer, NET, at=NOW)
    assert [(a.kind, a.at) for a in result.activity[len(written.activity) :]] == [
        (ActivityKind.REFUND_SUBMITTED, NOW),
        (ActivityKind.REFUND_SUCCEEDED, NOW),
    ]
    assert result.status is OrderStatus.REFUNDED
    pending = attrs.evolve(answer, status=R.PENDING)
    failed_later = record_answer(written, pending, NET, at=NOW)
    assert failed_later.refund(quote.refund_id).status is R.PENDING


def test_the_refund_made_before_the_answer_is_recorded_is_ours() -> None:
    """L1: before the answer is recorded, no refund carries its Stripe id: the refund made for
    our request is our own record of it."""
    written, quote = _written()
    answer = gateway_refund(written, "95.80", R.SUCCEEDED, local=written.refund(quote.refund_id))
    assert refund_made(written, answer, quote.refund_id) == written.refund(quote.refund_id)


def test_processing_writes_the_notes_normalised() -> None:
    """F2, N3: a quote whose notes were not normalised (built outside quote_refund, its id
    matching) is processed with its notes normalised."""
    order = paid_order()
    quote = quote_refund(order, OWNER, usd("10.00"), None, "", NET, at=T0)
    raw = " Cafe\u0301 "
    raw_id = quote_id_for(
        quote.order_id,
        quote.actor_id,
        quote.amount,
        None,
        raw,
        order_status=quote.order_status,
        refundable=quote.refundable_before,
        refund_count=quote.refund_count,
    )
    loose = attrs.evolve(quote, id=raw_id, notes=raw)
    result = process_quote(order, loose, OWNER, NET, at=T0)
    assert result.refund(loose.refund_id).notes == "Caf\u00e9"


def test_another_actor_is_told_who_confirmed() -> None:
    """F2, P2: processing someone else's quote is refused, naming both actors."""
    order = paid_order()
    quote = quote_refund(order, OWNER, usd("10.00"), None, "", NET, at=T0)
    with pytest.raises(PermissionDenied) as info:
        require_may_process(order, quote, admin(actor_id="adam"))
    assert info.value.message == (
        "this quote was confirmed by olivia, not adam; confirm the refund yourself before "
        "processing it"
    )


# -- B4: a sync that agrees, or not ------------------------------------------------------------


def test_a_sync_corrects_an_amount_and_fills_in_a_failure_reason() -> None:
    """B4, F3, L6: a live read whose refund has the recorded status but another amount, or a
    failure reason the record lacks, is applied by reconcile; one that agrees changes nothing."""
    order = paid_order()
    pending = refund(order, "10.00", R.PENDING, refund_id="rf_p", gateway_refund_id="re_p")
    failed = refund(order, "5.00", R.FAILED, refund_id="rf_f", gateway_refund_id="re_f")
    order = with_refunds(order, [pending, failed], at=T0)
    assert order.payment is not None
    read = [
        gateway_refund(order, "12.00", R.PENDING, gateway_id="re_p", local=pending),
        gateway_refund(
            order, "5.00", R.FAILED, gateway_id="re_f", local=failed, failure_reason="lost_card"
        ),
    ]
    result = reconcile(order, order.payment, read, NET, at=NOW)
    assert result.refund(RefundId("rf_p")).amount == usd("12.00")
    assert result.refund(RefundId("rf_f")).failure_reason == "lost_card"
    assert reconcile(result, order.payment, read, NET, at=NOW) == result


def test_a_failed_answer_stamps_the_status_change_now() -> None:
    """L3, S1, F3: an answer that the refund failed puts the order back to PAID, the status
    entry stamped now."""
    written, quote = _written()
    failed = gateway_refund(written, "95.80", R.FAILED, local=written.refund(quote.refund_id))
    result = record_answer(written, failed, NET, at=NOW)
    assert result.status is OrderStatus.PAID
    assert (result.activity[-1].kind, result.activity[-1].at) == (ActivityKind.STATUS_CHANGED, NOW)


def test_a_quote_is_revalidated_with_its_reason() -> None:
    """F2, N2: processing re-validates the quote's reason with its notes: OTHER without notes
    is refused even if the figures still hold."""
    order = paid_order()
    quote = quote_refund(order, OWNER, usd("10.00"), None, "", NET, at=T0)
    with pytest.raises(NotesRequired):
        require_quote_holds(order, attrs.evolve(quote, reason=RefundReason.OTHER), OWNER, NET)


def test_buyer_access_changes_are_stamped_now() -> None:
    """F4, F3: revoking buyer access is recorded at the time given, with the actor."""
    result = set_buyer_access(paid_order(), OWNER, granted=False, at=NOW)
    assert result.activity == (
        ActivityEntry(
            at=NOW,
            kind=ActivityKind.BUYER_ACCESS_REVOKED,
            message="olivia revoked buyer access",
            actor_id=OWNER.id,
        ),
    )


def test_a_refund_requested_without_a_reason_says_just_the_amount() -> None:
    """L1, F3: the "refund requested" entry of a refund with no reason names the actor and the
    amount and nothing after it; a reason, when given, follows in parentheses."""
    order = paid_order()
    plain = quote_refund(order, OWNER, usd("10.00"), None, "", NET, at=T0)
    duplicate = quote_refund(order, OWNER, usd("10.00"), RefundReason.DUPLICATE, "", NET, at=T0)

    messages = [
        next(
            e.message
            for e in process_quote(order, quote, OWNER, NET, at=NOW).activity
            if e.kind is ActivityKind.REFUND_REQUESTED
        )
        for quote in (plain, duplicate)
    ]

    assert messages == [
        "olivia requested a refund of 10.00 USD",
        "olivia requested a refund of 10.00 USD (Duplicate)",
    ]
