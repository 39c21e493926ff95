"""Bounded memos of values derived from immutable tuples (issue 10: an order's refunds index,
its submitted refunds, its balance), shared by every thread of the host."""

from __future__ import annotations

import itertools
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def remember(memo: dict[K, V], key: K, value: V, limit: int) -> V:
    """Store ``value`` under ``key`` and return it. A memo holding ``limit`` or more entries
    first drops its oldest, an eighth of ``limit`` at once (at least one).

    In batches because a dict finds its oldest entry by walking past the slots of the entries
    dropped before it (until it next resizes): dropping one per call made every call of a full
    memo cost that walk, about twelve times an insert with 4,096 entries. A batch pays it once.

    Threads share the memos, so another thread may drop or add entries while we pick the oldest
    and drop them: neither is an error (a memo only saves work; a missing entry is computed
    again), so a hosted request never fails on a ``KeyError`` or a ``RuntimeError`` from here.
    """
    if len(memo) >= limit:
        excess = len(memo) - limit + max(limit // 8, 1)
        try:
            oldest = list(itertools.islice(memo, excess))
        except RuntimeError:  # the memo changed under us: try next time
            oldest = []
        for old in oldest:
            memo.pop(old, None)
    memo[key] = value
    return value
