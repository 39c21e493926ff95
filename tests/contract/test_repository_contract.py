"""``InMemoryOrderRepository`` runs the shipped ``OrderRepositoryContract`` (L4, L5, F3), the suite
a host runs on its own repository (docs/usage.md)."""

from __future__ import annotations

from kanorio_refunds.adapters.memory import InMemoryOrderRepository
from kanorio_refunds.ports import OrderRepository
from kanorio_refunds.testing.contracts import OrderRepositoryContract


class TestInMemoryOrderRepository(OrderRepositoryContract):
    """The in-memory repository keeps every promise of the ``OrderRepository`` port."""

    def make_repository(self) -> OrderRepository:
        """A fresh, empty ``InMemoryOrderRepository``."""
        return InMemoryOrderRepository()
