"""Every change the use cases make to an order, as pure functions (F1–F4, L1–L3, L5, L6, S1).

``RefundService`` loads an order, asks these functions what the order becomes, calls the
gateway and saves: it builds no refund, activity entry or order itself. Each function takes the
time (``at``) and the fee policy from its caller; none reads a clock or does I/O.

A refund reaches FAILED by one path whatever told us (Stripe refusing our request, a webhook, a
live read): ``_reconcile.refund_moved``, so the timeline says it one way.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final

import attrs

from kanorio_refunds.domain._actor import Actor
from kanorio_refunds.domain._amount import FullAmount, resolve_amount
from kanorio_refunds.domain._balance import FeePolicy
from kanorio_refunds.domain._eligibility import check_eligibility, require_refund_role
from kanorio_refunds.domain._events import EventEffect, EventOutcome, GatewayEvent
from kanorio_refunds.domain._ids import RefundId
from kanorio_refunds.domain._memo import remember
from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._notes import validate_reason_and_notes
from kanorio_refunds.domain._order import ActivityEntry, ActivityKind, Order, gateway_positions
from kanorio_refunds.domain._payment import (
    GatewayRefund,
    RefundRequest,
    idempotency_key_for,
    refund_metadata,
)
from kanorio_refunds.domain._quote import (
    RefundQuote,
    quote_id_for,
    quote_notices,
    require_intact,
)
from kanorio_refunds.domain._reconcile import EventRef, Observation, observe_refund, refund_moved
from kanorio_refunds.domain._refund import Refund, RefundOrigin, RefundReason, RefundStatus
from kanorio_refunds.domain._status import (
    derived_status,
    rederive_status,
    status_after_reserving,
)
from kanorio_refunds.errors import PermissionDenied, StaleQuote

# ---------------------------------------------------------------------------- quote and request


def quote_refund(
    order: Order,
    actor: Actor,
    amount: Money | FullAmount,
    reason: RefundReason | None,
    notes: str,
    policy: FeePolicy,
    *,
    at: datetime,
) -> RefundQuote:
    """F1, "Confirm Refund": the quote of a refund of ``amount`` on ``order`` (read live by the
    caller). Its resulting status is the one ``request_refund``, the change processing
    applies, gives (``_status.status_after_reserving``).

    Raises ``NotEligible`` (every failing code), ``InvalidAmount``, ``CurrencyMismatch``,
    ``AmountExceedsRefundable``, ``NotesRequired``, ``InvalidNotes``.
    """
    eligibility = check_eligibility(order, actor, policy)
    eligibility.require()
    assert eligibility.breakdown is not None  # eligible implies a readable payment record
    clean_notes = validate_reason_and_notes(reason, notes)
    refund_amount = resolve_amount(amount, eligibility.refundable)
    refundable, count = eligibility.refundable, len(order.refunds)
    quote_id = quote_id_for(
        order.id,
        actor.id,
        refund_amount,
        reason,
        clean_notes,
        order_status=order.status,
        refundable=refundable,
        refund_count=count,
    )
    # Positional, in field order, as in ``request_refund``.
    quote = RefundQuote(
        quote_id,  # id
        order.id,  # order_id
        actor.id,  # actor_id
        refund_amount,  # amount
        reason,  # reason
        clean_notes,  # notes
        order.status,  # order_status
        count,  # refund_count
        refundable,  # refundable_before
        refundable - refund_amount,  # refundable_after
        status_after_reserving(order, refund_amount, policy),  # resulting_status
        eligibility.breakdown,  # breakdown
        quote_notices(eligibility.breakdown, reason),  # notices
    )
    remember(_ISSUED, id(quote), (quote, order, actor, policy), _MAX_ISSUED)
    return quote


# Issue 10: the quotes ``quote_refund`` made, each with the order, actor and fee policy it was
# computed from (all immutable, held here so their ids are not reused). The very quote object
# is intact by construction, and processed on the very order object by the very actor under
# the same policy, every check the quote passed gives the same answer again: hosts that keep
# the quote in memory between "Confirm" and "Process" (property tests, scripts) skip both. A
# quote that went through a form, or an order saved since, is another object: checked in full.
# Small: a quote lives from one click to the next.
_MAX_ISSUED: Final = 256
_ISSUED: dict[int, tuple[RefundQuote, Order, Actor, FeePolicy]] = {}


def _issued(quote: RefundQuote) -> tuple[RefundQuote, Order, Actor, FeePolicy] | None:
    """What ``quote`` was computed from, if ``quote_refund`` made this very object."""
    known = _ISSUED.get(id(quote))
    return known if known is not None and known[0] is quote else None


def request_refund(
    order: Order, quote: RefundQuote, actor: Actor, policy: FeePolicy, *, at: datetime
) -> Order:
    """L1: ``order`` with the quote's refund written ahead as SUBMITTING (reserving its amount
    before the gateway is called), a "refund requested" entry and the status it gives (S1).

    Checks nothing: ``process_quote`` checks first; ``quote_refund`` previews with it.
    """
    # Positional, in field order (issue 10: keyword arguments cost a third of building a
    # value this wide); mypy checks each against its field's type.
    refund = Refund(
        quote.refund_id,  # id
        quote.order_id,  # order_id
        quote.amount,  # amount
        RefundStatus.SUBMITTING,  # status
        at,  # created_at
        RefundOrigin.LOCAL,  # origin
        quote.reason,  # reason
        quote.notes,  # notes
        actor.id,  # requested_by
        quote.id,  # quote_id
    )
    reason_text = f" ({quote.reason.name.replace('_', ' ').title()})" if quote.reason else ""
    requested = ActivityEntry(
        at,
        ActivityKind.REFUND_REQUESTED,
        f"{actor.id} requested a refund of {refund.amount}{reason_text}",
        actor.id,
        refund.id,
    )
    # The refund first, then its entry with the status it gives (S1), in one change of the
    # timeline (issue 10: the status needs the new refunds, the timeline both entries).
    written = order.with_refund(refund)
    status, entries = derived_status(written, policy, at=at, actor_id=actor.id)
    return written.with_status(status, requested, *entries)


def require_may_process(order: Order, quote: RefundQuote, actor: Actor) -> None:
    """F2, P2: ``actor`` may process ``quote`` on ``order`` (stored data, before any gateway
    call): the owner or an administrator of its site (E2), the quote intact (``require_intact``)
    and confirmed by this very actor. Raises ``PermissionDenied`` or ``InvalidQuote``."""
    require_refund_role(order, actor)
    if _issued(quote) is None:  # a quote quote_refund made is intact by construction
        require_intact(quote)
    if actor.id != quote.actor_id:
        raise PermissionDenied(
            f"this quote was confirmed by {quote.actor_id}, not {actor.id}; confirm the "
            f"refund yourself before processing it"
        )


def require_quote_holds(order: Order, quote: RefundQuote, actor: Actor, policy: FeePolicy) -> str:
    """F2: what ``quote`` showed still holds on ``order`` (fresh data); returns its notes,
    normalised (N3).

    Compared are the figures the user confirmed: the order status, the refundable balance and
    the number of refunds on the order (a new refund request, even one that changes no figure,
    means the user did not see the order as it is). Anything else the order saw since (a
    webhook echo, a live read that agreed, a timeline entry) does not matter.

    Raises ``StaleQuote`` when a figure changed, else the re-validation's refusal:
    ``NotEligible``, ``AmountExceedsRefundable``, ``InvalidNotes``, …
    """
    issued = _issued(quote)
    if issued is not None and issued[1] is order and issued[2] is actor and issued[3] is policy:
        return quote.notes  # the quote's own checks, on the very same inputs: they hold
    eligibility = check_eligibility(order, actor, policy)
    changes = []
    if order.status != quote.order_status:
        changes.append(f"its status was {quote.order_status.label}, now {order.status.label}")
    if eligibility.refundable != quote.refundable_before:
        changes.append(
            f"the refundable balance was {quote.refundable_before}, now {eligibility.refundable}"
        )
    if len(order.refunds) != quote.refund_count:
        changes.append(
            f"it had {quote.refund_count} refund(s), now {len(order.refunds)}: another refund "
            f"was requested or recorded"
        )
    if changes:
        raise StaleQuote(
            f"order {order.id} changed since this refund was confirmed ({'; '.join(changes)}); "
            f"review the balance and confirm again"
        )
    eligibility.require()
    resolve_amount(quote.amount, eligibility.refundable)
    return validate_reason_and_notes(quote.reason, quote.notes)


def process_quote(
    order: Order, quote: RefundQuote, actor: Actor, policy: FeePolicy, *, at: datetime
) -> Order:
    """F2, L1: the write-ahead of "Process Refund": ``order`` unchanged if the quote's refund is
    already recorded (the same quote twice makes one refund), else checked
    (``require_quote_holds``) and with the refund requested (``request_refund``)."""
    if order.refund_for_quote(quote.id) is not None:
        return order
    notes = require_quote_holds(order, quote, actor, policy)
    if notes != quote.notes:
        quote = attrs.evolve(quote, notes=notes)
    return request_refund(order, quote, actor, policy, at=at)


def refund_request(order: Order, refund: Refund) -> RefundRequest | None:
    """L1, N4: what to ask the gateway for ``refund``: its amount and reason, an idempotency key
    derived from its id (every retry sends the same) and our ids in the metadata. None when
    there is nothing to send: the refund is no longer SUBMITTING, or the order has no payment.
    """
    if refund.status is not RefundStatus.SUBMITTING or order.payment is None:
        return None
    payment = order.payment
    return RefundRequest(  # positional, in field order (issue 10: one per refund sent)
        payment.payment_intent_id,  # payment_intent_id
        payment.charge_id,  # charge_id
        refund.amount,  # amount
        refund.reason,  # reason
        idempotency_key_for(refund.id),  # idempotency_key
        refund_metadata(order.id, refund.id, refund.reason, refund.notes),  # metadata
    )


# ---------------------------------------------------------------------------- the gateway's answer


def record_answer(order: Order, answer: GatewayRefund, policy: FeePolicy, *, at: datetime) -> Order:
    """L1, F3: the gateway made the refund: a "submitted" entry (once per refund) and the answer
    observed like any report of the gateway's own data, then the status (S1)."""
    refund_id = answer.local_refund_id
    refund = order.find_refund(refund_id) if refund_id else None
    submitted: tuple[ActivityEntry, ...] = ()
    if refund is not None and refund.id not in order.submitted_refund_ids():
        submitted = (
            ActivityEntry(
                at,
                ActivityKind.REFUND_SUBMITTED,
                f"Refund of {refund.amount} submitted to Stripe ({answer.id})",
                None,  # actor_id: Stripe's answer, nobody's action
                refund.id,
            ),
        )
    # The answer describes the refund as it was created (an idempotent replay repeats the
    # first answer), so it is ordered by the refund's creation time, not by our clock. The
    # "submitted" entry comes first in the timeline, added with the observation's own change.
    updated, _ = observe_refund(
        order, answer, observed_at=answer.created_at, recorded_at=at, leading=submitted
    )
    return rederive_status(updated, policy, at=at)


def refund_made(order: Order, answer: GatewayRefund, refund_id: RefundId) -> Refund:
    """The refund the gateway made for our request ``refund_id``: that refund, unless another
    process recorded a refusal of it meanwhile; then the refund Stripe made after all is
    recorded beside it (``_reconcile.match_refund``) and is the one to return."""
    made = gateway_positions(order).get(answer.id)
    return order.refunds[made] if made is not None else order.refund(refund_id)


def record_rejection(
    order: Order,
    refund_id: RefundId,
    gateway_code: str,
    detail: str,
    policy: FeePolicy,
    *,
    at: datetime,
) -> Order:
    """L3: the gateway definitively refused the refund: it is FAILED with the gateway's code and
    message, its amount released, through the same path (and messages) as a failure the gateway
    reports later. A refund an event already resolved is left as the gateway said."""
    refund = order.refund(refund_id)
    if refund.status is not RefundStatus.SUBMITTING:
        return order
    failed = refund.moved_to(
        RefundStatus.FAILED, as_of=at, failure_reason=f"{gateway_code}: {detail}"
    )
    return rederive_status(refund_moved(order, refund, failed, at=at), policy, at=at)


def record_unknown_outcome(
    order: Order, refund_id: RefundId, detail: str, *, at: datetime
) -> Order:
    """L2: the gateway did not confirm the refund (timeout, 5xx, unreadable answer): it stays
    SUBMITTING, reserved, with an "outcome unknown" entry, said once per outcome."""
    if order.refund(refund_id).status is not RefundStatus.SUBMITTING:
        return order
    latest = next((e for e in reversed(order.activity) if e.refund_id == refund_id), None)
    if latest is not None and latest.kind is ActivityKind.REFUND_OUTCOME_UNKNOWN:
        # Said once per outcome: a sync retrying every few minutes against a Stripe that keeps
        # answering 500 must not grow the timeline.
        return order
    return order.with_activity(
        ActivityEntry(
            at=at,
            kind=ActivityKind.REFUND_OUTCOME_UNKNOWN,
            message=(
                f"Stripe did not confirm refund {refund_id} ({detail}); it stays submitting "
                f"until sync resolves it"
            ),
            refund_id=refund_id,
        )
    )


# ---------------------------------------------------------------------------- events


def apply_refund_event(
    order: Order, event: GatewayEvent, policy: FeePolicy, *, at: datetime, read_changed: bool
) -> tuple[Order, EventOutcome]:
    """L5, L6: ``order`` with a refund event's reports applied (stale ones only recorded,
    duplicates skipped), and what that did. A report naming a refund the order does not know
    creates nothing (UNCONFIRMED): the caller reads the gateway first
    (``event_needs_live_read``), so such a refund is one Stripe's own data does not show.
    ``read_changed`` says that read changed the order (it imported or corrected what the event
    was about): the event then counts as APPLIED, unless it stays UNCONFIRMED."""
    ref = EventRef(event.id, event.type, event.created_at)
    seen: list[Observation] = []
    for gateway_refund in event.refunds:
        order, observation = observe_refund(
            order, gateway_refund, observed_at=event.created_at, event=ref, recorded_at=at
        )
        seen.append(observation)
    effect = event_effect(seen)
    if read_changed and effect is not EventEffect.UNCONFIRMED:
        effect = EventEffect.APPLIED
    message = "it names a refund Stripe's own data does not show: nothing recorded"
    outcome = EventOutcome(
        event.id, effect, order.id, message=message if effect is EventEffect.UNCONFIRMED else ""
    )
    return rederive_status(order, policy, at=at), outcome


def event_effect(observations: Iterable[Observation]) -> EventEffect:
    """The effect of an event from what each of its reports did."""
    seen = list(observations)
    if any(o in (Observation.APPLIED, Observation.IMPORTED) for o in seen):
        return EventEffect.APPLIED
    if Observation.STALE in seen:
        return EventEffect.STALE
    if Observation.UNCONFIRMED in seen:
        return EventEffect.UNCONFIRMED
    if seen and all(o is Observation.DUPLICATE for o in seen):
        return EventEffect.DUPLICATE
    return EventEffect.UNCHANGED


# ---------------------------------------------------------------------------- buyer access


def set_buyer_access(order: Order, actor: Actor, *, granted: bool, at: datetime) -> Order:
    """F4: ``order`` with the buyer's access revoked or restored, recorded in the activity;
    unchanged when it already is so (idempotent). The caller checks the actor (E2)."""
    if order.buyer_access == granted:
        return order
    kind = ActivityKind.BUYER_ACCESS_RESTORED if granted else ActivityKind.BUYER_ACCESS_REVOKED
    verb = "restored" if granted else "revoked"
    return attrs.evolve(order, buyer_access=granted).with_activity(
        ActivityEntry(
            at=at, kind=kind, message=f"{actor.id} {verb} buyer access", actor_id=actor.id
        )
    )
