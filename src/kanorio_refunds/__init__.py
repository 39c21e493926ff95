"""Refund Stripe payments the way Kanorio's help page promises.

The names a host calls::

    from kanorio_refunds import RefundService, Money, FULL, Actor, Role, OrderId
    service = RefundService(orders=..., gateway=..., clock=...)
    amount = Money.parse("12.50", "USD")
    quote = service.quote(order_id, actor, amount=amount, reason="customer_request")
    refund = service.process(quote, actor)

Everything else is in a module named for it: ``kanorio_refunds.errors`` (every error, each with
a stable ``code``), ``kanorio_refunds.domain`` (every value type), ``kanorio_refunds.ports`` (the
``typing.Protocol`` ports), ``kanorio_refunds.adapters.*`` (in-memory stores, clocks, Stripe) and
``kanorio_refunds.testing`` (builders, strategies, contract suites, the Stripe simulator).

Importing this package never imports the ``stripe`` SDK; ``kanorio_refunds.adapters.stripe``
does, lazily, when you build a Stripe gateway.
"""

from kanorio_refunds.domain import (
    FULL,
    ActivityEntry,
    ActivityKind,
    Actor,
    ActorId,
    Currency,
    Eligibility,
    EventEffect,
    EventOutcome,
    FeePolicy,
    GatewayEvent,
    Money,
    Notice,
    Order,
    OrderDetails,
    OrderId,
    OrderStatus,
    PaymentRecord,
    Refund,
    RefundId,
    RefundQuote,
    RefundReason,
    RefundStatus,
    Role,
    SiteId,
)
from kanorio_refunds.errors import RefundError
from kanorio_refunds.service import RefundService

__all__ = [
    "FULL",
    "ActivityEntry",
    "ActivityKind",
    "Actor",
    "ActorId",
    "Currency",
    "Eligibility",
    "EventEffect",
    "EventOutcome",
    "FeePolicy",
    "GatewayEvent",
    "Money",
    "Notice",
    "Order",
    "OrderDetails",
    "OrderId",
    "OrderStatus",
    "PaymentRecord",
    "Refund",
    "RefundError",
    "RefundId",
    "RefundQuote",
    "RefundReason",
    "RefundService",
    "RefundStatus",
    "Role",
    "SiteId",
]
