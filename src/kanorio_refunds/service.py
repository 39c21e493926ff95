"""``RefundService``: the use cases of the help page, over the ports (rules F1–F4, L1–L6, P2).

Each use case loads the order, asks the domain what it becomes (``domain._refunding``,
``domain._reconcile``), calls the gateway and saves. Use cases that change an order check the
actor (P2), read live gateway data before deciding about money (B4) and save with the order's
version, deciding again on the reloaded order after a concurrent save (L4). A refund is written
ahead as SUBMITTING before the gateway is called (L1); an unknown outcome leaves it so (L2).
"""

from __future__ import annotations

from kanorio_refunds._order_life import OrderLifeUseCases
from kanorio_refunds.domain._actor import Actor
from kanorio_refunds.domain._amount import FULL, FullAmount
from kanorio_refunds.domain._balance import FeePolicy
from kanorio_refunds.domain._details import OrderDetails, order_details
from kanorio_refunds.domain._eligibility import Eligibility, check_eligibility, require_refund_role
from kanorio_refunds.domain._events import EventEffect, EventKind, EventOutcome, GatewayEvent
from kanorio_refunds.domain._feed import with_entries
from kanorio_refunds.domain._ids import OrderId, RefundId
from kanorio_refunds.domain._intake import follow_payment
from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._order import ActivityEntry, Order
from kanorio_refunds.domain._quote import RefundQuote
from kanorio_refunds.domain._reconcile import event_needs_live_read, reconcile
from kanorio_refunds.domain._refund import Refund, RefundReason, RefundStatus
from kanorio_refunds.domain._refunding import (
    apply_refund_event,
    process_quote,
    quote_refund,
    record_answer,
    record_rejection,
    record_unknown_outcome,
    refund_made,
    refund_request,
    require_may_process,
    set_buyer_access,
)
from kanorio_refunds.errors import GatewayProtocolError, GatewayRejected, GatewayUnavailable
from kanorio_refunds.ports import (
    ActivityFeed,
    Clock,
    OrderListing,
    OrderRepository,
    PaymentGateway,
    ProcessedEvents,
)


class RefundService(OrderLifeUseCases):
    """Refund orders through a payment gateway, keeping their status, refunds and activity true.

    ``orders``, ``gateway``, ``clock`` and ``processed_events`` are the ports
    (``kanorio_refunds.ports``); without ``processed_events`` events still apply idempotently,
    but a redelivered charge or dispute event is read again, not reported as a duplicate.
    ``fee_policy`` is B5's policy; ``max_attempts`` bounds the retries on concurrent saves.
    ``feed`` (O1) and ``listing`` (O2) default to ``orders`` when it is one (the in-memory
    and SQL repositories are); intake and the lists are in ``_order_life``.
    """

    def __init__(
        self,
        orders: OrderRepository,
        gateway: PaymentGateway,
        clock: Clock,
        *,
        processed_events: ProcessedEvents | None = None,
        fee_policy: FeePolicy = FeePolicy.NET_OF_FEES,
        max_attempts: int = 10,
        feed: ActivityFeed | None = None,
        listing: OrderListing | None = None,
    ) -> None:
        self.orders = orders
        self.gateway = gateway
        self.clock = clock
        self.processed_events = processed_events
        self.fee_policy = fee_policy
        self.max_attempts = max_attempts
        self.activity_feed = feed or (orders if isinstance(orders, ActivityFeed) else None)
        self.listing = listing or (orders if isinstance(orders, OrderListing) else None)

    def eligibility(self, order_id: OrderId, actor: Actor) -> Eligibility:
        """E1–E5 on live gateway data: may ``actor`` refund the order now, and if not, why not.
        An actor E2 refuses gets the answer from stored data (no Stripe call, no write).
        Raises ``OrderNotFound``, ``GatewayUnavailable``."""
        order = self.orders.get(order_id)
        if actor.may_refund(order.site_id):
            order = self._live(order_id)
        return check_eligibility(order, actor, self.fee_policy)

    def order_details(self, order_id: OrderId, actor: Actor, *, live: bool = False) -> OrderDetails:
        """The order page (F3) for the site's owner and administrators (E2), from stored data or,
        with ``live=True``, refreshed from the gateway first.
        Raises ``OrderNotFound``, ``PermissionDenied`` (and ``GatewayUnavailable`` when live)."""
        order = self.orders.get(order_id)
        require_refund_role(order, actor)
        if live:
            order = self._live(order_id)
        return order_details(order, actor, self.fee_policy)

    def quote(
        self,
        order_id: OrderId,
        actor: Actor,
        amount: Money | FullAmount = FULL,
        reason: RefundReason | str | None = None,
        notes: str = "",
    ) -> RefundQuote:
        """F1, "Confirm Refund": validate everything against live data and say what processing
        will do. ``amount=FULL`` is "Refund Full Amount" (A5). Raises ``PermissionDenied``,
        ``NotEligible`` (every failing code), ``InvalidAmount``, ``CurrencyMismatch``,
        ``AmountExceedsRefundable``, ``InvalidReason``, ``NotesRequired``, ``InvalidNotes``,
        ``OrderNotFound``, ``GatewayUnavailable``."""
        parsed_reason = RefundReason.parse(reason)
        require_refund_role(self.orders.get(order_id), actor)
        order = self._live(order_id)
        now = self.clock.now()
        return quote_refund(order, actor, amount, parsed_reason, notes, self.fee_policy, at=now)

    def process(self, quote: RefundQuote, actor: Actor) -> Refund:
        """F2, "Process Refund": execute a quote, at most once.

        Re-checks on fresh data that what the quote showed (status, refundable balance, the
        order's refunds) still holds, else ``StaleQuote``: a webhook echo or timeline entry
        changing none of it does not matter. Writes the refund ahead as SUBMITTING (L1), then
        calls the gateway with an idempotency key derived from the refund id. The same quote
        again returns the same refund (one still SUBMITTING is sent again, same key).

        Raises ``InvalidQuote``, ``PermissionDenied``, ``StaleQuote``, ``NotEligible``,
        ``AmountExceedsRefundable``, ``GatewayRejected`` (the refund is FAILED, released: L3),
        ``GatewayUnavailable`` (outcome unknown: the refund stays SUBMITTING, reserved: L2),
        ``ConcurrencyConflict`` after repeated races.
        """
        require_may_process(self.orders.get(quote.order_id), quote, actor)
        self._live(quote.order_id)
        now = self.clock.now()
        # Checked and written ahead in one versioned save: after a concurrent save the check runs
        # again on the newer order, which holds any refund another process reserved (L4).
        saved = self._update(
            quote.order_id,
            lambda order: process_quote(order, quote, actor, self.fee_policy, at=now),
        )
        refund = saved.refund_for_quote(quote.id)
        assert refund is not None  # process_quote recorded it, or found it recorded
        if refund.status is RefundStatus.SUBMITTING:
            return self._submit(refund.order_id, refund.id)
        return refund

    def revoke_buyer_access(self, order_id: OrderId, actor: Actor) -> Order:
        """F4: stop the buyer's access to the content. Idempotent; recorded in the activity.
        Refunds never do this by themselves. Raises ``PermissionDenied``, ``OrderNotFound``."""
        return self._set_buyer_access(order_id, actor, granted=False)

    def restore_buyer_access(self, order_id: OrderId, actor: Actor) -> Order:
        """F4: give the buyer access again. Idempotent; recorded in the activity.
        Raises ``PermissionDenied``, ``OrderNotFound``."""
        return self._set_buyer_access(order_id, actor, granted=True)

    def apply_event(self, event: GatewayEvent) -> EventOutcome:
        """L5, L6: apply an already verified gateway event, idempotently and order-insensitively.

        A refund event moves the status of the refund it names; a stale one joins its timeline
        without moving it back. An event is a prompt, not proof: it never changes an amount; a
        refund the order lacks, knows only by our metadata or with another amount makes the
        service read Stripe first and record only what Stripe shows (else UNCONFIRMED). Charge
        and dispute events refresh the payment. Unknown types are IGNORED, events for payments
        of no order UNKNOWN_ORDER: a webhook endpoint answers 2xx to every outcome.

        Raises ``GatewayUnavailable`` when a needed live read fails (answer 5xx: the gateway
        redelivers), ``GatewayMisconfigured``, ``GatewayProtocolError``, ``ConcurrencyConflict``.
        """
        if self.processed_events is not None and self.processed_events.seen(event.id):
            return EventOutcome(event.id, EventEffect.DUPLICATE, message="already applied")
        kind = event.kind
        if kind is EventKind.IGNORED or (kind.reports_refunds and not event.refunds):
            self._remember(event)
            return EventOutcome(event.id, EventEffect.IGNORED, message=f"{event.type} ignored")
        order = self.orders.find_by_payment(event.payment_intent_id, event.charge_id)
        if order is None:
            paid_by = event.payment_intent_id or event.charge_id
            return EventOutcome(
                event.id, EventEffect.UNKNOWN_ORDER, message=f"no order is paid by {paid_by}"
            )
        read_changed, added = False, list[ActivityEntry]()
        if kind.changes_payment or event_needs_live_read(order, event.refunds):
            read_changed = self._live(order.id, added).version != order.version
        effect = EventEffect.APPLIED if read_changed else EventEffect.UNCHANGED
        outcomes = [EventOutcome(event.id, effect, order.id)]
        if kind.reports_refunds:
            now = self.clock.now()

            def apply(current: Order) -> Order:
                updated, outcomes[0] = apply_refund_event(
                    current, event, self.fee_policy, at=now, read_changed=read_changed
                )
                return updated

            self._update(order.id, apply, added)
        self._remember(event)
        return with_entries(outcomes[0], added)

    def sync(self, order_id: OrderId) -> Order:
        """B4, L2, L6: make the order match the gateway, then resume refunds still SUBMITTING.

        Imports refunds made elsewhere, adopts statuses, amounts and failure reasons; a
        SUBMITTING refund the gateway holds (by our metadata) is adopted, one it certainly does
        not hold is sent again with the *same* idempotency key. Idempotent. Raises
        ``OrderNotFound``; ``GatewayUnavailable`` when the gateway cannot be read or a resumed
        refund's outcome is still unknown (the order keeps what was learned);
        ``GatewayMisconfigured``, ``GatewayProtocolError``, ``ConcurrencyConflict``."""
        order = self._live(order_id)
        unknown: GatewayUnavailable | None = None
        for refund in order.submitting_refunds():
            try:
                self._submit(order_id, refund.id)
            except GatewayRejected:
                pass  # recorded on the refund as FAILED (L3): resolved, nothing to raise
            except GatewayUnavailable as e:
                unknown = unknown or e
        if unknown is not None:
            raise unknown
        return self.orders.get(order_id)

    def _live(self, order_id: OrderId, added: list[ActivityEntry] | None = None) -> Order:
        """The stored order brought in line with live gateway data (B4), saved if it changed.
        Read *before* the gateway, so the read is newer than anything the order knows; on a
        concurrent save the gateway is read again (``_update``)."""

        def read_and_reconcile(order: Order) -> Order:
            payment = order.payment
            if payment is None or not (payment.payment_intent_id or payment.charge_id):
                return order
            # Stamped when the read starts: a change Stripe makes during a slow read is then
            # newer than the read, and its webhook still applies.
            read_at = self.clock.now()
            live = self.gateway.fetch_payment(payment.payment_intent_id, payment.charge_id)
            followed = follow_payment(order, live.state, at=read_at)  # I2
            return reconcile(followed, live.record, live.refunds, self.fee_policy, at=read_at)

        return self._update(order_id, read_and_reconcile, added)

    def _submit(self, order_id: OrderId, refund_id: RefundId) -> Refund:
        """L1–L3: send a SUBMITTING refund to the gateway and record the answer."""
        order = self.orders.get(order_id)
        refund = order.refund(refund_id)
        request = refund_request(order, refund)
        if request is None:
            return refund
        try:
            answer = self.gateway.create_refund(request)
        except GatewayRejected as e:
            if e.gateway_code == "idempotency_error":
                # The key is ours alone and always sent with the same parameters, so this is not
                # a refusal of the refund: leave it SUBMITTING for sync to find by metadata.
                self._note_unknown(order_id, refund_id, e.message)
                raise GatewayUnavailable(e.message, refund_id=refund_id) from e
            code, detail, now = e.gateway_code, e.message, self.clock.now()
            self._update(
                order_id,
                lambda o: record_rejection(o, refund_id, code, detail, self.fee_policy, at=now),
            )
            raise GatewayRejected(
                f"Stripe refused the refund of {refund.amount}: {detail}",
                gateway_code=code,
                refund_id=refund_id,
            ) from e
        except (GatewayUnavailable, GatewayProtocolError) as e:
            # An unreadable answer is no answer: the refund may exist at Stripe (L2).
            self._note_unknown(order_id, refund_id, e.message)
            raise GatewayUnavailable(
                f"Stripe did not confirm the refund of {refund.amount}; it stays submitting "
                f"and its amount reserved until sync resolves it ({e.message})",
                refund_id=refund_id,
            ) from e
        now = self.clock.now()
        saved = self._update(order_id, lambda o: record_answer(o, answer, self.fee_policy, at=now))
        return refund_made(saved, answer, refund_id)

    def _note_unknown(self, order_id: OrderId, refund_id: RefundId, detail: str) -> None:
        now = self.clock.now()
        self._update(order_id, lambda o: record_unknown_outcome(o, refund_id, detail, at=now))

    def _set_buyer_access(self, order_id: OrderId, actor: Actor, *, granted: bool) -> Order:
        require_refund_role(self.orders.get(order_id), actor)
        now = self.clock.now()
        return self._update(order_id, lambda o: set_buyer_access(o, actor, granted=granted, at=now))

    def _remember(self, event: GatewayEvent) -> None:
        if self.processed_events is not None:
            self.processed_events.record(event.id)
