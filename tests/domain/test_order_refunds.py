"""An order's refunds and timeline as every lookup sees them after each change (rules B1, F2,
F3, L1, L2).

``Order.with_refund`` and ``Order.with_activity`` carry what lookups need from one order to the
next (issue 10), so these tests change an order step by step, asking before and after each
change, and compare with what the refunds written out say.
"""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from kanorio_refunds.domain._balance import FeePolicy, refundable_balance, reserved_amount
from kanorio_refunds.domain._ids import GatewayRefundId, QuoteId, RefundId
from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._order import ActivityEntry, ActivityKind, Order
from kanorio_refunds.domain._reconcile import match_refund
from kanorio_refunds.domain._refund import Refund, RefundStatus
from kanorio_refunds.errors import CurrencyMismatch
from kanorio_refunds.testing import T0, gateway_refund, paid_order, refund

R = RefundStatus


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


def made(
    order: Order,
    refund_id: str,
    amount: str,
    status: RefundStatus,
    *,
    gateway_id: str | None = None,
    quote: str | None = None,
) -> Refund:
    """A refund of ``order`` with exactly the gateway id and quote id given (None: none)."""
    base = refund(order, amount, status, refund_id=refund_id)
    return attrs.evolve(
        base,
        gateway_refund_id=GatewayRefundId(gateway_id) if gateway_id else None,
        quote_id=QuoteId(quote) if quote else None,
    )


def found(order: Order, gateway_id: str) -> Refund | None:
    """The refund a live read's report of ``gateway_id`` (no metadata) is matched to."""
    return match_refund(order, gateway_refund(order, "1.00", R.PENDING, gateway_id=gateway_id))


def reserved(order: Order) -> Money:
    return reserved_amount(order.refunds, order.currency)


# -- F2, F3: by id, by gateway id, by quote --------------------------------------------------------


def test_a_refund_of_ours_is_found_by_its_gateway_id_once_it_has_one() -> None:
    """F3, L2: a refund written ahead is found by our id and its quote, not by a gateway id;
    once the gateway's id is recorded, a report naming it finds the refund, and the quote's
    refund is the updated one."""
    order = paid_order()
    ahead = made(order, "rf_a", "10.00", R.SUBMITTING, quote="qt_a")
    first = order.with_refund(ahead)
    assert first.find_refund(RefundId("rf_a")) == ahead
    assert first.refund_for_quote(QuoteId("qt_a")) == ahead
    assert found(first, "re_a") is None

    seen = ahead.moved_to(R.PENDING, as_of=T0, gateway_refund_id=GatewayRefundId("re_a"))
    second = first.with_refund(seen)

    assert found(second, "re_a") == seen
    assert second.refund(RefundId("rf_a")) == seen
    assert second.refund_for_quote(QuoteId("qt_a")) == seen
    assert found(first, "re_a") is None  # the earlier order is unchanged


def test_a_repeated_gateway_id_finds_the_first_refund() -> None:
    """F3: should two refunds of an order carry the same gateway id, whether added with it or
    given it later, a report of that id finds the first one."""
    order = paid_order()
    one = made(order, "rf_1", "10.00", R.SUCCEEDED, gateway_id="re_1")
    order = order.with_refund(one)
    twin = made(order, "rf_2", "5.00", R.SUCCEEDED, gateway_id="re_1")
    assert found(order.with_refund(twin), "re_1") == one

    later = made(order, "rf_3", "5.00", R.SUBMITTING)
    order = order.with_refund(later)
    given = later.moved_to(R.PENDING, as_of=T0, gateway_refund_id=GatewayRefundId("re_1"))
    order = order.with_refund(given)
    assert found(order, "re_1") == one
    assert order.refund(RefundId("rf_3")) == given


def test_a_refund_whose_gateway_id_changes_is_found_by_the_new_one_only() -> None:
    """F3: replacing a refund by one with another gateway id (or another quote) moves every
    lookup: the old id finds nothing, the new one finds the refund."""
    order = paid_order()
    first = made(order, "rf_1", "10.00", R.SUCCEEDED, gateway_id="re_old", quote="qt_1")
    order = order.with_refund(first)
    assert found(order, "re_old") == first

    renamed = attrs.evolve(first, gateway_refund_id=GatewayRefundId("re_new"))
    order = order.with_refund(renamed)
    assert found(order, "re_old") is None
    assert found(order, "re_new") == renamed
    assert order.refund_for_quote(QuoteId("qt_1")) == renamed

    ahead = made(order, "rf_2", "5.00", R.SUBMITTING, quote="qt_2")
    order = order.with_refund(ahead)
    moved = attrs.evolve(
        ahead,
        status=R.PENDING,
        gateway_refund_id=GatewayRefundId("re_2"),
        quote_id=QuoteId("qt_3"),
    )
    order = order.with_refund(moved)
    assert order.refund_for_quote(QuoteId("qt_2")) is None
    assert order.refund_for_quote(QuoteId("qt_3")) == moved
    assert found(order, "re_2") == moved


def test_the_quotes_refund_is_the_first_one_unless_a_later_one_is_at_the_gateway() -> None:
    """F2: of two refunds made from one quote, the quote's refund is the one the gateway holds;
    when both or neither have a gateway id, the first."""
    order = paid_order()
    held = made(order, "rf_1", "10.00", R.SUCCEEDED, gateway_id="re_1", quote="qt_q")
    order = order.with_refund(held)
    assert order.refund_for_quote(QuoteId("qt_q")) == held
    refused = made(order, "rf_2", "10.00", R.FAILED, quote="qt_q")
    order = order.with_refund(refused)
    assert order.refund_for_quote(QuoteId("qt_q")) == held

    fresh = paid_order()
    a = made(fresh, "rf_a", "10.00", R.FAILED, quote="qt_n")
    fresh = fresh.with_refund(a)
    b = made(fresh, "rf_b", "10.00", R.FAILED, quote="qt_n")
    fresh = fresh.with_refund(b)
    assert fresh.refund_for_quote(QuoteId("qt_n")) == a


# -- L1, L2: the refunds still SUBMITTING ----------------------------------------------------------


def test_the_submitting_refunds_follow_every_replacement() -> None:
    """L1, L2: the refunds still SUBMITTING, in the order's order, through additions, an
    answer, a change that keeps a refund SUBMITTING and a replacement that makes one SUBMITTING
    again."""
    order = paid_order()
    a = made(order, "rf_a", "10.00", R.SUBMITTING)
    order = order.with_refund(a)
    b = made(order, "rf_b", "5.00", R.SUCCEEDED, gateway_id="re_b")
    order = order.with_refund(b)
    c = made(order, "rf_c", "1.00", R.SUBMITTING)
    order = order.with_refund(c)
    assert order.submitting_refunds() == (a, c)

    a_seen = a.moved_to(R.PENDING, as_of=T0, gateway_refund_id=GatewayRefundId("re_a"))
    order = order.with_refund(a_seen)
    assert order.submitting_refunds() == (c,)

    c_noted = attrs.evolve(c, notes="called the bank")
    order = order.with_refund(c_noted)
    assert order.submitting_refunds() == (c_noted,)

    b_again = attrs.evolve(b, status=R.SUBMITTING)
    order = order.with_refund(b_again)
    assert order.submitting_refunds() == (b_again, c_noted)

    b_pending = attrs.evolve(b, status=R.PENDING)
    order = order.with_refund(b_pending)
    assert order.submitting_refunds() == (c_noted,)


# -- B1: the reserved sum -------------------------------------------------------------------------


def test_the_reserved_sum_follows_every_replacement() -> None:
    """B1: asked after each change, the reserved sum is the sum of the refunds that reserve:
    a refund added, one failing (released), one canceled, one amount corrected, one failed
    refund replaced (reserving nothing before or after)."""
    order = paid_order()
    assert reserved(order) == usd("0.00")
    a = made(order, "rf_a", "10.00", R.SUCCEEDED, gateway_id="re_a")
    order = order.with_refund(a)
    assert reserved(order) == usd("10.00")
    b = made(order, "rf_b", "5.00", R.PENDING, gateway_id="re_b")
    order = order.with_refund(b)
    assert reserved(order) == usd("15.00")
    c = made(order, "rf_c", "2.50", R.SUBMITTING)
    order = order.with_refund(c)
    assert reserved(order) == usd("17.50")

    order = order.with_refund(attrs.evolve(b, status=R.FAILED, failure_reason="declined"))
    assert reserved(order) == usd("12.50")
    order = order.with_refund(attrs.evolve(c, amount=usd("2.00")))
    assert reserved(order) == usd("12.00")
    order = order.with_refund(attrs.evolve(b, status=R.FAILED, failure_reason="lost_or_stolen"))
    assert reserved(order) == usd("12.00")
    order = order.with_refund(attrs.evolve(a, status=R.CANCELED))
    assert reserved(order) == usd("2.00")
    assert order.payment is not None
    balance = refundable_balance(order.payment, order.refunds, FeePolicy.NET_OF_FEES)
    assert balance.reserved == usd("2.00")


def test_the_reserved_sum_is_in_the_currency_asked_for() -> None:
    """B1, M4: the reserved sum of a refunds tuple known in one currency is given in another
    when that is asked (an order without refunds: zero in either)."""
    nothing = paid_order().refunds
    assert reserved_amount(nothing, usd("0").currency) == usd("0.00")
    assert reserved_amount(nothing, Money.zero("EUR").currency) == Money.zero("EUR")


def test_a_refund_in_another_currency_is_refused_in_the_sum_once_known() -> None:
    """B1, M4: a refund in another currency added after the sum was known in the order's
    currency makes the sum refuse with currency_mismatch, as it does on a first sum."""
    order = paid_order()
    order = order.with_refund(made(order, "rf_a", "10.00", R.SUCCEEDED, gateway_id="re_a"))
    assert reserved(order) == usd("10.00")
    odd = attrs.evolve(
        made(order, "rf_b", "10.00", R.SUCCEEDED, gateway_id="re_b"),
        amount=Money.parse("10.00", "EUR"),
    )
    with pytest.raises(CurrencyMismatch):
        reserved(order.with_refund(odd))


# -- L1, F3: what the timeline says was submitted --------------------------------------------------


def _entry(kind: ActivityKind, refund_id: str | None, minutes: int) -> ActivityEntry:
    return ActivityEntry(
        at=T0 + timedelta(minutes=minutes),
        kind=kind,
        message=kind.value,
        refund_id=RefundId(refund_id) if refund_id else None,
    )


def test_the_submitted_refunds_follow_every_append() -> None:
    """L1, F3: the refunds whose REFUND_SUBMITTED entry is in the timeline, asked after each
    append: from an empty timeline, with entries of other kinds, with several entries at once,
    and never one of an entry without a refund."""
    order = attrs.evolve(paid_order(), activity=())
    assert order.submitted_refund_ids() == frozenset()
    order = order.with_activity(_entry(ActivityKind.REFUND_SUBMITTED, "rf_1", 1))
    assert order.submitted_refund_ids() == {RefundId("rf_1")}
    order = order.with_activity(
        _entry(ActivityKind.REFUND_REQUESTED, "rf_2", 2),
        _entry(ActivityKind.STATUS_CHANGED, None, 2),
    )
    assert order.submitted_refund_ids() == {RefundId("rf_1")}
    order = order.with_activity(
        _entry(ActivityKind.REFUND_SUBMITTED, "rf_2", 3),
        _entry(ActivityKind.REFUND_SUBMITTED, None, 3),
        _entry(ActivityKind.REFUND_SUBMITTED, "rf_3", 3),
    )
    assert order.submitted_refund_ids() == {RefundId("rf_1"), RefundId("rf_2"), RefundId("rf_3")}


def test_the_submitted_refunds_of_a_timeline_not_asked_before() -> None:
    """L1, F3: a timeline built without asking (its earlier orders never asked) answers from
    its entries all the same."""
    order = paid_order()
    for n, kind in enumerate(
        (ActivityKind.REFUND_REQUESTED, ActivityKind.REFUND_SUBMITTED, ActivityKind.REFUND_FAILED)
    ):
        order = order.with_activity(_entry(kind, "rf_9", n))
    assert order.submitted_refund_ids() == {RefundId("rf_9")}
    other = attrs.evolve(order, activity=(_entry(ActivityKind.REFUND_REQUESTED, "rf_8", 9),))
    assert other.submitted_refund_ids() == frozenset()
    assert other.with_activity(
        _entry(ActivityKind.REFUND_SUBMITTED, "rf_8", 10)
    ).submitted_refund_ids() == {RefundId("rf_8")}


# -- L4, F3: an order as loaded from storage -------------------------------------------------------


def test_an_orders_own_changes_keep_its_version() -> None:
    """L4: adding or replacing a refund, appending activity and moving the status never touch
    the version (the repository's compare-and-set bumps it on save), nor any other field."""
    order = attrs.evolve(paid_order(), version=5, buyer_access=False)
    ahead = made(order, "rf_a", "10.00", R.SUBMITTING)
    changed = [
        order.with_refund(ahead),
        order.with_refund(ahead).with_refund(attrs.evolve(ahead, notes="n")),
        order.with_activity(_entry(ActivityKind.STATUS_CHANGED, None, 1)),
        order.with_status(order.status),
    ]
    for result in changed:
        assert (result.version, result.buyer_access) == (5, False)
        assert (result.id, result.site_id, result.total, result.payment) == (
            order.id,
            order.site_id,
            order.total,
            order.payment,
        )


def test_an_order_loaded_with_its_refunds_finds_each_of_them() -> None:
    """F2, F3, L2: an order built with its refunds at once (as a repository loads it, no
    change made through it) finds each by id, by gateway id and by quote, and knows which
    are still SUBMITTING."""
    base = paid_order()
    held = made(base, "rf_1", "10.00", R.SUCCEEDED, gateway_id="re_1", quote="qt_q")
    refused = made(base, "rf_2", "10.00", R.FAILED, quote="qt_q")
    ahead = made(base, "rf_3", "5.00", R.SUBMITTING, quote="qt_3")
    first_refused = made(base, "rf_4", "1.00", R.FAILED, quote="qt_n")
    second_refused = made(base, "rf_5", "1.00", R.FAILED, quote="qt_n")
    refunds = (held, refused, ahead, first_refused, second_refused)

    order = attrs.evolve(base, refunds=tuple(list(refunds)))

    assert [order.find_refund(r.id) for r in refunds] == list(refunds)
    assert order.find_refund(RefundId("rf_9")) is None
    assert found(order, "re_1") == held
    assert found(order, "re_9") is None
    assert order.refund_for_quote(QuoteId("qt_q")) == held
    assert order.refund_for_quote(QuoteId("qt_3")) == ahead
    assert order.refund_for_quote(QuoteId("qt_n")) == first_refused
    assert order.submitting_refunds() == (ahead,)


def test_a_timeline_loaded_from_storage_says_what_was_submitted() -> None:
    """L1, F3: a timeline built at once (as loaded) names the refunds its REFUND_SUBMITTED
    entries carry, and nothing for an entry without a refund; appending to it adds to that."""
    loaded = attrs.evolve(
        paid_order(),
        activity=(
            _entry(ActivityKind.REFUND_REQUESTED, "rf_7", 1),
            _entry(ActivityKind.REFUND_SUBMITTED, "rf_7", 2),
            _entry(ActivityKind.REFUND_SUBMITTED, None, 3),
        ),
    )
    assert loaded.submitted_refund_ids() == {RefundId("rf_7")}
    other = attrs.evolve(paid_order(), activity=(_entry(ActivityKind.REFUND_SUBMITTED, "rf_6", 1),))
    appended = other.with_activity(_entry(ActivityKind.REFUND_SUBMITTED, "rf_8", 2))
    assert appended.submitted_refund_ids() == {RefundId("rf_6"), RefundId("rf_8")}


# -- B1: refunds given as a list ---------------------------------------------------------------


def test_refunds_given_as_a_list_are_read_afresh_each_time() -> None:
    """B1, B5: a list of refunds may change between two questions, so it is summed anew each
    time, under the policy given (NET_OF_FEES: 100.00 captured, 4.20 of fees)."""
    order = paid_order()
    assert order.payment is not None
    refunds = [made(order, "rf_a", "10.00", R.SUCCEEDED, gateway_id="re_a")]
    assert reserved_amount(refunds, order.currency) == usd("10.00")
    net = refundable_balance(order.payment, refunds, FeePolicy.NET_OF_FEES)
    assert net.refundable == usd("85.80")
    refunds.append(made(order, "rf_b", "5.00", R.PENDING, gateway_id="re_b"))
    assert reserved_amount(refunds, order.currency) == usd("15.00")
    assert refundable_balance(order.payment, refunds, FeePolicy.NET_OF_FEES).refundable == (
        usd("80.80")
    )
    assert refundable_balance(order.payment, refunds, FeePolicy.GROSS).refundable == usd("85.00")
