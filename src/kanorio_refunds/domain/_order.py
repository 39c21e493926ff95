"""The order aggregate: status machine (S2), refunds, buyer access and activity timeline (F3)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Final

import attrs

from kanorio_refunds.domain._ids import ActorId, OrderId, QuoteId, RefundId, SiteId
from kanorio_refunds.domain._money import Currency, Money
from kanorio_refunds.domain._payment import PaymentRecord
from kanorio_refunds.domain._refund import Refund
from kanorio_refunds.errors import IllegalTransition, RefundNotFound


class OrderStatus(enum.Enum):
    """The order's status as the backend shows it."""

    PENDING = "pending"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    PAYMENT_FAILED = "payment_failed"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        """The status as the help page writes it: 'Partially Refunded'."""
        return self.value.replace("_", " ").title()


# S2: the order state machine. EXPIRED is final. PAYMENT_FAILED is not (S2 revised with I2):
# Stripe returns a PaymentIntent whose payment failed to requires_payment_method, and the
# buyer's retry may still succeed (PAID) until it is canceled (EXPIRED); docs/rules.md.
_ORDER_TRANSITIONS: Final[dict[OrderStatus, frozenset[OrderStatus]]] = {
    OrderStatus.PENDING: frozenset(
        {OrderStatus.PAID, OrderStatus.PAYMENT_FAILED, OrderStatus.EXPIRED}
    ),
    OrderStatus.PAID: frozenset({OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED}),
    OrderStatus.PARTIALLY_REFUNDED: frozenset({OrderStatus.REFUNDED, OrderStatus.PAID}),
    # Back to PARTIALLY_REFUNDED or PAID only when a refund fails or is canceled (S2); the
    # derivation in rules.status makes that the only way there.
    OrderStatus.REFUNDED: frozenset({OrderStatus.PARTIALLY_REFUNDED, OrderStatus.PAID}),
    OrderStatus.PAYMENT_FAILED: frozenset({OrderStatus.PAID, OrderStatus.EXPIRED}),
    OrderStatus.EXPIRED: frozenset(),
}


#: I2, O2: statuses in which the payment's outcome may still change (the periodic sync reads
#: their orders). A failed PaymentIntent may still succeed on a retry, but it is followed by its
#: webhook (``payment_intent.succeeded``), not polled: docs/operations.md.
PAYMENT_OPEN_STATUSES: Final[frozenset[OrderStatus]] = frozenset({OrderStatus.PENDING})


def payment_settled(status: OrderStatus) -> bool:
    """I2: False while the order's payment outcome is still open (PENDING)."""
    return status not in PAYMENT_OPEN_STATUSES


def order_transition_allowed(current: OrderStatus, new: OrderStatus) -> bool:
    """S2: True when an order may move from ``current`` to ``new``."""
    return new in _ORDER_TRANSITIONS[current]


def check_order_transition(current: OrderStatus, new: OrderStatus) -> None:
    """S2: raise ``IllegalTransition`` unless ``current`` → ``new`` is allowed."""
    if not order_transition_allowed(current, new):
        allowed = ", ".join(sorted(s.name for s in _ORDER_TRANSITIONS[current])) or "nothing"
        raise IllegalTransition(
            f"an order cannot go from {current.name} to {new.name}; from {current.name} it may "
            f"go to: {allowed}"
        )


class ActivityKind(enum.Enum):
    """What an activity entry records."""

    REFUND_REQUESTED = "refund_requested"
    REFUND_SUBMITTED = "refund_submitted"
    REFUND_OUTCOME_UNKNOWN = "refund_outcome_unknown"
    REFUND_PENDING = "refund_pending"
    REFUND_REQUIRES_ACTION = "refund_requires_action"
    REFUND_SUCCEEDED = "refund_succeeded"
    REFUND_FAILED = "refund_failed"
    REFUND_CANCELED = "refund_canceled"
    EXTERNAL_REFUND_IMPORTED = "external_refund_imported"
    STATUS_CHANGED = "status_changed"
    PAYMENT_UPDATED = "payment_updated"
    BUYER_ACCESS_REVOKED = "buyer_access_revoked"
    BUYER_ACCESS_RESTORED = "buyer_access_restored"


@attrs.frozen
class ActivityEntry:
    """One line of the order's append-only activity timeline (F3)."""

    at: datetime
    kind: ActivityKind
    message: str
    actor_id: ActorId | None = None
    refund_id: RefundId | None = None


@attrs.frozen
class Order:
    """An e-commerce order of one website, with everything refunds need.

    Immutable: every change returns a new Order; the repository stores it with ``version`` + 1.
    """

    id: OrderId
    site_id: SiteId
    total: Money
    status: OrderStatus
    payment: PaymentRecord | None = None
    refunds: tuple[Refund, ...] = ()
    buyer_access: bool = True
    activity: tuple[ActivityEntry, ...] = ()
    version: int = 0

    @property
    def currency(self) -> Currency:
        """The order (presentment) currency."""
        return self.total.currency

    def refund(self, refund_id: RefundId) -> Refund:
        """The refund with that id; ``RefundNotFound`` otherwise."""
        for refund in self.refunds:
            if refund.id == refund_id:
                return refund
        raise RefundNotFound(f"order {self.id} has no refund {refund_id}")

    def find_refund(self, refund_id: RefundId) -> Refund | None:
        """The refund with that id, or None."""
        return next((r for r in self.refunds if r.id == refund_id), None)

    def refund_for_quote(self, quote_id: QuoteId) -> Refund | None:
        """The refund made from that quote, if it was processed (F2 idempotency).

        Should an attempt refused by the gateway have been made after all, both are recorded
        with the quote's id (``reconcile.match_refund``); the one the gateway holds is the
        quote's refund.
        """
        made = [r for r in self.refunds if r.quote_id == quote_id]
        return next((r for r in made if r.gateway_refund_id is not None), made[0] if made else None)

    def with_refund(self, refund: Refund) -> Order:
        """This order with ``refund`` added, or replacing the refund with the same id."""
        if self.find_refund(refund.id) is None:
            return attrs.evolve(self, refunds=(*self.refunds, refund))
        return attrs.evolve(
            self, refunds=tuple(refund if r.id == refund.id else r for r in self.refunds)
        )

    def with_activity(self, *entries: ActivityEntry) -> Order:
        """This order with ``entries`` appended to its activity timeline (never rewritten)."""
        return attrs.evolve(self, activity=(*self.activity, *entries))

    def with_status(self, status: OrderStatus) -> Order:
        """This order in ``status`` (S2 checked; staying put is allowed)."""
        if status != self.status:
            check_order_transition(self.status, status)
        return attrs.evolve(self, status=status)
