"""Bringing an order in line with the gateway (rules B4, L2, L5, S1, S3, F3)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from kanorio_refunds.domain._balance import FeePolicy, refundable_balance
from kanorio_refunds.domain._ids import EventId
from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._order import ActivityKind, Order, OrderStatus
from kanorio_refunds.domain._payment import GatewayRefund, PaymentRecord
from kanorio_refunds.domain._reconcile import (
    EventRef,
    Observation,
    external_refund_id,
    observe_refund,
    reconcile,
    refresh_payment,
)
from kanorio_refunds.domain._refund import Refund, RefundOrigin, RefundStatus
from kanorio_refunds.testing import (
    T0,
    evolve_payment,
    gateway_refund,
    paid_order,
    refund,
    with_refunds,
)
from kanorio_refunds.testing import strategies as kst

NET = FeePolicy.NET_OF_FEES
R = RefundStatus
GATEWAY_STATUSES = [s for s in RefundStatus if s is not R.SUBMITTING]


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


def event(n: int, minutes: int = 0, type_: str = "refund.updated") -> EventRef:
    return EventRef(EventId(f"evt_{n}"), type_, T0 + timedelta(minutes=minutes))


def submitting_order() -> tuple[Order, Refund]:
    order = paid_order()
    local = refund(order, "10.00", R.SUBMITTING, refund_id="rf_local")
    return with_refunds(order, [local]), local


def test_a_read_of_a_submitting_refund_is_matched_by_metadata() -> None:
    """L2, L5: the gateway's own report of our SUBMITTING refund (a live read or the creation
    answer, found by our refund id in its metadata) updates that refund and fills in the
    Stripe id: it is never imported twice."""
    order, local = submitting_order()
    found = gateway_refund(order, "10.00", R.SUCCEEDED, gateway_id="re_123", local=local)
    result, outcome = observe_refund(order, found, observed_at=T0)
    assert outcome is Observation.APPLIED
    (updated,) = result.refunds
    assert updated.id == local.id
    assert updated.status is R.SUCCEEDED
    assert updated.gateway_refund_id == "re_123"
    assert updated.origin is RefundOrigin.LOCAL
    assert result.activity[-1].kind is ActivityKind.REFUND_SUCCEEDED
    assert result.activity[-1].refund_id == local.id


def test_an_event_alone_never_gives_our_refund_its_stripe_id() -> None:
    """L6, L2: an event naming our SUBMITTING refund by metadata is UNCONFIRMED until Stripe's
    own data shows the refund (the service reads it first): otherwise a forged event could mark
    a refund Stripe never made as made, and sync would never send it."""
    order, local = submitting_order()
    echo = gateway_refund(order, "10.00", R.SUCCEEDED, gateway_id="re_123", local=local)
    result, outcome = observe_refund(order, echo, observed_at=T0, event=event(1))
    assert (result, outcome) == (order, Observation.UNCONFIRMED)


def test_refund_made_elsewhere_is_imported_once() -> None:
    """B4: a refund the order does not know is imported with origin EXTERNAL, once."""
    order = paid_order()
    outside = gateway_refund(order, "25.00", R.SUCCEEDED, gateway_id="re_dash")
    once, outcome = observe_refund(order, outside, observed_at=T0)
    assert outcome is Observation.IMPORTED
    (imported,) = once.refunds
    assert imported.id == external_refund_id(outside)
    assert imported.origin is RefundOrigin.EXTERNAL
    assert imported.amount == usd("25.00")
    assert once.activity[-1].kind is ActivityKind.EXTERNAL_REFUND_IMPORTED
    twice, outcome = observe_refund(once, outside, observed_at=T0 + timedelta(minutes=1))
    assert outcome is Observation.CONFIRMED
    assert len(twice.refunds) == 1
    assert twice.activity == once.activity


def pending_order() -> tuple[Order, Refund]:
    order = paid_order()
    local = refund(order, "10.00", R.PENDING, refund_id="rf_local", gateway_refund_id="re_1")
    return with_refunds(order, [local]), local


def test_duplicate_event_changes_nothing() -> None:
    """L5: the same event applied twice is a DUPLICATE and leaves the order as it was."""
    order, local = pending_order()
    report = gateway_refund(order, "10.00", R.PENDING, gateway_id="re_1", local=local)
    once, _ = observe_refund(order, report, observed_at=T0, event=event(1))
    again, outcome = observe_refund(once, report, observed_at=T0, event=event(1))
    assert outcome is Observation.DUPLICATE
    assert again == once


def test_stale_event_is_recorded_but_not_applied() -> None:
    """L5, S3, F3: an older event arriving late is kept in the Stripe timeline, marked not
    applied, and does not move the refund back."""
    order, local = pending_order()
    succeeded = gateway_refund(order, "10.00", R.SUCCEEDED, gateway_id="re_1", local=local)
    pending = gateway_refund(order, "10.00", R.PENDING, gateway_id="re_1", local=local)
    newer, _ = observe_refund(
        order, succeeded, observed_at=T0 + timedelta(minutes=5), event=event(2, minutes=5)
    )
    result, outcome = observe_refund(
        newer,
        pending,
        observed_at=T0 + timedelta(minutes=1),
        event=event(1, minutes=1, type_="refund.created"),
    )
    assert outcome is Observation.STALE
    (r,) = result.refunds
    assert r.status is R.SUCCEEDED
    assert [(e.event_id, e.status, e.applied) for e in r.events] == [
        ("evt_2", R.SUCCEEDED, True),
        ("evt_1", R.PENDING, False),
    ]
    assert result.activity == newer.activity


def test_late_failure_releases_the_reservation_and_the_status_follows() -> None:
    """S1, S2, S3, L3: a succeeded full refund failing late puts the order back to PAID (through a
    failed refund), with the failure reason in the activity."""
    order = paid_order()
    full = refund(order, "95.80", R.SUCCEEDED, refund_id="rf_full", gateway_refund_id="re_full")
    refunded = with_refunds(order, [full])
    assert refunded.status is OrderStatus.REFUNDED
    failed = gateway_refund(
        refunded, "95.80", R.FAILED, local=full, failure_reason="lost_or_stolen_card"
    )
    live = evolve_payment(refunded).payment
    assert live is not None
    result = reconcile(refunded, live, [failed], NET, at=T0 + timedelta(days=3))
    assert result.status is OrderStatus.PAID
    assert result.refunds[0].status is R.FAILED
    assert result.refunds[0].failure_reason == "lost_or_stolen_card"
    kinds = [a.kind for a in result.activity[len(refunded.activity) :]]
    assert kinds == [ActivityKind.REFUND_FAILED, ActivityKind.STATUS_CHANGED]
    assert "lost_or_stolen_card" in result.activity[-2].message


def test_dispute_change_is_recorded() -> None:
    """B4, E5: a live read that shows a new dispute updates the record and the activity."""
    order = paid_order()
    assert order.payment is not None
    disputed = evolve_payment(order, disputed=True).payment
    assert disputed is not None
    result = refresh_payment(order, disputed, at=T0)
    assert result.payment == disputed
    assert result.activity[-1].kind is ActivityKind.PAYMENT_UPDATED
    assert refresh_payment(result, disputed, at=T0) == result


def test_reconcile_derives_the_status_from_imported_refunds() -> None:
    """B4, S1: a full refund made in the dashboard makes the order REFUNDED after a sync."""
    order = paid_order()
    outside = gateway_refund(order, "95.80", R.SUCCEEDED, gateway_id="re_dash")
    live = evolve_payment(order, amount_refunded=usd("95.80")).payment
    assert live is not None
    result = reconcile(order, live, [outside], NET, at=T0)
    assert result.status is OrderStatus.REFUNDED
    assert refundable_balance(live, result.refunds).refundable.is_zero()


# -- properties ---------------------------------------------------------------------------------


@st.composite
def gateway_reads(draw: st.DrawFn) -> tuple[Order, PaymentRecord, list[GatewayRefund]]:
    """An order with local refunds in any state and a live gateway read that may know them,
    report other statuses and amounts, and hold refunds made elsewhere."""
    order = draw(kst.paid_orders(currency="USD", max_captured_minor=10**7))
    locals_: list[Refund] = []
    for i in range(draw(st.integers(min_value=0, max_value=3))):
        status = draw(st.sampled_from(RefundStatus))
        locals_.append(
            refund(
                order,
                Money(draw(st.integers(1, 1000)), order.currency),
                status,
                refund_id=f"rf_{i}",
                status_as_of=draw(st.none() | st.just(T0)),
            )
        )
    order = with_refunds(order, locals_)
    reported: list[GatewayRefund] = []
    for r in locals_:
        if draw(st.booleans()):
            reported.append(
                gateway_refund(
                    order,
                    Money(draw(st.integers(1, 1000)), order.currency),
                    draw(st.sampled_from(GATEWAY_STATUSES)),
                    local=r,
                    created_at=T0 + timedelta(minutes=draw(st.integers(0, 60))),
                )
            )
    for j in range(draw(st.integers(min_value=0, max_value=2))):
        reported.append(
            gateway_refund(
                order,
                Money(draw(st.integers(1, 1000)), order.currency),
                draw(st.sampled_from(GATEWAY_STATUSES)),
                gateway_id=f"re_ext_{j}",
                created_at=T0 + timedelta(minutes=draw(st.integers(0, 60))),
            )
        )
    assert order.payment is not None
    live = evolve_payment(
        order,
        disputed=draw(st.booleans()),
        amount_refunded=Money(draw(st.integers(0, 3000)), order.currency),
    ).payment
    assert live is not None
    return order, live, draw(st.permutations(reported))


@given(gateway_reads(), st.sampled_from(FeePolicy))
def test_reconcile_is_idempotent(
    case: tuple[Order, PaymentRecord, list[GatewayRefund]], policy: FeePolicy
) -> None:
    """B4, L2: reconciling twice with the same gateway read is the same as reconciling once."""
    order, live, reported = case
    at = T0 + timedelta(hours=2)
    once = reconcile(order, live, reported, policy, at=at)
    twice = reconcile(once, live, reported, policy, at=at)
    assert twice == once
    later = reconcile(once, live, list(reversed(reported)), policy, at=at + timedelta(hours=1))
    assert [(r.id, r.status, r.amount) for r in later.refunds] == [
        (r.id, r.status, r.amount) for r in once.refunds
    ]
    # every reported refund is on the order exactly once
    by_gateway_id = [r.gateway_refund_id for r in once.refunds if r.gateway_refund_id]
    assert len(by_gateway_id) == len(set(by_gateway_id))
    assert {g.id for g in reported} <= set(by_gateway_id)


@given(
    st.sampled_from(GATEWAY_STATUSES),
    st.sampled_from([s for s in GATEWAY_STATUSES if not s.is_final]),
    st.integers(min_value=1, max_value=10**6),
    st.integers(min_value=1, max_value=1000),
)
def test_an_older_report_never_moves_a_refund(
    current: RefundStatus, reported: RefundStatus, older_by: int, amount: int
) -> None:
    """L5, S3: a report of a non-final status older than what the refund last applied never
    changes its status or amount; it is only recorded (marked not applied)."""
    order = paid_order()
    as_of = T0 + timedelta(hours=1)
    local = refund(
        order, "10.00", current, refund_id="rf_x", gateway_refund_id="re_x", status_as_of=as_of
    )
    order = with_refunds(order, [local])
    report = gateway_refund(order, Money(amount, order.currency), reported, local=local)
    when = as_of - timedelta(seconds=older_by)
    result, outcome = observe_refund(order, report, observed_at=when, event=event(9))
    (after,) = result.refunds
    assert after.status is current
    assert after.status_as_of == as_of
    if reported is not current:
        assert outcome is Observation.STALE
        assert after.amount == local.amount
        assert after.events[-1].applied is False
    assert result.activity == order.activity


#: What a newer report does to a refund, written out from S3 (not computed with the code under
#: test): the number of activity entries it adds, or None when it is STALE (S3 forbids it).
#: SUCCEEDED reaches PENDING and CANCELED only through REQUIRES_ACTION (a missed report): 2.
_NEWER_REPORT: dict[tuple[RefundStatus, RefundStatus], int | None] = {
    (R.PENDING, R.REQUIRES_ACTION): 1,
    (R.PENDING, R.SUCCEEDED): 1,
    (R.PENDING, R.FAILED): 1,
    (R.PENDING, R.CANCELED): 1,
    (R.REQUIRES_ACTION, R.PENDING): 1,
    (R.REQUIRES_ACTION, R.SUCCEEDED): 1,
    (R.REQUIRES_ACTION, R.FAILED): 1,
    (R.REQUIRES_ACTION, R.CANCELED): 1,
    (R.SUCCEEDED, R.REQUIRES_ACTION): 1,
    (R.SUCCEEDED, R.FAILED): 1,
    (R.SUCCEEDED, R.PENDING): 2,
    (R.SUCCEEDED, R.CANCELED): 2,
    **{(R.FAILED, other): None for other in GATEWAY_STATUSES if other is not R.FAILED},
    **{(R.CANCELED, other): None for other in GATEWAY_STATUSES if other is not R.CANCELED},
}


@pytest.mark.parametrize(
    ("current", "reported"), list(itertools.product(GATEWAY_STATUSES, repeat=2))
)
def test_a_newer_report_moves_a_refund_only_along_s3(
    current: RefundStatus, reported: RefundStatus
) -> None:
    """S3, L5: a newer report applies exactly when the state machine reaches it: directly, or
    through the states whose reports were missed (one activity entry per step); otherwise it is
    stale; the same status is a confirmation."""
    order = paid_order()
    local = refund(
        order, "10.00", current, refund_id="rf_x", gateway_refund_id="re_x", status_as_of=T0
    )
    order = with_refunds(order, [local])
    report = gateway_refund(order, "10.00", reported, local=local)
    result, outcome = observe_refund(order, report, observed_at=T0 + timedelta(minutes=1))
    (after,) = result.refunds
    added = len(result.activity) - len(order.activity)
    if reported is current:
        assert (outcome, after.status, added) == (Observation.CONFIRMED, current, 0)
    elif _NEWER_REPORT[current, reported] is None:
        assert (outcome, after.status, added) == (Observation.STALE, current, 0)
    else:
        steps = _NEWER_REPORT[current, reported]
        assert (outcome, after.status) == (Observation.APPLIED, reported)
        assert added == steps  # one entry per step (observe_refund leaves S1 to its caller)


@given(
    st.sampled_from(GATEWAY_STATUSES),
    st.sampled_from([s for s in GATEWAY_STATUSES if s.is_final]),
    st.integers(min_value=1, max_value=10**6),
)
def test_an_older_failure_still_applies_when_s3_allows(
    current: RefundStatus, reported: RefundStatus, older_by: int
) -> None:
    """L5, S3: FAILED and CANCELED are final at Stripe, so a report of one is never stale, however
    old it looks (clock skew): it applies whenever S3 allows the move, releasing the amount."""
    from kanorio_refunds.domain._refund import refund_transition_allowed

    order = paid_order()
    as_of = T0 + timedelta(hours=1)
    local = refund(
        order, "10.00", current, refund_id="rf_x", gateway_refund_id="re_x", status_as_of=as_of
    )
    order = with_refunds(order, [local])
    report = gateway_refund(order, local.amount, reported, local=local)
    result, outcome = observe_refund(
        order, report, observed_at=as_of - timedelta(seconds=older_by), event=event(9)
    )
    (after,) = result.refunds
    if reported is current:
        assert outcome is Observation.CONFIRMED
    elif refund_transition_allowed(current, reported):
        assert outcome is Observation.APPLIED
        assert after.status is reported
        assert not after.reserves
    else:
        assert outcome is Observation.STALE
        assert after.status is current


def test_missed_statuses_walk_only_s3_moves() -> None:
    """S3: the walk through missed states is the shortest path of S3 moves, never out of a final
    status and never back to SUBMITTING."""
    from kanorio_refunds.domain._reconcile import _missed_statuses
    from kanorio_refunds.domain._refund import refund_transition_allowed

    assert _missed_statuses(RefundStatus.SUCCEEDED, RefundStatus.PENDING) == (
        RefundStatus.REQUIRES_ACTION,
    )
    assert _missed_statuses(RefundStatus.SUCCEEDED, RefundStatus.CANCELED) == (
        RefundStatus.REQUIRES_ACTION,
    )
    for current in RefundStatus:
        for target in RefundStatus:
            path = (current, *_missed_statuses(current, target), target)
            if len(path) > 2:
                assert all(refund_transition_allowed(a, b) for a, b in itertools.pairwise(path))
            if current.is_final or target is RefundStatus.SUBMITTING:
                assert _missed_statuses(current, target) == ()


# -- L6: an event is a prompt, not proof ------------------------------------------------------


def test_an_event_about_an_unknown_refund_creates_nothing() -> None:
    """L6: a report that came in an event and names a refund the order does not know is
    UNCONFIRMED: nothing is imported, the order is left as it was (a live read imports it)."""
    order = paid_order()
    outside = gateway_refund(order, "25.00", R.SUCCEEDED, gateway_id="re_dash")

    result, outcome = observe_refund(order, outside, observed_at=T0, event=event(1))
    read, read_outcome = observe_refund(order, outside, observed_at=T0)

    assert (result, outcome) == (order, Observation.UNCONFIRMED)
    assert read_outcome is Observation.IMPORTED
    assert [r.amount for r in read.refunds] == [usd("25.00")]


@given(
    st.sampled_from(GATEWAY_STATUSES),
    st.sampled_from(GATEWAY_STATUSES),
    st.integers(min_value=1, max_value=10**6),
    st.integers(min_value=-120, max_value=120),
    st.booleans(),
)
# Found by this property: the walk through a missed state (SUCCEEDED → REQUIRES_ACTION →
# PENDING) used to adopt the event's amount.
@example(R.SUCCEEDED, R.PENDING, 1, 0, True)
def test_an_event_never_changes_an_amount_or_the_refunds(
    current: RefundStatus, reported: RefundStatus, amount: int, minutes: int, known: bool
) -> None:
    """L6: whatever an event says (any status, any amount, any time, a known refund or not),
    every refund keeps its amount and no refund appears; only statuses may move (also through
    missed states)."""
    order = paid_order()
    local = refund(
        order, "10.00", current, refund_id="rf_x", gateway_refund_id="re_x", status_as_of=T0
    )
    order = with_refunds(order, [local])
    report = gateway_refund(
        order,
        Money(amount, order.currency),
        reported,
        local=local if known else None,
        gateway_id=None if known else "re_other",
    )

    result, _ = observe_refund(
        order, report, observed_at=T0 + timedelta(minutes=minutes), event=event(5)
    )

    assert [(r.id, r.amount) for r in result.refunds] == [("rf_x", usd("10.00"))]
