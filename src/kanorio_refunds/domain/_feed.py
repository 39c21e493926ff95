"""O1: the activity feed, every order's activity entries in one global order, for hosts that
notify buyers and owners ("refund succeeded", "refund failed", "refund needs action").

Pure values; the ``ActivityFeed`` port (``kanorio_refunds.ports``) reads them, and the
repositories write them in the transaction of the order change they belong to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from kanorio_refunds.domain._events import EventOutcome
from kanorio_refunds.domain._ids import OrderId, SiteId
from kanorio_refunds.domain._order import ActivityEntry


@attrs.frozen
class FeedEntry:
    """O1: one activity entry of one order at its global ``position`` (1, 2, 3, … in the order
    the entries were saved; positions only grow). A reader keeps the last position it handled
    and asks for the entries after it."""

    position: int
    order_id: OrderId
    site_id: SiteId
    entry: ActivityEntry


def added_entries(
    before: Sequence[ActivityEntry], after: Sequence[ActivityEntry]
) -> tuple[ActivityEntry, ...]:
    """O1: the entries ``after`` adds to ``before``. The domain only appends to a timeline, so
    these are the entries past the common prefix (a rewritten timeline's rewritten part
    counts as added: its entries are new to a reader)."""
    n = min(len(before), len(after))
    if after[:n] == before[:n]:
        # The usual case, compared at C speed (entries shared with ``before`` compare by
        # identity): the timeline was only appended to.
        return tuple(after[n:])
    kept = 0
    while kept < n and (before[kept] is after[kept] or before[kept] == after[kept]):
        kept += 1
    return tuple(after[kept:])


def with_entries(outcome: EventOutcome, entries: Iterable[ActivityEntry]) -> EventOutcome:
    """O1: ``outcome`` carrying the entries its event added, and a message saying what
    happened (the entries' messages, when the outcome had none of its own)."""
    added = tuple(entries)
    message = outcome.message or "; ".join(e.message for e in added)
    if not message:
        message = "nothing to change: the order already showed this"
    return attrs.evolve(outcome, entries=added, message=message)


def check_feed_request(position: int, limit: int) -> None:
    """O1: ``position`` a non-negative int (0: from the start), ``limit`` a positive int;
    ``ValueError`` otherwise."""
    for name, value, least in (("after", position, 0), ("limit", limit, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be an int of at least {least}, got {value!r:.40}")
