"""F1 "Confirm Refund": the quote, validated against live Stripe data (B4, B5, A3, A5, N4)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kanorio_refunds import (
    FULL,
    ActivityKind,
    Actor,
    EventEffect,
    FeePolicy,
    Money,
    Notice,
    Order,
    OrderStatus,
    RefundReason,
    RefundStatus,
)
from kanorio_refunds.domain import RefundOrigin
from kanorio_refunds.errors import AmountExceedsRefundable, CurrencyMismatch, NotesRequired
from tests.support.world import NET, ORDER_ID, TOTAL, World, cents, eur, usd


def test_partial_quote_shows_amount_reason_notes_balances_and_status(
    world: World, order: Order, owner: Actor
) -> None:
    """F1: a partial quote carries the amount, reason, notes, the refundable balance before and
    after and the resulting status PARTIALLY_REFUNDED, and the figures it is bound to: the
    order status and refund count shown."""
    quote = world.service.quote(ORDER_ID, owner, usd("30.00"), "customer_request", " Late box ")

    assert quote.order_id == ORDER_ID
    assert quote.actor_id == owner.id
    assert quote.amount == usd("30.00")
    assert quote.reason is RefundReason.CUSTOMER_REQUEST
    assert quote.notes == "Late box"  # N3: trimmed
    assert quote.refundable_before == NET
    assert quote.refundable_after == usd("65.80")
    assert quote.resulting_status is OrderStatus.PARTIALLY_REFUNDED
    assert quote.order_status is OrderStatus.PAID
    assert quote.refund_count == 0


def test_full_quote_is_exactly_the_refundable_balance_and_ends_refunded(
    world: World, order: Order, owner: Actor
) -> None:
    """F1, A5: "Refund Full Amount" is exactly the refundable balance (95.80 of 100.00, the
    fees are not refundable), leaving zero and the order REFUNDED."""
    quote = world.service.quote(ORDER_ID, owner, FULL)

    assert quote.amount == NET
    assert quote.amount != TOTAL
    assert quote.refundable_after == usd("0.00")
    assert quote.resulting_status is OrderStatus.REFUNDED


def test_quote_shows_the_fee_breakdown(world: World, order: Order, owner: Actor) -> None:
    """F1, B1: the quote's breakdown: captured 100.00 − Stripe fee 3.20 − platform fee 1.00 =
    net 95.80, nothing reserved yet."""
    breakdown = world.service.quote(ORDER_ID, owner, usd("10.00")).breakdown

    assert breakdown.policy is FeePolicy.NET_OF_FEES
    assert breakdown.captured == TOTAL
    assert breakdown.stripe_fee == usd("3.20")
    assert breakdown.platform_fee == usd("1.00")
    assert breakdown.net_received == NET
    assert breakdown.reserved == usd("0.00")
    assert breakdown.refundable == NET
    assert breakdown.cross_currency is False


def test_quote_notices_fees_not_refunded_and_buyer_access_kept(
    world: World, order: Order, owner: Actor
) -> None:
    """F1: every quote warns that fees are not refunded and that buyer access is kept; a
    same-currency refund without reason has no cross-currency or block-list notice."""
    notices = world.service.quote(ORDER_ID, owner, usd("10.00")).notices

    assert Notice.FEES_NOT_REFUNDED in notices
    assert Notice.BUYER_ACCESS_KEPT in notices
    assert Notice.CROSS_CURRENCY not in notices
    assert Notice.FRAUDULENT_BLOCKLIST not in notices


def test_fraudulent_reason_adds_the_block_list_notice(
    world: World, order: Order, owner: Actor
) -> None:
    """F1, N4: choosing FRAUDULENT warns that Stripe adds the card and email to its block lists."""
    quote = world.service.quote(ORDER_ID, owner, usd("10.00"), RefundReason.FRAUDULENT)

    assert quote.reason is RefundReason.FRAUDULENT
    assert Notice.FRAUDULENT_BLOCKLIST in quote.notices


def test_cross_currency_quote_converts_fees_and_warns(world: World, owner: Actor) -> None:
    """F1, B3: a USD payment settled in EUR at 0.92 has EUR fees (2.95 + 0.92) converted to USD
    rounding up (3.21 + 1.00), so 95.79 is refundable, and the quote adds the cross-currency
    notice."""
    world.add_order(stripe_fee=eur("2.95"), platform_fee=eur("0.92"), exchange_rate=Decimal("0.92"))

    quote = world.service.quote(ORDER_ID, owner, FULL)

    assert quote.breakdown.cross_currency is True
    assert quote.breakdown.settlement_currency.code == "EUR"
    assert quote.breakdown.stripe_fee == usd("3.21")
    assert quote.breakdown.platform_fee == usd("1.00")
    assert quote.amount == usd("95.79")
    assert Notice.CROSS_CURRENCY in quote.notices


def test_quote_is_bound_to_what_was_confirmed(world: World, order: Order, owner: Actor) -> None:
    """F1: confirming the same refund on the same order twice gives the same quote; after a
    refund the order shows another balance and one more refund, so a new quote of the same
    amount is a different quote with a different refund id."""
    first = world.service.quote(ORDER_ID, owner, usd("10.00"))
    assert world.service.quote(ORDER_ID, owner, usd("10.00")) == first  # nothing changed

    world.service.process(first, owner)
    second = world.service.quote(ORDER_ID, owner, usd("10.00"))

    assert (second.refundable_before, second.refund_count) == (usd("85.80"), 1)
    assert second.order_status is OrderStatus.PARTIALLY_REFUNDED
    assert second.id != first.id
    assert second.refund_id != first.refund_id


def test_a_webhook_echo_does_not_change_an_open_quote(
    world: World, order: Order, owner: Actor
) -> None:
    """F1: (regression) Stripe's echo of an earlier refund (its events change no money figure,
    though they bump the order's version) leaves a new quote of the same refund the same."""
    world.service.process(world.service.quote(ORDER_ID, owner, usd("10.00")), owner)
    before = world.service.quote(ORDER_ID, owner, usd("20.00"))
    version = world.order().version

    effects = {o.effect for o in world.deliver_new()}

    assert world.order().version > version
    assert effects <= {EventEffect.UNCHANGED}
    assert world.service.quote(ORDER_ID, owner, usd("20.00")) == before


def test_quote_imports_a_dashboard_refund_first(world: World, order: Order, owner: Actor) -> None:
    """F1, B4: a refund made in the Stripe dashboard is recorded on the order (origin EXTERNAL)
    before quoting, so the refundable balance already excludes it."""
    made_at_stripe = world.dashboard_refund(cents(2_000))

    quote = world.service.quote(ORDER_ID, owner, FULL)

    assert quote.refundable_before == usd("75.80")
    assert quote.amount == usd("75.80")
    stored = world.order()
    assert len(stored.refunds) == 1
    imported = stored.refunds[0]
    assert imported.origin is RefundOrigin.EXTERNAL
    assert imported.gateway_refund_id == made_at_stripe["id"]
    assert imported.amount == usd("20.00")
    assert imported.status is RefundStatus.SUCCEEDED
    assert stored.status is OrderStatus.PARTIALLY_REFUNDED
    assert ActivityKind.EXTERNAL_REFUND_IMPORTED in [a.kind for a in stored.activity]
    assert quote.refund_count == 1
    assert quote.order_status is OrderStatus.PARTIALLY_REFUNDED


def test_quote_above_the_live_balance_is_refused_with_the_balance(
    world: World, order: Order, owner: Actor
) -> None:
    """F1, A3, B4: after a dashboard refund of 20.00 the live balance is 75.80, so 80.00 is
    refused, and the error carries the balance."""
    world.dashboard_refund(cents(2_000))

    with pytest.raises(AmountExceedsRefundable) as info:
        world.service.quote(ORDER_ID, owner, usd("80.00"))

    assert info.value.code == "amount_exceeds_refundable"
    assert info.value.refundable == usd("75.80")


def test_quote_refuses_another_currency(world: World, order: Order, owner: Actor) -> None:
    """F1, A2: an amount in another currency than the order's is refused."""
    with pytest.raises(CurrencyMismatch):
        world.service.quote(ORDER_ID, owner, Money.parse("10.00", "EUR"))


def test_quote_with_other_needs_notes(world: World, order: Order, owner: Actor) -> None:
    """F1, N2: reason OTHER without notes is refused; with notes it is quoted."""
    with pytest.raises(NotesRequired):
        world.service.quote(ORDER_ID, owner, usd("10.00"), RefundReason.OTHER, "   ")

    quote = world.service.quote(ORDER_ID, owner, usd("10.00"), RefundReason.OTHER, "Goodwill")
    assert quote.notes == "Goodwill"


def test_quote_changes_nothing_at_stripe(world: World, order: Order, owner: Actor) -> None:
    """F1: confirming is not processing: no refund is created at Stripe and none is recorded."""
    world.service.quote(ORDER_ID, owner, FULL)

    assert world.create_requests() == []
    assert world.order().refunds == ()
    assert world.order().status is OrderStatus.PAID


def test_gross_policy_quotes_up_to_the_captured_amount(world: World, owner: Actor) -> None:
    """F1, B5: under GROSS (Stripe's own cap) the full amount is the whole captured 100.00, the
    breakdown still shows the fees and the notice says the seller absorbs them."""
    world.add_order()
    gross = world.another_service(fee_policy=FeePolicy.GROSS)

    quote = gross.quote(ORDER_ID, owner, FULL)

    assert quote.amount == TOTAL
    assert quote.breakdown.policy is FeePolicy.GROSS
    assert quote.breakdown.stripe_fee == usd("3.20")
    assert quote.breakdown.platform_fee == usd("1.00")
    assert Notice.FEES_ABSORBED in quote.notices
    assert Notice.FEES_NOT_REFUNDED not in quote.notices
    with pytest.raises(AmountExceedsRefundable):
        gross.quote(ORDER_ID, owner, usd("100.01"))


def test_gross_policy_refund_of_the_whole_capture_succeeds(world: World, owner: Actor) -> None:
    """F1, F2, B5: under GROSS a 100.00 refund (above the 95.80 net) goes through at Stripe."""
    world.add_order()
    gross = world.another_service(fee_policy=FeePolicy.GROSS)

    refund = gross.process(gross.quote(ORDER_ID, owner, FULL), owner)

    assert refund.status is RefundStatus.SUCCEEDED
    assert world.stripe_refunded_minor() == 10_000
    assert world.order().status is OrderStatus.REFUNDED


def test_cross_currency_full_refund_goes_through(world: World, owner: Actor) -> None:
    """F1, F2, B3: the cross-currency full amount (95.79, rounded so it is never overstated) is
    accepted by Stripe and leaves the order REFUNDED with nothing refundable."""
    world.add_order(stripe_fee=eur("2.95"), platform_fee=eur("0.92"), exchange_rate=Decimal("0.92"))

    refund = world.service.process(world.service.quote(ORDER_ID, owner, FULL), owner)

    assert refund.amount == usd("95.79")
    assert world.stripe_refunded_minor() == 9_579
    assert world.order().status is OrderStatus.REFUNDED
    assert world.service.eligibility(ORDER_ID, owner).codes == (
        "status_not_refundable",
        "no_refundable_balance",
    )
