"""A refund of (part of) an order, its status machine (S3) and its gateway event timeline (F3)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Final

import attrs

from kanorio_refunds.domain._ids import (
    ActorId,
    EventId,
    GatewayRefundId,
    OrderId,
    QuoteId,
    RefundId,
)
from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._slots import fast_init
from kanorio_refunds.errors import IllegalTransition, InvalidReason


class RefundStatus(enum.Enum):
    """Where a refund stands. SUBMITTING is ours (recorded, not yet acknowledged by Stripe)."""

    # Hashed by identity, as members compare (issue 10: Enum's own __hash__ is Python code,
    # run on every set or dict lookup of a member).
    __hash__ = object.__hash__

    SUBMITTING = "submitting"
    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def reserves(self) -> bool:
        """B1: True when a refund in this status holds part of the balance."""
        return self not in (RefundStatus.FAILED, RefundStatus.CANCELED)

    @property
    def is_final(self) -> bool:
        """True for FAILED and CANCELED, which never change again."""
        return self in (RefundStatus.FAILED, RefundStatus.CANCELED)


#: B1: the statuses whose refunds hold no part of the balance (``RefundStatus.reserves`` is
#: False for them), as a set: hot paths ask ``status in RELEASED`` without property calls.
RELEASED: Final[frozenset[RefundStatus]] = frozenset({RefundStatus.FAILED, RefundStatus.CANCELED})

#: The statuses a refund never leaves (``RefundStatus.is_final`` is True for them), as a set
#: for the hot paths, like ``RELEASED``.
FINAL: Final[frozenset[RefundStatus]] = frozenset({RefundStatus.FAILED, RefundStatus.CANCELED})


class RefundReason(enum.Enum):
    """The reason the seller gives (N1). Optional."""

    DUPLICATE = "duplicate"
    FRAUDULENT = "fraudulent"
    CUSTOMER_REQUEST = "customer_request"
    OTHER = "other"

    @classmethod
    def parse(cls, value: str | RefundReason | None) -> RefundReason | None:
        """A reason from its name or value (case-insensitive); None or "" for no reason."""
        if value is None or isinstance(value, RefundReason):
            return value
        text = str(value).strip().lower()
        if not text:
            return None
        for reason in cls:
            if text in (reason.value, reason.name.lower()):
                return reason
        choices = ", ".join(r.name for r in cls)
        raise InvalidReason(f"{value!r} is not a refund reason; choose one of {choices} or none")


class RefundOrigin(enum.Enum):
    """Who started the refund: this library, or someone elsewhere (e.g. the Stripe dashboard)."""

    LOCAL = "local"
    EXTERNAL = "external"


# S3: the refund state machine.
_REFUND_TRANSITIONS: Final[dict[RefundStatus, frozenset[RefundStatus]]] = {
    RefundStatus.SUBMITTING: frozenset(RefundStatus) - {RefundStatus.SUBMITTING},
    RefundStatus.PENDING: frozenset(
        {
            RefundStatus.SUCCEEDED,
            RefundStatus.FAILED,
            RefundStatus.CANCELED,
            RefundStatus.REQUIRES_ACTION,
        }
    ),
    RefundStatus.REQUIRES_ACTION: frozenset(
        {
            RefundStatus.PENDING,
            RefundStatus.SUCCEEDED,
            RefundStatus.FAILED,
            RefundStatus.CANCELED,
        }
    ),
    RefundStatus.SUCCEEDED: frozenset({RefundStatus.FAILED, RefundStatus.REQUIRES_ACTION}),
    RefundStatus.FAILED: frozenset(),
    RefundStatus.CANCELED: frozenset(),
}


def refund_transition_allowed(current: RefundStatus, new: RefundStatus) -> bool:
    """S3: True when a refund may move from ``current`` to ``new`` (staying put is not a move)."""
    return new in _REFUND_TRANSITIONS[current]


def check_refund_transition(current: RefundStatus, new: RefundStatus) -> None:
    """S3: raise ``IllegalTransition`` unless ``current`` → ``new`` is allowed."""
    if not refund_transition_allowed(current, new):
        allowed = ", ".join(sorted(s.name for s in _REFUND_TRANSITIONS[current])) or "nothing"
        raise IllegalTransition(
            f"a refund cannot go from {current.name} to {new.name}; from {current.name} it may "
            f"go to: {allowed}"
        )


@fast_init
@attrs.frozen
class RefundEventEntry:
    """One entry of a refund's Stripe event timeline (F3).

    ``applied`` is False for an event that arrived but did not change the refund (a stale or
    duplicate event, L5): it is still shown so support can see what Stripe said and when.
    """

    event_id: EventId
    type: str
    occurred_at: datetime
    status: RefundStatus | None
    applied: bool


@fast_init
@attrs.frozen
class Refund:
    """A refund as the order records it (F3)."""

    id: RefundId
    order_id: OrderId
    amount: Money
    status: RefundStatus
    created_at: datetime
    origin: RefundOrigin
    reason: RefundReason | None = None
    notes: str = ""
    requested_by: ActorId | None = None
    quote_id: QuoteId | None = None
    gateway_refund_id: GatewayRefundId | None = None
    failure_reason: str | None = None
    #: When the gateway last reported this refund's status (orders events: L5).
    status_as_of: datetime | None = None
    events: tuple[RefundEventEntry, ...] = ()

    @property
    def reserves(self) -> bool:
        """B1: True while this refund holds part of the refundable balance."""
        return self.status.reserves

    def moved_to(
        self,
        status: RefundStatus,
        *,
        as_of: datetime | None,
        failure_reason: str | None = None,
        gateway_refund_id: GatewayRefundId | None = None,
    ) -> Refund:
        """This refund in ``status`` (S3 checked; ``IllegalTransition`` otherwise)."""
        if status != self.status:
            check_refund_transition(self.status, status)
        status_as_of = as_of if as_of is not None else self.status_as_of
        failure = failure_reason if status in FINAL else self.failure_reason
        gateway_id = gateway_refund_id or self.gateway_refund_id
        if type(self) is not Refund:  # a subclass's own fields are kept
            return attrs.evolve(
                self,
                status=status,
                status_as_of=status_as_of,
                failure_reason=failure,
                gateway_refund_id=gateway_id,
            )
        # Built directly (issue 10: ``attrs.evolve`` introspects the class on every call).
        return Refund(
            self.id,
            self.order_id,
            self.amount,
            status,
            self.created_at,
            self.origin,
            self.reason,
            self.notes,
            self.requested_by,
            self.quote_id,
            gateway_id,
            failure,
            status_as_of,
            self.events,
        )

    def with_event(self, record: RefundEventEntry) -> Refund:
        """This refund with ``record`` appended to its event timeline."""
        return attrs.evolve(self, events=(*self.events, record))

    def has_event(self, event_id: EventId) -> bool:
        """True when the event is already in this refund's timeline."""
        return any(e.event_id == event_id for e in self.events)
