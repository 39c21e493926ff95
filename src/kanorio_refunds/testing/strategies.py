"""Hypothesis strategies for the domain, for property tests of your own code.

Every strategy generates *valid* objects: amounts Stripe accepts, payment records the domain
considers valid (E4), paid orders an owner of their site may refund, notes that pass N3.
Arguments narrow what is generated::

    from hypothesis import given
    from kanorio_refunds.testing import strategies as kst

    @given(kst.paid_orders(currency="EUR", cross_currency=True), kst.actors())
    def test_my_handler(order, actor): ...

This module imports Hypothesis (a test-time dependency); ``import kanorio_refunds`` never does.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from typing import Final

from hypothesis import strategies as st

from kanorio_refunds.domain._actor import Actor, Role
from kanorio_refunds.domain._ids import ActorId, ChargeId, OrderId, PaymentIntentId, SiteId
from kanorio_refunds.domain._money import (
    ISO_EXPONENTS,
    STRIPE_MAX_DIGITS,
    STRIPE_MAX_DIGITS_BY_CURRENCY,
    Currency,
    Money,
    stripe_decimals,
    stripe_step,
)
from kanorio_refunds.domain._notes import MAX_NOTES_LENGTH
from kanorio_refunds.domain._order import Order, OrderStatus
from kanorio_refunds.domain._payment import PaymentRecord
from kanorio_refunds.domain._refund import RefundReason

__all__ = [
    "ACTOR_KINDS",
    "actors",
    "currencies",
    "exchange_rates",
    "max_sendable_minor",
    "money",
    "non_refunding_actors",
    "paid_orders",
    "payment_records",
    "refund_reasons",
    "refunding_actors",
    "sendable_money",
    "valid_notes",
]

#: The kinds of actor ``actors`` generates. The first two may refund (E2).
ACTOR_KINDS: Final = (
    "owner",
    "admin",
    "staff",
    "buyer",
    "anonymous",
    "admin_of_other_site",
)

_DEFAULT_MAX_MINOR: Final = 10**12


def _currency(value: str | Currency) -> Currency:
    return Currency.of(value)


def currencies(codes: Iterable[str] | None = None) -> st.SearchStrategy[Currency]:
    """ISO 4217 currencies: every one the library knows (``ISO_EXPONENTS``), or ``codes``."""
    chosen = sorted(ISO_EXPONENTS) if codes is None else sorted({c.upper() for c in codes})
    if not chosen:
        raise ValueError("currencies() needs at least one code")
    return st.sampled_from(chosen).map(Currency.of)


def money(
    currency: str | Currency | None = None,
    min_minor: int = 0,
    max_minor: int = _DEFAULT_MAX_MINOR,
) -> st.SearchStrategy[Money]:
    """Money with ``min_minor`` ≤ minor units ≤ ``max_minor``, in ``currency`` or any currency.

    Not every generated amount is acceptable to Stripe (see ``sendable_money``).
    """
    if min_minor > max_minor:
        raise ValueError(f"min_minor {min_minor} is above max_minor {max_minor}")
    currency_strategy = currencies() if currency is None else st.just(_currency(currency))
    return st.builds(
        Money,
        st.integers(min_value=min_minor, max_value=max_minor),
        currency_strategy,
    )


def max_sendable_minor(currency: str | Currency) -> int:
    """The largest amount of ``currency``, in minor units, that Stripe accepts (M3)."""
    cur = _currency(currency)
    digits = STRIPE_MAX_DIGITS_BY_CURRENCY.get(cur.code, STRIPE_MAX_DIGITS)
    max_units = 10**digits - 1
    shift = stripe_decimals(cur.code) - cur.exponent
    largest: int = max_units // 10**shift if shift >= 0 else max_units * 10**-shift
    return largest - largest % stripe_step(cur)


@st.composite
def _sendable_money(
    draw: st.DrawFn, currency: str | Currency | None, min_steps: int, max_minor: int | None
) -> Money:
    cur = draw(currencies()) if currency is None else _currency(currency)
    step = stripe_step(cur)
    top = max_sendable_minor(cur) if max_minor is None else min(max_minor, max_sendable_minor(cur))
    steps = draw(st.integers(min_value=min_steps, max_value=max(min_steps, top // step)))
    return Money(steps * step, cur)


def sendable_money(
    currency: str | Currency | None = None, *, min_steps: int = 1, max_minor: int | None = None
) -> st.SearchStrategy[Money]:
    """Positive Money that Stripe accepts as a refund amount (M3, A4): a multiple of Stripe's
    step for the currency, at least ``min_steps`` steps and within Stripe's digit limit."""
    if min_steps < 1:
        raise ValueError("min_steps must be at least 1")
    return _sendable_money(currency, min_steps, max_minor)


def _actor(kind: str, site: str, number: int) -> Actor:
    here = SiteId(site)
    elsewhere = SiteId(f"{site}-other")
    actor_id = ActorId(f"{kind}-{number}")
    if kind == "owner":
        return Actor(actor_id, {here: Role.OWNER})
    if kind == "admin":
        return Actor(actor_id, {here: Role.ADMINISTRATOR, elsewhere: Role.BUYER})
    if kind == "staff":
        return Actor(actor_id, {here: Role.STAFF})
    if kind == "buyer":
        return Actor(actor_id, {here: Role.BUYER})
    if kind == "anonymous":
        return Actor.anonymous()
    if kind == "admin_of_other_site":
        return Actor(actor_id, {elsewhere: Role.ADMINISTRATOR})
    raise ValueError(f"unknown actor kind {kind!r}; choose from {', '.join(ACTOR_KINDS)}")


def actors(site: str = "shop-1", kinds: Iterable[str] = ACTOR_KINDS) -> st.SearchStrategy[Actor]:
    """Actors of the given ``kinds`` (default: all of ``ACTOR_KINDS``) relative to ``site``.

    ``owner`` and ``admin`` may refund ``site``'s orders; ``staff``, ``buyer``, ``anonymous``
    and ``admin_of_other_site`` (an administrator of another site) may not (E2).
    """
    chosen = tuple(kinds)
    for kind in chosen:
        if kind not in ACTOR_KINDS:
            raise ValueError(f"unknown actor kind {kind!r}; choose from {', '.join(ACTOR_KINDS)}")
    return st.builds(
        _actor, st.sampled_from(chosen), st.just(site), st.integers(min_value=1, max_value=999)
    )


def refunding_actors(site: str = "shop-1") -> st.SearchStrategy[Actor]:
    """Actors who may refund ``site``'s orders: its owner and administrators (E2)."""
    return actors(site, ("owner", "admin"))


def non_refunding_actors(site: str = "shop-1") -> st.SearchStrategy[Actor]:
    """Actors who may not refund ``site``'s orders (E2)."""
    return actors(site, ("staff", "buyer", "anonymous", "admin_of_other_site"))


def exchange_rates(
    min_value: Decimal = Decimal("0.000001"), max_value: Decimal = Decimal("1000")
) -> st.SearchStrategy[Decimal]:
    """Positive exchange rates as Decimals with at most six decimals, like Stripe's."""
    low = int(min_value.scaleb(6).to_integral_value())
    high = int(max_value.scaleb(6).to_integral_value())
    if low < 1 or low > high:
        raise ValueError("exchange rates must be positive and min_value ≤ max_value")
    return st.integers(min_value=low, max_value=high).map(lambda n: Decimal(n).scaleb(-6))


def _floor_convert(fee: Money, rate: Decimal, target: Currency) -> Money:
    """``fee`` × ``rate`` in ``target``, rounded down: a settlement fee for a presentment fee."""
    exact = Fraction(fee.minor, 10**fee.currency.exponent) * Fraction(rate)
    return Money(int(exact * 10**target.exponent), target)  # int() floors a positive Fraction


@st.composite
def _payment_records(
    draw: st.DrawFn,
    currency: str | Currency | None,
    settlement_currency: str | Currency | None,
    cross_currency: bool | None,
    disputed: bool,
    max_captured_minor: int | None,
) -> PaymentRecord:
    presentment = draw(currencies()) if currency is None else _currency(currency)
    if settlement_currency is not None:
        settlement = _currency(settlement_currency)
    else:
        cross = draw(st.booleans()) if cross_currency is None else cross_currency
        others = currencies().filter(lambda c: c != presentment)
        settlement = draw(others) if cross else presentment
    # At least 100 Stripe steps, so the net of fees (each at most a fifth) stays positive.
    captured = draw(sendable_money(presentment, min_steps=100, max_minor=max_captured_minor))
    fee_cap = captured.minor // 5
    stripe_fee = Money(draw(st.integers(min_value=0, max_value=fee_cap)), presentment)
    platform_fee = Money(draw(st.integers(min_value=0, max_value=fee_cap)), presentment)
    rate: Decimal | None = None
    if settlement != presentment:
        rate = draw(exchange_rates())
        stripe_fee = _floor_convert(stripe_fee, rate, settlement)
        platform_fee = _floor_convert(platform_fee, rate, settlement)
    ids = draw(st.sampled_from(("both", "payment_intent", "charge")))
    number = draw(st.integers(min_value=1, max_value=10**9))
    return PaymentRecord(
        payment_intent_id=PaymentIntentId(f"pi_{number}") if ids != "charge" else None,
        charge_id=ChargeId(f"ch_{number}") if ids != "payment_intent" else None,
        captured=captured,
        stripe_fee=stripe_fee,
        platform_fee=platform_fee,
        settlement_currency=settlement,
        amount_refunded=Money.zero(presentment),
        exchange_rate=rate,
        disputed=disputed,
    )


def payment_records(
    currency: str | Currency | None = None,
    *,
    settlement_currency: str | Currency | None = None,
    cross_currency: bool | None = None,
    disputed: bool = False,
    max_captured_minor: int | None = None,
) -> st.SearchStrategy[PaymentRecord]:
    """Valid Stripe payment records (E4) with nothing refunded yet.

    The captured amount is Stripe-sendable and at least 100 Stripe steps; the Stripe fee and
    the platform fee are each at most a fifth of it and are in the settlement currency. With
    ``cross_currency=True`` (or a ``settlement_currency`` other than ``currency``) the record has
    an ``exchange_rate`` Decimal (settlement = presentment × rate); ``None`` draws either.
    """
    return _payment_records(
        currency, settlement_currency, cross_currency, disputed, max_captured_minor
    )


@st.composite
def _paid_orders(draw: st.DrawFn, site: str, records: st.SearchStrategy[PaymentRecord]) -> Order:
    record = draw(records)
    number = draw(st.integers(min_value=1, max_value=10**9))
    return Order(
        id=OrderId(f"order-{number}"),
        site_id=SiteId(site),
        total=record.captured,
        status=OrderStatus.PAID,
        payment=record,
        buyer_access=draw(st.booleans()),
        version=0,
    )


def paid_orders(
    site: str = "shop-1",
    currency: str | Currency | None = None,
    *,
    settlement_currency: str | Currency | None = None,
    cross_currency: bool | None = None,
    max_captured_minor: int | None = None,
) -> st.SearchStrategy[Order]:
    """Orders of ``site`` paid in full (status PAID, version 0, no refunds) with a valid payment
    record from ``payment_records``: every one is eligible for refund by its site's owner."""
    records = payment_records(
        currency,
        settlement_currency=settlement_currency,
        cross_currency=cross_currency,
        max_captured_minor=max_captured_minor,
    )
    return _paid_orders(site, records)


def refund_reasons(*, include_none: bool = True) -> st.SearchStrategy[RefundReason | None]:
    """Refund reasons (N1); ``None`` (no reason) too unless ``include_none=False``."""
    reasons: st.SearchStrategy[RefundReason | None] = st.sampled_from(list(RefundReason))
    return st.none() | reasons if include_none else reasons


_NOTE_CHARACTERS: Final = st.characters(
    exclude_categories=("Cc", "Cs"), exclude_characters="\u2028\u2029"
) | st.sampled_from("\n\t")


def _fits(text: str, non_blank: bool, max_size: int) -> bool:
    normalized = unicodedata.normalize("NFC", text).strip()
    return len(normalized) <= max_size and (bool(normalized) or not non_blank)


def valid_notes(
    *, non_blank: bool = False, max_size: int = MAX_NOTES_LENGTH
) -> st.SearchStrategy[str]:
    """Notes that pass N3 as given (not necessarily normalised): any Unicode text without
    control characters other than newline and tab, at most ``max_size`` characters after NFC.
    With ``non_blank=True`` they also satisfy N2 (not blank after trimming)."""
    if not 0 <= max_size <= MAX_NOTES_LENGTH:
        raise ValueError(f"max_size must be between 0 and {MAX_NOTES_LENGTH}")
    return st.text(_NOTE_CHARACTERS, min_size=1 if non_blank else 0, max_size=max_size).filter(
        lambda text: _fits(text, non_blank, max_size)
    )
