"""Port contract suites for your own adapters: pytest base classes that prove an adapter keeps
its port's promises.

Subclass one in a class named ``Test...`` and give it a factory for your adapter; pytest then
runs every ``test_*`` method of the suite against it::

    from kanorio_refunds.testing.contracts import OrderRepositoryContract

    class TestMyOrderRepository(OrderRepositoryContract):
        def make_repository(self) -> OrderRepository:
            return MyOrderRepository(fresh_empty_database())

- ``OrderRepositoryContract``: versioned, atomic saves (L4), no partial writes, lookups by
  payment (L5), every field of an order stored and read back equal.
- ``ActivityFeedContract``: every stored activity entry once in the feed, at a global
  position, in save order, none for a conflicting save (O1).
- ``OrderListingContract``: a site's orders newest first, filtered, keyset pages that lose
  nothing, refused foreign cursors, and the orders needing sync (O2, I2).
- ``ProcessedEventsContract``: seen/record idempotent, event ids kept distinct (L5).
- ``PaymentGatewayContract``: a ``PaymentGateway`` over the Stripe simulator (``FakeStripe``)
  reads payments and refunds, creates refunds idempotently and translates every fault (L1-L3,
  B1-B4, E5, M3) exactly as this library's own gateways do.

This library runs the same suites on its own adapters. The module needs ``pytest`` and
``hypothesis`` (test-time dependencies); ``import kanorio_refunds`` never imports it, and it
never imports the ``stripe`` SDK.
"""

from kanorio_refunds.testing.contracts._feed import ActivityFeedContract
from kanorio_refunds.testing.contracts._gateway import PaymentGatewayContract
from kanorio_refunds.testing.contracts._listing import OrderListingContract
from kanorio_refunds.testing.contracts._processed_events import ProcessedEventsContract
from kanorio_refunds.testing.contracts._repository import OrderRepositoryContract

__all__ = [
    "ActivityFeedContract",
    "OrderListingContract",
    "OrderRepositoryContract",
    "PaymentGatewayContract",
    "ProcessedEventsContract",
]
