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
does, lazily, when you build a Stripe gateway. The names here are loaded on first use (PEP 562):
``import kanorio_refunds`` costs next to nothing, ``from kanorio_refunds import RefundService``
loads what the service needs (issue 10).
"""

# Not ``typing.TYPE_CHECKING``: importing ``typing`` would cost more than this whole module.
# Type checkers treat any ``TYPE_CHECKING`` as true, and see the names imported below.
TYPE_CHECKING = False
if TYPE_CHECKING:
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

# Where each top-level name lives; loaded by ``__getattr__`` on first use, then kept here.
_HOMES: dict[str, str] = {
    **dict.fromkeys(__all__, "kanorio_refunds.domain"),
    "RefundError": "kanorio_refunds.errors",
    "RefundService": "kanorio_refunds.service",
}
# The submodules ``import kanorio_refunds`` used to load with those names, still reachable as
# attributes of the package without an import of their own.
_SUBMODULES = frozenset({"domain", "errors", "ports", "service"})


if not TYPE_CHECKING:  # a type checker sees the names themselves, imported above

    def __getattr__(name):
        """PEP 562: a top-level name (or one of ``_SUBMODULES``), imported on first use."""
        from importlib import import_module

        if name in _SUBMODULES:
            return import_module(f"{__name__}.{name}")
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(import_module(home), name)
        globals()[name] = value
        return value

    def __dir__():
        return sorted({*globals(), *__all__, *_SUBMODULES})
