"""The order-details view: what the backend shows on the order page (help page, F3)."""

from __future__ import annotations

import attrs

from kanorio_refunds.domain._actor import Actor
from kanorio_refunds.domain._balance import BalanceBreakdown, FeePolicy
from kanorio_refunds.domain._eligibility import Eligibility, check_eligibility
from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._order import ActivityEntry, Order, OrderStatus
from kanorio_refunds.domain._refund import Refund


@attrs.frozen
class OrderDetails:
    """A read-only view of one order: status, refundable balance, refund records (each with its
    Stripe event timeline), recent activity (newest first) and whether "Initiate Refund" shows."""

    order: Order
    status: OrderStatus
    refundable: Money
    breakdown: BalanceBreakdown | None
    eligibility: Eligibility
    refunds: tuple[Refund, ...]
    recent_activity: tuple[ActivityEntry, ...]
    buyer_access: bool


def order_details(
    order: Order, actor: Actor, policy: FeePolicy, *, recent: int = 20
) -> OrderDetails:
    """The details view of ``order`` as ``actor`` sees it."""
    eligibility = check_eligibility(order, actor, policy)
    return OrderDetails(
        order=order,
        status=order.status,
        refundable=eligibility.refundable,
        breakdown=eligibility.breakdown,
        eligibility=eligibility,
        refunds=order.refunds,
        recent_activity=tuple(reversed(order.activity[-recent:])) if recent > 0 else (),
        buyer_access=order.buyer_access,
    )
