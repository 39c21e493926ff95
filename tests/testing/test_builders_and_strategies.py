"""kanorio_refunds.testing: the strategies generate valid objects, the builders build what they
say, and none of it leaks into ``import kanorio_refunds``."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanorio_refunds.domain._actor import Actor, Role
from kanorio_refunds.domain._balance import FeePolicy, refundable_balance
from kanorio_refunds.domain._eligibility import NOT_OWNER_OR_ADMIN, check_eligibility
from kanorio_refunds.domain._ids import SiteId
from kanorio_refunds.domain._money import ISO_EXPONENTS, Currency, Money, to_stripe_amount
from kanorio_refunds.domain._notes import normalize_notes, validate_reason_and_notes
from kanorio_refunds.domain._order import Order, OrderStatus
from kanorio_refunds.domain._payment import METADATA_REFUND_ID, PaymentRecord
from kanorio_refunds.domain._refund import RefundOrigin, RefundReason, RefundStatus
from kanorio_refunds.errors import CurrencyMismatch, InvalidAmount
from kanorio_refunds.testing import (
    T0,
    admin,
    admin_of_other_site,
    anonymous,
    as_money,
    buyer,
    evolve_payment,
    gateway_refund,
    owner,
    paid_order,
    payment_record,
    refund,
    staff,
    with_refunds,
)
from kanorio_refunds.testing import strategies as kst


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


# -- builders -----------------------------------------------------------------------------------


def test_paid_order_defaults() -> None:
    """paid_order() is a USD 100.00 order of shop-1, PAID, version 0, with fees 3.20 + 1.00."""
    order = paid_order()
    assert order.status is OrderStatus.PAID
    assert order.version == 0
    assert order.site_id == "shop-1"
    assert order.id == "order-1"
    assert order.total == usd("100.00")
    assert order.refunds == ()
    assert order.activity == ()
    assert order.buyer_access is True
    p = order.payment
    assert p is not None
    assert p.payment_intent_id == "pi_test_1"
    assert p.charge_id == "ch_test_1"
    assert p.captured == usd("100.00")
    assert p.stripe_fee == usd("3.20")
    assert p.platform_fee == usd("1.00")
    assert p.settlement_currency == Currency.of("USD")
    assert p.amount_refunded == usd("0")
    assert p.exchange_rate is None
    assert p.disputed is False
    assert check_eligibility(order, owner()).refundable == usd("95.80")


def test_paid_order_options() -> None:
    """paid_order's arguments end up where they say."""
    order = paid_order(
        "10000",
        "JPY",
        stripe_fee="360",
        platform_fee="100",
        site="shop-9",
        order_id="o-9",
        payment_intent_id=None,
        charge_id="ch_9",
        amount_refunded="500",
        disputed=True,
        buyer_access=False,
        status=OrderStatus.PARTIALLY_REFUNDED,
        version=4,
    )
    assert (order.id, order.site_id, order.version) == ("o-9", "shop-9", 4)
    assert order.status is OrderStatus.PARTIALLY_REFUNDED
    assert order.total == Money.parse("10000", "JPY")
    assert order.buyer_access is False
    p = order.payment
    assert p is not None
    assert (p.payment_intent_id, p.charge_id) == (None, "ch_9")
    assert p.stripe_fee == Money.parse("360", "JPY")
    assert p.amount_refunded == Money.parse("500", "JPY")
    assert p.disputed


def test_cross_currency_paid_order() -> None:
    """paid_order with a settlement currency puts the fees in it, with the exchange rate."""
    order = paid_order(settlement_currency="EUR", exchange_rate="0.9")
    p = order.payment
    assert p is not None
    assert p.settlement_currency == Currency.of("EUR")
    assert p.stripe_fee == Money.parse("3.20", "EUR")
    assert p.exchange_rate == Decimal("0.9")
    assert check_eligibility(order, owner()).allowed


def test_builders_refuse_what_would_be_wrong() -> None:
    """Builders refuse floats, Money of the wrong currency and a rate without a settlement."""
    with pytest.raises(InvalidAmount):
        paid_order(12.5)  # type: ignore[arg-type]
    with pytest.raises(CurrencyMismatch):
        paid_order(Money.parse("1.00", "EUR"))
    with pytest.raises(InvalidAmount, match="exchange rate"):
        paid_order(settlement_currency="EUR", exchange_rate=0.9)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="settlement currency differs"):
        paid_order(exchange_rate="0.9")
    assert as_money(Decimal("1.5"), "USD") == usd("1.50")


@pytest.mark.parametrize(
    ("build", "role", "site"),
    [
        (owner, Role.OWNER, "shop-1"),
        (admin, Role.ADMINISTRATOR, "shop-1"),
        (staff, Role.STAFF, "shop-1"),
        (buyer, Role.BUYER, "shop-1"),
        (admin_of_other_site, Role.ADMINISTRATOR, "shop-1-other"),
    ],
)
def test_actor_builders(build: object, role: Role, site: str) -> None:
    """owner/admin/staff/buyer(site) hold that role on that site only."""
    assert callable(build)
    who = build()
    assert isinstance(who, Actor)
    assert who.role_on(SiteId(site)) is role
    assert len(who.roles) == 1
    other = build("shop-2")
    assert other.role_on(SiteId("shop-1")) is None
    assert anonymous().roles == frozenset()


def test_refund_and_with_refunds() -> None:
    """refund() builds a refund of the order; with_refunds records it and derives the status."""
    order = paid_order()
    r = refund(
        order, "10.00", RefundStatus.PENDING, reason=RefundReason.DUPLICATE, requested_by=owner()
    )
    assert r.order_id == order.id
    assert r.amount == usd("10.00")
    assert r.status is RefundStatus.PENDING
    assert r.id == "rf_order-1_1"
    assert r.gateway_refund_id == "re_rf_order-1_1"
    assert r.requested_by == owner().id
    assert r.created_at == T0
    assert refund(order, "1.00", RefundStatus.SUBMITTING).gateway_refund_id is None
    after = with_refunds(order, [r])
    assert after.refunds == (r,)
    assert after.status is OrderStatus.PARTIALLY_REFUNDED
    assert after.version == order.version


def test_gateway_refund_builder() -> None:
    """gateway_refund() is Stripe's copy of a local refund (with our metadata) or an outside one."""
    order = paid_order()
    local = refund(order, "10.00", RefundStatus.SUBMITTING, refund_id="rf_1")
    echo = gateway_refund(order, "10.00", RefundStatus.SUCCEEDED, local=local)
    assert echo.metadata_value(METADATA_REFUND_ID) == "rf_1"
    assert echo.local_refund_id == "rf_1"
    assert echo.local_order_id == order.id
    assert echo.payment_intent_id == "pi_test_1"
    assert echo.id == "re_rf_1"  # unique per local refund while it has no Stripe id
    sent = refund(order, "10.00", RefundStatus.PENDING, gateway_refund_id="re_9")
    assert gateway_refund(order, local=sent).id == "re_9"
    assert gateway_refund(order, local=sent, gateway_id="re_x").id == "re_x"
    outside = gateway_refund(order, "5.00", gateway_id="re_dash")
    assert outside.metadata == ()
    assert outside.local_refund_id is None
    assert outside.id == "re_dash"


def test_evolve_payment_and_payment_record() -> None:
    """evolve_payment changes the payment record only; payment_record builds one alone."""
    order = evolve_payment(paid_order(), disputed=True)
    assert order.payment is not None
    assert order.payment.disputed
    assert payment_record("5.00").captured == usd("5.00")


# -- strategies ---------------------------------------------------------------------------------


@given(kst.paid_orders())
def test_every_generated_paid_order_is_eligible_for_its_owner(order: Order) -> None:
    """Every generated paid order is PAID, version 0, and eligible for its site's owner and
    admins, with a positive balance that Stripe accepts."""
    assert order.status is OrderStatus.PAID
    assert order.version == 0
    assert order.refunds == ()
    e = check_eligibility(order, owner(order.site_id))
    assert e.allowed, e.codes
    assert check_eligibility(order, admin(order.site_id)).allowed
    assert e.refundable.is_positive()
    assert to_stripe_amount(e.refundable) > 0


@given(kst.payment_records(cross_currency=True))
def test_cross_currency_records_have_a_rate_and_settlement_fees(payment: PaymentRecord) -> None:
    """payment_records(cross_currency=True) makes records with a Decimal rate and fees in the
    settlement currency."""
    assert payment.settlement_currency != payment.captured.currency
    assert isinstance(payment.exchange_rate, Decimal)
    assert payment.exchange_rate > 0
    assert payment.stripe_fee.currency == payment.settlement_currency
    assert payment.platform_fee.currency == payment.settlement_currency
    assert refundable_balance(payment, ()).refundable.is_positive()
    assert payment.payment_intent_id or payment.charge_id


@given(kst.payment_records(cross_currency=False, currency="JPY"))
def test_same_currency_records(payment: PaymentRecord) -> None:
    """payment_records(cross_currency=False, currency=…) keeps everything in that currency."""
    assert payment.captured.currency == Currency.of("JPY")
    assert payment.settlement_currency == Currency.of("JPY")
    assert payment.exchange_rate is None
    assert payment.stripe_fee.currency == Currency.of("JPY")


@given(kst.actors(site="shop-3"))
def test_generated_actors_may_refund_only_as_owner_or_admin(who: Actor) -> None:
    """actors(site) mixes the six kinds; only owners and admins of that site may refund."""
    e = check_eligibility(paid_order(site="shop-3"), who)
    may = who.role_on(SiteId("shop-3")) in (Role.OWNER, Role.ADMINISTRATOR)
    assert e.allowed is may
    assert (NOT_OWNER_OR_ADMIN in e.codes) is not may


@given(kst.refunding_actors(), kst.non_refunding_actors())
def test_refunding_and_non_refunding_actors(yes: Actor, no: Actor) -> None:
    """refunding_actors() may refund shop-1's orders; non_refunding_actors() may not."""
    assert yes.may_refund(SiteId("shop-1"))
    assert not no.may_refund(SiteId("shop-1"))


def test_actors_refuses_unknown_kinds() -> None:
    """actors() names the kinds it knows when given another."""
    with pytest.raises(ValueError, match="owner, admin"):
        kst.actors(kinds=["king"])


@given(kst.money(), kst.money("KWD", min_minor=5, max_minor=7))
def test_money_strategy(m: Money, kwd: Money) -> None:
    """money() generates Money in ISO currencies within its bounds."""
    assert m.currency.code in ISO_EXPONENTS
    assert 0 <= m.minor <= 10**12
    assert kwd.currency == Currency.of("KWD")
    assert 5 <= kwd.minor <= 7


@given(kst.sendable_money())
def test_sendable_money_is_accepted_by_stripe(m: Money) -> None:
    """sendable_money() only makes positive amounts Stripe accepts (M3)."""
    assert to_stripe_amount(m) > 0


@given(kst.currencies(["usd", "JPY"]))
def test_currencies_strategy(c: Currency) -> None:
    """currencies(codes) draws from exactly those codes."""
    assert c.code in {"USD", "JPY"}


@given(kst.refund_reasons(), kst.refund_reasons(include_none=False))
def test_refund_reasons_strategy(maybe: RefundReason | None, reason: RefundReason | None) -> None:
    """refund_reasons() draws reasons and None; include_none=False never None."""
    assert maybe is None or isinstance(maybe, RefundReason)
    assert isinstance(reason, RefundReason)


@given(kst.valid_notes(), kst.valid_notes(non_blank=True))
def test_valid_notes_pass_n3(notes: str, non_blank: str) -> None:
    """valid_notes() always passes N3; non_blank=True also passes N2 with OTHER."""
    assert len(unicodedata.normalize("NFC", normalize_notes(notes))) <= 500
    assert validate_reason_and_notes(RefundReason.OTHER, non_blank)


@given(st.data())
def test_exchange_rates_strategy(data: st.DataObject) -> None:
    """exchange_rates() draws positive Decimals with at most six decimals within the bounds."""
    rate = data.draw(kst.exchange_rates(Decimal("0.5"), Decimal("2")))
    assert Decimal("0.5") <= rate <= Decimal("2")
    exponent = rate.as_tuple().exponent
    assert isinstance(exponent, int)
    assert exponent >= -6


def test_with_refunds_under_gross_policy() -> None:
    """with_refunds derives the status under the policy given (GROSS: 100.00 is the balance)."""
    order = paid_order()
    r = refund(order, "95.80")
    assert with_refunds(order, [r]).status is OrderStatus.REFUNDED
    assert with_refunds(order, [r], policy=FeePolicy.GROSS).status is (
        OrderStatus.PARTIALLY_REFUNDED
    )
    assert r.origin is RefundOrigin.LOCAL


def test_importing_the_package_does_not_import_hypothesis_or_stripe() -> None:
    """``import kanorio_refunds`` and the plain builders never import Hypothesis or stripe."""
    code = (
        "import sys, kanorio_refunds, kanorio_refunds.testing.builders;"
        "bad = [m for m in ('hypothesis', 'stripe') if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""
