"""S1: the order status is derived from amounts, never set by hand after payment."""

from __future__ import annotations

from collections.abc import Iterable

from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._order import OrderStatus
from kanorio_refunds.domain._refund import Refund

#: Statuses whose value is derived from refunds (S1); the others are set by payment events.
REFUND_STATUSES: frozenset[OrderStatus] = frozenset(
    {OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED}
)


def derive_order_status(
    current: OrderStatus, refunds: Iterable[Refund], refundable: Money
) -> OrderStatus:
    """S1: PAID while no refund reserves anything; else REFUNDED when nothing is left to refund,
    PARTIALLY_REFUNDED when some balance remains. Orders not yet paid (or failed, expired) keep
    their status.
    """
    if current not in REFUND_STATUSES:
        return current
    if not any(r.reserves for r in refunds):
        return OrderStatus.PAID
    if refundable.is_zero():
        return OrderStatus.REFUNDED
    return OrderStatus.PARTIALLY_REFUNDED
