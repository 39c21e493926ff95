"""An order's life before refunds: intake from the gateway's payment (I1) and the payment's
outcome moving the order's status (I2, S2).

Pure: the service reads the payment from the gateway (``LivePayment``) and asks these
functions what the order is or becomes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from kanorio_refunds.domain._ids import ChargeId, OrderId, PaymentIntentId, SiteId
from kanorio_refunds.domain._order import (
    ActivityEntry,
    ActivityKind,
    Order,
    OrderStatus,
    order_transition_allowed,
    status_changed_entry,
)
from kanorio_refunds.domain._payment import LivePayment, PaymentState
from kanorio_refunds.errors import InvalidPaymentRecord, OrderConflict

#: I1, I2: the order status each payment state gives an order not yet in the refund statuses.
STATUS_FOR_PAYMENT: Final[dict[PaymentState, OrderStatus]] = {
    PaymentState.PENDING: OrderStatus.PENDING,
    PaymentState.PAID: OrderStatus.PAID,
    PaymentState.FAILED: OrderStatus.PAYMENT_FAILED,
    PaymentState.EXPIRED: OrderStatus.EXPIRED,
}

# Statuses a payment state may still move (PAID and the refund statuses follow refunds: S1).
_FOLLOWS_PAYMENT: Final = frozenset(
    {OrderStatus.PENDING, OrderStatus.PAYMENT_FAILED, OrderStatus.EXPIRED}
)


def require_payment_reference(
    payment_intent_id: str | None, charge_id: str | None
) -> tuple[PaymentIntentId | None, ChargeId | None]:
    """I1: the payment to register, as ids; ``InvalidPaymentRecord`` unless at least one of a
    PaymentIntent id and a Charge id is given (non-blank text)."""
    given = []
    for name, value in (("payment_intent_id", payment_intent_id), ("charge_id", charge_id)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise InvalidPaymentRecord(
                f"{name} must be a non-blank Stripe id such as 'pi_…' or 'ch_…', or None; "
                f"got {value!r:.60}"
            )
        given.append(value)
    if not any(given):
        raise InvalidPaymentRecord(
            "an order is registered for a payment: give its PaymentIntent id (pi_…) or, for a "
            "charge-only payment, its Charge id (ch_…)"
        )
    pi, ch = given
    return (PaymentIntentId(pi) if pi else None, ChargeId(ch) if ch else None)


def registered_order(
    order_id: OrderId, site_id: SiteId, live: LivePayment, *, at: datetime
) -> Order:
    """I1: the new order (version 0, for ``OrderRepository.add``) for a payment read live:
    its total is the payment's amount, its status follows the payment's state, and its
    activity says where it came from."""
    status = STATUS_FOR_PAYMENT[live.state]
    reference = live.record.reference
    return Order(
        id=order_id,
        site_id=site_id,
        total=live.payment_amount,
        status=status,
        payment=live.record,
    ).with_activity(
        ActivityEntry(
            at=at,
            kind=ActivityKind.PAYMENT_UPDATED,
            message=(
                f"Order registered for Stripe payment {reference} of {live.payment_amount}, "
                f"status {status.label}"
            ),
        )
    )


def require_same_registration(
    existing: Order,
    order_id: OrderId,
    site_id: SiteId,
    payment_intent_id: PaymentIntentId | None,
    charge_id: ChargeId | None,
    live: LivePayment,
) -> None:
    """I1: registering ``existing`` again is idempotent only for the same site, payment and
    amount; anything else raises ``OrderConflict`` saying what differs.

    ``existing`` is the stored order with this id, or the order another id already holds
    the payment for (then the id differs: a payment belongs to one order)."""
    problems = []
    if existing.id != order_id:
        problems.append(f"the payment already belongs to order {existing.id}")
    if existing.site_id != site_id:
        problems.append(f"it belongs to site {existing.site_id}, not {site_id}")
    payment = existing.payment
    stored_pi = payment.payment_intent_id if payment else None
    stored_ch = payment.charge_id if payment else None
    if (payment_intent_id and payment_intent_id != stored_pi) or (
        charge_id and charge_id != stored_ch and not (payment_intent_id and stored_pi)
    ):
        paid_by = (payment.reference if payment else "") or "no payment"
        problems.append(f"it is paid by {paid_by}, not {payment_intent_id or charge_id}")
    if existing.total != live.payment_amount:
        problems.append(f"its total is {existing.total}, the payment's {live.payment_amount}")
    if problems:
        raise OrderConflict(
            f"order {order_id} cannot be registered for {payment_intent_id or charge_id} on "
            f"site {site_id}: {'; '.join(problems)}. Register each order once, with the payment "
            f"made for it"
        )


def follow_payment(order: Order, state: PaymentState, *, at: datetime) -> Order:
    """I2, S2: ``order`` in the status its payment's live ``state`` gives, with a "status
    changed" entry; unchanged when S2 forbids the move.

    Order-insensitive: only the live state counts, and S2 lets it move forwards only
    (PENDING → PAID | PAYMENT_FAILED | EXPIRED; PAYMENT_FAILED → PAID | EXPIRED, a retried
    PaymentIntent). A paid order's status follows its refunds (S1), never the payment again;
    a failed payment being retried (live PENDING) keeps PAYMENT_FAILED until its outcome.
    """
    if order.status not in _FOLLOWS_PAYMENT:
        return order
    status = STATUS_FOR_PAYMENT[state]
    if status == order.status or not order_transition_allowed(order.status, status):
        return order
    return order.with_status(status, status_changed_entry(order.status, status, at=at))
