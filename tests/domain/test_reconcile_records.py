"""What a gateway report writes on the order, field by field (rules B2, B4, F3, L5, L6, S1).

The companions of test_reconcile.py: imported refunds, Stripe's ``amount_refunded`` as the
order tracks it, failure reasons, amounts the gateway's own data corrects, dispute entries and
the time every entry carries. Expected values are written out, never computed with the code
under test.
"""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from kanorio_refunds.domain._balance import FeePolicy
from kanorio_refunds.domain._ids import ActorId, EventId, GatewayRefundId, QuoteId, RefundId
from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._order import ActivityEntry, ActivityKind, Order, OrderStatus
from kanorio_refunds.domain._payment import METADATA_NOTES
from kanorio_refunds.domain._reconcile import (
    EventRef,
    Observation,
    observe_refund,
    reconcile,
    refresh_payment,
    refund_moved,
)
from kanorio_refunds.domain._refund import Refund, RefundOrigin, RefundReason, RefundStatus
from kanorio_refunds.testing import (
    T0,
    evolve_payment,
    gateway_refund,
    paid_order,
    refund,
    with_refunds,
)

NET = FeePolicy.NET_OF_FEES
R = RefundStatus
LATER = T0 + timedelta(minutes=7)


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


def refunded_amount(order: Order) -> Money:
    assert order.payment is not None
    return order.payment.amount_refunded


def with_local(status: RefundStatus, **changes: object) -> tuple[Order, Refund]:
    order = paid_order()
    local = refund(order, "10.00", status, refund_id="rf_local", **changes)  # type: ignore[arg-type]
    return with_refunds(order, [local]), local


# -- B4, F3: an imported refund ------------------------------------------------------------------


def test_an_imported_refund_keeps_every_field_the_gateway_gave() -> None:
    """B4, F3: a refund made in the dashboard is recorded with the gateway's amount, status,
    creation time, reason, notes, id and failure reason, origin EXTERNAL, no requester, as of
    the read, with an "imported" entry stamped when we learned it."""
    order = paid_order()
    created = T0 - timedelta(hours=2)
    outside = attrs.evolve(
        gateway_refund(
            order,
            "25.00",
            R.FAILED,
            gateway_id="re_dash",
            created_at=created,
            reason=RefundReason.DUPLICATE,
            failure_reason="expired_or_canceled_card",
        ),
        metadata={METADATA_NOTES: "typed in the dashboard"},
    )
    result, outcome = observe_refund(order, outside, observed_at=T0, recorded_at=LATER)
    assert outcome is Observation.IMPORTED
    assert result.refunds == (
        Refund(
            id=RefundId("rf_ext_re_dash"),
            order_id=order.id,
            amount=usd("25.00"),
            status=R.FAILED,
            created_at=created,
            origin=RefundOrigin.EXTERNAL,
            reason=RefundReason.DUPLICATE,
            notes="typed in the dashboard",
            requested_by=None,
            quote_id=None,
            gateway_refund_id=GatewayRefundId("re_dash"),
            failure_reason="expired_or_canceled_card",
            status_as_of=T0,
        ),
    )
    assert result.activity == (
        ActivityEntry(
            at=LATER,
            kind=ActivityKind.EXTERNAL_REFUND_IMPORTED,
            message=(
                "Refund of 25.00 USD made outside Kanorio (Stripe re_dash) recorded, status FAILED"
            ),
            refund_id=RefundId("rf_ext_re_dash"),
        ),
    )
    # A failed refund is not counted in Stripe's amount_refunded.
    assert refunded_amount(result) == usd("0.00")


def test_an_imported_refund_without_notes_has_empty_notes() -> None:
    """B4, F3: a dashboard refund carries no notes of ours: its notes are empty, not None."""
    order = paid_order()
    outside = gateway_refund(order, "5.00", R.SUCCEEDED, gateway_id="re_bare")
    result, _ = observe_refund(order, outside, observed_at=T0)
    assert result.refunds[0].notes == ""
    assert result.refunds[0].reason is None
    assert result.activity[-1].at == T0  # stamped at the observation without recorded_at


def test_a_refund_made_after_a_recorded_refusal_keeps_the_requester_and_quote() -> None:
    """L2, B4, F3: Stripe made a refund of ours whose attempt we recorded as refused: it is
    recorded beside the refusal, origin LOCAL, with the refused refund's requester and quote,
    and the entry says so."""
    order = paid_order()
    refused = attrs.evolve(
        refund(order, "10.00", R.FAILED, refund_id="rf_refused", failure_reason="x: y"),
        gateway_refund_id=None,
        requested_by=ActorId("owner-1"),
        quote_id=QuoteId("qt_abc"),
    )
    order = with_refunds(order, [refused])
    made = gateway_refund(order, "10.00", R.SUCCEEDED, gateway_id="re_late", local=refused)
    result, outcome = observe_refund(order, made, observed_at=T0, recorded_at=LATER)
    assert outcome is Observation.IMPORTED
    first, second = result.refunds
    assert first == refused
    assert second.id == "rf_ext_re_late"
    assert second.origin is RefundOrigin.LOCAL
    assert second.requested_by == "owner-1"
    assert second.quote_id == "qt_abc"
    assert second.gateway_refund_id == "re_late"
    assert result.activity[-1] == ActivityEntry(
        at=LATER,
        kind=ActivityKind.EXTERNAL_REFUND_IMPORTED,
        message=(
            "Stripe made refund rf_refused of 10.00 USD after all (Stripe re_late), although "
            "an attempt was refused; recorded, status SUCCEEDED"
        ),
        refund_id=RefundId("rf_ext_re_late"),
    )
    assert refunded_amount(result) == usd("10.00")


# -- B2: Stripe's amount_refunded as the order tracks it -------------------------------------------


@pytest.mark.parametrize(
    ("status", "counted"),
    [
        (R.PENDING, "10.00"),
        (R.REQUIRES_ACTION, "10.00"),
        (R.SUCCEEDED, "10.00"),
        (R.FAILED, "0.00"),
    ],
)
def test_an_import_counts_in_amount_refunded_as_stripe_does(
    status: RefundStatus, counted: str
) -> None:
    """B2: an imported refund that counts at Stripe (pending, requires action, succeeded) adds
    its amount to the payment's amount_refunded; a failed one adds nothing; a live read
    (track_refunded=False) leaves amount_refunded to the read."""
    order = paid_order(amount_refunded="1.00")
    outside = gateway_refund(order, "10.00", status, gateway_id="re_x")
    tracked, _ = observe_refund(order, outside, observed_at=T0)
    assert refunded_amount(tracked) == usd("1.00") + usd(counted)
    untracked, _ = observe_refund(order, outside, observed_at=T0, track_refunded=False)
    assert refunded_amount(untracked) == usd("1.00")


def test_amount_refunded_follows_our_refund_up_and_down() -> None:
    """B2, S1: a SUBMITTING refund is not counted at Stripe; once the gateway shows it pending
    it is, and when it fails it no longer is."""
    order, local = with_local(R.SUBMITTING)
    assert refunded_amount(order) == usd("0.00")
    pending = gateway_refund(order, "10.00", R.PENDING, gateway_id="re_1", local=local)
    seen, _ = observe_refund(order, pending, observed_at=T0)
    assert refunded_amount(seen) == usd("10.00")
    failed = attrs.evolve(pending, status=R.FAILED, failure_reason="declined")
    back, _ = observe_refund(seen, failed, observed_at=LATER)
    assert refunded_amount(back) == usd("0.00")


def test_a_failure_never_takes_amount_refunded_below_zero() -> None:
    """B2: a failure of a refund Stripe's count never included leaves amount_refunded at zero,
    not negative and not anything else."""
    order, local = with_local(R.SUCCEEDED, gateway_refund_id="re_1")
    assert refunded_amount(order) == usd("0.00")
    failed = gateway_refund(order, "10.00", R.FAILED, gateway_id="re_1", local=local)
    result, outcome = observe_refund(order, failed, observed_at=T0)
    assert outcome is Observation.APPLIED
    assert refunded_amount(result) == usd("0.00")


def test_a_partial_count_goes_down_by_the_refund_only() -> None:
    """B2: a late failure takes exactly that refund's amount off Stripe's count."""
    order, local = with_local(R.SUCCEEDED, gateway_refund_id="re_1")
    order = evolve_payment(order, amount_refunded=usd("30.00"))
    failed = gateway_refund(order, "10.00", R.FAILED, gateway_id="re_1", local=local)
    result, _ = observe_refund(order, failed, observed_at=T0)
    assert refunded_amount(result) == usd("20.00")


def test_amount_refunded_in_another_currency_is_left_alone() -> None:
    """B2, E4: a payment record whose amount_refunded is not in the order currency (invalid,
    E4) is not shifted by a report."""
    order, local = with_local(R.SUBMITTING)
    odd = Money.parse("3.00", "EUR")
    order = evolve_payment(order, amount_refunded=odd)
    seen = gateway_refund(order, "10.00", R.SUCCEEDED, gateway_id="re_1", local=local)
    result, outcome = observe_refund(order, seen, observed_at=T0)
    assert outcome is Observation.APPLIED
    assert refunded_amount(result) == odd


def test_an_order_without_a_payment_gets_none() -> None:
    """B2: an order without a payment record stays without one when a report is applied."""
    order, local = with_local(R.SUBMITTING)
    order = attrs.evolve(order, payment=None)
    seen = gateway_refund(order, "10.00", R.SUCCEEDED, gateway_id="re_1", local=local)
    result, _ = observe_refund(order, seen, observed_at=T0)
    assert result.payment is None
    assert result.refunds[0].status is R.SUCCEEDED


def test_refund_moved_tracks_and_stamps_by_default() -> None:
    """B2, F3: writing a known refund's change counts it at Stripe by default and stamps the
    status entry at the given time; without tracking, amount_refunded stays."""
    order, local = with_local(R.SUBMITTING)
    moved = local.moved_to(R.SUCCEEDED, as_of=T0)
    result = refund_moved(order, local, moved, at=LATER)
    assert refunded_amount(result) == usd("10.00")
    assert result.activity[-1] == ActivityEntry(
        at=LATER,
        kind=ActivityKind.REFUND_SUCCEEDED,
        message="Refund of 10.00 USD succeeded",
        refund_id=RefundId("rf_local"),
    )
    untracked = refund_moved(order, local, moved, at=LATER, track_refunded=False)
    assert refunded_amount(untracked) == usd("0.00")


# -- F3, L3: failure reasons ----------------------------------------------------------------------


def test_a_reported_failure_reason_is_adopted_and_shown() -> None:
    """F3, L3: the gateway's failure reason is kept on the refund and shown in the entry."""
    order, local = with_local(R.PENDING, gateway_refund_id="re_1")
    failed = gateway_refund(
        order, "10.00", R.FAILED, gateway_id="re_1", local=local, failure_reason="declined"
    )
    result, _ = observe_refund(order, failed, observed_at=T0, recorded_at=LATER)
    assert result.refunds[0].failure_reason == "declined"
    assert result.activity[-1] == ActivityEntry(
        at=LATER,
        kind=ActivityKind.REFUND_FAILED,
        message="Refund of 10.00 USD failed (declined)",
        refund_id=RefundId("rf_local"),
    )


def test_a_read_that_agrees_fills_in_a_missing_failure_reason() -> None:
    """F3: a live read showing a refund FAILED as recorded, with a reason the record lacks,
    adds the reason (and no entry: the status did not change)."""
    order, local = with_local(R.FAILED, gateway_refund_id="re_1")
    assert local.failure_reason is None
    failed = gateway_refund(
        order, "10.00", R.FAILED, gateway_id="re_1", local=local, failure_reason="lost_card"
    )
    result, outcome = observe_refund(order, failed, observed_at=T0)
    assert outcome is Observation.CONFIRMED
    assert result.refunds[0].failure_reason == "lost_card"
    assert result.activity == order.activity


def test_a_read_that_agrees_on_a_live_refund_keeps_its_failure_reason() -> None:
    """F3: a failure reason is only a final status's: a read agreeing on a PENDING refund
    leaves the recorded reason as it was."""
    order, local = with_local(R.PENDING, gateway_refund_id="re_1", failure_reason="earlier")
    same = gateway_refund(
        order, "10.00", R.PENDING, gateway_id="re_1", local=local, failure_reason="other"
    )
    result, outcome = observe_refund(order, same, observed_at=T0)
    assert outcome is Observation.CONFIRMED
    assert result.refunds[0].failure_reason == "earlier"
    assert result == order


def test_a_succeeded_status_entry_never_shows_a_failure_reason() -> None:
    """F3: only a failed or canceled refund's entry names a failure reason."""
    order, local = with_local(R.PENDING, gateway_refund_id="re_1", failure_reason="earlier")
    done = gateway_refund(order, "10.00", R.SUCCEEDED, gateway_id="re_1", local=local)
    result, _ = observe_refund(order, done, observed_at=T0)
    assert result.activity[-1].message == "Refund of 10.00 USD succeeded"


# -- L6, B4: amounts --------------------------------------------------------------------------


def test_a_live_read_corrects_the_amount() -> None:
    """B4, L6: the gateway's own data is the truth for money that moved: a read showing another
    amount for a known refund adopts it, whether the status moves or not."""
    order, local = with_local(R.PENDING, gateway_refund_id="re_1")
    same_status = gateway_refund(order, "7.00", R.PENDING, gateway_id="re_1", local=local)
    corrected, outcome = observe_refund(order, same_status, observed_at=T0)
    assert outcome is Observation.CONFIRMED
    assert corrected.refunds[0].amount == usd("7.00")
    moved = gateway_refund(order, "7.00", R.SUCCEEDED, gateway_id="re_1", local=local)
    applied, outcome = observe_refund(order, moved, observed_at=T0)
    assert outcome is Observation.APPLIED
    assert applied.refunds[0].amount == usd("7.00")
    assert applied.refunds[0].status is R.SUCCEEDED


def test_an_event_never_corrects_the_amount() -> None:
    """L6: an event naming another amount for a known refund may move its status, never its
    amount."""
    order, local = with_local(R.PENDING, gateway_refund_id="re_1")
    report = gateway_refund(order, "7.00", R.SUCCEEDED, gateway_id="re_1", local=local)
    ref = EventRef(EventId("evt_1"), "refund.updated", T0)
    result, outcome = observe_refund(order, report, observed_at=T0, event=ref)
    assert outcome is Observation.APPLIED
    assert result.refunds[0].amount == usd("10.00")
    assert result.refunds[0].status is R.SUCCEEDED
    assert refunded_amount(result) == usd("0.00")  # PENDING already counted: no move


def test_a_stale_read_changes_no_amount() -> None:
    """L5, L6: a report older than what the refund knows (STALE) changes nothing but nothing:
    not its status, not its amount."""
    order, local = with_local(R.SUCCEEDED, gateway_refund_id="re_1", status_as_of=LATER)
    old = gateway_refund(order, "7.00", R.PENDING, gateway_id="re_1", local=local)
    result, outcome = observe_refund(order, old, observed_at=T0)
    assert outcome is Observation.STALE
    assert result.refunds[0].amount == usd("10.00")
    assert result.refunds[0].status is R.SUCCEEDED


# -- L5: within one second the order is unknown ----------------------------------------------------


def test_a_report_in_the_same_second_is_not_stale() -> None:
    """L5: Stripe stamps events in whole seconds: a report in the same second as the refund's
    last one, even a fraction earlier, is not stale and applies when S3 allows."""
    as_of = T0.replace(microsecond=700_000)
    order, local = with_local(R.PENDING, gateway_refund_id="re_1", status_as_of=as_of)
    report = gateway_refund(order, "10.00", R.SUCCEEDED, gateway_id="re_1", local=local)
    result, outcome = observe_refund(order, report, observed_at=T0.replace(microsecond=200_000))
    assert outcome is Observation.APPLIED
    assert result.refunds[0].status_as_of == as_of  # never moved back in time


def test_a_report_one_second_earlier_is_stale() -> None:
    """L5: a report from an earlier second than the refund's last one is stale."""
    order, local = with_local(R.PENDING, gateway_refund_id="re_1", status_as_of=T0)
    report = gateway_refund(order, "10.00", R.SUCCEEDED, gateway_id="re_1", local=local)
    result, outcome = observe_refund(
        order, report, observed_at=T0 - timedelta(seconds=1), event=None
    )
    assert outcome is Observation.STALE
    assert result.refunds[0].status is R.PENDING


def test_entries_are_stamped_at_the_observation_without_recorded_at() -> None:
    """F3: without ``recorded_at`` the status entry carries the observation time."""
    order, local = with_local(R.SUBMITTING)
    report = gateway_refund(order, "10.00", R.SUCCEEDED, gateway_id="re_1", local=local)
    result, _ = observe_refund(order, report, observed_at=LATER)
    assert result.activity[-1].at == LATER
    assert result.refunds[0].status_as_of == LATER


# -- B4: reconcile and disputes ---------------------------------------------------------------


def test_reconcile_applies_a_read_when_stripes_clock_is_ahead() -> None:
    """B4, L5: a live read is never stale, even when the refund's last report was stamped
    after our clock's now (Stripe's clock ahead of ours)."""
    ahead = T0 + timedelta(minutes=10)
    order, local = with_local(R.PENDING, gateway_refund_id="re_1", status_as_of=ahead)
    assert order.payment is not None
    done = gateway_refund(order, "10.00", R.SUCCEEDED, gateway_id="re_1", local=local)
    result = reconcile(order, order.payment, [done], NET, at=T0)
    assert result.refunds[0].status is R.SUCCEEDED
    assert result.refunds[0].status_as_of == ahead


def test_reconcile_stamps_every_entry_at_the_read() -> None:
    """B4, F3, S1: the entries a sync adds (dispute, import, status) carry the read's time."""
    order = paid_order()
    live = evolve_payment(order, disputed=True, amount_refunded=usd("95.80")).payment
    assert live is not None
    outside = gateway_refund(order, "95.80", R.SUCCEEDED, gateway_id="re_dash")
    result = reconcile(order, live, [outside], NET, at=LATER)
    assert [(a.kind, a.at) for a in result.activity] == [
        (ActivityKind.PAYMENT_UPDATED, LATER),
        (ActivityKind.EXTERNAL_REFUND_IMPORTED, LATER),
        (ActivityKind.STATUS_CHANGED, LATER),
    ]
    assert result.status is OrderStatus.REFUNDED
    assert refunded_amount(result) == usd("95.80")  # the read's count, not shifted again


def test_a_dispute_opening_and_closing_are_recorded_in_words() -> None:
    """E5, F3: the timeline says when a dispute opened and when it was cleared, at the read."""
    order = paid_order()
    disputed = evolve_payment(order, disputed=True).payment
    assert disputed is not None
    opened = refresh_payment(order, disputed, at=T0)
    assert opened.activity == (
        ActivityEntry(
            at=T0, kind=ActivityKind.PAYMENT_UPDATED, message="Payment disputed at Stripe"
        ),
    )
    cleared_record = attrs.evolve(disputed, disputed=False)
    cleared = refresh_payment(opened, cleared_record, at=LATER)
    assert cleared.payment == cleared_record
    assert cleared.activity[1:] == (
        ActivityEntry(
            at=LATER, kind=ActivityKind.PAYMENT_UPDATED, message="Payment dispute cleared"
        ),
    )


def test_a_record_change_without_a_dispute_change_adds_no_entry() -> None:
    """B4: a read that changes the record (a fee, the refunded count) but no dispute is taken
    silently."""
    order = paid_order()
    changed = evolve_payment(order, amount_refunded=usd("5.00")).payment
    assert changed is not None
    result = refresh_payment(order, changed, at=T0)
    assert result.payment == changed
    assert result.activity == ()


def test_a_first_record_that_is_disputed_is_recorded() -> None:
    """B4, E5: an order learning its payment record for the first time, disputed, records the
    dispute; undisputed, nothing."""
    order = paid_order()
    record = order.payment
    assert record is not None
    bare = attrs.evolve(order, payment=None)
    assert refresh_payment(bare, record, at=T0).activity == ()
    disputed = refresh_payment(bare, attrs.evolve(record, disputed=True), at=T0)
    assert [a.message for a in disputed.activity] == ["Payment disputed at Stripe"]


# -- L5, B2, F3: the walk through a missed status -------------------------------------------------


def test_a_walk_through_a_missed_status_carries_the_gateways_amount_and_count() -> None:
    """L5, B2, B4, F3: a report of our own data (no event) that S3 reaches only through a
    missed status (SUCCEEDED → REQUIRES_ACTION → PENDING) walks the refund through it with the
    gateway's amount: each step's entry names that amount and is stamped when we learned it,
    and amount_refunded follows the corrected amount."""
    order, local = with_local(R.SUCCEEDED, gateway_refund_id="re_1")
    order = evolve_payment(order, amount_refunded=usd("10.00"))
    report = gateway_refund(order, "12.00", R.PENDING, gateway_id="re_1", local=local)

    result, outcome = observe_refund(order, report, observed_at=T0, recorded_at=LATER)

    assert outcome is Observation.APPLIED
    (walked,) = result.refunds
    assert (walked.status, walked.amount) == (R.PENDING, usd("12.00"))
    assert refunded_amount(result) == usd("12.00")
    assert result.activity[len(order.activity) :] == (
        ActivityEntry(
            at=LATER,
            kind=ActivityKind.REFUND_REQUIRES_ACTION,
            message="Refund of 12.00 USD requires action at Stripe",
            refund_id=RefundId("rf_local"),
        ),
        ActivityEntry(
            at=LATER,
            kind=ActivityKind.REFUND_PENDING,
            message="Refund of 12.00 USD is pending at Stripe",
            refund_id=RefundId("rf_local"),
        ),
    )


def test_a_read_that_agrees_fills_in_a_missing_gateway_id() -> None:
    """B4, F3: a refund of ours recorded without its Stripe id (matched by our metadata) that
    a live read shows as it is gets the id filled in, and nothing else changes."""
    order = paid_order()
    local = attrs.evolve(
        refund(order, "10.00", R.PENDING, refund_id="rf_local"), gateway_refund_id=None
    )
    order = with_refunds(order, [local])
    report = gateway_refund(order, "10.00", R.PENDING, gateway_id="re_1", local=local)

    result, outcome = observe_refund(order, report, observed_at=T0, track_refunded=False)

    assert outcome is Observation.CONFIRMED
    assert result.refunds == (attrs.evolve(local, gateway_refund_id=GatewayRefundId("re_1")),)
    assert result.activity == order.activity


def test_amount_refunded_follows_a_one_cent_refund() -> None:
    """B2: the smallest refund moves Stripe's count too: one cent seen succeeded adds 0.01."""
    order = paid_order()
    local = refund(order, "0.01", R.SUBMITTING, refund_id="rf_cent")
    order = with_refunds(order, [local])
    report = gateway_refund(order, "0.01", R.SUCCEEDED, gateway_id="re_1", local=local)

    result, _ = observe_refund(order, report, observed_at=T0)

    assert refunded_amount(result) == usd("0.01")


# -- B4, S1: a read that agrees, again ------------------------------------------------------------


def test_a_read_applies_every_refund_after_one_that_agrees() -> None:
    """B4: a read whose first refund agrees with the order still records the ones after it
    (here one made in the dashboard a minute later)."""
    order, local = with_local(R.SUCCEEDED, gateway_refund_id="re_1")
    agrees = gateway_refund(order, "10.00", R.SUCCEEDED, gateway_id="re_1", local=local)
    outside = gateway_refund(
        order, "5.00", R.SUCCEEDED, gateway_id="re_dash", created_at=T0 + timedelta(minutes=1)
    )
    live = evolve_payment(order, amount_refunded=usd("15.00")).payment
    assert live is not None

    result = reconcile(order, live, (agrees, outside), NET, at=LATER)

    assert [(r.id, r.status, r.amount) for r in result.refunds] == [
        ("rf_local", R.SUCCEEDED, usd("10.00")),
        ("rf_ext_re_dash", R.SUCCEEDED, usd("5.00")),
    ]


def test_the_same_read_again_derives_the_status_with_the_policy_and_time_given() -> None:
    """B4, S1, B5: reconciling again with a read already found to agree still derives the
    status from the amounts, under the policy given (NET_OF_FEES: 95.80 refunded leaves
    nothing, REFUNDED) and, when Stripe's count moved meanwhile, with a status entry stamped
    at this read."""
    order = paid_order(amount_refunded="95.80")
    done = refund(order, "95.80", R.SUCCEEDED, refund_id="rf_done")
    order = with_refunds(order, [done])
    assert order.payment is not None
    assert order.status is OrderStatus.REFUNDED
    read = (gateway_refund(order, "95.80", R.SUCCEEDED, local=done),)
    first = reconcile(order, order.payment, read, NET, at=T0)
    assert first == order
    again = reconcile(first, order.payment, read, NET, at=LATER)
    assert again == order

    partial = paid_order(amount_refunded="10.00")
    ten = refund(partial, "10.00", R.SUCCEEDED, refund_id="rf_ten")
    partial = with_refunds(partial, [ten])
    assert partial.payment is not None
    assert partial.status is OrderStatus.PARTIALLY_REFUNDED
    read = (gateway_refund(partial, "10.00", R.SUCCEEDED, local=ten),)
    first = reconcile(partial, partial.payment, read, NET, at=T0)
    counted = evolve_payment(partial, amount_refunded=usd("100.00")).payment
    assert counted is not None
    moved = reconcile(first, counted, read, NET, at=LATER)
    assert moved.status is OrderStatus.REFUNDED
    assert moved.activity[len(first.activity) :] == (
        ActivityEntry(
            at=LATER,
            kind=ActivityKind.STATUS_CHANGED,
            message="Order status changed from Partially Refunded to Refunded",
        ),
    )


def test_a_read_given_as_a_list_or_a_generator_is_read_each_time() -> None:
    """B4: a read given as a list may change between two reconciles (it is never taken as
    already seen), and one given as a generator is read once, completely."""
    order, local = with_local(R.SUCCEEDED, gateway_refund_id="re_1")
    assert order.payment is not None
    agrees = gateway_refund(order, "10.00", R.SUCCEEDED, gateway_id="re_1", local=local)
    read = [agrees]
    first = reconcile(order, order.payment, read, NET, at=T0)
    assert first == order
    read.append(gateway_refund(order, "5.00", R.PENDING, gateway_id="re_dash"))
    second = reconcile(first, order.payment, read, NET, at=LATER)
    assert [r.id for r in second.refunds] == ["rf_local", "rf_ext_re_dash"]

    outside = gateway_refund(order, "5.00", R.PENDING, gateway_id="re_dash")
    streamed = reconcile(order, order.payment, (r for r in (agrees, outside)), NET, at=LATER)
    assert [(r.id, r.status, r.amount) for r in streamed.refunds] == [
        ("rf_local", R.SUCCEEDED, usd("10.00")),
        ("rf_ext_re_dash", R.PENDING, usd("5.00")),
    ]
