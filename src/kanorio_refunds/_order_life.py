"""The order-life use cases of ``RefundService`` (I1, I2, O1, O2) and its versioned update loop.

A base class of ``RefundService`` (``service.py``), kept apart so each file stays readable:
the same rules hold here (load, decide in the domain, call the gateway, save; nothing built by
hand). Hosts use ``RefundService``; this module is internal.
"""

from __future__ import annotations

from collections.abc import Callable

from kanorio_refunds.domain._actor import Actor
from kanorio_refunds.domain._balance import FeePolicy
from kanorio_refunds.domain._feed import FeedEntry, added_entries, check_feed_request
from kanorio_refunds.domain._ids import OrderId, SiteId
from kanorio_refunds.domain._intake import (
    registered_order,
    require_payment_reference,
    require_same_registration,
)
from kanorio_refunds.domain._listing import (
    ListingQuery,
    TransactionsPage,
    check_limit,
    matches,
    require_list_role,
    transaction_row,
)
from kanorio_refunds.domain._order import ActivityEntry, Order, OrderStatus
from kanorio_refunds.errors import ConcurrencyConflict, OrderAlreadyExists, OrderNotFound
from kanorio_refunds.ports import (
    ActivityFeed,
    Clock,
    OrderListing,
    OrderRepository,
    PaymentGateway,
)


class OrderLifeUseCases:
    """Intake, the notification feed, the Transactions list and the sync query (I1, O1, O2)."""

    orders: OrderRepository
    gateway: PaymentGateway
    clock: Clock
    fee_policy: FeePolicy
    max_attempts: int
    activity_feed: ActivityFeed | None
    listing: OrderListing | None

    def register_order(
        self,
        order_id: OrderId,
        site_id: SiteId,
        *,
        payment_intent_id: str | None = None,
        charge_id: str | None = None,
    ) -> Order:
        """I1: register the order paid (or to be paid) by a Stripe PaymentIntent or Charge.

        Reads the payment from the gateway and stores the order with its payment record, the
        payment's amount as total and the status its state gives (PENDING, PAID,
        PAYMENT_FAILED, EXPIRED). Idempotent: the same registration again returns the stored
        order (brought up to date with the gateway). Raises ``OrderConflict`` when the id is
        registered for another payment, site or amount, or the payment for another order;
        ``InvalidPaymentRecord`` without a payment id; ``GatewayUnavailable``,
        ``GatewayRejected`` (no such payment), ``GatewayProtocolError``.
        """
        pi, ch = require_payment_reference(payment_intent_id, charge_id)
        at = self.clock.now()
        live = self.gateway.fetch_payment(pi, ch)
        for _ in range(self.max_attempts):
            existing = self._stored(order_id) or self.orders.find_by_payment(
                live.record.payment_intent_id or pi, live.record.charge_id or ch
            )
            if existing is not None:
                require_same_registration(existing, order_id, site_id, pi, ch, live)
                return self._live(order_id)
            try:
                return self.orders.add(registered_order(order_id, site_id, live, at=at))
            except OrderAlreadyExists:
                continue  # registered concurrently: compare with that registration
        raise ConcurrencyConflict(f"order {order_id} kept changing while it was registered")

    def feed(self, after: int = 0, limit: int = 100) -> tuple[FeedEntry, ...]:
        """O1: the activity entries of every order after position ``after``, oldest first, at
        most ``limit``: what a notification worker reads (it keeps the last position it
        handled). Needs the service's ``feed`` (``RefundService(..., feed=...)``)."""
        check_feed_request(after, limit)
        if self.activity_feed is None:
            raise TypeError("this RefundService has no feed: pass feed= (an ActivityFeed)")
        return self.activity_feed.read_after(after, limit)

    def transactions(
        self,
        site_id: SiteId,
        actor: Actor,
        *,
        status: OrderStatus | None = None,
        in_progress: bool | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> TransactionsPage:
        """O2: the site's Transactions list for its owner or an administrator (E2), newest
        first, optionally only orders in ``status`` and with (``in_progress=True``) or without
        refunds in progress; ``after`` is the ``next_cursor`` of the previous page.
        Raises ``PermissionDenied``, ``InvalidCursor``; ``ValueError`` for a limit outside
        1–1000. Needs the service's ``listing``."""
        require_list_role(site_id, actor)
        check_limit(limit)
        query = ListingQuery(site_id, status, in_progress, after, limit)
        page = self._listing().list_orders(query)
        # Each order is read as stored now: one that changed since the query no longer
        # matching the filter is left out rather than shown under a filter it fails.
        orders = (self._stored(order_id) for order_id in page.order_ids)
        rows = tuple(
            transaction_row(order, self.fee_policy)
            for order in orders
            if order is not None and matches(order, query)
        )
        return TransactionsPage(rows, page.next_cursor)

    def orders_needing_sync(
        self, *, after: OrderId | None = None, limit: int = 100
    ) -> tuple[OrderId, ...]:
        """I2, L2: ids of the orders a periodic job must ``sync``: a refund SUBMITTING,
        PENDING or REQUIRES_ACTION, or a payment still PENDING; in id order, after ``after``
        (the last id of the previous batch). docs/operations.md shows the job."""
        check_limit(limit, most=10_000)
        return self._listing().needing_sync(after, limit)

    # ------------------------------------------------------------------ internals

    def _listing(self) -> OrderListing:
        if self.listing is None:
            raise TypeError("this RefundService has no listing: pass listing= (an OrderListing)")
        return self.listing

    def _stored(self, order_id: OrderId) -> Order | None:
        try:
            return self.orders.get(order_id)
        except OrderNotFound:
            return None

    def _live(self, order_id: OrderId, added: list[ActivityEntry] | None = None) -> Order:
        raise NotImplementedError  # RefundService._live

    def _update(
        self,
        order_id: OrderId,
        change: Callable[[Order], Order],
        added: list[ActivityEntry] | None = None,
    ) -> Order:
        """Apply ``change`` to the latest stored order and save it with a version check,
        reloading and re-applying on a concurrent save (L4); saves nothing if nothing changed.
        ``change`` runs again on every attempt: a gateway read (``_live``) or a check
        (``process_quote``) is then made again on the newer order, never on an older one.
        ``added`` collects the activity entries the saved change added (O1: an event's
        outcome carries them)."""
        for _ in range(self.max_attempts):
            order = self.orders.get(order_id)
            updated = change(order)
            if updated is order or updated == order:  # most reads change nothing at all
                return order
            try:
                saved = self.orders.save(updated, order.version)
            except ConcurrencyConflict:
                continue
            if added is not None:
                added.extend(added_entries(order.activity, saved.activity))
            return saved
        raise ConcurrencyConflict(
            f"order {order_id} kept changing under us ({self.max_attempts} attempts); try again"
        )
