"""``OrderListingContract``: what the Transactions list and the periodic sync rely on from an
``OrderListing`` (O2, I2).

A site's orders come newest first (most recently added), filtered by status and by refunds in
progress, page by page with opaque cursors that lose and repeat nothing; another listing's or a
garbled cursor is ``InvalidCursor``; ``needing_sync`` lists exactly the orders with a refund in
progress or a pending payment, in id order. The suite uses only the ports' methods.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kanorio_refunds.domain import (
    ListingQuery,
    Money,
    Order,
    OrderId,
    OrderStatus,
    Refund,
    RefundId,
    RefundOrigin,
    RefundStatus,
    SiteId,
)
from kanorio_refunds.errors import InvalidCursor
from kanorio_refunds.ports import OrderListing, OrderRepository

_T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _order(
    n: int, status: OrderStatus, *, site: str = "shop-1", refund: RefundStatus | None = None
) -> Order:
    order = Order(
        id=OrderId(f"ord_{n:02d}"),
        site_id=SiteId(site),
        total=Money.parse("10.00", "USD"),
        status=status,
    )
    if refund is None:
        return order
    return order.with_refund(
        Refund(
            id=RefundId(f"rf_{n}"),
            order_id=order.id,
            amount=Money.parse("1.00", "USD"),
            status=refund,
            created_at=_T0,
            origin=RefundOrigin.LOCAL,
        )
    )


class OrderListingContract:
    """Subclass with ``make_stores()`` returning a fresh, empty repository and the listing
    over it (often the same object)."""

    def make_stores(self) -> tuple[OrderRepository, OrderListing]:
        """A fresh, empty repository and its listing."""
        raise NotImplementedError

    def _fill(self) -> tuple[OrderRepository, OrderListing]:
        orders, listing = self.make_stores()
        orders.add(_order(1, OrderStatus.PAID))
        orders.add(_order(2, OrderStatus.PENDING))
        orders.add(_order(3, OrderStatus.PARTIALLY_REFUNDED, refund=RefundStatus.PENDING))
        orders.add(_order(4, OrderStatus.PAID, site="shop-2", refund=RefundStatus.SUBMITTING))
        orders.add(_order(5, OrderStatus.REFUNDED, refund=RefundStatus.SUCCEEDED))
        orders.add(_order(6, OrderStatus.PAID, refund=RefundStatus.REQUIRES_ACTION))
        return orders, listing

    def test_a_sites_orders_come_newest_first(self) -> None:
        """O2: only the site's orders, the most recently added first."""
        _, listing = self._fill()
        page = listing.list_orders(ListingQuery(SiteId("shop-1")))
        assert page.order_ids == ("ord_06", "ord_05", "ord_03", "ord_02", "ord_01")
        assert page.next_cursor is None

    def test_filters_by_status_and_refunds_in_progress(self) -> None:
        """O2: by order status, with or without refunds in progress, and both at once."""
        _, listing = self._fill()
        site = SiteId("shop-1")
        paid = listing.list_orders(ListingQuery(site, status=OrderStatus.PAID))
        assert paid.order_ids == ("ord_06", "ord_01")
        busy = listing.list_orders(ListingQuery(site, in_progress=True))
        assert busy.order_ids == ("ord_06", "ord_03")
        idle = listing.list_orders(ListingQuery(site, in_progress=False))
        assert idle.order_ids == ("ord_05", "ord_02", "ord_01")
        both = listing.list_orders(ListingQuery(site, status=OrderStatus.PAID, in_progress=True))
        assert both.order_ids == ("ord_06",)

    def test_pages_lose_and_repeat_nothing(self) -> None:
        """O2: keyset pages of any size list every order once, newest first, even when orders
        are added between pages (those are newer: they belong before the first page)."""
        orders, listing = self._fill()
        for size in (1, 4, 2):  # the add during the size-2 run comes last
            seen: list[str] = []
            cursor: str | None = None
            while True:
                page = listing.list_orders(ListingQuery(SiteId("shop-1"), after=cursor, limit=size))
                assert len(page.order_ids) <= size
                seen += page.order_ids
                if size == 2 and len(seen) == 2:
                    orders.add(_order(90 + len(seen), OrderStatus.PAID))
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            assert seen[:5] == ["ord_06", "ord_05", "ord_03", "ord_02", "ord_01"][: len(seen)]
            assert len(seen) == 5

    @pytest.mark.parametrize("cursor", ["", "garbage", "kc1.", "kc1.WyJvdGhlciIsMV0"])
    def test_a_cursor_it_did_not_give_is_refused(self, cursor: str) -> None:
        """O2: a garbled cursor or another listing's is ``InvalidCursor``, never a wrong page."""
        _, listing = self._fill()
        with pytest.raises(InvalidCursor):
            listing.list_orders(ListingQuery(SiteId("shop-1"), after=cursor))

    def test_needing_sync_lists_refunds_in_progress_and_pending_payments(self) -> None:
        """I2, L2: SUBMITTING, PENDING, REQUIRES_ACTION refunds and PENDING orders, any site,
        in id order, in batches after the last id."""
        _, listing = self._fill()
        expected = ("ord_02", "ord_03", "ord_04", "ord_06")
        assert listing.needing_sync(None, 100) == expected
        assert listing.needing_sync(None, 2) == expected[:2]
        assert listing.needing_sync(OrderId("ord_03"), 100) == expected[2:]

    def test_the_lists_follow_saves(self) -> None:
        """O2, I2: a save that settles a refund or a payment moves the order out of the lists."""
        orders, listing = self._fill()
        order = orders.get(OrderId("ord_06"))
        refund = order.refunds[0]
        done = order.with_refund(refund.moved_to(RefundStatus.SUCCEEDED, as_of=_T0))
        orders.save(done, order.version)
        pending = orders.get(OrderId("ord_02"))
        orders.save(pending.with_status(OrderStatus.PAID), pending.version)
        assert listing.needing_sync(None, 100) == ("ord_03", "ord_04")
        busy = listing.list_orders(ListingQuery(SiteId("shop-1"), in_progress=True))
        assert busy.order_ids == ("ord_03",)
