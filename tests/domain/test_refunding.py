"""Every change the use cases make to an order, as pure functions (F1, F2, F4, L1–L3, L5, L6).

Orders here are built by hand (``kanorio_refunds.testing`` builders): the standard one is USD
100.00 captured, Stripe fee 3.20, platform fee 1.00, so 95.80 refundable (B1).
"""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kanorio_refunds.domain._actor import Actor
from kanorio_refunds.domain._amount import FULL
from kanorio_refunds.domain._balance import FeePolicy
from kanorio_refunds.domain._events import EventEffect, EventKind, GatewayEvent
from kanorio_refunds.domain._ids import EventId, GatewayRefundId, RefundId
from kanorio_refunds.domain._money import Money, stripe_step
from kanorio_refunds.domain._order import ActivityEntry, ActivityKind, Order, OrderStatus
from kanorio_refunds.domain._payment import (
    METADATA_NOTES,
    METADATA_ORDER_ID,
    METADATA_REASON,
    METADATA_REFUND_ID,
    GatewayRefund,
)
from kanorio_refunds.domain._quote import RefundQuote
from kanorio_refunds.domain._reconcile import event_needs_live_read, observe_refund
from kanorio_refunds.domain._refund import RefundEventEntry, RefundReason, RefundStatus
from kanorio_refunds.domain._refunding import (
    apply_refund_event,
    process_quote,
    quote_refund,
    record_answer,
    record_rejection,
    record_unknown_outcome,
    refund_made,
    refund_request,
    require_may_process,
    require_quote_holds,
    set_buyer_access,
)
from kanorio_refunds.errors import (
    AmountExceedsRefundable,
    InvalidQuote,
    NotEligible,
    PermissionDenied,
    StaleQuote,
)
from kanorio_refunds.testing import (
    T0,
    admin,
    evolve_payment,
    gateway_refund,
    owner,
    paid_order,
    refund,
    staff,
    with_refunds,
)
from kanorio_refunds.testing import strategies as kst

NET = FeePolicy.NET_OF_FEES
R = RefundStatus
OWNER = owner(actor_id="olivia")
T1 = T0 + timedelta(minutes=1)


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


def quoted(
    order: Order, amount: str = "10.00", who: Actor = OWNER, **kwargs: object
) -> RefundQuote:
    reason = kwargs.get("reason")
    notes = str(kwargs.get("notes", ""))
    return quote_refund(
        order,
        who,
        usd(amount),
        reason if isinstance(reason, RefundReason) else None,
        notes,
        NET,
        at=T0,
    )


def requested(order: Order, quote: RefundQuote) -> Order:
    return process_quote(order, quote, OWNER, NET, at=T1)


# ---------------------------------------------------------------------------- quote (F1)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    kst.orders_with_refunds(site="shop-1", leave_balance=True, cross_currency=None),
    st.sampled_from(FeePolicy),
    st.integers(min_value=1, max_value=10_000),
)
def test_the_previewed_status_is_the_one_processing_gives(
    order: Order, policy: FeePolicy, share: int
) -> None:
    """F1, S1: for any refundable order, fee policy and amount up to the balance, the status a
    quote previews is the status the write-ahead of processing gives the order."""
    actor = OWNER  # of shop-1, the strategies' site
    try:
        full = quote_refund(order, actor, FULL, None, "", policy, at=T0)
    except NotEligible:
        return  # nothing to preview: the order is not refundable under this policy
    steps = full.amount.minor // stripe_step(full.amount.currency)
    amount = Money(
        max(steps * share // 10_000, 1) * stripe_step(full.amount.currency), full.amount.currency
    )
    quote = quote_refund(order, actor, amount, None, "", policy, at=T0)
    assert process_quote(order, quote, actor, policy, at=T1).status is quote.resulting_status
    assert process_quote(order, full, actor, policy, at=T1).status is full.resulting_status


def test_a_quote_previews_the_status_processing_will_give() -> None:
    """F1, S1: the quote says what processing will make of the order: a partial refund leaves
    it PARTIALLY_REFUNDED, the full amount REFUNDED; the order itself is not touched."""
    order = paid_order()
    partial = quoted(order, "30.00", reason=RefundReason.CUSTOMER_REQUEST, notes=" Late ")
    full = quote_refund(order, OWNER, FULL, None, "", NET, at=T0)

    assert (partial.amount, partial.refundable_before, partial.refundable_after) == (
        usd("30.00"),
        usd("95.80"),
        usd("65.80"),
    )
    assert partial.notes == "Late"
    assert partial.resulting_status is OrderStatus.PARTIALLY_REFUNDED
    assert (partial.order_status, partial.refund_count) == (OrderStatus.PAID, 0)
    assert full.amount == usd("95.80")
    assert full.resulting_status is OrderStatus.REFUNDED
    assert requested(order, partial).status is partial.resulting_status
    assert requested(order, full).status is full.resulting_status


def test_a_quote_is_refused_like_the_rules_say() -> None:
    """F1, E1, A3: an order that is not refundable, or an amount above the balance, gets no
    quote."""
    with pytest.raises(NotEligible):
        quoted(paid_order(status=OrderStatus.PENDING))
    with pytest.raises(AmountExceedsRefundable):
        quoted(paid_order(), "95.81")


# ---------------------------------------------------------------------------- process (F2, L1)


def test_processing_writes_the_refund_ahead_as_submitting() -> None:
    """L1, F3: processing records the quote's refund as SUBMITTING (reserving its amount), a
    "refund requested" entry by the actor and the status it gives, before any gateway call."""
    order = paid_order()
    quote = quoted(order, "30.00", reason=RefundReason.CUSTOMER_REQUEST, notes="Late")

    written = requested(order, quote)

    (made,) = written.refunds
    assert made.id == quote.refund_id
    assert (made.status, made.amount, made.created_at) == (R.SUBMITTING, usd("30.00"), T1)
    assert (made.reason, made.notes) == (RefundReason.CUSTOMER_REQUEST, "Late")
    assert (made.requested_by, made.quote_id) == (OWNER.id, quote.id)
    assert made.gateway_refund_id is None
    assert written.status is OrderStatus.PARTIALLY_REFUNDED
    assert [(a.kind, a.message, a.actor_id) for a in written.activity] == [
        (
            ActivityKind.REFUND_REQUESTED,
            "olivia requested a refund of 30.00 USD (Customer Request)",
            OWNER.id,
        ),
        (
            ActivityKind.STATUS_CHANGED,
            "Order status changed from Paid to Partially Refunded",
            OWNER.id,
        ),
    ]


def test_processing_the_same_quote_twice_records_one_refund() -> None:
    """F2: the second processing of a quote finds its refund and changes nothing."""
    order = paid_order()
    quote = quoted(order)
    once = requested(order, quote)

    assert requested(once, quote) == once
    assert len(once.refunds) == 1


def test_a_quote_holds_whatever_changes_no_confirmed_figure() -> None:
    """F2: (regression, issue 9) a webhook echo, a live read that agrees, a timeline entry and
    a new order version change nothing the user confirmed: the quote still holds."""
    first = paid_order()
    earlier = quoted(first)
    order = requested(first, earlier)
    quote = quoted(order, "20.00")
    known = order.refunds[0]
    echoed = attrs.evolve(
        order.with_refund(
            known.with_event(
                RefundEventEntry(EventId("evt_1"), "refund.created", T1, R.PENDING, True)
            )
        ).with_activity(ActivityEntry(T1, ActivityKind.BUYER_ACCESS_REVOKED, "revoked")),
        version=order.version + 7,
    )

    assert require_quote_holds(echoed, quote, OWNER, NET) == quote.notes
    assert len(requested(echoed, quote).refunds) == 2


@pytest.mark.parametrize(
    "change",
    ["another refund", "balance", "status", "refund without money"],
)
def test_a_quote_is_stale_when_a_confirmed_figure_changed(change: str) -> None:
    """F2, L4: a change of the refundable balance, of the status, or another refund recorded
    (even one holding no money, such as a failed dashboard refund) makes the quote stale."""
    order = paid_order()
    quote = quoted(order)
    if change == "another refund":
        changed = requested(order, quoted(order, who=admin(actor_id="adam")))
    elif change == "balance":
        changed = evolve_payment(order, stripe_fee=usd("4.20"))
    elif change == "status":
        changed = paid_order(status=OrderStatus.PARTIALLY_REFUNDED)
    else:
        changed = with_refunds(order, [refund(order, "5.00", R.FAILED)])

    with pytest.raises(StaleQuote) as info:
        requested(changed, quote)

    assert info.value.code == "stale_quote"
    assert "confirm again" in info.value.message


def test_the_stale_message_says_what_changed() -> None:
    """F2: the refusal names the figure that moved, before and now."""
    order = paid_order()
    quote = quoted(order)
    with pytest.raises(StaleQuote, match=r"was 95\.80 USD, now 94\.80 USD"):
        require_quote_holds(evolve_payment(order, stripe_fee=usd("4.20")), quote, OWNER, NET)


def test_a_disputed_order_refuses_the_quote_on_reprocessing() -> None:
    """F2, E5: a dispute opened since the quote changes no figure but eligibility: the
    re-validated refusal is not_eligible with payment_disputed."""
    order = paid_order()
    quote = quoted(order)
    with pytest.raises(NotEligible) as info:
        requested(evolve_payment(order, disputed=True), quote)
    assert "payment_disputed" in info.value.reasons


def test_a_new_quote_after_a_failed_refund_is_a_new_refund() -> None:
    """F1, F2, L3: after a refund failed the balance and status are back where they were, but
    the order holds one more refund: the same amount confirmed again is a new quote, and
    processing it records a second refund."""
    order = paid_order()
    first = quoted(order)
    failed = record_rejection(
        requested(order, first), first.refund_id, "amount_too_large", "Too big", NET, at=T1
    )
    assert failed.status is OrderStatus.PAID

    again = quoted(failed)

    assert again.refundable_before == first.refundable_before
    assert (again.id, again.refund_id) != (first.id, first.refund_id)
    assert [r.status for r in requested(failed, again).refunds] == [R.FAILED, R.SUBMITTING]


def test_only_the_confirming_actor_may_process_an_intact_quote() -> None:
    """F2, P2, E2: processing is refused to a role E2 refuses, to another admin than the one who
    confirmed, and for a quote changed after confirmation."""
    order = paid_order()
    quote = quoted(order)
    require_may_process(order, quote, OWNER)
    with pytest.raises(PermissionDenied):
        require_may_process(order, quote, staff())
    with pytest.raises(PermissionDenied):
        require_may_process(order, quote, admin(actor_id="adam"))
    with pytest.raises(InvalidQuote):
        require_may_process(order, attrs.evolve(quote, amount=usd("90.00")), OWNER)


def test_the_very_quote_on_the_very_order_is_still_refused_by_what_changed() -> None:
    """F2, E2, B1: a quote processed as the very object ``quote_refund`` made (its checks are
    then not repeated on the very same order, actor and policy) is still refused by anything
    else: an actor of the same id who lost the role, another fee policy that changes the
    balance, the order as saved since (another object), a copy of the quote changed by a form."""
    order = paid_order()  # 95.80 refundable net of fees, 100.00 gross
    quote = quoted(order, "30.00")
    assert process_quote(order, quote, OWNER, NET, at=T1).refunds[-1].amount == usd("30.00")
    demoted = staff(actor_id=OWNER.id)
    with pytest.raises(PermissionDenied):
        require_may_process(order, quote, demoted)
    with pytest.raises(StaleQuote):
        process_quote(order, quote, OWNER, FeePolicy.GROSS, at=T1)
    moved = requested(order, quoted(order, "1.00"))
    with pytest.raises(StaleQuote):
        process_quote(moved, quote, OWNER, NET, at=T1)
    same_figures = attrs.evolve(order, version=order.version + 1)  # saved since: re-checked
    assert process_quote(same_figures, quote, OWNER, NET, at=T1).refunds[-1].quote_id == quote.id
    with pytest.raises(InvalidQuote):
        require_may_process(order, attrs.evolve(quote, notes="changed"), OWNER)


# ---------------------------------------------------------------------------- the gateway call


def test_the_request_carries_our_ids_and_a_key_from_the_refund_id() -> None:
    """L1, N4: the gateway request names the payment and amount, has an idempotency key derived
    from the refund id and our ids, reason and notes in the metadata."""
    order = paid_order()
    quote = quoted(order, "5.00", reason=RefundReason.OTHER, notes="Goodwill")
    written = requested(order, quote)

    request = refund_request(written, written.refund(quote.refund_id))

    assert request is not None
    assert (request.payment_intent_id, request.charge_id) == ("pi_test_1", "ch_test_1")
    assert (request.amount, request.reason) == (usd("5.00"), RefundReason.OTHER)
    assert request.idempotency_key == f"kanorio-refund-{quote.refund_id}"
    assert dict(request.metadata) == {
        METADATA_ORDER_ID: "order-1",
        METADATA_REFUND_ID: quote.refund_id,
        METADATA_REASON: "other",
        METADATA_NOTES: "Goodwill",
    }


def test_nothing_is_requested_for_a_refund_no_longer_submitting() -> None:
    """L2: a refund already resolved (here SUCCEEDED) is never sent again."""
    order = paid_order()
    done = refund(order, "10.00", R.SUCCEEDED)
    assert refund_request(with_refunds(order, [done]), done) is None


def _answer(order: Order, quote: RefundQuote, status: RefundStatus = R.SUCCEEDED) -> GatewayRefund:
    return gateway_refund(
        order, quote.amount, status, local=order.refund(quote.refund_id), gateway_id="re_1"
    )


def test_the_answer_is_recorded_once() -> None:
    """L1, F3: the gateway's answer adds a "submitted" entry naming Stripe's id and moves the
    refund; the same answer again (an idempotent replay) adds nothing."""
    order = paid_order()
    quote = quoted(order)
    written = requested(order, quote)
    answer = _answer(written, quote)

    once = record_answer(written, answer, NET, at=T1)
    twice = record_answer(once, answer, NET, at=T1 + timedelta(minutes=1))

    assert twice == once
    made = refund_made(once, answer, quote.refund_id)
    assert (made.id, made.status, made.gateway_refund_id) == (quote.refund_id, R.SUCCEEDED, "re_1")
    new = [(a.kind, a.message) for a in once.activity[len(written.activity) :]]
    assert new == [
        (ActivityKind.REFUND_SUBMITTED, "Refund of 10.00 USD submitted to Stripe (re_1)"),
        (ActivityKind.REFUND_SUCCEEDED, "Refund of 10.00 USD succeeded"),
    ]


def test_a_rejection_takes_the_same_path_as_an_observed_failure() -> None:
    """L3, F3: Stripe refusing the request and Stripe reporting a failure later both make the
    refund FAILED, release its amount and write the same kind of entry, worded the same way."""
    order = paid_order()
    quote = quoted(order)
    written = requested(order, quote)

    refused = record_rejection(written, quote.refund_id, "amount_too_large", "Too big", NET, at=T1)
    reported, _ = observe_refund(
        written,
        attrs.evolve(_answer(written, quote, R.FAILED), failure_reason="lost_or_stolen_card"),
        observed_at=T1,
    )

    assert refused.refund(quote.refund_id).status is R.FAILED
    assert refused.refund(quote.refund_id).failure_reason == "amount_too_large: Too big"
    assert refused.refund(quote.refund_id).gateway_refund_id is None
    assert refused.status is OrderStatus.PAID
    assert [(a.kind, a.message) for a in refused.activity[len(written.activity) :]] == [
        (ActivityKind.REFUND_FAILED, "Refund of 10.00 USD failed (amount_too_large: Too big)"),
        (ActivityKind.STATUS_CHANGED, "Order status changed from Partially Refunded to Paid"),
    ]
    assert [(a.kind, a.message) for a in reported.activity[len(written.activity) :]] == [
        (ActivityKind.REFUND_FAILED, "Refund of 10.00 USD failed (lost_or_stolen_card)"),
    ]


def test_a_rejection_of_a_refund_already_resolved_changes_nothing() -> None:
    """L3, L5: a refusal arriving after an event resolved the refund leaves the gateway's word."""
    order = paid_order()
    quote = quoted(order)
    written = requested(order, quote)
    resolved = record_answer(written, _answer(written, quote), NET, at=T1)

    after = record_rejection(resolved, quote.refund_id, "amount_too_large", "x", NET, at=T1)

    assert after == resolved


def test_an_unknown_outcome_is_noted_once() -> None:
    """L2: an unknown outcome keeps the refund SUBMITTING (reserved) and is noted once, however
    often the retry meets the same trouble."""
    order = paid_order()
    quote = quoted(order)
    written = requested(order, quote)

    once = record_unknown_outcome(written, quote.refund_id, "timeout", at=T1)
    again = record_unknown_outcome(once, quote.refund_id, "HTTP 500", at=T1)

    assert again == once
    assert once.refund(quote.refund_id).status is R.SUBMITTING
    assert once.status is OrderStatus.PARTIALLY_REFUNDED
    entry = once.activity[-1]
    assert (entry.kind, entry.refund_id) == (ActivityKind.REFUND_OUTCOME_UNKNOWN, quote.refund_id)
    assert "timeout" in entry.message


# ---------------------------------------------------------------------------- events (L5, L6)


def _event(report: GatewayRefund, n: int = 1) -> GatewayEvent:
    return GatewayEvent(
        id=EventId(f"evt_{n}"),
        kind=EventKind.REFUND_UPDATED,
        type="refund.updated",
        created_at=T1,
        payment_intent_id=report.payment_intent_id,
        refunds=(report,),
    )


def _succeeded_order() -> tuple[Order, RefundId]:
    order = paid_order()
    known = refund(order, "10.00", R.PENDING, refund_id="rf_1", gateway_refund_id="re_1")
    return with_refunds(order, [known]), known.id


def test_an_event_never_creates_a_refund() -> None:
    """L6: an event about a refund the order does not know creates nothing: UNCONFIRMED, the
    order as it was (the service reads Stripe first, so this is a refund Stripe lacks)."""
    order, _ = _succeeded_order()
    ghost = gateway_refund(order, "50.00", R.SUCCEEDED, gateway_id="re_ghost")

    after, outcome = apply_refund_event(order, _event(ghost), NET, at=T1, read_changed=False)

    assert after == order
    assert outcome.effect is EventEffect.UNCONFIRMED
    assert "does not show" in outcome.message


def test_an_event_never_changes_an_amount_but_moves_the_status() -> None:
    """L6, L5: a known refund reported SUCCEEDED for 50.00 by an event moves to SUCCEEDED and
    keeps its 10.00; a live read with another amount is the truth and corrects it."""
    order, refund_id = _succeeded_order()
    report = gateway_refund(
        order, "50.00", R.SUCCEEDED, local=order.refund(refund_id), gateway_id="re_1"
    )

    after, outcome = apply_refund_event(order, _event(report), NET, at=T1, read_changed=False)
    read, _ = observe_refund(order, report, observed_at=T1)

    assert outcome.effect is EventEffect.APPLIED
    assert (after.refund(refund_id).status, after.refund(refund_id).amount) == (
        R.SUCCEEDED,
        usd("10.00"),
    )
    assert read.refund(refund_id).amount == usd("50.00")


def test_an_event_needs_a_live_read_unless_it_matches_what_the_order_knows() -> None:
    """L6: a refund event is applied on its own word only for a refund the order knows by its
    Stripe id, with its amount; an unknown refund, one of ours known only by our metadata, or
    another amount makes the service read Stripe first."""
    order, refund_id = _succeeded_order()
    known = order.refund(refund_id)
    same = gateway_refund(order, "10.00", R.SUCCEEDED, local=known, gateway_id="re_1")
    other_amount = attrs.evolve(same, amount=usd("10.01"))
    unknown = attrs.evolve(same, id=GatewayRefundId("re_2"), metadata={})
    # our refund still SUBMITTING (no Stripe id yet): its echo is matched only by our metadata
    submitting = refund(order, "7.00", R.SUBMITTING, refund_id="rf_2")
    echo = gateway_refund(order, "7.00", R.SUCCEEDED, local=submitting, gateway_id="re_9")

    assert event_needs_live_read(order, [same]) is False
    assert event_needs_live_read(with_refunds(order, [submitting]), [echo]) is True
    assert event_needs_live_read(order, [echo]) is True
    assert event_needs_live_read(order, []) is False
    assert event_needs_live_read(order, [other_amount]) is True
    assert event_needs_live_read(order, [same, unknown]) is True


def test_an_event_after_a_read_that_changed_the_order_counts_as_applied() -> None:
    """L5, L6: when the live read the event prompted changed the order (it imported or corrected
    the refund), the event is reported APPLIED, even if its own report only confirms."""
    order, refund_id = _succeeded_order()
    same = gateway_refund(order, "10.00", R.PENDING, local=order.refund(refund_id))

    _, unchanged = apply_refund_event(order, _event(same), NET, at=T1, read_changed=False)
    _, applied = apply_refund_event(order, _event(same, 2), NET, at=T1, read_changed=True)

    assert unchanged.effect is EventEffect.UNCHANGED
    assert applied.effect is EventEffect.APPLIED


# ---------------------------------------------------------------------------- buyer access (F4)


def test_buyer_access_is_revoked_and_restored_once_each() -> None:
    """F4: revoking and restoring buyer access is recorded with the actor; doing it again
    changes nothing; refunds and amounts are never touched."""
    order = paid_order()

    revoked = set_buyer_access(order, OWNER, granted=False, at=T0)
    restored = set_buyer_access(revoked, OWNER, granted=True, at=T1)

    assert revoked.buyer_access is False
    assert set_buyer_access(revoked, OWNER, granted=False, at=T1) == revoked
    assert set_buyer_access(order, OWNER, granted=True, at=T1) == order
    assert restored.buyer_access is True
    assert [(a.kind, a.message, a.actor_id) for a in restored.activity] == [
        (ActivityKind.BUYER_ACCESS_REVOKED, "olivia revoked buyer access", OWNER.id),
        (ActivityKind.BUYER_ACCESS_RESTORED, "olivia restored buyer access", OWNER.id),
    ]
    assert (restored.refunds, restored.payment, restored.status) == (
        order.refunds,
        order.payment,
        order.status,
    )
