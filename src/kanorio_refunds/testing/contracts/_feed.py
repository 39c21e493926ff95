"""``ActivityFeedContract``: what hosts rely on from an ``ActivityFeed`` (O1).

Every activity entry a repository stores appears in the feed once, at a global position that
only grows, in the order the saves happened; a save that conflicts (nothing stored) adds no
entry; ``read_after`` pages through them in order with a limit. The suite uses only the
ports' methods.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kanorio_refunds.domain import (
    ActivityEntry,
    ActivityKind,
    Money,
    Order,
    OrderId,
    OrderStatus,
    SiteId,
)
from kanorio_refunds.errors import ConcurrencyConflict
from kanorio_refunds.ports import ActivityFeed, OrderRepository

_T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _order(n: int, site: str = "shop-1") -> Order:
    return Order(
        id=OrderId(f"ord_{n}"),
        site_id=SiteId(site),
        total=Money.parse("10.00", "USD"),
        status=OrderStatus.PENDING,
    )


def _note(order: Order, text: str, minutes: int = 0) -> Order:
    entry = ActivityEntry(_T0 + timedelta(minutes=minutes), ActivityKind.PAYMENT_UPDATED, text)
    return order.with_activity(entry)


class ActivityFeedContract:
    """Subclass with ``make_stores()`` returning a fresh, empty repository and the feed its
    saves write (often the same object)."""

    def make_stores(self) -> tuple[OrderRepository, ActivityFeed]:
        """A fresh, empty repository and its feed."""
        raise NotImplementedError

    def test_an_empty_feed_has_no_entries(self) -> None:
        """O1: nothing saved, nothing to read."""
        _, feed = self.make_stores()
        assert feed.read_after(0, 100) == ()

    def test_every_stored_entry_appears_once_in_save_order(self) -> None:
        """O1: entries of adds and saves of several orders get positions 1, 2, 3, … in the order
        they were stored, each with its order and site."""
        orders, feed = self.make_stores()
        a = orders.add(_note(_order(1), "a1"))
        b = orders.add(_note(_note(_order(2, "shop-2"), "b1"), "b2"))
        orders.save(_note(a, "a2"), a.version)
        orders.save(_note(b, "b3"), b.version)
        entries = feed.read_after(0, 100)
        assert [e.position for e in entries] == [1, 2, 3, 4, 5]
        assert [e.entry.message for e in entries] == ["a1", "b1", "b2", "a2", "b3"]
        assert [(e.order_id, e.site_id) for e in entries][:2] == [
            ("ord_1", "shop-1"),
            ("ord_2", "shop-2"),
        ]

    def test_read_after_pages_in_order_with_a_limit(self) -> None:
        """O1: a reader keeping its last position reads every entry once, whatever the limit."""
        orders, feed = self.make_stores()
        order = orders.add(_order(1))
        for i in range(7):
            order = orders.save(_note(order, f"n{i}", i), order.version)
        read, position = [], 0
        while page := feed.read_after(position, 3):
            assert len(page) <= 3
            read += [e.entry.message for e in page]
            position = page[-1].position
        assert read == [f"n{i}" for i in range(7)]
        assert feed.read_after(5, 1)[0].entry.message == "n5"

    def test_a_conflicting_save_adds_no_entry(self) -> None:
        """O1: an entry exists only when its change was saved (same transaction)."""
        orders, feed = self.make_stores()
        order = orders.add(_order(1))
        orders.save(_note(order, "first"), order.version)
        with pytest.raises(ConcurrencyConflict):
            orders.save(_note(order, "lost race"), order.version)
        assert [e.entry.message for e in feed.read_after(0, 10)] == ["first"]

    def test_a_save_without_new_activity_adds_nothing(self) -> None:
        """O1: the feed holds new entries only; rewriting nothing publishes nothing again."""
        orders, feed = self.make_stores()
        order = orders.add(_note(_order(1), "registered"))
        orders.save(order, order.version)
        assert len(feed.read_after(0, 10)) == 1
