"""The pure parts of an order's life: intake (I1), the Transactions list and its cursors (O2)
and the feed's request checks (O1). The use cases are tested in tests/order_life."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import attrs
import pytest

from kanorio_refunds.domain._balance import FeePolicy
from kanorio_refunds.domain._feed import added_entries, check_feed_request
from kanorio_refunds.domain._ids import ChargeId, OrderId, PaymentIntentId, SiteId
from kanorio_refunds.domain._intake import (
    follow_payment,
    registered_order,
    require_payment_reference,
    require_same_registration,
)
from kanorio_refunds.domain._listing import (
    TransactionRow,
    check_limit,
    decode_cursor,
    encode_cursor,
    refunds_in_progress,
    require_list_role,
    transaction_row,
)
from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._order import (
    ActivityEntry,
    ActivityKind,
    Order,
    OrderStatus,
    payment_settled,
)
from kanorio_refunds.domain._payment import LivePayment, PaymentState
from kanorio_refunds.domain._refund import RefundStatus
from kanorio_refunds.errors import (
    InvalidCursor,
    InvalidPaymentRecord,
    OrderConflict,
    PermissionDenied,
)
from kanorio_refunds.testing import (
    T0,
    evolve_payment,
    paid_order,
    payment_record,
    refund,
    staff,
    with_refunds,
)

R = RefundStatus


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


# -- O2: rows ------------------------------------------------------------------------------------


def test_a_row_shows_the_order_as_stored() -> None:
    """O2: a Transactions row has the order's id, total, status, refundable balance (under the
    given policy), last activity time and refunds in progress, each counted once."""
    order = paid_order()
    order = with_refunds(
        order,
        [
            refund(order, "10.00", R.SUBMITTING, refund_id="rf_1"),
            refund(order, "5.00", R.PENDING, refund_id="rf_2"),
            refund(order, "1.00", R.SUCCEEDED, refund_id="rf_3"),
            refund(order, "2.00", R.FAILED, refund_id="rf_4"),
        ],
        at=T0 + timedelta(minutes=3),
    )
    order = order.with_activity(
        ActivityEntry(at=T0 + timedelta(hours=1), kind=ActivityKind.PAYMENT_UPDATED, message="x"),
        ActivityEntry(at=T0, kind=ActivityKind.PAYMENT_UPDATED, message="y"),
    )
    assert transaction_row(order, FeePolicy.NET_OF_FEES) == TransactionRow(
        order_id=OrderId("order-1"),
        total=usd("100.00"),
        status=OrderStatus.PARTIALLY_REFUNDED,
        refundable=usd("79.80"),  # 95.80 net - 16.00 reserved
        last_activity_at=T0 + timedelta(hours=1),
        refunds_in_progress=2,
    )
    assert transaction_row(order, FeePolicy.GROSS).refundable == usd("84.00")
    assert refunds_in_progress(order) == 2


def test_a_row_without_activity_or_a_readable_payment() -> None:
    """O2, E4: an order with no activity has no last activity time; one whose payment cannot
    give a balance lists zero refundable, never an error."""
    bare = paid_order()
    assert transaction_row(bare, FeePolicy.NET_OF_FEES).last_activity_at is None
    unreadable = paid_order(settlement_currency="EUR")  # no exchange rate: E4
    assert transaction_row(unreadable, FeePolicy.NET_OF_FEES).refundable == usd("0.00")
    no_payment = attrs.evolve(bare, payment=None)
    assert transaction_row(no_payment, FeePolicy.NET_OF_FEES).refundable == usd("0.00")


def test_only_the_sites_owner_and_admins_see_the_list() -> None:
    """O2, E2: anyone else is refused, named with the site."""
    with pytest.raises(PermissionDenied) as info:
        require_list_role(SiteId("shop-1"), staff(actor_id="u2"))
    assert info.value.message == (
        "u2 is not the owner or an administrator of site shop-1; only they can list its "
        "transactions"
    )


@pytest.mark.parametrize("limit", [1, 2, 999, 1000])
def test_page_sizes_from_1_to_1000_are_accepted(limit: int) -> None:
    """O2: a page holds 1 to 1000 orders."""
    check_limit(limit)


@pytest.mark.parametrize("limit", [0, -1, 1001, True, "10", 2.0])
def test_other_page_sizes_are_refused(limit: object) -> None:
    """O2: anything else is a ValueError naming the range."""
    with pytest.raises(ValueError, match="limit must be an int from 1 to 1000, got"):
        check_limit(limit)  # type: ignore[arg-type]


# -- O2: cursors -------------------------------------------------------------------------------


def test_a_cursor_is_compact_unpadded_base64_of_json() -> None:
    """O2: a cursor is "kc1." and the URL-safe base64 (no padding) of the compact JSON of its
    kind and parts, so it fits in a URL."""
    cursor = encode_cursor("tx", "2024-01-15T12:00:00+00:00", 7)
    raw = b'["tx","2024-01-15T12:00:00+00:00",7]'
    assert cursor == "kc1." + base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert "=" not in cursor
    assert decode_cursor(cursor, "tx", (str, int)) == ("2024-01-15T12:00:00+00:00", 7)


@pytest.mark.parametrize("size", range(1, 9))
def test_cursors_of_every_length_round_trip(size: int) -> None:
    """O2: whatever padding base64 needed, the cursor decodes back to its parts."""
    part = "x" * size
    assert decode_cursor(encode_cursor("k", part), "k", (str,)) == (part,)


def _raw_cursor(payload: object) -> str:
    return "kc1." + base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        42,
        "",
        "tx",
        "kc2." + encode_cursor("tx", 1).removeprefix("kc1."),
        "kc1.!!!",
        _raw_cursor({"tx": 1}),
        _raw_cursor(["tx"]),
        _raw_cursor(["tx", 1, 2]),
        _raw_cursor(["other", 1]),
        _raw_cursor(["tx", "1"]),
        _raw_cursor(["tx", True]),
    ],
)
def test_anything_but_a_cursor_of_this_listing_is_refused(cursor: object) -> None:
    """O2: a cursor from another listing, of another shape or tampered with is invalid_cursor,
    naming (the start of) what was given."""
    with pytest.raises(InvalidCursor) as info:
        decode_cursor(cursor, "tx", (int,))  # type: ignore[arg-type]
    assert info.value.message.startswith(f"{str(cursor)[:40]!r} is not a cursor of this listing")


def test_a_long_cursor_is_named_by_its_first_40_characters() -> None:
    """O2: the refusal quotes at most 40 characters of a long cursor."""
    long = "z" * 100
    with pytest.raises(InvalidCursor) as info:
        decode_cursor(long, "tx", (int,))
    assert info.value.message.startswith(repr("z" * 40) + " is not a cursor")


# -- O1: feed requests ----------------------------------------------------------------------------


def test_feed_requests_start_at_zero_and_take_at_least_one() -> None:
    """O1: reading after position 0 (the start) with a limit of 1 is fine; less is refused,
    naming the argument."""
    check_feed_request(0, 1)
    with pytest.raises(ValueError, match=r"^after must be an int of at least 0, got -1$"):
        check_feed_request(-1, 1)
    with pytest.raises(ValueError, match=r"^limit must be an int of at least 1, got 0$"):
        check_feed_request(0, 0)
    with pytest.raises(ValueError, match=r"^after must be an int of at least 0, got True$"):
        check_feed_request(True, 1)  # type: ignore[arg-type]


# -- I1: intake ---------------------------------------------------------------------------------


def test_a_payment_reference_is_one_or_both_ids() -> None:
    """I1: a PaymentIntent id, a Charge id or both; blank or non-text ids are refused naming
    the argument; none at all is refused."""
    assert require_payment_reference("pi_1", None) == (PaymentIntentId("pi_1"), None)
    assert require_payment_reference(None, "ch_1") == (None, ChargeId("ch_1"))
    assert require_payment_reference("pi_1", "ch_1") == ("pi_1", "ch_1")
    with pytest.raises(InvalidPaymentRecord, match=r"^payment_intent_id must be a non-blank"):
        require_payment_reference("  ", "ch_1")
    with pytest.raises(InvalidPaymentRecord, match=r"^charge_id must be a non-blank"):
        require_payment_reference("pi_1", 5)  # type: ignore[arg-type]
    with pytest.raises(InvalidPaymentRecord) as info:
        require_payment_reference(None, None)
    assert info.value.message == (
        "an order is registered for a payment: give its PaymentIntent id (pi_…) or, for a "
        "charge-only payment, its Charge id (ch_…)"
    )


def test_a_registered_order_follows_its_payment() -> None:
    """I1: the new order's total is the payment's amount, its status the payment state's, and
    its first entry names the payment."""
    record = payment_record(
        "0", charge_id="ch_9", payment_intent_id="pi_9", stripe_fee="0", platform_fee="0"
    )
    live = LivePayment(record=record, state=PaymentState.PENDING, amount=usd("42.00"))
    order = registered_order(OrderId("o-9"), SiteId("shop-1"), live, at=T0)
    assert (order.id, order.site_id, order.total, order.status) == (
        "o-9",
        "shop-1",
        usd("42.00"),
        OrderStatus.PENDING,
    )
    assert order.payment == record
    assert order.activity == (
        ActivityEntry(
            at=T0,
            kind=ActivityKind.PAYMENT_UPDATED,
            message="Order registered for Stripe payment pi_9 of 42.00 USD, status Pending",
        ),
    )
    assert not payment_settled(order.status)
    assert payment_settled(OrderStatus.PAID)


def _live(order: Order) -> LivePayment:
    assert order.payment is not None
    return LivePayment(record=order.payment)


def test_registering_the_same_order_again_is_fine() -> None:
    """I1: the same id, site, payment and amount again is idempotent: no error, whichever of
    the payment's ids is given."""
    order = paid_order()
    live = _live(order)
    for pi, ch in (("pi_test_1", None), (None, "ch_test_1"), ("pi_test_1", "ch_test_1")):
        require_same_registration(
            order,
            order.id,
            order.site_id,
            PaymentIntentId(pi) if pi else None,
            ChargeId(ch) if ch else None,
            live,
        )


def test_a_charge_id_alone_must_be_the_stored_one() -> None:
    """I1: registering by another Charge id conflicts, naming what pays the order."""
    order = paid_order(payment_intent_id=None, charge_id="ch_a")
    with pytest.raises(OrderConflict) as info:
        require_same_registration(
            order, order.id, order.site_id, None, ChargeId("ch_b"), _live(order)
        )
    assert info.value.message == (
        "order order-1 cannot be registered for ch_b on site shop-1: it is paid by ch_a, not "
        "ch_b. Register each order once, with the payment made for it"
    )


def test_a_charge_id_beside_the_stored_payment_intent_is_not_a_conflict() -> None:
    """I1: a PaymentIntent that matches decides; the Charge id given beside it may be a later
    charge of that PaymentIntent."""
    order = paid_order(payment_intent_id="pi_a", charge_id="ch_a")
    require_same_registration(
        order, order.id, order.site_id, PaymentIntentId("pi_a"), ChargeId("ch_other"), _live(order)
    )


def test_a_conflicting_registration_lists_every_difference() -> None:
    """I1: another order id, another site, another payment and another amount are all named,
    joined by '; '."""
    order = attrs.evolve(paid_order(), payment=None)
    live = _live(paid_order(total="50.00"))
    with pytest.raises(OrderConflict) as info:
        require_same_registration(
            order, OrderId("order-2"), SiteId("shop-2"), None, ChargeId("ch_x"), live
        )
    assert info.value.message == (
        "order order-2 cannot be registered for ch_x on site shop-2: the payment already "
        "belongs to order order-1; it belongs to site shop-1, not shop-2; it is paid by no "
        "payment, not ch_x; its total is 100.00 USD, the payment's 50.00 USD. Register each "
        "order once, with the payment made for it"
    )
    stored = evolve_payment(paid_order(), payment_intent_id=None, charge_id="ch_s")
    with pytest.raises(OrderConflict, match="it is paid by ch_s, not pi_x"):
        require_same_registration(
            stored, stored.id, stored.site_id, PaymentIntentId("pi_x"), None, _live(stored)
        )


@pytest.mark.parametrize("size", range(1, 13))
def test_no_cursor_carries_base64_padding(size: int) -> None:
    """O2: whatever the length of its parts, a cursor has no '=' padding (it goes in URLs)."""
    assert "=" not in encode_cursor("k", "y" * size)


def test_another_charge_of_an_order_paid_by_a_payment_intent_conflicts() -> None:
    """I1: registering by a Charge id alone, other than the stored one, conflicts even when
    the order was paid through a PaymentIntent."""
    order = paid_order(payment_intent_id="pi_a", charge_id="ch_a")
    with pytest.raises(OrderConflict, match="it is paid by pi_a, not ch_b"):
        require_same_registration(
            order, order.id, order.site_id, None, ChargeId("ch_b"), _live(order)
        )


def test_a_payment_outcome_moves_the_order_with_a_status_entry_stamped_then() -> None:
    """I2, S2: a pending order whose payment succeeded is PAID, with one "status changed" entry
    stamped at the time given; a failed payment retried (live PENDING) changes nothing."""
    record = payment_record(
        "0", charge_id="ch_9", payment_intent_id="pi_9", stripe_fee="0", platform_fee="0"
    )
    live = LivePayment(record=record, state=PaymentState.PENDING, amount=usd("42.00"))
    pending = registered_order(OrderId("o-9"), SiteId("shop-1"), live, at=T0)
    later = T0 + timedelta(minutes=5)

    paid = follow_payment(pending, PaymentState.PAID, at=later)

    assert paid.status is OrderStatus.PAID
    assert paid.activity[len(pending.activity) :] == (
        ActivityEntry(
            at=later,
            kind=ActivityKind.STATUS_CHANGED,
            message="Order status changed from Pending to Paid",
        ),
    )
    failed = follow_payment(pending, PaymentState.FAILED, at=later)
    assert failed.status is OrderStatus.PAYMENT_FAILED
    assert follow_payment(failed, PaymentState.PENDING, at=later + timedelta(minutes=1)) == failed


def _entry(text: str, minute: int) -> ActivityEntry:
    return ActivityEntry(
        at=T0 + timedelta(minutes=minute), kind=ActivityKind.STATUS_CHANGED, message=text
    )


def test_the_feed_gets_the_entries_past_the_common_prefix() -> None:
    """O1: the entries a change adds are those after the longest common prefix of the two
    timelines, compared by value (an equal copy is the same entry): the appended entries, or a
    rewritten part from its first difference on, or nothing."""
    a, b, c = _entry("a", 0), _entry("b", 1), _entry("c", 2)
    a2, b2, c2 = _entry("a", 0), _entry("b", 1), _entry("c", 2)  # equal copies
    d, x = _entry("d", 3), _entry("x", 1)
    before = (a, b, c)

    assert added_entries(before, (a2, b2, c2, d)) == (d,)
    assert added_entries(before, before) == ()
    assert added_entries((), before) == before
    assert added_entries(before, (a, b)) == ()
    assert added_entries(before, (a2, x, c2, d)) == (x, c2, d)
    assert added_entries(before, (a, b2, x)) == (x,)
    assert added_entries(before, (x, b, c)) == (x, b, c)
