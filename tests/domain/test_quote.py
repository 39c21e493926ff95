"""The quote of the "Confirm Refund" window (F1, F2 idempotency) and its notices."""

from __future__ import annotations

import pytest

from kanorio_refunds.domain._balance import BalanceBreakdown, FeePolicy, refundable_balance
from kanorio_refunds.domain._ids import ActorId, OrderId, QuoteId
from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._order import OrderStatus
from kanorio_refunds.domain._quote import (
    Notice,
    RefundQuote,
    quote_id_for,
    quote_notices,
    require_intact,
)
from kanorio_refunds.domain._refund import RefundReason
from kanorio_refunds.errors import InvalidQuote
from kanorio_refunds.testing import paid_order

ORDER = OrderId("order-1")
ACTOR = ActorId("owner-1")


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


def breakdown(policy: FeePolicy = FeePolicy.NET_OF_FEES, cross: bool = False) -> BalanceBreakdown:
    order = paid_order(settlement_currency="EUR", exchange_rate="0.9") if cross else paid_order()
    assert order.payment is not None
    return refundable_balance(order.payment, (), policy)


def qid(**changes: object) -> QuoteId:
    args: dict[str, object] = {
        "order_id": ORDER,
        "actor_id": ACTOR,
        "amount": usd("10.00"),
        "reason": RefundReason.DUPLICATE,
        "notes": "dup",
        "order_status": OrderStatus.PAID,
        "refundable": usd("95.80"),
        "refund_count": 0,
    }
    args.update(changes)
    return quote_id_for(**args)  # type: ignore[arg-type]


def a_quote(**changes: object) -> RefundQuote:
    """A quote as ``quote`` makes it: 10.00 of 95.80 on a PAID order with no refund yet."""
    b = breakdown()
    fields: dict[str, object] = {
        "id": qid(),
        "order_id": ORDER,
        "actor_id": ACTOR,
        "amount": usd("10.00"),
        "reason": RefundReason.DUPLICATE,
        "notes": "dup",
        "order_status": OrderStatus.PAID,
        "refund_count": 0,
        "refundable_before": usd("95.80"),
        "refundable_after": usd("85.80"),
        "resulting_status": OrderStatus.PARTIALLY_REFUNDED,
        "breakdown": b,
        "notices": quote_notices(b, RefundReason.DUPLICATE),
    }
    fields.update(changes)
    return RefundQuote(**fields)  # type: ignore[arg-type]


def test_quote_id_is_a_pure_function_of_what_was_confirmed() -> None:
    """F2: confirming the same refund twice on the same figures gives the same quote id, so a
    double click makes one refund."""
    assert qid() == qid()
    assert qid().startswith("qt_")


@pytest.mark.parametrize(
    "change",
    [
        {"order_status": OrderStatus.PARTIALLY_REFUNDED},
        {"refundable": usd("95.79")},
        {"refund_count": 1},
        {"order_id": OrderId("order-2")},
        {"actor_id": ActorId("admin-1")},
        {"amount": usd("10.01")},
        {"amount": Money.parse("10.00", "EUR")},
        {"reason": None},
        {"reason": RefundReason.OTHER},
        {"notes": "dup!"},
    ],
    ids=str,
)
def test_quote_id_changes_with_anything_confirmed(change: dict[str, object]) -> None:
    """F1, F2: any change to what was confirmed (amount, reason, notes, and the status,
    refundable balance and number of refunds shown) gives another quote; a new refund request
    alone (``refund_count``) is enough, so a quote after a failed refund is a new quote."""
    assert qid(**change) != qid()


def test_refund_id_is_derived_from_the_quote() -> None:
    """F2, L1: one quote makes one refund: the refund id is derived from the quote id."""
    quote = a_quote()
    assert quote.refund_id == f"rf_{qid().removeprefix('qt_')}"
    assert quote.refund_id != quote.id


def test_net_of_fees_quote_warns_fees_are_not_refunded() -> None:
    """F1, B5: under NET_OF_FEES the quote says fees are not refunded to the seller."""
    notices = quote_notices(breakdown(FeePolicy.NET_OF_FEES), None)
    assert Notice.FEES_NOT_REFUNDED in notices
    assert Notice.FEES_ABSORBED not in notices


def test_gross_quote_warns_the_seller_absorbs_fees() -> None:
    """F1, B5: under GROSS the quote says refunding beyond the net comes out of the balance."""
    notices = quote_notices(breakdown(FeePolicy.GROSS), None)
    assert Notice.FEES_ABSORBED in notices
    assert Notice.FEES_NOT_REFUNDED not in notices


def test_cross_currency_quote_warns_about_exchange_rates() -> None:
    """F1, B3: a cross-currency payment adds the exchange-rate notice; a same-currency one not."""
    assert Notice.CROSS_CURRENCY in quote_notices(breakdown(cross=True), None)
    assert Notice.CROSS_CURRENCY not in quote_notices(breakdown(), None)


@pytest.mark.parametrize("reason", [None, *RefundReason])
def test_every_quote_says_access_is_kept_and_refunds_are_final(
    reason: RefundReason | None,
) -> None:
    """F1, F4, S4: every quote says buyer access is not revoked and, last, that a submitted
    refund cannot be reversed."""
    notices = quote_notices(breakdown(), reason)
    assert Notice.BUYER_ACCESS_KEPT in notices
    assert notices[-1] is Notice.IRREVERSIBLE
    assert "cannot be reversed" in Notice.IRREVERSIBLE.message
    assert len(set(notices)) == len(notices)


def test_notices_carry_stable_codes_and_messages() -> None:
    """F1: like errors, every notice has a stable snake_case code (its value, so it round-trips
    through ``Notice(code)``) and a sentence for people."""
    assert {n: n.code for n in Notice} == {
        Notice.FEES_NOT_REFUNDED: "fees_not_refunded",
        Notice.FEES_ABSORBED: "fees_absorbed",
        Notice.BUYER_ACCESS_KEPT: "buyer_access_kept",
        Notice.CROSS_CURRENCY: "cross_currency",
        Notice.FRAUDULENT_BLOCKLIST: "fraudulent_blocklist",
        Notice.IRREVERSIBLE: "irreversible",
    }
    assert all(Notice(n.code) is n for n in Notice)
    assert "not refunded" in Notice.FEES_NOT_REFUNDED.message
    assert "out of your balance" in Notice.FEES_ABSORBED.message
    assert "Revoke Buyer Access" in Notice.BUYER_ACCESS_KEPT.message
    assert "exchange rates" in Notice.CROSS_CURRENCY.message
    assert all(n.message.endswith(".") for n in Notice)


def test_an_intact_quote_passes() -> None:
    """F2: a quote exactly as it was made passes the integrity check."""
    require_intact(a_quote())


@pytest.mark.parametrize(
    "change",
    [
        {"amount": usd("90.00")},
        {"reason": None},
        {"notes": "dup, and more"},
        {"actor_id": ActorId("admin-1")},
        {"order_id": OrderId("order-2")},
        {"order_status": OrderStatus.PARTIALLY_REFUNDED},
        {"refund_count": 3},
        {"refundable_before": usd("99.00")},
        {"refundable_after": usd("95.80")},
        {"refundable_after": Money.parse("85.80", "EUR")},
    ],
    ids=str,
)
def test_a_quote_changed_after_confirmation_is_invalid(change: dict[str, object]) -> None:
    """F2: a quote whose amount, reason, notes, actor, order or shown figures were changed after
    "Confirm Refund" no longer matches its id (or its own arithmetic): ``invalid_quote``."""
    with pytest.raises(InvalidQuote) as info:
        require_intact(a_quote(**change))
    assert info.value.code == "invalid_quote"
