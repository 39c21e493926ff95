"""S1: the order status is derived from amounts, never set by hand after payment."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final

from kanorio_refunds.domain._balance import FeePolicy, refundable_amount
from kanorio_refunds.domain._ids import ActorId
from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._order import (
    ActivityEntry,
    Order,
    OrderStatus,
    refunds_index,
    status_changed_entry,
)
from kanorio_refunds.domain._refund import RELEASED, Refund
from kanorio_refunds.errors import InvalidPaymentRecord

#: Statuses whose value is derived from refunds (S1); the others are set by payment events.
REFUND_STATUSES: Final[frozenset[OrderStatus]] = frozenset(
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
    for refund in refunds:  # a loop, not any(...): no generator frame (issue 10)
        if refund.status not in RELEASED:
            break
    else:
        return OrderStatus.PAID
    if refundable.is_zero():
        return OrderStatus.REFUNDED
    return OrderStatus.PARTIALLY_REFUNDED


def status_after_reserving(order: Order, amount: Money, policy: FeePolicy) -> OrderStatus:
    """S1: the status ``rederive_status`` gives ``order`` once a new refund of ``amount`` holds
    part of its balance (``_refunding.request_refund`` writing it ahead): what a quote previews.

    The same derivation on the same figures, without building the order: a refund that
    reserves makes ``derive_order_status`` answer REFUNDED or PARTIALLY_REFUNDED by the balance
    left, which is the refundable amount with ``amount`` reserved on top of the order's
    reserved sum. An order whose payment record gives no balance keeps its status.
    """
    payment = order.payment
    if payment is None or order.status not in REFUND_STATUSES:
        return order.status
    try:
        left = refundable_amount(payment, order.refunds, policy, also_reserved=amount)
    except InvalidPaymentRecord:
        return order.status
    return OrderStatus.REFUNDED if left.is_zero() else OrderStatus.PARTIALLY_REFUNDED


def rederive_status(
    order: Order, policy: FeePolicy, *, at: datetime, actor_id: ActorId | None = None
) -> Order:
    """S1: the order in the status its amounts give, with an activity entry when it changes.

    Every change to an order's refunds ends with this, so the status can never disagree with
    the amounts. An order whose payment record cannot give a balance keeps its status.
    """
    status, entries = derived_status(order, policy, at=at, actor_id=actor_id)
    return order.with_status(status, *entries) if entries else order


def derived_status(
    order: Order, policy: FeePolicy, *, at: datetime, actor_id: ActorId | None = None
) -> tuple[OrderStatus, tuple[ActivityEntry, ...]]:
    """S1: the status ``rederive_status`` gives ``order`` and the entry it adds (none when the
    status stays), for a caller that adds them with a change of its own."""
    payment, refunds = order.payment, order.refunds
    if payment is None:
        return order.status, ()
    index = refunds_index(refunds) if type(refunds) is tuple else None
    kept = index.status_kept if index is not None else None
    if kept is not None and kept[0] is payment and kept[1] is policy and kept[2] is order.status:
        # Issue 10: this status was derived for these very refunds (the index's tuple) and this
        # very payment record, both immutable: the same answer again.
        return order.status, ()
    try:
        refundable = refundable_amount(payment, refunds, policy)
    except InvalidPaymentRecord:
        return order.status, ()
    status = derive_order_status(order.status, refunds, refundable)
    if status == order.status:
        if index is not None:
            index.status_kept = (payment, policy, status)
        return status, ()
    return status, (status_changed_entry(order.status, status, at=at, actor_id=actor_id),)
