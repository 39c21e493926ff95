"""The pure domain: value objects, statuses, refund rules and every change to an order.

No I/O, clock, randomness or gateway knowledge. Import from this package; its modules
(``domain._money``, ``domain._order``, …) are internal and may move between releases.
The names a host calls most are also at the top level (``kanorio_refunds``); the rest are here
for adapter writers (``GatewayRefund``, ``LivePayment``, ``RefundRequest`` cross the
``PaymentGateway`` port) and for tests.
"""

from kanorio_refunds.domain._actor import Actor, Role
from kanorio_refunds.domain._amount import FULL, FullAmount
from kanorio_refunds.domain._balance import BalanceBreakdown, FeePolicy
from kanorio_refunds.domain._details import OrderDetails
from kanorio_refunds.domain._eligibility import (
    NO_REFUNDABLE_BALANCE,
    NO_VALID_PAYMENT,
    NOT_OWNER_OR_ADMIN,
    PAYMENT_DISPUTED,
    STATUS_NOT_REFUNDABLE,
    Eligibility,
    Ineligibility,
)
from kanorio_refunds.domain._events import EventEffect, EventKind, EventOutcome, GatewayEvent
from kanorio_refunds.domain._feed import FeedEntry
from kanorio_refunds.domain._ids import (
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
from kanorio_refunds.domain._listing import (
    ListingPage,
    ListingQuery,
    TransactionRow,
    TransactionsPage,
)
from kanorio_refunds.domain._money import Currency, Money
from kanorio_refunds.domain._order import ActivityEntry, ActivityKind, Order, OrderStatus
from kanorio_refunds.domain._payment import (
    METADATA_NOTES,
    METADATA_ORDER_ID,
    METADATA_REASON,
    METADATA_REFUND_ID,
    GatewayRefund,
    LivePayment,
    PaymentRecord,
    PaymentState,
    RefundRequest,
)
from kanorio_refunds.domain._quote import Notice, RefundQuote
from kanorio_refunds.domain._refund import (
    Refund,
    RefundEventEntry,
    RefundOrigin,
    RefundReason,
    RefundStatus,
)

__all__ = [
    "FULL",
    "METADATA_NOTES",
    "METADATA_ORDER_ID",
    "METADATA_REASON",
    "METADATA_REFUND_ID",
    "NOT_OWNER_OR_ADMIN",
    "NO_REFUNDABLE_BALANCE",
    "NO_VALID_PAYMENT",
    "PAYMENT_DISPUTED",
    "STATUS_NOT_REFUNDABLE",
    "ActivityEntry",
    "ActivityKind",
    "Actor",
    "ActorId",
    "BalanceBreakdown",
    "ChargeId",
    "Currency",
    "Eligibility",
    "EventEffect",
    "EventId",
    "EventKind",
    "EventOutcome",
    "FeePolicy",
    "FeedEntry",
    "FullAmount",
    "GatewayEvent",
    "GatewayRefund",
    "GatewayRefundId",
    "Ineligibility",
    "ListingPage",
    "ListingQuery",
    "LivePayment",
    "Money",
    "Notice",
    "Order",
    "OrderDetails",
    "OrderId",
    "OrderStatus",
    "PaymentIntentId",
    "PaymentRecord",
    "PaymentState",
    "QuoteId",
    "Refund",
    "RefundEventEntry",
    "RefundId",
    "RefundOrigin",
    "RefundQuote",
    "RefundReason",
    "RefundRequest",
    "RefundStatus",
    "Role",
    "SiteId",
    "TransactionRow",
    "TransactionsPage",
]
