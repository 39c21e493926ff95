"""``RefundService``: the use cases of the help page, over the ports (rules F1–F4, L1–L5, P2).

Every use case that changes an order checks the actor itself (P2), reads live gateway data
before deciding about money (B4), and saves with the order's version so two processes can never
together refund more than the balance (L4). The refund is written ahead as SUBMITTING before the
gateway is called (L1); an unknown outcome leaves it so, reserved, for ``sync`` to resolve (L2).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import attrs

from kanorio_refunds.domain._actor import Actor
from kanorio_refunds.domain._amount import FULL, FullAmount, resolve_amount
from kanorio_refunds.domain._balance import FeePolicy
from kanorio_refunds.domain._details import OrderDetails, order_details
from kanorio_refunds.domain._eligibility import Eligibility, check_eligibility
from kanorio_refunds.domain._events import EventEffect, EventKind, EventOutcome, GatewayEvent
from kanorio_refunds.domain._ids import OrderId, RefundId
from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._notes import validate_reason_and_notes
from kanorio_refunds.domain._order import ActivityEntry, ActivityKind, Order
from kanorio_refunds.domain._payment import (
    GatewayRefund,
    RefundRequest,
    idempotency_key_for,
    refund_metadata,
)
from kanorio_refunds.domain._quote import RefundQuote, quote_id_for, quote_notices
from kanorio_refunds.domain._reconcile import (
    EventRef,
    Observation,
    observe_refund,
    reconcile,
    rederive_status,
)
from kanorio_refunds.domain._refund import Refund, RefundOrigin, RefundReason, RefundStatus
from kanorio_refunds.domain._status import derive_order_status
from kanorio_refunds.errors import (
    ConcurrencyConflict,
    GatewayProtocolError,
    GatewayRejected,
    GatewayUnavailable,
    InvalidQuote,
    PermissionDenied,
    StaleQuote,
)
from kanorio_refunds.ports import Clock, OrderRepository, PaymentGateway, ProcessedEvents


class RefundService:
    """Refund orders through a payment gateway, keeping each order's status, refund records and
    activity timeline true.

    ``orders``, ``gateway`` and ``clock`` are the ports (see ``kanorio_refunds.ports``).
    ``processed_events`` remembers applied webhook event ids; without it, events are still
    applied idempotently (each refund's timeline knows its events, so a duplicate refund event
    is still reported as DUPLICATE) but a duplicate charge or dispute event is re-applied (a
    harmless live read) and not reported as a duplicate. ``fee_policy`` is B5's policy
    (``NET_OF_FEES`` by default).
    ``max_attempts`` bounds the reload-and-retry loop on concurrent saves.
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
    ) -> None:
        self.orders = orders
        self.gateway = gateway
        self.clock = clock
        self.processed_events = processed_events
        self.fee_policy = fee_policy
        self.max_attempts = max_attempts

    # ---------------------------------------------------------------- reading

    def eligibility(self, order_id: OrderId, actor: Actor) -> Eligibility:
        """E1–E5 on live gateway data: may ``actor`` refund the order now, and if not, why not.

        An actor who may not refund this order (E2) gets the answer from stored data: asking
        must not let them make the library call Stripe or write the order.

        Raises ``OrderNotFound``, ``GatewayUnavailable``.
        """
        order = self.orders.get(order_id)
        if actor.may_refund(order.site_id):
            order = self._live(order_id)
        return check_eligibility(order, actor, self.fee_policy)

    def order_details(self, order_id: OrderId, actor: Actor, *, live: bool = False) -> OrderDetails:
        """The order page (F3): status, refundable balance, refund records with their Stripe
        event timelines, recent activity. From stored data, or refreshed from the gateway first
        with ``live=True``. Only the site's owner and administrators may see it (E2).

        Raises ``OrderNotFound``, ``PermissionDenied`` (and ``GatewayUnavailable`` when live).
        """
        order = self.orders.get(order_id)
        _require_refund_role(order, actor)
        if live:
            order = self._live(order_id)
        return order_details(order, actor, self.fee_policy)

    # ---------------------------------------------------------------- refunding

    def quote(
        self,
        order_id: OrderId,
        actor: Actor,
        amount: Money | FullAmount = FULL,
        reason: RefundReason | str | None = None,
        notes: str = "",
    ) -> RefundQuote:
        """F1, "Confirm Refund": validate everything against live data and say what processing
        will do. ``amount=FULL`` is "Refund Full Amount" (A5).

        Raises ``PermissionDenied``, ``NotEligible`` (with every failing code), ``InvalidAmount``,
        ``CurrencyMismatch``, ``AmountExceedsRefundable``, ``InvalidReason``, ``NotesRequired``,
        ``InvalidNotes``, ``OrderNotFound``, ``GatewayUnavailable``.
        """
        parsed_reason = RefundReason.parse(reason)
        _require_refund_role(self.orders.get(order_id), actor)
        order = self._live(order_id)
        eligibility = check_eligibility(order, actor, self.fee_policy)
        eligibility.require()
        assert eligibility.breakdown is not None  # eligible implies a readable payment record
        clean_notes = validate_reason_and_notes(parsed_reason, notes)
        refund_amount = resolve_amount(amount, eligibility.refundable)
        quote_id = quote_id_for(
            order.id, order.version, actor.id, refund_amount, parsed_reason, clean_notes
        )
        draft = RefundQuote(
            id=quote_id,
            order_id=order.id,
            order_version=order.version,
            actor_id=actor.id,
            amount=refund_amount,
            reason=parsed_reason,
            notes=clean_notes,
            refundable_before=eligibility.refundable,
            refundable_after=eligibility.refundable - refund_amount,
            resulting_status=order.status,
            breakdown=eligibility.breakdown,
            notices=quote_notices(eligibility.breakdown, parsed_reason),
        )
        pending = _submitting_refund(draft, actor, self.clock.now())
        resulting = derive_order_status(
            order.status, (*order.refunds, pending), draft.refundable_after
        )
        return attrs.evolve(draft, resulting_status=resulting)

    def process(self, quote: RefundQuote, actor: Actor) -> Refund:
        """F2, "Process Refund": execute a quote, at most once.

        Re-checks permission, eligibility and balance on fresh gateway data; refuses with
        ``StaleQuote`` if the order changed since the quote. Writes the refund ahead as
        SUBMITTING (L1), then asks the gateway with an idempotency key derived from the refund id.
        Processing the same quote again returns the same refund (and, if its outcome is still
        unknown, asks the gateway again with the same key: never a second refund). Should a
        refused attempt have been made by Stripe after all, the refund Stripe made (recorded
        beside the refused one with the same quote) is returned instead.

        Raises ``PermissionDenied``, ``StaleQuote``, ``NotEligible``, ``AmountExceedsRefundable``,
        ``GatewayRejected`` (the refund is then FAILED, its amount released: L3),
        ``GatewayUnavailable`` (outcome unknown: the refund stays SUBMITTING, reserved: L2).
        """
        _require_refund_role(self.orders.get(quote.order_id), actor)
        _require_intact(quote)
        if actor.id != quote.actor_id:
            raise PermissionDenied(
                f"this quote was confirmed by {quote.actor_id}, not {actor.id}; confirm the "
                f"refund yourself before processing it"
            )
        order = self._live(quote.order_id)
        existing = order.refund_for_quote(quote.id)
        if existing is not None:
            return self._resume(existing)
        if order.version != quote.order_version:
            raise StaleQuote(
                f"order {order.id} changed since this refund was confirmed (version "
                f"{quote.order_version}, now {order.version}); review the balance and confirm again"
            )
        eligibility = check_eligibility(order, actor, self.fee_policy)
        eligibility.require()
        resolve_amount(quote.amount, eligibility.refundable)
        notes = validate_reason_and_notes(quote.reason, quote.notes)

        now = self.clock.now()
        refund = attrs.evolve(_submitting_refund(quote, actor, now), notes=notes)
        reason_text = f" ({quote.reason.name.replace('_', ' ').title()})" if quote.reason else ""
        written = order.with_refund(refund).with_activity(
            ActivityEntry(
                at=now,
                kind=ActivityKind.REFUND_REQUESTED,
                message=f"{actor.id} requested a refund of {refund.amount}{reason_text}",
                actor_id=actor.id,
                refund_id=refund.id,
            )
        )
        written = rederive_status(written, self.fee_policy, at=now, actor_id=actor.id)
        try:
            self.orders.save(written, order.version)
        except ConcurrencyConflict:
            # Someone saved first: either they processed this very quote (a double click in
            # another process), or the order moved on and the quote is stale (L4).
            current = self.orders.get(order.id).refund_for_quote(quote.id)
            if current is not None:
                return self._resume(current)
            raise StaleQuote(
                f"order {order.id} changed while this refund was being processed; review the "
                f"balance and confirm again"
            ) from None
        return self._submit(order.id, refund.id)

    def revoke_buyer_access(self, order_id: OrderId, actor: Actor) -> Order:
        """F4: stop the buyer's access to the content. Idempotent; recorded in the activity.
        Refunds never do this by themselves. Raises ``PermissionDenied``, ``OrderNotFound``."""
        return self._set_buyer_access(order_id, actor, granted=False)

    def restore_buyer_access(self, order_id: OrderId, actor: Actor) -> Order:
        """F4: give the buyer access again. Idempotent; recorded in the activity.
        Raises ``PermissionDenied``, ``OrderNotFound``."""
        return self._set_buyer_access(order_id, actor, granted=True)

    # ---------------------------------------------------------------- gateway truth

    def apply_event(self, event: GatewayEvent) -> EventOutcome:
        """L5: apply an already verified gateway event, idempotently and order-insensitively.

        Refund events update the refund they name (matched by gateway id, then by our metadata;
        unknown refunds are imported as EXTERNAL); a stale event joins the refund's timeline
        without moving it backwards. Charge and dispute events refresh the payment from the
        gateway. Unknown types are IGNORED; events for payments of no order are UNKNOWN_ORDER.
        Never raises for those: a webhook endpoint answers 2xx to every outcome.

        Raises ``GatewayUnavailable`` (for charge/dispute events, which read live data: answer
        5xx so the gateway redelivers), ``ConcurrencyConflict`` after repeated races, and, from
        that live read, ``GatewayMisconfigured`` or ``GatewayProtocolError``.
        """
        if self.processed_events is not None and self.processed_events.seen(event.id):
            return EventOutcome(event.id, EventEffect.DUPLICATE, message="already applied")
        kind = event.kind
        if kind is EventKind.IGNORED or (kind.reports_refunds and not event.refunds):
            self._remember(event)
            return EventOutcome(event.id, EventEffect.IGNORED, message=f"{event.type} ignored")
        order = self.orders.find_by_payment(event.payment_intent_id, event.charge_id)
        if order is None:
            return EventOutcome(
                event.id,
                EventEffect.UNKNOWN_ORDER,
                message=f"no order is paid by {event.payment_intent_id or event.charge_id}",
            )
        if kind.changes_payment:
            before = order.version
            after = self._live(order.id)
            result = EventEffect.APPLIED if after.version != before else EventEffect.UNCHANGED
            self._remember(event)
            return EventOutcome(event.id, result, order.id)

        ref = EventRef(event.id, event.type, event.created_at)
        seen: list[Observation] = []
        now = self.clock.now()

        def apply(current: Order) -> Order:
            seen.clear()
            for gateway_refund in event.refunds:
                current, observation = observe_refund(
                    current,
                    gateway_refund,
                    observed_at=event.created_at,
                    event=ref,
                    recorded_at=now,
                )
                seen.append(observation)
            return rederive_status(current, self.fee_policy, at=now)

        self._update(order.id, apply)
        self._remember(event)
        return EventOutcome(event.id, _event_result(seen), order.id)

    def sync(self, order_id: OrderId) -> Order:
        """B4, L2: make the order match the gateway, then resume refunds still SUBMITTING.

        Imports refunds made elsewhere, adopts statuses and failure reasons, re-derives the
        status. A SUBMITTING refund the gateway holds (found by our metadata) is adopted; one it
        certainly does not hold is sent again with the *same* idempotency key. Idempotent.

        Raises ``OrderNotFound``; ``GatewayUnavailable`` when the gateway cannot be read or a
        resumed refund's outcome is still unknown (the order keeps everything learned so far);
        ``GatewayMisconfigured``, ``GatewayProtocolError`` from the read; ``ConcurrencyConflict``
        after repeated races.
        """
        order = self._live(order_id)
        unknown: GatewayUnavailable | None = None
        for refund in order.refunds:
            if refund.status is not RefundStatus.SUBMITTING:
                continue
            try:
                self._submit(order_id, refund.id)
            except GatewayRejected:
                pass  # recorded on the refund as FAILED (L3): resolved, nothing to raise
            except GatewayUnavailable as e:
                unknown = unknown or e
        if unknown is not None:
            raise unknown
        return self.orders.get(order_id)

    # ---------------------------------------------------------------- internals

    def _live(self, order_id: OrderId) -> Order:
        """The stored order brought in line with live gateway data (B4), saved if it changed.

        The order is read *before* the gateway and saved against that version, so everything
        the order knows was learned before the read and the read is the newer truth. On a
        concurrent save the gateway is read again: re-applying the old read to the newer order
        would put back, e.g., an ``amount_refunded`` from before a refund that process recorded.
        """

        def read_and_reconcile(order: Order) -> Order:
            payment = order.payment
            if payment is None or not (payment.payment_intent_id or payment.charge_id):
                return order
            # Stamped when the read starts: a change Stripe makes during a slow read is then
            # newer than the read, and its webhook still applies.
            read_at = self.clock.now()
            snapshot = self.gateway.fetch_payment(payment.payment_intent_id, payment.charge_id)
            return reconcile(order, snapshot.record, snapshot.refunds, self.fee_policy, at=read_at)

        return self._update(order_id, read_and_reconcile)

    def _resume(self, refund: Refund) -> Refund:
        """The refund of an already processed quote (``Order.refund_for_quote``); one still
        SUBMITTING is sent again, with the same idempotency key."""
        if refund.status is RefundStatus.SUBMITTING:
            return self._submit(refund.order_id, refund.id)
        return refund

    def _submit(self, order_id: OrderId, refund_id: RefundId) -> Refund:
        """L1–L3: send a SUBMITTING refund to the gateway and record the answer."""
        order = self.orders.get(order_id)
        refund = order.refund(refund_id)
        if refund.status is not RefundStatus.SUBMITTING or order.payment is None:
            return refund
        request = RefundRequest(
            payment_intent_id=order.payment.payment_intent_id,
            charge_id=order.payment.charge_id,
            amount=refund.amount,
            reason=refund.reason,
            idempotency_key=idempotency_key_for(refund.id),
            metadata=refund_metadata(order.id, refund.id, refund.reason, refund.notes),
        )
        try:
            answer = self.gateway.create_refund(request)
        except GatewayRejected as e:
            if e.gateway_code == "idempotency_error":
                # The key is ours alone and always sent with the same parameters, so this is not
                # a refusal of the refund: leave it SUBMITTING for sync to find by metadata.
                self._note_unknown(order_id, refund_id, e.message)
                raise GatewayUnavailable(e.message, refund_id=refund_id) from e
            rejection = e
            failed = self._update(
                order_id,
                lambda current: self._mark_rejected(current, refund_id, rejection),
            )
            raise GatewayRejected(
                f"Stripe refused the refund of {refund.amount}: {e.message}",
                gateway_code=e.gateway_code,
                refund_id=failed.refund(refund_id).id,
            ) from e
        except (GatewayUnavailable, GatewayProtocolError) as e:
            # An unreadable answer is no answer: the refund may exist at Stripe (L2).
            self._note_unknown(order_id, refund_id, e.message)
            raise GatewayUnavailable(
                f"Stripe did not confirm the refund of {refund.amount}; it stays submitting "
                f"and its amount reserved until sync resolves it ({e.message})",
                refund_id=refund_id,
            ) from e
        saved = self._update(order_id, lambda current: self._record_answer(current, answer))
        # The refund itself, unless another process recorded a refusal of it meanwhile: then
        # the refund Stripe made after all is recorded beside it (``match_refund``) and is the
        # one to return.
        made = next((r for r in saved.refunds if r.gateway_refund_id == answer.id), None)
        return made if made is not None else saved.refund(refund_id)

    def _record_answer(self, order: Order, answer: GatewayRefund) -> Order:
        now = self.clock.now()
        refund_id = answer.local_refund_id
        refund = order.find_refund(refund_id) if refund_id else None
        if refund is not None and not any(
            e.kind is ActivityKind.REFUND_SUBMITTED and e.refund_id == refund.id
            for e in order.activity
        ):
            order = order.with_activity(
                ActivityEntry(
                    at=now,
                    kind=ActivityKind.REFUND_SUBMITTED,
                    message=f"Refund of {refund.amount} submitted to Stripe ({answer.id})",
                    refund_id=refund.id,
                )
            )
        # The answer describes the refund as it was created (an idempotent replay repeats the
        # first answer), so it is ordered by the refund's creation time, not by our clock.
        updated, _ = observe_refund(order, answer, observed_at=answer.created_at, recorded_at=now)
        return rederive_status(updated, self.fee_policy, at=now)

    def _mark_rejected(self, order: Order, refund_id: RefundId, error: GatewayRejected) -> Order:
        refund = order.refund(refund_id)
        if refund.status is not RefundStatus.SUBMITTING:
            return order  # an event resolved it meanwhile; the gateway's word stands
        now = self.clock.now()
        failed = refund.moved_to(
            RefundStatus.FAILED,
            as_of=now,
            failure_reason=f"{error.gateway_code}: {error.message}",
        )
        updated = order.with_refund(failed).with_activity(
            ActivityEntry(
                at=now,
                kind=ActivityKind.REFUND_FAILED,
                message=f"Stripe refused the refund of {refund.amount} ({error.gateway_code})",
                refund_id=refund_id,
            )
        )
        return rederive_status(updated, self.fee_policy, at=now)

    def _note_unknown(self, order_id: OrderId, refund_id: RefundId, detail: str) -> None:
        now = self.clock.now()

        def note(current: Order) -> Order:
            if current.refund(refund_id).status is not RefundStatus.SUBMITTING:
                return current
            latest = next((e for e in reversed(current.activity) if e.refund_id == refund_id), None)
            if latest is not None and latest.kind is ActivityKind.REFUND_OUTCOME_UNKNOWN:
                # Said once per outcome: a sync retrying every few minutes against a Stripe
                # that keeps answering 500 must not grow the timeline or stale open quotes.
                return current
            return current.with_activity(
                ActivityEntry(
                    at=now,
                    kind=ActivityKind.REFUND_OUTCOME_UNKNOWN,
                    message=(
                        f"Stripe did not confirm refund {refund_id} ({detail}); it stays "
                        f"submitting until sync resolves it"
                    ),
                    refund_id=refund_id,
                )
            )

        self._update(order_id, note)

    def _set_buyer_access(self, order_id: OrderId, actor: Actor, *, granted: bool) -> Order:
        _require_refund_role(self.orders.get(order_id), actor)
        now = self.clock.now()

        def change(order: Order) -> Order:
            if order.buyer_access == granted:
                return order
            kind = (
                ActivityKind.BUYER_ACCESS_RESTORED if granted else ActivityKind.BUYER_ACCESS_REVOKED
            )
            verb = "restored" if granted else "revoked"
            return attrs.evolve(order, buyer_access=granted).with_activity(
                ActivityEntry(
                    at=now, kind=kind, message=f"{actor.id} {verb} buyer access", actor_id=actor.id
                )
            )

        return self._update(order_id, change)

    def _remember(self, event: GatewayEvent) -> None:
        if self.processed_events is not None:
            self.processed_events.record(event.id)

    def _update(self, order_id: OrderId, change: Callable[[Order], Order]) -> Order:
        """Apply ``change`` to the latest stored order and save it with a version check,
        reloading and re-applying on a concurrent save (L4). Saves nothing when nothing changed.

        ``change`` runs again on every attempt, after the order is read: a change that reads the
        gateway (``_live``) therefore reads it again after a conflict, never applying an older
        read to a newer order.
        """
        for _ in range(self.max_attempts):
            order = self.orders.get(order_id)
            updated = change(order)
            if updated == order:
                return order
            try:
                return self.orders.save(updated, order.version)
            except ConcurrencyConflict:
                continue
        raise ConcurrencyConflict(
            f"order {order_id} kept changing under us ({self.max_attempts} attempts); try again"
        )


def _require_refund_role(order: Order, actor: Actor) -> None:
    """P2, E2: only the owner or an administrator of the order's site may act on it."""
    if not actor.may_refund(order.site_id):
        raise PermissionDenied(
            f"{actor.id} is not the owner or an administrator of site {order.site_id}; only "
            f"they can refund its orders or change buyer access"
        )


def _require_intact(quote: RefundQuote) -> None:
    """F2: "Process Refund" executes exactly what was confirmed. A quote's id is a digest of its
    order, version, actor, amount, reason and notes, so a quote changed after "Confirm Refund"
    (say, round-tripped through a form) no longer matches it and is refused."""
    expected = quote_id_for(
        quote.order_id, quote.order_version, quote.actor_id, quote.amount, quote.reason, quote.notes
    )
    if expected != quote.id:
        raise InvalidQuote(
            f"quote {quote.id} does not match its contents: it was changed after the refund was "
            f"confirmed; confirm the refund again"
        )


def _submitting_refund(quote: RefundQuote, actor: Actor, now: datetime) -> Refund:
    """The refund a quote will write ahead (L1)."""
    return Refund(
        id=quote.refund_id,
        order_id=quote.order_id,
        amount=quote.amount,
        status=RefundStatus.SUBMITTING,
        created_at=now,
        origin=RefundOrigin.LOCAL,
        reason=quote.reason,
        notes=quote.notes,
        requested_by=actor.id,
        quote_id=quote.id,
    )


def _event_result(observations: list[Observation]) -> EventEffect:
    if any(o in (Observation.APPLIED, Observation.IMPORTED) for o in observations):
        return EventEffect.APPLIED
    if any(o is Observation.STALE for o in observations):
        return EventEffect.STALE
    if observations and all(o is Observation.DUPLICATE for o in observations):
        return EventEffect.DUPLICATE
    return EventEffect.UNCHANGED
