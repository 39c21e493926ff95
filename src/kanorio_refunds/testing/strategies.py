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
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Final

import attrs
from hypothesis import strategies as st

from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.memory import InMemoryOrderRepository
from kanorio_refunds.domain._actor import Actor, Role
from kanorio_refunds.domain._amount import FULL, FullAmount
from kanorio_refunds.domain._balance import FeePolicy, refundable_balance
from kanorio_refunds.domain._details import OrderDetails
from kanorio_refunds.domain._details import order_details as _order_details
from kanorio_refunds.domain._eligibility import Eligibility, check_eligibility
from kanorio_refunds.domain._ids import (
    ActorId,
    ChargeId,
    EventId,
    GatewayRefundId,
    OrderId,
    PaymentIntentId,
    QuoteId,
    RefundId,
    SiteId,
)
from kanorio_refunds.domain._money import (
    ISO_EXPONENTS,
    STRIPE_MAX_DIGITS,
    STRIPE_MAX_DIGITS_BY_CURRENCY,
    Currency,
    Money,
    stripe_decimals,
    stripe_step,
)
from kanorio_refunds.domain._notes import MAX_NOTES_LENGTH, validate_reason_and_notes
from kanorio_refunds.domain._order import ActivityEntry, ActivityKind, Order, OrderStatus
from kanorio_refunds.domain._payment import (
    GatewayRefund,
    LivePayment,
    PaymentRecord,
    RefundRequest,
    refund_metadata,
)
from kanorio_refunds.domain._quote import RefundQuote
from kanorio_refunds.domain._reconcile import rederive_status
from kanorio_refunds.domain._refund import (
    Refund,
    RefundEventEntry,
    RefundOrigin,
    RefundReason,
    RefundStatus,
)
from kanorio_refunds.service import RefundService

__all__ = [
    "ACTOR_KINDS",
    "actors",
    "aware_datetimes",
    "currencies",
    "eligibilities",
    "exchange_rates",
    "max_sendable_minor",
    "money",
    "non_refunding_actors",
    "order_details",
    "orders",
    "orders_with_refunds",
    "paid_orders",
    "payment_records",
    "quotes",
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


# -- timelines, orders with refunds, quotes, eligibility, details ---------------------------------


def aware_datetimes(
    min_value: datetime = datetime(2000, 1, 1),
    max_value: datetime = datetime(2099, 12, 31),
    *,
    utc_only: bool = False,
) -> st.SearchStrategy[datetime]:
    """Timezone-aware datetimes between the naive bounds ``min_value`` and ``max_value``: in UTC
    (as the library's clocks give them) or, unless ``utc_only``, at a fixed UTC offset of whole
    minutes within ±14 hours."""
    offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    )
    zones: st.SearchStrategy[timezone] = st.just(UTC) if utc_only else st.just(UTC) | offsets
    return st.datetimes(min_value, max_value, timezones=zones)


_EVENT_TYPES: Final = ("refund.created", "refund.updated", "charge.refund.updated")
_FAILURE_REASONS: Final = ("insufficient_funds", "expired_or_canceled_card", "lost_or_stolen_card")
_STATUS_ACTIVITY: Final = {
    RefundStatus.PENDING: ActivityKind.REFUND_PENDING,
    RefundStatus.REQUIRES_ACTION: ActivityKind.REFUND_REQUIRES_ACTION,
    RefundStatus.SUCCEEDED: ActivityKind.REFUND_SUCCEEDED,
    RefundStatus.FAILED: ActivityKind.REFUND_FAILED,
    RefundStatus.CANCELED: ActivityKind.REFUND_CANCELED,
}
# Statuses S3 lets a refund reach from PENDING, so a timeline may show PENDING first.
_AFTER_PENDING: Final = frozenset(
    {
        RefundStatus.SUCCEEDED,
        RefundStatus.FAILED,
        RefundStatus.CANCELED,
        RefundStatus.REQUIRES_ACTION,
    }
)
# Stripe's charge.amount_refunded counts refunds pending, requiring action or succeeded there.
_COUNTED_AT_STRIPE: Final = frozenset(
    {RefundStatus.PENDING, RefundStatus.REQUIRES_ACTION, RefundStatus.SUCCEEDED}
)


# Built once: Hypothesis validates every new strategy object, which dominated drawing orders.
_ORIGINS: Final = st.sampled_from(RefundOrigin)
_LOCAL_STATUSES: Final = st.sampled_from(list(RefundStatus))
# A refund made elsewhere is known only once Stripe reports it: never SUBMITTING.
_EXTERNAL_STATUSES: Final = st.sampled_from(
    [s for s in RefundStatus if s is not RefundStatus.SUBMITTING]
)
_REASONS: Final = st.none() | st.sampled_from(list(RefundReason))
_SHORT_NOTES: Final = st.text(_NOTE_CHARACTERS, max_size=40).filter(
    lambda text: _fits(text, False, 40)
)
_SHORT_NON_BLANK_NOTES: Final = st.text(_NOTE_CHARACTERS, min_size=1, max_size=40).filter(
    lambda text: _fits(text, True, 40)
)
_SECONDS: Final = {limit: st.integers(min_value=1, max_value=limit) for limit in (3600, 86400)}


_START_TIMES: Final = aware_datetimes()


def _later(draw: st.DrawFn, at: datetime, max_seconds: int) -> datetime:
    return at + timedelta(seconds=draw(_SECONDS[max_seconds]))


@st.composite
def _refund_with_history(
    draw: st.DrawFn, order: Order, number: int, amount: Money, requester: ActorId, at: datetime
) -> tuple[Refund, tuple[ActivityEntry, ...], datetime]:
    """One refund of ``order`` with its Stripe event timeline and the activity it writes, and
    the time of its last entry."""
    origin = draw(_ORIGINS)
    local = origin is RefundOrigin.LOCAL
    status = draw(_LOCAL_STATUSES if local else _EXTERNAL_STATUSES)
    reason = draw(_REASONS)
    notes_drawn = draw(_SHORT_NON_BLANK_NOTES if reason is RefundReason.OTHER else _SHORT_NOTES)
    notes = validate_reason_and_notes(reason, notes_drawn)
    gateway_id = GatewayRefundId(f"re_{order.id}_{number}")
    refund_id = RefundId(f"rf_{order.id}_{number}") if local else RefundId(f"rf_ext_{gateway_id}")
    created = at
    if local:
        first = ActivityEntry(
            at=created,
            kind=ActivityKind.REFUND_REQUESTED,
            message=f"{requester} requested a refund of {amount}",
            actor_id=requester,
            refund_id=refund_id,
        )
    else:
        first = ActivityEntry(
            at=created,
            kind=ActivityKind.EXTERNAL_REFUND_IMPORTED,
            message=f"Refund of {amount} made outside Kanorio (Stripe {gateway_id}) recorded",
            refund_id=refund_id,
        )
    activity = [first]
    events: list[RefundEventEntry] = []
    as_of: datetime | None = None
    if status is not RefundStatus.SUBMITTING:
        path = [status]
        if status in _AFTER_PENDING and draw(st.booleans()):
            path.insert(0, RefundStatus.PENDING)
        for index, step in enumerate(path):
            at = _later(draw, at, 3600)
            events.append(
                RefundEventEntry(
                    event_id=EventId(f"evt_{refund_id}_{index}"),
                    type=draw(st.sampled_from(_EVENT_TYPES)),
                    occurred_at=at,
                    status=step,
                    applied=True,
                )
            )
            activity.append(
                ActivityEntry(
                    at=at,
                    kind=_STATUS_ACTIVITY[step],
                    message=f"Refund {refund_id} is {step.name.replace('_', ' ').lower()}",
                    refund_id=refund_id,
                )
            )
        as_of = at
        if status is not RefundStatus.PENDING and draw(st.booleans()):
            # A late, out-of-date event: shown in the timeline, not applied (L5).
            events.append(
                RefundEventEntry(
                    event_id=EventId(f"evt_{refund_id}_late"),
                    type="refund.updated",
                    occurred_at=created,
                    status=RefundStatus.PENDING,
                    applied=False,
                )
            )
    failure = draw(st.sampled_from(_FAILURE_REASONS)) if status is RefundStatus.FAILED else None
    refund = Refund(
        id=refund_id,
        order_id=order.id,
        amount=amount,
        status=status,
        created_at=created,
        origin=origin,
        reason=reason,
        notes=notes,
        requested_by=requester if local else None,
        quote_id=QuoteId(f"qt_{order.id}_{number}") if local else None,
        gateway_refund_id=None if status is RefundStatus.SUBMITTING else gateway_id,
        failure_reason=failure,
        status_as_of=as_of,
        events=tuple(events),
    )
    return refund, tuple(activity), at


def _stripe_refunded(order: Order) -> Order:
    """``order`` with the payment's ``amount_refunded`` as Stripe would count its refunds."""
    assert order.payment is not None
    counted = sum(r.amount.minor for r in order.refunds if r.status in _COUNTED_AT_STRIPE)
    refunded = Money(counted, order.currency)
    return attrs.evolve(order, payment=attrs.evolve(order.payment, amount_refunded=refunded))


@st.composite
def _orders_with_refunds(
    draw: st.DrawFn,
    site: str,
    currency: str | Currency | None,
    cross_currency: bool | None,
    max_refunds: int,
    disputed: bool | None,
    leave_balance: bool,
) -> Order:
    order = draw(paid_orders(site, currency, cross_currency=cross_currency))
    assert order.payment is not None
    policy = FeePolicy.NET_OF_FEES
    step = stripe_step(order.currency)
    owner_id = ActorId(f"owner-{draw(st.integers(min_value=1, max_value=999))}")
    at = draw(_START_TIMES)
    count = draw(st.integers(min_value=0, max_value=max_refunds))
    for number in range(1, count + 1):
        assert order.payment is not None
        steps_left = refundable_balance(order.payment, order.refunds, policy).refundable.minor
        steps_left //= step
        if leave_balance:
            steps_left -= 1  # keep at least one sendable step refundable
        if steps_left < 1:
            break
        amount = Money(draw(st.integers(min_value=1, max_value=steps_left)) * step, order.currency)
        refund, activity, at = draw(_refund_with_history(order, number, amount, owner_id, at))
        order = _stripe_refunded(order.with_refund(refund).with_activity(*activity))
        order = rederive_status(order, policy, at=at, actor_id=refund.requested_by)
        at = _later(draw, at, 86400)
    if disputed if disputed is not None else draw(st.booleans()):
        assert order.payment is not None
        order = attrs.evolve(order, payment=attrs.evolve(order.payment, disputed=True))
        order = order.with_activity(
            ActivityEntry(at=at, kind=ActivityKind.PAYMENT_UPDATED, message="Payment disputed")
        )
        at = _later(draw, at, 86400)
    if not order.buyer_access:
        order = order.with_activity(
            ActivityEntry(
                at=at,
                kind=ActivityKind.BUYER_ACCESS_REVOKED,
                message=f"{owner_id} revoked the buyer's access",
                actor_id=owner_id,
            )
        )
    return attrs.evolve(order, version=draw(st.integers(min_value=1, max_value=10_000)))


def orders_with_refunds(
    site: str = "shop-1",
    currency: str | Currency | None = None,
    *,
    cross_currency: bool | None = None,
    max_refunds: int = 4,
    disputed: bool | None = False,
    leave_balance: bool = False,
) -> st.SearchStrategy[Order]:
    """Paid orders of ``site`` (from ``paid_orders``) as a repository stores them, with up to
    ``max_refunds`` refunds in every status and origin, each within the balance left when it
    was made (B1), with its Stripe event timeline (F3; sometimes a late event not applied, L5);
    the activity timeline they wrote; Stripe's ``amount_refunded`` to match; the status derived
    from the amounts (S1); sometimes revoked buyer access (F4). ``disputed`` None draws either;
    ``leave_balance`` keeps at least one refundable step (the order stays refundable)."""
    if max_refunds < 0:
        raise ValueError("max_refunds must be at least 0")
    return _orders_with_refunds(
        site, currency, cross_currency, max_refunds, disputed, leave_balance
    )


@st.composite
def _unpaid_orders(draw: st.DrawFn, site: str, currency: str | Currency | None) -> Order:
    total = draw(sendable_money(currency))
    number = draw(st.integers(min_value=1, max_value=10**9))
    status = draw(
        st.sampled_from((OrderStatus.PENDING, OrderStatus.PAYMENT_FAILED, OrderStatus.EXPIRED))
    )
    return Order(
        id=OrderId(f"order-{number}"),
        site_id=SiteId(site),
        total=total,
        status=status,
        version=draw(st.integers(min_value=1, max_value=100)),
    )


def orders(
    site: str = "shop-1", currency: str | Currency | None = None
) -> st.SearchStrategy[Order]:
    """Any order of ``site``: unpaid ones (PENDING, PAYMENT_FAILED, EXPIRED, no payment record)
    and paid ones from ``orders_with_refunds`` (disputed or not)."""
    return _unpaid_orders(site, currency) | orders_with_refunds(site, currency, disputed=None)


def eligibilities(site: str = "shop-1") -> st.SearchStrategy[Eligibility]:
    """Eligibility answers (E1–E5) as the domain gives them, for ``orders`` and ``actors`` of
    ``site`` under either fee policy (B5): allowed ones and ones listing failing rules."""
    return st.builds(check_eligibility, orders(site), actors(site), st.sampled_from(FeePolicy))


def order_details(site: str = "shop-1") -> st.SearchStrategy[OrderDetails]:
    """Order-details views (F3) as the domain builds them for ``orders`` and ``actors`` of
    ``site``, under either fee policy, with 0 to 30 recent activity entries."""
    return st.builds(
        _order_details,
        orders(site),
        actors(site),
        st.sampled_from(FeePolicy),
        recent=st.integers(min_value=0, max_value=30),
    )


class _LiveGateway:
    """The gateway's view of one order, as ``orders_with_refunds`` made it: its payment record
    and a gateway copy of every refund past SUBMITTING. Quotes only read it."""

    def __init__(self, order: Order) -> None:
        assert order.payment is not None
        payment = order.payment
        self._live = LivePayment(
            record=payment,
            refunds=tuple(
                GatewayRefund(
                    id=r.gateway_refund_id,
                    amount=r.amount,
                    status=r.status,
                    created_at=r.created_at,
                    payment_intent_id=payment.payment_intent_id,
                    charge_id=payment.charge_id,
                    reason=r.reason,
                    failure_reason=r.failure_reason,
                    metadata=refund_metadata(order.id, r.id, r.reason, r.notes)
                    if r.origin is RefundOrigin.LOCAL
                    else {},
                )
                for r in order.refunds
                if r.gateway_refund_id is not None
            ),
        )

    def fetch_payment(
        self, payment_intent_id: PaymentIntentId | None, charge_id: ChargeId | None
    ) -> LivePayment:
        return self._live

    def create_refund(self, request: RefundRequest) -> GatewayRefund:
        raise AssertionError("kst.quotes() only quotes; it never creates a refund")

    def list_refunds(
        self, payment_intent_id: PaymentIntentId | None, charge_id: ChargeId | None
    ) -> tuple[GatewayRefund, ...]:
        return self._live.refunds


def _latest(order: Order) -> datetime:
    times = [entry.at for entry in order.activity]
    return max(times, default=datetime(2024, 1, 1, tzinfo=UTC))


@st.composite
def _quotes(
    draw: st.DrawFn, site: str, currency: str | Currency | None, cross_currency: bool | None
) -> RefundQuote:
    order = draw(
        orders_with_refunds(
            site, currency, cross_currency=cross_currency, max_refunds=3, leave_balance=True
        )
    )
    assert order.payment is not None
    refundable = refundable_balance(order.payment, order.refunds).refundable
    step = stripe_step(order.currency)
    amount: Money | FullAmount = FULL
    if draw(st.booleans()):
        steps = draw(st.integers(min_value=1, max_value=refundable.minor // step))
        amount = Money(steps * step, order.currency)
    reason = draw(_REASONS)
    notes = draw(_SHORT_NON_BLANK_NOTES if reason is RefundReason.OTHER else _SHORT_NOTES)
    service = RefundService(
        orders=InMemoryOrderRepository([order]),
        gateway=_LiveGateway(order),
        clock=ManualClock(_latest(order) + timedelta(seconds=1)),
    )
    return service.quote(order.id, draw(refunding_actors(site)), amount, reason, notes)


def quotes(
    site: str = "shop-1",
    currency: str | Currency | None = None,
    *,
    cross_currency: bool | None = None,
) -> st.SearchStrategy[RefundQuote]:
    """Refund quotes (F1) exactly as ``RefundService.quote`` makes them, for orders from
    ``orders_with_refunds`` that still have a balance and an owner or administrator of
    ``site``: a full or partial amount, any reason, valid notes."""
    return _quotes(site, currency, cross_currency)
