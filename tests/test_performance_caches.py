"""Issue 10: the domain's memos (refunds index, reserved sum, balance, reconciled reads, the
submitted refunds of a timeline) answer exactly what a computation from scratch answers.

Each memo is keyed by the identity of an immutable tuple; these tests compare against the same
values in a *copy* of the tuple (another identity, so computed afresh) and check that a change
(a new tuple) is never answered from an older one's memo.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanorio_refunds.domain._balance import FeePolicy, refundable_balance, reserved_amount
from kanorio_refunds.domain._ids import (
    ChargeId,
    EventId,
    GatewayRefundId,
    OrderId,
    PaymentIntentId,
    QuoteId,
    RefundId,
    SiteId,
)
from kanorio_refunds.domain._money import Currency, Money, total
from kanorio_refunds.domain._order import ActivityEntry, ActivityKind, Order, OrderStatus
from kanorio_refunds.domain._payment import GatewayRefund, PaymentRecord
from kanorio_refunds.domain._reconcile import match_refund, reconcile
from kanorio_refunds.domain._refund import Refund, RefundOrigin, RefundStatus
from kanorio_refunds.errors import CurrencyMismatch, UnknownCurrency
from kanorio_refunds.testing import strategies as kst

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
USD = Currency.of("USD")


def usd(minor: int) -> Money:
    return Money.from_minor(minor, "USD")


def payment(refunded: int = 0) -> PaymentRecord:
    return PaymentRecord(
        payment_intent_id=None,
        charge_id=None,
        captured=usd(10_000),
        stripe_fee=usd(300),
        platform_fee=usd(0),
        settlement_currency=USD,
        amount_refunded=usd(refunded),
    )


def refund(n: int, amount: int, status: RefundStatus = RefundStatus.SUCCEEDED) -> Refund:
    return Refund(
        id=RefundId(f"rf_{n}"),
        order_id=OrderId("o"),
        amount=usd(amount),
        status=status,
        created_at=AT + timedelta(seconds=n),
        origin=RefundOrigin.LOCAL,
        quote_id=QuoteId(f"q_{n % 3}"),
        gateway_refund_id=GatewayRefundId(f"re_{n}"),
        status_as_of=AT + timedelta(seconds=n),
    )


def order(*refunds: Refund) -> Order:
    return Order(
        id=OrderId("o"),
        site_id=SiteId("shop"),
        total=usd(10_000),
        status=OrderStatus.PARTIALLY_REFUNDED if refunds else OrderStatus.PAID,
        payment=payment(sum(r.amount.minor for r in refunds if r.reserves)),
        refunds=refunds,
    )


def paid(o: Order) -> PaymentRecord:
    assert o.payment is not None
    return o.payment


def fresh_reserved(o: Order) -> int:
    """B1 by hand, on a list (no memo applies to a list)."""
    return sum(r.amount.minor for r in list(o.refunds) if r.status.reserves)


def test_reserved_sum_follows_every_added_and_replaced_refund() -> None:
    """B1: the reserved sum carried from tuple to tuple by with_refund equals the sum computed
    afresh, through additions, a late failure (released) and a cancellation."""
    current = order()
    assert reserved_amount(current.refunds, USD) == usd(0)
    for n in range(1, 8):
        current = current.with_refund(refund(n, 100 * n))
        assert reserved_amount(current.refunds, USD).minor == fresh_reserved(current)
    failed = attrs.evolve(current.refund(RefundId("rf_3")), status=RefundStatus.FAILED)
    current = current.with_refund(failed)
    assert reserved_amount(current.refunds, USD).minor == fresh_reserved(current) == 2500
    canceled = attrs.evolve(current.refund(RefundId("rf_7")), status=RefundStatus.CANCELED)
    current = current.with_refund(canceled)
    assert reserved_amount(current.refunds, USD).minor == 1800
    assert reserved_amount(tuple(list(current.refunds)), USD).minor == 1800


def test_reserved_sum_in_another_currency_is_refused_as_before() -> None:
    """M4, B1: a refund in another currency than the one asked still raises CurrencyMismatch,
    whether or not the tuple's sum was remembered in its own currency."""
    o = order(refund(1, 100))
    assert reserved_amount(o.refunds, USD) == usd(100)
    with pytest.raises(CurrencyMismatch):
        reserved_amount(o.refunds, Currency.of("EUR"))
    odd = attrs.evolve(refund(2, 100), amount=Money.from_minor(100, "EUR"))
    with pytest.raises(CurrencyMismatch):
        reserved_amount(o.with_refund(odd).refunds, USD)


def test_refundable_balance_remembered_per_pair_and_new_for_a_change() -> None:
    """B1, B2: the balance of the same payment and refunds is the same breakdown; a new refund
    gives a new balance; a copy of the tuple gives an equal one."""
    o = order(refund(1, 1000), refund(2, 500))
    first = refundable_balance(paid(o), o.refunds)
    assert first.refundable == usd(10_000 - 300 - 1500)
    assert refundable_balance(paid(o), o.refunds) is first
    assert refundable_balance(paid(o), tuple(list(o.refunds))) == first
    more = o.with_refund(refund(3, 200))
    assert refundable_balance(paid(more), more.refunds).refundable == usd(8000)
    gross = refundable_balance(paid(o), o.refunds, FeePolicy.GROSS)
    assert gross.refundable == usd(8500)


def gateway(r: Refund, status: RefundStatus | None = None) -> GatewayRefund:
    assert r.gateway_refund_id is not None
    return GatewayRefund(
        id=r.gateway_refund_id,
        amount=r.amount,
        status=status or r.status,
        created_at=r.created_at,
        failure_reason="expired_or_canceled_card" if status is RefundStatus.FAILED else None,
    )


def test_reconcile_of_a_confirmed_read_still_sees_a_late_failure() -> None:
    """B4, S3: a read that agreed is remembered; the next read showing a late failure
    (succeeded -> failed) of the oldest refund is a new read, and the failure is recorded and
    the amount released."""
    o = order(*(refund(n, 100) for n in range(1, 6)))
    read = tuple(gateway(r) for r in o.refunds)
    same = reconcile(o, paid(o), read, FeePolicy.NET_OF_FEES, at=AT)
    assert same.refunds is o.refunds
    again = reconcile(same, paid(same), read, FeePolicy.NET_OF_FEES, at=AT)
    assert again.refunds is o.refunds
    late = (gateway(o.refunds[0], RefundStatus.FAILED), *read[1:])
    failed = reconcile(again, paid(again), late, FeePolicy.NET_OF_FEES, at=AT)
    assert failed.refund(RefundId("rf_1")).status is RefundStatus.FAILED
    assert reserved_amount(failed.refunds, USD) == usd(400)
    assert [e.kind for e in failed.activity][-1:] == [ActivityKind.REFUND_FAILED]


def test_reconcile_remembers_a_read_only_once_it_changes_nothing() -> None:
    """B4: a read that imports a refund is remembered for the order it produced: the same read
    again changes nothing (idempotent), and a read of the old order is not skipped."""
    o = order(refund(1, 100))
    extra = refund(2, 300)
    read = (gateway(o.refunds[0]), gateway(extra))
    imported = reconcile(o, paid(o), read, FeePolicy.NET_OF_FEES, at=AT)
    assert len(imported.refunds) == 2
    assert reconcile(imported, paid(imported), read, FeePolicy.NET_OF_FEES, at=AT) == imported
    again = reconcile(o, paid(o), read, FeePolicy.NET_OF_FEES, at=AT)
    assert len(again.refunds) == 2


def test_refund_for_quote_and_lookups_after_changes() -> None:
    """F2: the refund of a quote is found through every change (the one the gateway holds wins
    over a refused attempt), as a scan finds it."""
    refused = attrs.evolve(refund(3, 100, RefundStatus.FAILED), gateway_refund_id=None)
    o = order(refund(1, 100), refused)
    assert o.refund_for_quote(QuoteId("q_0")) == refused
    made = attrs.evolve(refund(6, 100), id=RefundId("rf_ext_re_6"))
    o = o.with_refund(made)
    assert o.refund_for_quote(QuoteId("q_0")) == made
    assert o.refund_for_quote(QuoteId("q_1")) == o.refunds[0]
    assert o.refund_for_quote(QuoteId("q_9")) is None
    assert o.find_refund(RefundId("rf_ext_re_6")) == made


def test_submitted_refund_ids_follow_the_timeline() -> None:
    """F3, L1: the refunds a timeline says were submitted, through appends, as a scan says."""
    o = order(refund(1, 100))
    assert o.submitted_refund_ids() == frozenset()
    entry = ActivityEntry(AT, ActivityKind.REFUND_SUBMITTED, "sent", refund_id=RefundId("rf_1"))
    o = o.with_activity(entry)
    assert o.submitted_refund_ids() == {RefundId("rf_1")}
    o = o.with_activity(ActivityEntry(AT, ActivityKind.STATUS_CHANGED, "status"))
    assert o.submitted_refund_ids() == {RefundId("rf_1")}
    copy = attrs.evolve(o, activity=tuple(list(o.activity)))
    assert copy.submitted_refund_ids() == {RefundId("rf_1")}


def test_money_arithmetic_and_currencies_unchanged() -> None:
    """M1, M4: results of arithmetic are ordinary Money values; remembered currencies are the
    same values; an unknown code is still refused, however often it is asked for."""
    a, b = Money.parse("12.50", "usd"), Money.parse("0.75", " USD ")
    assert a + b == Money(1325, Currency("USD", 2))
    assert hash(a - b) == hash(Money(1175, Currency("USD", 2)))
    assert -a == Money(-1250, USD)
    assert total([a, b, a], USD) == usd(2575)
    assert total([], USD) == usd(0)
    with pytest.raises(CurrencyMismatch):
        total([a, Money.parse("1", "EUR")], USD)
    for _ in range(2):
        with pytest.raises(UnknownCurrency):
            Currency.of("uſd")
    assert Currency.of("jpy") == Currency.of("JPY")
    assert Currency.of("jpy").exponent == 0


def test_gateway_ids_found_after_a_refund_of_ours_gets_its_id() -> None:
    """L1, B4: a refund of ours that gets its gateway id is found by it at once (the first one
    when two refunds carry it, as a scan finds it); one that changes its quote is found too."""
    ours = attrs.evolve(refund(1, 100, RefundStatus.SUBMITTING), gateway_refund_id=None)
    later = refund(5, 100)
    o = order(ours, refund(2, 100), later)
    assert match_refund(o, gateway(later)) == later
    sent = attrs.evolve(ours, gateway_refund_id=GatewayRefundId("re_5"))
    o = o.with_refund(sent)
    assert match_refund(o, gateway(later)) == sent
    fresh = attrs.evolve(o, refunds=tuple(list(o.refunds)))
    assert match_refund(fresh, gateway(later)) == sent
    requoted = attrs.evolve(sent, quote_id=QuoteId("q_new"), gateway_refund_id=None)
    o = o.with_refund(requoted)
    assert match_refund(o, gateway(later)) == later
    assert o.refund_for_quote(QuoteId("q_new")) == requoted
    assert o.refund_for_quote(QuoteId("q_1")) is None


def test_submitting_refunds_follow_every_change() -> None:
    """L1, L2: the refunds still SUBMITTING, in order, through additions and answers, as a scan
    finds them."""

    def scanned(o: Order) -> tuple[Refund, ...]:
        return tuple(r for r in list(o.refunds) if r.status is RefundStatus.SUBMITTING)

    o = order(refund(1, 100))
    assert o.submitting_refunds() == ()
    for n in (2, 3, 4):
        o = o.with_refund(attrs.evolve(refund(n, 100, RefundStatus.SUBMITTING)))
        assert o.submitting_refunds() == scanned(o)
    o = o.with_refund(o.refund(RefundId("rf_3")).moved_to(RefundStatus.SUCCEEDED, as_of=AT))
    assert [r.id for r in o.submitting_refunds()] == ["rf_2", "rf_4"]
    back = attrs.evolve(o.refund(RefundId("rf_1")), status=RefundStatus.SUBMITTING)
    o = o.with_refund(back)
    assert [r.id for r in o.submitting_refunds()] == ["rf_1", "rf_2", "rf_4"]
    assert o.submitting_refunds() == scanned(attrs.evolve(o, refunds=tuple(list(o.refunds))))


# ----------------------------------------------------------------- review of issue 10


def record_of(order: Order) -> PaymentRecord:
    assert order.payment is not None
    return order.payment


def _base_order() -> Order:
    from kanorio_refunds.testing import paid_order

    return paid_order()


def test_a_subclass_of_order_keeps_its_own_fields_through_changes() -> None:
    """Issue 10, no evolve: the fast path of Order's changes is for Order itself; a host's subclass
    keeps its fields (before: reset to their defaults, or a TypeError for a required one)."""

    @attrs.frozen
    class Tagged(Order):
        channel: str = "web"

    @attrs.frozen
    class Audited(Order):
        audited_by: str = attrs.field(kw_only=True)

    from kanorio_refunds.testing import refund

    base = _base_order()
    fields = {f.name: getattr(base, f.name) for f in attrs.fields(Order)}
    tagged = Tagged(**fields, channel="pos")
    assert tagged.with_refund(refund(tagged, "10.00")).channel == "pos"
    assert tagged.with_status(OrderStatus.PAID).channel == "pos"
    audited = Audited(**fields, audited_by="ops")
    assert audited.with_status(OrderStatus.PAID).audited_by == "ops"
    from kanorio_refunds.domain._order import at_version

    assert at_version(audited, 3) == attrs.evolve(audited, version=3)
    assert tagged.with_payment(record_of(tagged)).channel == "pos"


def test_arithmetic_of_an_int_subclass_giving_no_int_is_refused() -> None:
    """M1: amounts are ints, also when an int subclass's arithmetic answers otherwise."""
    from decimal import Decimal

    from kanorio_refunds.errors import InvalidAmount

    class Cents(int):
        def __add__(self, other: object) -> Decimal:  # type: ignore[override]
            return Decimal(int(self) + int(other)) / 1  # type: ignore[call-overload]

    usd = Currency.of("USD")
    with pytest.raises(InvalidAmount):
        _ = Money(Cents(150), usd) + Money(1, usd)


def test_refunds_given_as_a_list_changed_in_place_are_read_afresh() -> None:
    """Issue 10, memos: only tuples are remembered; a list a host's repository changes in place is
    scanned again (before: the first scan's answer was kept)."""
    from kanorio_refunds.testing import refund

    base = _base_order()
    first = refund(base, "10.00", RefundStatus.SUCCEEDED, refund_id="rf_1")
    refunds = [first]
    order = attrs.evolve(base, refunds=refunds)
    assert order.submitting_refunds() == ()
    refunds.append(refund(order, "20.00", RefundStatus.SUBMITTING, refund_id="rf_2"))
    assert [r.id for r in order.submitting_refunds()] == ["rf_2"]


def test_direct_builds_equal_attrs_evolve_field_by_field() -> None:
    """Issue 10, no evolve: ``Refund.moved_to``, ``PaymentRecord.with_amount_refunded`` and
    ``Order.with_payment`` build their value field by field; each equals ``attrs.evolve`` of the
    same change, every field set to a value of its own so a swapped position shows."""
    from kanorio_refunds.domain._refund import RefundEventEntry, RefundReason

    refund = Refund(
        id=RefundId("rf_1"),
        order_id=OrderId("o-1"),
        amount=usd(700),
        status=RefundStatus.PENDING,
        created_at=AT,
        origin=RefundOrigin.LOCAL,
        reason=RefundReason.DUPLICATE,
        notes="twice",
        requested_by=None,
        quote_id=QuoteId("q_1"),
        gateway_refund_id=None,
        failure_reason="old",
        status_as_of=AT + timedelta(seconds=1),
        events=(RefundEventEntry(EventId("evt_1"), "refund.updated", AT, None, False),),
    )
    moved = refund.moved_to(
        RefundStatus.FAILED,
        as_of=AT + timedelta(seconds=2),
        failure_reason="expired_or_canceled_card",
        gateway_refund_id=GatewayRefundId("re_1"),
    )
    assert moved == attrs.evolve(
        refund,
        status=RefundStatus.FAILED,
        status_as_of=AT + timedelta(seconds=2),
        failure_reason="expired_or_canceled_card",
        gateway_refund_id=GatewayRefundId("re_1"),
    )
    kept = refund.moved_to(RefundStatus.SUCCEEDED, as_of=None)
    assert kept == attrs.evolve(refund, status=RefundStatus.SUCCEEDED)
    record = PaymentRecord(
        payment_intent_id=PaymentIntentId("pi_1"),
        charge_id=ChargeId("ch_1"),
        captured=usd(10_000),
        stripe_fee=Money.from_minor(300, "EUR"),
        platform_fee=Money.from_minor(100, "EUR"),
        settlement_currency=Currency.of("EUR"),
        amount_refunded=usd(5),
        exchange_rate=Decimal("0.9"),
        disputed=True,
    )
    assert record.with_amount_refunded(usd(9)) == attrs.evolve(record, amount_refunded=usd(9))
    order = _base_order()
    assert order.with_payment(record) == attrs.evolve(order, payment=record)
    from kanorio_refunds.domain._order import at_version

    assert at_version(order, 7) == attrs.evolve(order, version=7)


def test_a_change_forgets_the_index_it_was_derived_from() -> None:
    """Issue 10, bounded memory: an order built up refund by refund (each added, then moved to
    SUCCEEDED with its activity) keeps only its newest version's index and submitted refunds in
    the memos, not one per earlier version; an earlier version used again is indexed afresh and
    answers as before."""
    from kanorio_refunds.domain import _order
    from kanorio_refunds.testing import refund

    order = _base_order()
    versions = [order]
    for n in range(40):
        made = refund(order, "0.10", RefundStatus.SUBMITTING, refund_id=f"rf_{n}")
        order = order.with_refund(made)
        order = order.with_refund(made.moved_to(RefundStatus.SUCCEEDED, as_of=AT))
        order = order.with_activity(
            ActivityEntry(AT, ActivityKind.REFUND_SUBMITTED, "sent", refund_id=made.id)
        )
        versions.append(order)
    assert order.submitted_refund_ids() == {RefundId(f"rf_{n}") for n in range(40)}
    assert len(order.submitting_refunds()) == 0
    held = {id(v.refunds) for v in versions if v.refunds}  # () is every new order's
    assert [k for k in _order._INDEXES if k in held] == [id(order.refunds)]
    activities = {id(v.activity) for v in versions if v.activity}
    assert [k for k in _order._SUBMITTED if k in activities] == [id(order.activity)]
    middle = versions[20]
    assert middle.find_refund(RefundId("rf_19")) == order.find_refund(RefundId("rf_19"))
    assert middle.submitted_refund_ids() == {RefundId(f"rf_{n}") for n in range(20)}


def test_a_kept_status_is_only_for_its_own_record_policy_and_status() -> None:
    """S1, issue 10: ``rederive_status`` keeps the status it found for a refunds tuple and a
    payment record; the same tuple with another record (Stripe refunded more), another fee
    policy or another current status is derived afresh."""
    from kanorio_refunds.domain._status import rederive_status
    from kanorio_refunds.testing import refund

    base = _base_order()  # USD 100.00, fees 3.20 + 1.00
    order = base.with_refund(refund(base, "95.00", RefundStatus.SUCCEEDED, refund_id="rf_1"))
    order = attrs.evolve(order, status=OrderStatus.PARTIALLY_REFUNDED)
    net = FeePolicy.NET_OF_FEES
    assert rederive_status(order, net, at=AT) is order  # 0.80 left: kept PARTIALLY_REFUNDED
    assert rederive_status(order, net, at=AT) is order
    assert rederive_status(order, FeePolicy.GROSS, at=AT) is order
    refunded_all = order.with_payment(record_of(order).with_amount_refunded(usd(10_000)))
    assert refunded_all.refunds is order.refunds
    assert rederive_status(refunded_all, net, at=AT).status is OrderStatus.REFUNDED
    paid = attrs.evolve(order, status=OrderStatus.PAID)
    assert rederive_status(paid, net, at=AT).status is OrderStatus.PARTIALLY_REFUNDED
    tight = order.with_refund(refund(order, "0.80", RefundStatus.PENDING, refund_id="rf_2"))
    tight = attrs.evolve(tight, status=OrderStatus.REFUNDED)
    assert rederive_status(tight, net, at=AT) is tight  # nothing left net of fees: kept
    gross = rederive_status(tight, FeePolicy.GROSS, at=AT)  # 4.20 left of the gross amount
    assert gross.status is OrderStatus.PARTIALLY_REFUNDED


@given(kst.payment_records(cross_currency=None), st.data())
def test_payment_record_equality_is_field_by_field(
    record: PaymentRecord, data: st.DataObject
) -> None:
    """B4, issue 10: PaymentRecord's written-out equality and hash are attrs' (the fields
    compared pairwise as tuples compare them), for a record and any one field changed."""
    fields = [f.name for f in attrs.fields(PaymentRecord)]
    name = data.draw(st.sampled_from(fields))
    values = {
        "payment_intent_id": PaymentIntentId("pi_other"),
        "charge_id": None,
        "captured": record.captured + Money.from_minor(1, record.captured.currency),
        "stripe_fee": Money.from_minor(record.stripe_fee.minor + 1, record.stripe_fee.currency),
        "platform_fee": Money.from_minor(7, record.platform_fee.currency),
        "settlement_currency": Currency.of("JPY"),
        "amount_refunded": Money.from_minor(3, record.amount_refunded.currency),
        "exchange_rate": Decimal("1.5"),
        "disputed": not record.disputed,
    }
    other = attrs.evolve(record, **{name: values[name]})
    as_tuple = attrs.astuple(record, recurse=False)
    assert (record == other) == (as_tuple == attrs.astuple(other, recurse=False))
    assert (record != other) == (as_tuple != attrs.astuple(other, recurse=False))
    copy = attrs.evolve(record)
    assert copy == record
    assert hash(copy) == hash(record)
    nan = attrs.evolve(record, exchange_rate=Decimal("NaN"))
    assert nan == nan
    assert nan != attrs.evolve(record, exchange_rate=Decimal("NaN"))
