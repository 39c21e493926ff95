"""Refund Stripe payments the way Kanorio's help page promises.

The public API::

    from kanorio_refunds import RefundService, Money, FULL, Actor, Role, ...
    service = RefundService(orders=..., gateway=..., clock=...)
    amount = Money.parse("12.50", "USD")
    quote = service.quote(order_id, actor, amount=amount, reason="customer_request")
    refund = service.process(quote, actor)

Importing this package never imports the ``stripe`` SDK; ``kanorio_refunds.adapters.stripe``
does, lazily, when you build a Stripe gateway.
"""

from kanorio_refunds.domain.actor import Actor, Role
from kanorio_refunds.domain.amount import FULL, FullAmount
from kanorio_refunds.domain.balance import BalanceBreakdown, FeePolicy
from kanorio_refunds.domain.details import OrderDetails
from kanorio_refunds.domain.eligibility import Eligibility, Ineligibility
from kanorio_refunds.domain.errors import (
    AmountExceedsRefundable,
    ConcurrencyConflict,
    CurrencyMismatch,
    GatewayMisconfigured,
    GatewayProtocolError,
    GatewayRejected,
    GatewayUnavailable,
    IllegalTransition,
    InvalidAmount,
    InvalidEvent,
    InvalidNotes,
    InvalidPaymentRecord,
    InvalidQuote,
    InvalidReason,
    InvalidSignature,
    NotEligible,
    NotesRequired,
    OrderAlreadyExists,
    OrderNotFound,
    PermissionDenied,
    RefundError,
    RefundNotFound,
    StaleQuote,
    UnknownCurrency,
)
from kanorio_refunds.domain.events import EventKind, EventOutcome, EventResult, GatewayEvent
from kanorio_refunds.domain.ids import (
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
from kanorio_refunds.domain.money import Currency, Money
from kanorio_refunds.domain.order import ActivityEntry, ActivityKind, Order, OrderStatus
from kanorio_refunds.domain.payment import GatewayRefund, PaymentRecord, PaymentSnapshot
from kanorio_refunds.domain.quote import Notice, RefundQuote
from kanorio_refunds.domain.refund import (
    GatewayEventRecord,
    Refund,
    RefundOrigin,
    RefundReason,
    RefundStatus,
)
from kanorio_refunds.service import RefundService

__all__ = [
    "FULL",
    "ActivityEntry",
    "ActivityKind",
    "Actor",
    "ActorId",
    "AmountExceedsRefundable",
    "BalanceBreakdown",
    "ChargeId",
    "ConcurrencyConflict",
    "Currency",
    "CurrencyMismatch",
    "Eligibility",
    "EventId",
    "EventKind",
    "EventOutcome",
    "EventResult",
    "FeePolicy",
    "FullAmount",
    "GatewayEvent",
    "GatewayEventRecord",
    "GatewayMisconfigured",
    "GatewayProtocolError",
    "GatewayRefund",
    "GatewayRefundId",
    "GatewayRejected",
    "GatewayUnavailable",
    "IllegalTransition",
    "Ineligibility",
    "InvalidAmount",
    "InvalidEvent",
    "InvalidNotes",
    "InvalidPaymentRecord",
    "InvalidQuote",
    "InvalidReason",
    "InvalidSignature",
    "Money",
    "NotEligible",
    "NotesRequired",
    "Notice",
    "Order",
    "OrderAlreadyExists",
    "OrderDetails",
    "OrderId",
    "OrderNotFound",
    "OrderStatus",
    "PaymentIntentId",
    "PaymentRecord",
    "PaymentSnapshot",
    "PermissionDenied",
    "QuoteId",
    "Refund",
    "RefundError",
    "RefundId",
    "RefundNotFound",
    "RefundOrigin",
    "RefundQuote",
    "RefundReason",
    "RefundService",
    "RefundStatus",
    "Role",
    "SiteId",
    "StaleQuote",
    "UnknownCurrency",
]
