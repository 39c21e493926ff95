"""Identifiers. Plain strings at runtime, distinct types for mypy so ids are never mixed up."""

from typing import NewType

OrderId = NewType("OrderId", str)
SiteId = NewType("SiteId", str)
ActorId = NewType("ActorId", str)
RefundId = NewType("RefundId", str)
QuoteId = NewType("QuoteId", str)
EventId = NewType("EventId", str)
PaymentIntentId = NewType("PaymentIntentId", str)
ChargeId = NewType("ChargeId", str)
GatewayRefundId = NewType("GatewayRefundId", str)
