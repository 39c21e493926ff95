"""O1, O2: the in-memory repository runs the shipped feed and listing contract suites."""

from __future__ import annotations

from kanorio_refunds.adapters.memory import InMemoryOrderRepository
from kanorio_refunds.ports import ActivityFeed, OrderListing, OrderRepository
from kanorio_refunds.testing.contracts import ActivityFeedContract, OrderListingContract


class TestInMemoryActivityFeed(ActivityFeedContract):
    """The in-memory repository is its own feed."""

    def make_stores(self) -> tuple[OrderRepository, ActivityFeed]:
        repository = InMemoryOrderRepository()
        return repository, repository


class TestInMemoryOrderListing(OrderListingContract):
    """The in-memory repository is its own listing."""

    def make_stores(self) -> tuple[OrderRepository, OrderListing]:
        repository = InMemoryOrderRepository()
        return repository, repository
