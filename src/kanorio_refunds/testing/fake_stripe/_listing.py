"""Stripe's cursor pagination over objects kept in creation order: one page, newest first.

The model keeps, per charge, the ids of its refunds and disputes in creation order, and every
id's position in the global creation order; a page is then found by bisection, so a list call
costs the page it returns, not the number of objects the model holds.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence


def page(
    ids: Sequence[str],
    seq: Mapping[str, int],
    limit: int,
    *,
    after: int | None = None,
    before: int | None = None,
) -> tuple[list[str], bool]:
    """(the page's ids newest first, has_more) of ``ids`` (in creation order: ascending
    ``seq``), Stripe's way.

    Without a cursor: the ``limit`` newest. ``after`` (the position of ``starting_after``): the
    ``limit`` objects just older than it. ``before`` (``ending_before``): the ``limit`` objects
    just newer than it, still newest first; ``has_more`` then says whether newer ones remain.
    """
    position = seq.__getitem__
    if after is not None:
        end = bisect_left(ids, after, key=position)
        start = max(0, end - limit)
        return list(reversed(ids[start:end])), end > limit
    if before is not None:
        start = bisect_right(ids, before, key=position)
        newer = len(ids) - start
        return list(reversed(ids[start : start + limit])), newer > limit
    start = max(0, len(ids) - limit)
    return list(reversed(ids[start:])), len(ids) > limit
