"""What a refusal says to people (rules E1–E5, S3, F2, F3, M3, M4, M5, N1) and small lookups.

Codes are the API; the sentences are what a support person reads to explain a refusal, so the
ones a UI shows as they are (eligibility reasons, transitions, tampered quotes) are pinned here
word for word.
"""

from __future__ import annotations

import hashlib

import attrs
import pytest

from kanorio_refunds.domain._actor import Actor
from kanorio_refunds.domain._balance import FeePolicy
from kanorio_refunds.domain._eligibility import check_eligibility, require_refund_role
from kanorio_refunds.domain._ids import ActorId, GatewayRefundId, OrderId, QuoteId, RefundId
from kanorio_refunds.domain._money import Money, from_stripe_amount
from kanorio_refunds.domain._order import Order, OrderStatus
from kanorio_refunds.domain._quote import quote_id_for, require_intact
from kanorio_refunds.domain._refund import RefundReason, RefundStatus, check_refund_transition
from kanorio_refunds.domain._refunding import quote_refund
from kanorio_refunds.errors import (
    CurrencyMismatch,
    IllegalTransition,
    InvalidAmount,
    InvalidQuote,
    NotEligible,
    PermissionDenied,
    RefundNotFound,
)
from kanorio_refunds.testing import (
    T0,
    evolve_payment,
    owner,
    paid_order,
    refund,
    staff,
    with_refunds,
)

R = RefundStatus


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


def _reason_message(order: Order, rule: str) -> str:
    (found,) = [r.message for r in check_eligibility(order, owner()).reasons if r.rule == rule]
    return found


def _no_payment() -> Order:
    order = paid_order()
    return Order(id=order.id, site_id=order.site_id, total=order.total, status=order.status)


@pytest.mark.parametrize(
    ("order", "problem"),
    [
        (_no_payment(), "the order has no payment record"),
        (
            paid_order(payment_intent_id=None, charge_id=None),
            "the payment record names no Stripe payment",
        ),
        (evolve_payment(paid_order(), captured=usd("0")), "the payment captured nothing"),
        (
            paid_order(settlement_currency="EUR"),
            "the payment settled in another currency and its exchange rate is unknown",
        ),
        (
            evolve_payment(paid_order(), stripe_fee=Money.parse("1.00", "GBP")),
            "a fee is in neither the order currency nor the settlement currency",
        ),
    ],
    ids=["no-record", "no-ids", "nothing-captured", "no-rate", "fee-currency"],
)
def test_an_invalid_payment_record_is_explained(order: Order, problem: str) -> None:
    """E4: the reason says what is wrong with the payment record, and what is needed."""
    assert _reason_message(order, "E4") == f"{problem}; a valid Stripe payment is needed"


def test_a_dispute_and_an_empty_balance_are_explained() -> None:
    """E3, E5: the reasons for a disputed order and one with nothing left, word for word."""
    assert _reason_message(paid_order(disputed=True), "E5") == (
        "the payment is disputed; Stripe does not allow refunds while a dispute is open"
    )
    full = paid_order()
    full = with_refunds(full, [refund(full, "95.80", R.SUCCEEDED)])
    assert _reason_message(full, "E3") == "the order has no refundable balance left"


def test_not_eligible_joins_every_reason() -> None:
    """E1–E5: NotEligible's message lists every failing rule's sentence, separated by '; '."""
    order = paid_order(status=OrderStatus.EXPIRED, disputed=True)
    with pytest.raises(NotEligible) as info:
        check_eligibility(order, owner()).require()
    assert info.value.message == (
        "this order cannot be refunded now: the order is Expired; only Paid or Partially "
        "Refunded orders can be refunded; the payment is disputed; Stripe does not allow "
        "refunds while a dispute is open"
    )


def test_a_permission_refusal_names_the_actor_and_the_site() -> None:
    """E2, P2: PermissionDenied says who was refused on which site."""
    with pytest.raises(PermissionDenied) as info:
        require_refund_role(paid_order(site="shop-1"), staff(actor_id="u7"))
    assert info.value.message == (
        "u7 is not the owner or an administrator of site shop-1; only they can refund its "
        "orders or change buyer access"
    )


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        (R.FAILED, R.PENDING, "nothing"),
        (R.CANCELED, R.SUCCEEDED, "nothing"),
        (R.SUCCEEDED, R.PENDING, "FAILED, REQUIRES_ACTION"),
    ],
)
def test_an_illegal_refund_move_names_what_is_allowed(
    current: RefundStatus, new: RefundStatus, allowed: str
) -> None:
    """S3: an illegal refund move says where the refund may go instead ("nothing" when final)."""
    with pytest.raises(IllegalTransition) as info:
        check_refund_transition(current, new)
    assert info.value.message == (
        f"a refund cannot go from {current.name} to {new.name}; from {current.name} it may "
        f"go to: {allowed}"
    )


def test_a_tampered_quote_is_explained() -> None:
    """F2: a quote changed after "Confirm Refund" is refused, saying to confirm again."""
    quote = quote_refund(
        paid_order(), owner(), usd("10.00"), None, "", FeePolicy.NET_OF_FEES, at=T0
    )
    tampered = attrs.evolve(quote, amount=usd("11.00"), refundable_after=usd("84.80"))
    with pytest.raises(InvalidQuote) as info:
        require_intact(tampered)
    assert info.value.message == (
        f"quote {quote.id} does not match its contents: it was changed after the refund was "
        f"confirmed; confirm the refund again"
    )


def test_quote_ids_are_a_digest_of_what_was_confirmed() -> None:
    """F1, F2: a quote id is the first 24 hex digits of the SHA-256 of the confirmed fields
    joined by U+001F, no reason written as an empty field: stable across releases, so a quote
    confirmed before an upgrade still makes the same refund after it."""
    fields = ["order-1", "owner-1", "USD", "1000", "", "", "paid", "USD", "9580", "0"]
    expected = hashlib.sha256("\x1f".join(fields).encode()).hexdigest()[:24]
    got = quote_id_for(
        OrderId("order-1"),
        ActorId("owner-1"),
        usd("10.00"),
        None,
        "",
        order_status=OrderStatus.PAID,
        refundable=usd("95.80"),
        refund_count=0,
    )
    assert got == f"qt_{expected}"
    assert len(got) == len("qt_") + 24
    with_reason = quote_id_for(
        OrderId("order-1"),
        ActorId("owner-1"),
        usd("10.00"),
        RefundReason.OTHER,
        "é",
        order_status=OrderStatus.PAID,
        refundable=usd("95.80"),
        refund_count=0,
    )
    fields[4:6] = ["other", "é"]
    assert with_reason == "qt_" + hashlib.sha256("\x1f".join(fields).encode()).hexdigest()[:24]


def test_a_missing_refund_is_named() -> None:
    """F3: asking an order for a refund it lacks raises RefundNotFound naming both."""
    with pytest.raises(RefundNotFound) as info:
        paid_order(order_id="order-9").refund(RefundId("rf_nope"))
    assert info.value.message == "order order-9 has no refund rf_nope"


def test_a_quotes_refund_is_the_one_the_gateway_holds() -> None:
    """F2, L2: when a refused attempt and the refund Stripe made after all share a quote, the
    quote's refund is the one with a Stripe id, wherever it stands."""
    order = paid_order()
    refused = attrs.evolve(
        refund(order, "10.00", R.FAILED, refund_id="rf_a"),
        gateway_refund_id=None,
        quote_id=QuoteId("qt_1"),
    )
    made = attrs.evolve(
        refund(order, "10.00", R.SUCCEEDED, refund_id="rf_b"),
        gateway_refund_id=GatewayRefundId("re_b"),
        quote_id=QuoteId("qt_1"),
    )
    order = with_refunds(order, [refused, made])
    assert order.refund_for_quote(QuoteId("qt_1")) == made
    only_refused = with_refunds(paid_order(), [refused])
    assert only_refused.refund_for_quote(QuoteId("qt_1")) == refused
    assert only_refused.refund_for_quote(QuoteId("qt_other")) is None


def test_the_anonymous_actor_is_called_anonymous() -> None:
    """E2: the anonymous actor has the id "anonymous" and no role anywhere."""
    nobody = Actor.anonymous()
    assert nobody.id == "anonymous"
    assert nobody.roles == frozenset()


def test_comparing_currencies_says_so() -> None:
    """M4: ordering amounts of two currencies raises currency_mismatch naming the operation."""
    eur = Money.parse("1.00", "EUR")
    for compare in (lambda: usd("1.00") < eur, lambda: usd("1.00") > eur):
        with pytest.raises(CurrencyMismatch) as info:
            compare()
        assert info.value.message == (
            "cannot compare USD and EUR; amounts must be in the same currency"
        )


def test_half_even_rounding_of_stripe_amounts() -> None:
    """M5: "half_even" is a named rounding too: ISK 5.50 → 6, ISK 6.50 → 6; an unknown one is
    refused listing every name."""
    assert from_stripe_amount(550, "ISK", rounding="half_even") == Money.from_minor(6, "ISK")
    assert from_stripe_amount(650, "ISK", rounding="half_even") == Money.from_minor(6, "ISK")
    with pytest.raises(ValueError, match="rounding must be one of 'exact', up, down, half_even;"):
        from_stripe_amount(550, "ISK", rounding="nearest")


def test_a_stripe_amount_of_another_type_is_named() -> None:
    """M1, M3: a Stripe amount that is not an integer is refused naming its type."""
    with pytest.raises(InvalidAmount, match=r"Stripe amounts are integers, got str$"):
        from_stripe_amount("5", "USD")  # type: ignore[arg-type]
