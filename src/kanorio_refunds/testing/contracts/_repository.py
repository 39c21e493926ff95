"""``OrderRepositoryContract``: what the service relies on from an ``OrderRepository`` (L4, L5)."""

from __future__ import annotations

from kanorio_refunds.ports import OrderRepository


class OrderRepositoryContract:
    """The ``OrderRepository`` port contract, as a pytest base class.

    Subclass it in a class named ``Test...`` and define ``make_repository``.
    """

    def make_repository(self) -> OrderRepository:
        """A fresh, empty repository of the adapter under test (called once per test, and once
        per example in property tests)."""
        raise NotImplementedError(
            f"{type(self).__name__} must define make_repository() to run OrderRepositoryContract"
        )
