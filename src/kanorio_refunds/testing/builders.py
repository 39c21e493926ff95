"""Plain builders for tests: a paid order, the people who act on it, refunds and gateway refunds.

Every builder has defaults that make a valid, refundable example (a USD 100.00 order paid through
Stripe with USD 3.20 Stripe fee and USD 1.00 platform fee, on site ``shop-1``) and takes keyword
arguments for everything a test may want to change. Amounts are given as text (``"12.50"``), as a
``Decimal`` or as ``Money``; never as a float.

No Hypothesis here: this module is plain Python and imports only the domain.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, TypeAlias

import attrs

from kanorio_refunds.domain._actor import Actor, Role
from kanorio_refunds.domain._balance import FeePolicy
from kanorio_refunds.domain._ids import (
    ActorId,
    ChargeId,
    GatewayRefundId,
    OrderId,
    PaymentIntentId,
    RefundId,
    SiteId,
)
from kanorio_refunds.domain._money import Currency, Money
from kanorio_refunds.domain._order import Order, OrderStatus
from kanorio_refunds.domain._payment import GatewayRefund, PaymentRecord, refund_metadata
from kanorio_refunds.domain._reconcile import rederive_status
from kanorio_refunds.domain._refund import Refund, RefundOrigin, RefundReason, RefundStatus
from kanorio_refunds.errors import CurrencyMismatch, InvalidAmount

__all__ = [
    "T0",
    "AmountLike",
    "actor",
    "admin",
    "admin_of_other_site",
    "anonymous",
    "as_money",
    "buyer",
    "evolve_payment",
    "gateway_refund",
    "owner",
    "paid_order",
    "payment_record",
    "refund",
    "staff",
    "with_refunds",
]

#: A fixed, timezone-aware instant: builders use it (and offsets from it) instead of a clock.
T0: Final = datetime(2024, 1, 15, 12, 0, tzinfo=UTC)

#: An amount as tests like to write it: ``"12.50"``, ``Decimal("12.5")`` or ``Money``.
AmountLike: TypeAlias = str | Decimal | Money


def as_money(value: AmountLike, currency: str | Currency) -> Money:
    """``value`` as Money of ``currency``: text and Decimal are parsed (M2), Money is checked."""
    cur = Currency.of(currency)
    if isinstance(value, Money):
        if value.currency != cur:
            raise CurrencyMismatch(f"{value} was given where an amount in {cur.code} is needed")
        return value
    return Money.parse(value, cur)


# -- actors -------------------------------------------------------------------------------------


def actor(role: Role, site: str = "shop-1", actor_id: str | None = None) -> Actor:
    """An actor holding ``role`` on ``site`` (and nothing elsewhere)."""
    return Actor(ActorId(actor_id or f"{role.value}-of-{site}"), {SiteId(site): role})


def owner(site: str = "shop-1", actor_id: str | None = None) -> Actor:
    """The owner of ``site``: may refund its orders (E2)."""
    return actor(Role.OWNER, site, actor_id)


def admin(site: str = "shop-1", actor_id: str | None = None) -> Actor:
    """An administrator of ``site``: may refund its orders (E2)."""
    return actor(Role.ADMINISTRATOR, site, actor_id)


def staff(site: str = "shop-1", actor_id: str | None = None) -> Actor:
    """A staff member of ``site``: may not refund (E2)."""
    return actor(Role.STAFF, site, actor_id)


def buyer(site: str = "shop-1", actor_id: str | None = None) -> Actor:
    """A buyer on ``site``: may not refund (E2)."""
    return actor(Role.BUYER, site, actor_id)


def admin_of_other_site(site: str = "shop-1", actor_id: str | None = None) -> Actor:
    """An administrator of a site other than ``site``: may not refund ``site``'s orders (E2)."""
    return actor(Role.ADMINISTRATOR, f"{site}-other", actor_id)


def anonymous() -> Actor:
    """Nobody in particular: no roles anywhere (E2)."""
    return Actor.anonymous()


# -- payments and orders ------------------------------------------------------------------------


def _rate(exchange_rate: Decimal | str | None) -> Decimal | None:
    if exchange_rate is None:
        return None
    if isinstance(exchange_rate, str):
        exchange_rate = Decimal(exchange_rate)
    if not isinstance(exchange_rate, Decimal):
        raise InvalidAmount(
            f"give the exchange rate as a Decimal or text such as '0.92', "
            f"not as {type(exchange_rate).__name__}"
        )
    return exchange_rate


def payment_record(
    captured: AmountLike = "100.00",
    currency: str | Currency = "USD",
    *,
    stripe_fee: AmountLike = "3.20",
    platform_fee: AmountLike = "1.00",
    payment_intent_id: str | None = "pi_test_1",
    charge_id: str | None = "ch_test_1",
    settlement_currency: str | Currency | None = None,
    exchange_rate: Decimal | str | None = None,
    amount_refunded: AmountLike = "0",
    disputed: bool = False,
) -> PaymentRecord:
    """A Stripe payment record as the gateway would report it.

    ``stripe_fee`` and ``platform_fee`` are in the settlement currency (as on Stripe's balance
    transaction), which defaults to ``currency``. For a cross-currency payment give
    ``settlement_currency`` and ``exchange_rate`` (settlement = presentment × rate, Stripe's
    convention); leaving the rate out builds a record the domain treats as invalid (E4).
    ``amount_refunded`` is Stripe's ``charge.amount_refunded``, in ``currency``.
    """
    presentment = Currency.of(currency)
    settlement = Currency.of(settlement_currency) if settlement_currency else presentment
    rate = _rate(exchange_rate)
    if rate is not None and settlement == presentment:
        raise ValueError(
            "exchange_rate only applies when the settlement currency differs from the order "
            "currency; give settlement_currency too"
        )
    return PaymentRecord(
        payment_intent_id=PaymentIntentId(payment_intent_id) if payment_intent_id else None,
        charge_id=ChargeId(charge_id) if charge_id else None,
        captured=as_money(captured, presentment),
        stripe_fee=as_money(stripe_fee, settlement),
        platform_fee=as_money(platform_fee, settlement),
        settlement_currency=settlement,
        amount_refunded=as_money(amount_refunded, presentment),
        exchange_rate=rate,
        disputed=disputed,
    )


def paid_order(
    total: AmountLike = "100.00",
    currency: str | Currency = "USD",
    *,
    stripe_fee: AmountLike = "3.20",
    platform_fee: AmountLike = "1.00",
    site: str = "shop-1",
    order_id: str = "order-1",
    payment_intent_id: str | None = "pi_test_1",
    charge_id: str | None = "ch_test_1",
    settlement_currency: str | Currency | None = None,
    exchange_rate: Decimal | str | None = None,
    amount_refunded: AmountLike = "0",
    disputed: bool = False,
    buyer_access: bool = True,
    status: OrderStatus = OrderStatus.PAID,
    version: int = 0,
) -> Order:
    """An order of ``site`` paid in full through Stripe: status PAID, version 0, no refunds.

    The payment captured ``total``; fees are in the settlement currency (see ``payment_record``).
    For zero-decimal currencies give whole fees, e.g. ``paid_order("10000", "JPY",
    stripe_fee="360", platform_fee="100")``. ``status`` and ``version`` exist so a test can build
    the same order in another state (an EXPIRED order with a payment record, say).
    """
    record = payment_record(
        total,
        currency,
        stripe_fee=stripe_fee,
        platform_fee=platform_fee,
        payment_intent_id=payment_intent_id,
        charge_id=charge_id,
        settlement_currency=settlement_currency,
        exchange_rate=exchange_rate,
        amount_refunded=amount_refunded,
        disputed=disputed,
    )
    return Order(
        id=OrderId(order_id),
        site_id=SiteId(site),
        total=record.captured,
        status=status,
        payment=record,
        buyer_access=buyer_access,
        version=version,
    )


# -- refunds ------------------------------------------------------------------------------------


def refund(
    order: Order,
    amount: AmountLike = "10.00",
    status: RefundStatus = RefundStatus.SUCCEEDED,
    *,
    refund_id: str | None = None,
    reason: RefundReason | None = None,
    notes: str = "",
    requested_by: Actor | None = None,
    created_at: datetime = T0,
    origin: RefundOrigin = RefundOrigin.LOCAL,
    gateway_refund_id: str | None = None,
    status_as_of: datetime | None = None,
    failure_reason: str | None = None,
) -> Refund:
    """A refund of ``order`` in ``status`` (not yet added to the order: see ``with_refunds``).

    ``refund_id`` defaults to ``rf_<order id>_<n>`` with n one past the order's refunds. A refund
    past SUBMITTING gets a Stripe id (``re_<refund id>``) unless one is given.
    """
    rid = refund_id or f"rf_{order.id}_{len(order.refunds) + 1}"
    gid = gateway_refund_id
    if gid is None and status is not RefundStatus.SUBMITTING:
        gid = f"re_{rid}"
    return Refund(
        id=RefundId(rid),
        order_id=order.id,
        amount=as_money(amount, order.currency),
        status=status,
        created_at=created_at,
        origin=origin,
        reason=reason,
        notes=notes,
        requested_by=requested_by.id if requested_by else None,
        gateway_refund_id=GatewayRefundId(gid) if gid else None,
        failure_reason=failure_reason,
        status_as_of=status_as_of,
    )


def with_refunds(
    order: Order,
    refunds: Iterable[Refund],
    *,
    policy: FeePolicy = FeePolicy.NET_OF_FEES,
    at: datetime = T0,
) -> Order:
    """``order`` with ``refunds`` recorded and its status derived from the amounts (S1).

    The version is left alone (the repository bumps it on save).
    """
    result = order
    for item in refunds:
        result = result.with_refund(item)
    return rederive_status(result, policy, at=at)


def gateway_refund(
    order: Order,
    amount: AmountLike = "10.00",
    status: RefundStatus = RefundStatus.SUCCEEDED,
    *,
    gateway_id: str | None = None,
    local: Refund | None = None,
    created_at: datetime = T0,
    reason: RefundReason | None = None,
    failure_reason: str | None = None,
) -> GatewayRefund:
    """A refund of ``order``'s payment as Stripe reports it.

    With ``local`` it is the gateway's copy of that refund of ours: our metadata (order id,
    refund id, reason, notes; N4) and, unless ``gateway_id`` is given, ``local``'s Stripe id, or
    ``re_<local id>`` while it has none (so two local refunds never share a Stripe id). Without
    it, it is a refund made elsewhere (the Stripe dashboard): no metadata, id ``gateway_id``
    (default ``re_external_1``).
    """
    payment = order.payment
    metadata: dict[str, str] = {}
    gid = gateway_id or "re_external_1"
    if local is not None:
        metadata = refund_metadata(order.id, local.id, local.reason, local.notes)
        gid = gateway_id or local.gateway_refund_id or f"re_{local.id}"
        reason = reason or local.reason
    return GatewayRefund(
        id=GatewayRefundId(gid),
        amount=as_money(amount, order.currency),
        status=status,
        created_at=created_at,
        payment_intent_id=payment.payment_intent_id if payment else None,
        charge_id=payment.charge_id if payment else None,
        reason=reason,
        failure_reason=failure_reason,
        metadata=metadata,
    )


def evolve_payment(order: Order, **changes: Any) -> Order:
    """``order`` with its payment record changed, e.g. ``evolve_payment(o, disputed=True)``."""
    if order.payment is None:
        raise ValueError(f"order {order.id} has no payment record to change")
    return attrs.evolve(order, payment=attrs.evolve(order.payment, **changes))
