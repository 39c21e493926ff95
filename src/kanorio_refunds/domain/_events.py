"""Gateway events in gateway-neutral form: what ``RefundService.apply_event`` consumes (L5)."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from kanorio_refunds.domain._ids import ChargeId, EventId, PaymentIntentId
from kanorio_refunds.domain._payment import GatewayRefund


class EventKind(enum.Enum):
    """The kinds of gateway event the library acts on; anything else is IGNORED."""

    REFUND_CREATED = "refund.created"
    REFUND_UPDATED = "refund.updated"
    REFUND_FAILED = "refund.failed"
    CHARGE_REFUNDED = "charge.refunded"
    #: Before API 2024-10-28, status changes of card refunds arrive only as this event.
    CHARGE_REFUND_UPDATED = "charge.refund.updated"
    DISPUTE_OPENED = "charge.dispute.created"
    DISPUTE_UPDATED = "charge.dispute.updated"
    DISPUTE_CLOSED = "charge.dispute.closed"
    IGNORED = "ignored"

    @classmethod
    def of(cls, stripe_type: str) -> EventKind:
        """The kind for a Stripe event type string; IGNORED for types we do not act on."""
        for kind in cls:
            if kind.value == stripe_type:
                return kind
        return cls.IGNORED


@attrs.frozen
class GatewayEvent:
    """An already verified gateway event.

    ``refunds`` holds the refund(s) the event carries (one for ``refund.*`` events; the charge's
    refunds for ``charge.refunded`` when the gateway includes them). ``disputed`` is what a
    dispute or charge event says about refunds being blocked, or None when it cannot tell; the
    service re-reads the payment live rather than trusting it.
    """

    id: EventId
    type: str
    created_at: datetime
    payment_intent_id: PaymentIntentId | None = None
    charge_id: ChargeId | None = None
    refunds: tuple[GatewayRefund, ...] = ()
    disputed: bool | None = None

    @property
    def kind(self) -> EventKind:
        """What the event means to the library."""
        return EventKind.of(self.type)


class EventEffect(enum.Enum):
    """What ``RefundService.apply_event`` did with an event."""

    APPLIED = "applied"  # the order changed
    UNCHANGED = "unchanged"  # the event agreed with the record (or only joined its timeline)
    STALE = "stale"  # older than what we know: recorded in the timeline, not applied
    DUPLICATE = "duplicate"  # this event id was applied before
    IGNORED = "ignored"  # a type the library does not act on
    UNKNOWN_ORDER = "unknown_order"  # no order has this payment: nothing to do here


@attrs.frozen
class EventOutcome:
    """The answer of ``apply_event``: a webhook endpoint returns 2xx for every one of these."""

    event_id: EventId
    effect: EventEffect
    order_id: str | None = None
    message: str = ""
