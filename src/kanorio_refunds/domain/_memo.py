"""Bounded memos of values derived from immutable tuples (issue 10: an order's refunds index,
its submitted refunds, its balance), shared by every thread of the host."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def remember(memo: dict[K, V], key: K, value: V, limit: int) -> V:
    """Store ``value`` under ``key``, first dropping the oldest entries while ``memo`` holds
    ``limit`` or more, and return ``value``.

    Threads share the memos, so another thread may drop or add an entry between our looking at
    the oldest key and dropping it: neither is an error (a memo only saves work; a missing
    entry is computed again), so a hosted request never fails on a ``KeyError`` or a
    ``RuntimeError`` from here.
    """
    while len(memo) >= limit:
        try:
            memo.pop(next(iter(memo)), None)
        except (RuntimeError, StopIteration):  # the memo changed under us: try next time
            break
    memo[key] = value
    return value
