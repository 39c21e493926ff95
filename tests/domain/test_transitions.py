"""The order (S2) and refund (S3) state machines, and that a submitted refund stays (S4)."""

from __future__ import annotations

import inspect
import itertools
import re
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanorio_refunds.domain import _order as order_module
from kanorio_refunds.domain import _refund as refund_module
from kanorio_refunds.domain._order import (
    Order,
    OrderStatus,
    check_order_transition,
    order_transition_allowed,
)
from kanorio_refunds.domain._refund import (
    Refund,
    RefundStatus,
    check_refund_transition,
    refund_transition_allowed,
)
from kanorio_refunds.errors import IllegalTransition
from kanorio_refunds.testing import T0, paid_order, refund

OS = OrderStatus
R = RefundStatus

# The tables as DESIGN.md writes them, copied here so the test fails if the code drifts.
EXPECTED_ORDER: dict[OrderStatus, set[OrderStatus]] = {
    OS.PENDING: {OS.PAID, OS.PAYMENT_FAILED, OS.EXPIRED},
    OS.PAID: {OS.PARTIALLY_REFUNDED, OS.REFUNDED},
    OS.PARTIALLY_REFUNDED: {OS.REFUNDED, OS.PAID},
    OS.REFUNDED: {OS.PARTIALLY_REFUNDED, OS.PAID},
    # S2 revised with I2: Stripe lets a failed PaymentIntent succeed on a retry, or be canceled.
    OS.PAYMENT_FAILED: {OS.PAID, OS.EXPIRED},
    OS.EXPIRED: set(),
}
EXPECTED_REFUND: dict[RefundStatus, set[RefundStatus]] = {
    R.SUBMITTING: {R.PENDING, R.REQUIRES_ACTION, R.SUCCEEDED, R.FAILED, R.CANCELED},
    R.PENDING: {R.SUCCEEDED, R.FAILED, R.CANCELED, R.REQUIRES_ACTION},
    R.REQUIRES_ACTION: {R.PENDING, R.SUCCEEDED, R.FAILED, R.CANCELED},
    R.SUCCEEDED: {R.FAILED, R.REQUIRES_ACTION},
    R.FAILED: set(),
    R.CANCELED: set(),
}


# -- S2 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "new"), list(itertools.product(OrderStatus, OrderStatus)), ids=str
)
def test_every_order_status_pair_is_allowed_or_refused(
    current: OrderStatus, new: OrderStatus
) -> None:
    """S2: every pair of order statuses is either in the transition table or refused with
    illegal_transition (all 36 pairs)."""
    allowed = new in EXPECTED_ORDER[current]
    assert order_transition_allowed(current, new) is allowed
    if allowed:
        check_order_transition(current, new)
    else:
        with pytest.raises(IllegalTransition) as info:
            check_order_transition(current, new)
        assert info.value.code == "illegal_transition"
        assert f"from {current.name} to {new.name}" in info.value.message


@pytest.mark.parametrize(
    ("current", "new"), list(itertools.product(OrderStatus, OrderStatus)), ids=str
)
def test_order_with_status_obeys_the_table(current: OrderStatus, new: OrderStatus) -> None:
    """S2: Order.with_status moves only along the table (staying put is not a move)."""
    order = paid_order(status=current)
    if new is current or new in EXPECTED_ORDER[current]:
        assert order.with_status(new).status is new
    else:
        with pytest.raises(IllegalTransition):
            order.with_status(new)


@pytest.mark.parametrize("final", [OS.EXPIRED])
def test_expired_is_final(final: OrderStatus) -> None:
    """S2: EXPIRED never changes again; the message says nothing is allowed."""
    for new in OrderStatus:
        if new is not final:
            with pytest.raises(IllegalTransition, match="may go to: nothing"):
                check_order_transition(final, new)


def test_payment_failed_may_still_be_paid_or_expire() -> None:
    """S2, I2: a failed payment may succeed on a retry (PAID) or be canceled
    (EXPIRED); nothing else, and the message lists both."""
    for new in OrderStatus:
        if new in (OS.PAID, OS.EXPIRED, OS.PAYMENT_FAILED):
            continue
        with pytest.raises(IllegalTransition, match="may go to: EXPIRED, PAID"):
            check_order_transition(OS.PAYMENT_FAILED, new)


# -- S3 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "new"), list(itertools.product(RefundStatus, RefundStatus)), ids=str
)
def test_every_refund_status_pair_is_allowed_or_refused(
    current: RefundStatus, new: RefundStatus
) -> None:
    """S3: every pair of refund statuses is either in the transition table or refused with
    illegal_transition (all 36 pairs), by check_refund_transition and by Refund.moved_to."""
    allowed = new in EXPECTED_REFUND[current]
    assert refund_transition_allowed(current, new) is allowed
    r = refund(paid_order(), "10.00", current)
    if allowed:
        check_refund_transition(current, new)
        moved = r.moved_to(new, as_of=T0, failure_reason="x")
        assert moved.status is new
        assert moved.failure_reason == ("x" if new.is_final else None)
    else:
        with pytest.raises(IllegalTransition) as info:
            check_refund_transition(current, new)
        assert info.value.code == "illegal_transition"
        if new is not current:
            with pytest.raises(IllegalTransition):
                r.moved_to(new, as_of=T0)


def test_staying_put_is_not_a_transition_but_is_harmless() -> None:
    """S3: moving a refund to the status it has is not an error (it just refreshes as_of)."""
    r = refund(paid_order(), "10.00", R.SUCCEEDED)
    assert r.moved_to(R.SUCCEEDED, as_of=T0).status is R.SUCCEEDED
    assert r.moved_to(R.SUCCEEDED, as_of=T0).status_as_of == T0


def test_a_move_without_a_report_time_keeps_the_last_one() -> None:
    """S3, L5: a move given no report time keeps the time of the last report applied (what
    orders later reports), rather than forgetting it."""
    reported = T0 + timedelta(minutes=2)
    r = refund(paid_order(), "10.00", R.PENDING, status_as_of=reported)
    moved = r.moved_to(R.SUCCEEDED, as_of=None)
    assert (moved.status, moved.status_as_of) == (R.SUCCEEDED, reported)
    later = T0 + timedelta(minutes=3)
    assert r.moved_to(R.SUCCEEDED, as_of=later).status_as_of == later


@pytest.mark.parametrize("final", [R.FAILED, R.CANCELED])
def test_failed_and_canceled_are_final(final: RefundStatus) -> None:
    """S3: FAILED and CANCELED are final: they release their reservation and never move."""
    assert final.is_final
    assert not final.reserves
    for new in RefundStatus:
        if new is not final:
            assert not refund_transition_allowed(final, new)


def test_the_hot_paths_sets_name_the_same_statuses_as_the_properties() -> None:
    """S3, B1: ``FINAL`` holds exactly the statuses ``is_final`` names (those that never move
    again) and ``RELEASED`` exactly those that reserve nothing (issue 10: hot paths test
    membership instead of calling the properties)."""
    assert {s for s in RefundStatus if s.is_final} == refund_module.FINAL
    assert {s for s in RefundStatus if not s.reserves} == refund_module.RELEASED
    assert {s for s in RefundStatus if not any(refund_transition_allowed(s, n) for n in R)} == (
        refund_module.FINAL
    )


def test_late_failure_and_bank_transfer_action_after_success() -> None:
    """S3: SUCCEEDED may still become FAILED (late failure) or REQUIRES_ACTION (bank-transfer
    refunds), and nothing else."""
    assert {s for s in RefundStatus if refund_transition_allowed(R.SUCCEEDED, s)} == {
        R.FAILED,
        R.REQUIRES_ACTION,
    }


# -- S4 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(RefundStatus))
def test_nothing_leads_back_to_submitting(status: RefundStatus) -> None:
    """S4: no transition leads from any status (submitted, succeeded, …) back to SUBMITTING."""
    assert not refund_transition_allowed(status, R.SUBMITTING)
    if status is not R.SUBMITTING:
        with pytest.raises(IllegalTransition):
            refund(paid_order(), "10.00", status).moved_to(R.SUBMITTING, as_of=T0)


def test_a_succeeded_refund_cannot_be_undone() -> None:
    """S4: a succeeded refund can never go back to pending, submitting or canceled."""
    for new in (R.SUBMITTING, R.PENDING, R.CANCELED):
        assert not refund_transition_allowed(R.SUCCEEDED, new)


# "undo" only as a word: RefundOrigin contains the letters "undo".
_REVERSAL = re.compile(r"(?i:revers|rollback|void|retract|unrefund)|(^|_)undo|Undo")


def test_the_domain_offers_no_reversal() -> None:
    """S4: no domain type or function offers to reverse a refund, and no status means it."""
    for cls in (Refund, Order, RefundStatus):
        names = [n for n in dir(cls) if _REVERSAL.search(n)]
        assert names == [], f"{cls.__name__} offers {names}"
    for module in (refund_module, order_module):
        public = [n for n, _ in inspect.getmembers(module) if not n.startswith("_")]
        assert [n for n in public if _REVERSAL.search(n)] == []
    assert not any(_REVERSAL.search(s.name) for s in RefundStatus)


@given(st.lists(st.sampled_from(RefundStatus), max_size=12))
def test_random_walks_never_return_to_submitting_or_leave_a_final_status(
    moves: list[RefundStatus],
) -> None:
    """S3, S4: along any sequence of reported statuses (illegal ones refused), a refund never
    returns to SUBMITTING once it left it, and never leaves FAILED or CANCELED."""
    r = refund(paid_order(), "10.00", R.SUBMITTING)
    for new in moves:
        before = r.status
        try:
            r = r.moved_to(new, as_of=T0)
        except IllegalTransition:
            assert new is not before
            assert new not in EXPECTED_REFUND[before]
            continue
        if before is not R.SUBMITTING:
            assert r.status is not R.SUBMITTING
        if before.is_final:
            assert r.status is before
