"""``HookedRepository``: the one hooked ``OrderRepository`` of the tests.

It wraps a repository (by default a fresh ``InMemoryOrderRepository``; give another one to hook
one process's calls only) and can put another process's work at a chosen point of this one:

- ``before_save``: one-shot hooks run just before the next save (someone's read, then another
  process's work, then their versioned save: L4);
- ``hook`` at ``at_step``: run once before this wrapper's ``at_step``-th call among ``only``;
- ``pause``: sleep that long before each get and save, so threads racing through the service
  really interleave between read and save.

``calls`` names every call, in order. Port methods it does not hook pass straight through.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from kanorio_refunds.adapters.memory import InMemoryOrderRepository
from kanorio_refunds.domain._ids import ChargeId, OrderId, PaymentIntentId
from kanorio_refunds.domain._order import Order
from kanorio_refunds.ports import OrderRepository


class HookedRepository:
    def __init__(
        self,
        inner: OrderRepository | None = None,
        *,
        at_step: int | None = None,
        hook: Callable[[], None] | None = None,
        only: frozenset[str] = frozenset({"get", "save", "find_by_payment", "add"}),
        pause: float = 0.0,
    ) -> None:
        self.inner: Any = inner if inner is not None else InMemoryOrderRepository()
        self.at_step = at_step
        self.hook = hook
        self.only = only
        self.pause = pause
        self.steps = 0
        self.calls: list[str] = []
        self.fired = False
        self.before_save: list[Callable[[], object]] = []
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _step(self, name: str) -> None:
        with self._lock:
            self.calls.append(name)
            if name not in self.only:
                return
            fire = not self.fired and self.hook is not None and self.steps == self.at_step
            self.fired = self.fired or fire
            self.steps += 1
        if fire:
            assert self.hook is not None
            self.hook()

    def get(self, order_id: OrderId) -> Order:
        self._step("get")
        if self.pause:
            time.sleep(self.pause)
        return self.inner.get(order_id)  # type: ignore[no-any-return]

    def add(self, order: Order) -> Order:
        self._step("add")
        return self.inner.add(order)  # type: ignore[no-any-return]

    def save(self, order: Order, expected_version: int) -> Order:
        self._step("save")
        while True:
            with self._lock:
                if not self.before_save:
                    break
                hook = self.before_save.pop(0)
            hook()
        if self.pause:
            time.sleep(self.pause)
        return self.inner.save(order, expected_version)  # type: ignore[no-any-return]

    def find_by_payment(
        self, payment_intent_id: PaymentIntentId | None, charge_id: ChargeId | None
    ) -> Order | None:
        self._step("find_by_payment")
        return self.inner.find_by_payment(payment_intent_id, charge_id)  # type: ignore[no-any-return]
