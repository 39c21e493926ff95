"""Gateway events in gateway-neutral form: what ``RefundService.apply_event`` consumes (L5)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Final

import attrs

from kanorio_refunds.domain._ids import ChargeId, EventId, PaymentIntentId
from kanorio_refunds.domain._order import ActivityEntry
from kanorio_refunds.domain._payment import GatewayRefund


class EventKind(enum.Enum):
    """What a gateway event means to the library; the gateway adapter decides which of its own
    event types is which (``adapters._stripe_json`` for Stripe). Anything else is IGNORED."""

    #: A refund was created; the event carries it.
    REFUND_CREATED = "refund_created"
    #: A refund's status (or failure reason) changed; the event carries it.
    REFUND_UPDATED = "refund_updated"
    #: A refund failed; the event carries it.
    REFUND_FAILED = "refund_failed"
    #: The payment's refunded amount changed: the service re-reads the payment.
    PAYMENT_REFUNDED = "payment_refunded"
    #: A dispute opened, changed or closed on the payment: the service re-reads the payment.
    DISPUTE_OPENED = "dispute_opened"
    DISPUTE_UPDATED = "dispute_updated"
    DISPUTE_CLOSED = "dispute_closed"
    #: I2: the payment succeeded, failed (a PaymentIntent may be retried) or was canceled: the
    #: service re-reads the payment and the order follows its live state (events are prompts).
    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    PAYMENT_CANCELED = "payment_canceled"
    #: Anything the library does not act on.
    IGNORED = "ignored"

    @property
    def reports_refunds(self) -> bool:
        """True for events that carry the refund they are about."""
        return self in _REFUND_KINDS

    @property
    def changes_payment(self) -> bool:
        """True for events that say the payment changed (the service reads it live)."""
        return self in _PAYMENT_KINDS


_REFUND_KINDS: Final = frozenset(
    {EventKind.REFUND_CREATED, EventKind.REFUND_UPDATED, EventKind.REFUND_FAILED}
)
_PAYMENT_KINDS: Final = frozenset(
    {
        EventKind.PAYMENT_REFUNDED,
        EventKind.DISPUTE_OPENED,
        EventKind.DISPUTE_UPDATED,
        EventKind.DISPUTE_CLOSED,
        EventKind.PAYMENT_SUCCEEDED,
        EventKind.PAYMENT_FAILED,
        EventKind.PAYMENT_CANCELED,
    }
)


@attrs.frozen
class GatewayEvent:
    """An already verified gateway event.

    ``refunds`` holds the refund(s) the event carries (one for ``refund.*`` events; the charge's
    refunds for ``charge.refunded`` when the gateway includes them). ``disputed`` is what a
    dispute or charge event says about refunds being blocked, or None when it cannot tell; the
    service re-reads the payment live rather than trusting it.
    """

    id: EventId
    kind: EventKind
    #: The gateway's own name for the event (``"refund.updated"``), shown in timelines.
    type: str
    created_at: datetime
    payment_intent_id: PaymentIntentId | None = None
    charge_id: ChargeId | None = None
    refunds: tuple[GatewayRefund, ...] = ()
    disputed: bool | None = None


class EventEffect(enum.Enum):
    """What ``RefundService.apply_event`` did with an event."""

    APPLIED = "applied"  # the order changed
    UNCHANGED = "unchanged"  # the event agreed with the record (or only joined its timeline)
    STALE = "stale"  # older than what we know: recorded in the timeline, not applied
    DUPLICATE = "duplicate"  # this event id was applied before
    IGNORED = "ignored"  # a type the library does not act on
    UNKNOWN_ORDER = "unknown_order"  # no order has this payment: nothing to do here
    #: The event names a refund the gateway's own data does not show (read live to check):
    #: nothing was created (L6: an event is a prompt, not proof).
    UNCONFIRMED = "unconfirmed"


@attrs.frozen
class EventOutcome:
    """The answer of ``apply_event``: a webhook endpoint returns 2xx for every one of these.

    ``message`` says what happened; ``entries`` are the activity entries the event added to
    the order (O1: a host reacting inside its webhook endpoint notifies from them; a worker
    reading the feed sees the same entries, each once).
    """

    event_id: EventId
    effect: EventEffect
    order_id: str | None = None
    message: str = ""
    entries: tuple[ActivityEntry, ...] = ()
