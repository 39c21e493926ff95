"""Bringing an order in line with what the gateway reports (rules B4, L2, L5, S1, S3, F3).

Pure functions shared by every use case that learns something from the gateway: the answer to
a refund creation, a webhook event, a sync. One place decides how a gateway refund maps onto the
order's refunds, so a webhook echo of our own refund is never imported twice and a stale event
never moves a refund backwards.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Final

import attrs

from kanorio_refunds.domain._balance import FeePolicy
from kanorio_refunds.domain._ids import EventId, OrderId, RefundId
from kanorio_refunds.domain._money import _of_int
from kanorio_refunds.domain._order import (
    ActivityEntry,
    ActivityKind,
    Order,
    gateway_positions,
    refunds_index,
)
from kanorio_refunds.domain._payment import METADATA_NOTES, GatewayRefund, PaymentRecord
from kanorio_refunds.domain._refund import (
    FINAL,
    RELEASED,
    Refund,
    RefundEventEntry,
    RefundOrigin,
    RefundStatus,
    refund_transition_allowed,
)
from kanorio_refunds.domain._status import rederive_status as rederive_status

# ``rederive_status`` (S1) lives in ``domain._status``; it is re-exported here for callers that
# imported it from this module before it moved.

_STATUS_ACTIVITY: Final[dict[RefundStatus, ActivityKind]] = {
    RefundStatus.PENDING: ActivityKind.REFUND_PENDING,
    RefundStatus.REQUIRES_ACTION: ActivityKind.REFUND_REQUIRES_ACTION,
    RefundStatus.SUCCEEDED: ActivityKind.REFUND_SUCCEEDED,
    RefundStatus.FAILED: ActivityKind.REFUND_FAILED,
    RefundStatus.CANCELED: ActivityKind.REFUND_CANCELED,
}


class Observation(enum.Enum):
    """What one gateway report did to the order."""

    APPLIED = "applied"  # the refund moved to the reported status
    CONFIRMED = "confirmed"  # the report agrees with the record (ids may have been filled in)
    IMPORTED = "imported"  # a refund made elsewhere was added with origin EXTERNAL (B4)
    STALE = "stale"  # older than what we know, or a move S3 forbids: recorded, not applied
    DUPLICATE = "duplicate"  # this event was already applied to this refund
    #: An event about a refund the order does not know: nothing created (L6). The caller reads
    #: the gateway first, so what remains unknown is a refund the gateway's own data lacks.
    UNCONFIRMED = "unconfirmed"


@attrs.frozen
class EventRef:
    """The event a report came in, for the refund's Stripe event timeline (F3)."""

    id: EventId
    type: str
    created_at: datetime


def external_refund_id(gateway_refund: GatewayRefund) -> RefundId:
    """Our id for a refund made outside this library: stable, derived from the gateway's id."""
    return RefundId(f"rf_ext_{gateway_refund.id}")


def match_refund(order: Order, gateway_refund: GatewayRefund) -> Refund | None:
    """The order's refund that ``gateway_refund`` is, if any: by the gateway id first, then by
    our refund id in its metadata (the webhook echo of a refund still SUBMITTING).

    A refund of ours that we recorded as refused (FAILED without ever getting a gateway id, L3)
    is not matched: a gateway refund carrying its id proves that another attempt with the same
    idempotency key went through after all (e.g. a retry by a second process racing the one
    that got the refusal). That money moved, so it is recorded beside the refused attempt, under
    ``external_refund_id`` with the refused refund's quote id and requester, rather than dropped
    as a stale report (L2: never a lost refund).
    """
    position = gateway_positions(order).get(gateway_refund.id)
    if position is not None:
        return order.refunds[position]
    local_id = gateway_refund.local_refund_id
    if local_id is not None:
        local = order.find_refund(local_id)
        # Ours, not yet seen at the gateway, and not recorded as refused (FAILED/CANCELED).
        if local is not None and local.gateway_refund_id is None and local.status not in FINAL:
            return local
    # An imported refund always carries its gateway id, so the loop above finds it.
    return None


_STATUS_MESSAGES: Final[dict[RefundStatus, str]] = {
    RefundStatus.PENDING: "Refund of {} is pending at Stripe",
    RefundStatus.REQUIRES_ACTION: "Refund of {} requires action at Stripe",
    RefundStatus.SUCCEEDED: "Refund of {} succeeded",
    RefundStatus.FAILED: "Refund of {} failed",
    RefundStatus.CANCELED: "Refund of {} was canceled",
    RefundStatus.SUBMITTING: "Refund of {} is being submitted",
}


def _status_message(refund: Refund, status: RefundStatus) -> str:
    text = _STATUS_MESSAGES[status].format(refund.amount)
    if status in FINAL and refund.failure_reason:
        text += f" ({refund.failure_reason})"
    return text


def observe_refund(
    order: Order,
    gateway_refund: GatewayRefund,
    *,
    observed_at: datetime,
    event: EventRef | None = None,
    recorded_at: datetime | None = None,
    track_refunded: bool = True,
    leading: tuple[ActivityEntry, ...] = (),
) -> tuple[Order, Observation]:
    """Apply one gateway report about one refund to ``order`` (without re-deriving its status).

    ``observed_at`` orders reports (L5): the event's creation time for webhooks, the fetch time
    for a live read. A report older than the refund's last applied one, or a move the refund
    state machine (S3) forbids, is STALE: it is recorded in the timeline, marked not applied.
    Activity entries are stamped ``recorded_at`` (default ``observed_at``): when we learned it.

    L6: a report that came in an ``event`` is a prompt, not proof. It may move the status of a
    refund the order knows by its gateway id, but it never changes a refund's amount, never
    creates one and never gives a refund of ours its gateway id (UNCONFIRMED: read the gateway
    first, see ``event_needs_live_read``). A live read or the answer to our own creation call
    is the gateway's own data: it matches our refunds by metadata, imports refunds made
    elsewhere (IMPORTED) and its amount is the truth.

    With ``track_refunded`` (the default, for webhooks and creation answers) the payment
    record's ``amount_refunded`` follows the report as Stripe's does (B2, S1): up when a refund
    starts counting there, down when it fails or is canceled. Otherwise a late failure learned
    from a webhook would leave Stripe's cap at its last read value, and the order REFUNDED
    where Stripe already allows refunding again. ``reconcile`` passes False: a live read's
    ``amount_refunded`` already counts every refund it lists.

    ``leading`` entries go into the timeline first, whatever the report does (the caller's own
    entries, added with this change instead of by a change of their own).
    """
    recorded = recorded_at or observed_at
    refund = match_refund(order, gateway_refund)
    if event is not None and (refund is None or refund.gateway_refund_id is None):
        # Unknown, or ours but known only by our metadata: the event's gateway id is not
        # confirmed by Stripe's own data (the caller's read would have filled it in). Taking it
        # would mark a refund Stripe may never have made as made, and sync would not send it.
        return _led(order, leading), Observation.UNCONFIRMED
    if refund is None:
        imported = _import_external(_led(order, leading), gateway_refund, observed_at, recorded)
        if track_refunded:
            imported = _shift_refunded(
                imported, _counted(imported.refund(external_refund_id(gateway_refund)))
            )
        return imported, Observation.IMPORTED
    if event is not None and refund.has_event(event.id):
        return _led(order, leading), Observation.DUPLICATE

    new_status = gateway_refund.status
    # FAILED and CANCELED are forever at Stripe: a report of one is never out of date, however
    # old it looks next to our clock (skew between Stripe's clock and ours must never keep a
    # failed refund reserving money).
    stale = (
        refund.status_as_of is not None
        and _earlier_second(observed_at, refund.status_as_of)
        and new_status not in FINAL
    )
    missed = () if stale else _missed_statuses(refund.status, new_status)
    if missed:
        # A newer report S3 reaches only through a state whose report we missed (SUCCEEDED →
        # REQUIRES_ACTION → PENDING or CANCELED, that webhook lost or not yet delivered): walk
        # the refund through it, so the outcome never depends on delivery order.
        # The walk's steps carry no event (they add no timeline entry), so for a report that
        # came in an event they carry our amount: an event's amount is never adopted (L6).
        step_amount = refund.amount if event is not None else gateway_refund.amount
        order, leading = _led(order, leading), ()
        for status in missed:
            order, _ = observe_refund(
                order,
                attrs.evolve(
                    gateway_refund, status=status, failure_reason=None, amount=step_amount
                ),
                observed_at=observed_at,
                recorded_at=recorded,
                track_refunded=track_refunded,
            )
        walked = match_refund(order, gateway_refund)
        assert walked is not None  # the walk only moved the refund we matched
        refund = walked
    if new_status == refund.status:
        outcome = Observation.CONFIRMED
    elif not stale and refund_transition_allowed(refund.status, new_status):
        outcome = Observation.APPLIED
    else:
        outcome = Observation.STALE

    updated = refund
    if outcome is Observation.APPLIED or (outcome is Observation.CONFIRMED and event is not None):
        updated = refund.moved_to(
            new_status,
            as_of=max(observed_at, refund.status_as_of or observed_at),
            failure_reason=gateway_refund.failure_reason,
            gateway_refund_id=gateway_refund.id,
        )
    elif outcome is Observation.CONFIRMED:
        # A live read that agrees changes nothing but what the record may lack, so reading the
        # gateway twice leaves the order (and its version) untouched.
        updated = attrs.evolve(
            refund,
            gateway_refund_id=gateway_refund.id,
            failure_reason=gateway_refund.failure_reason
            if new_status in FINAL
            else refund.failure_reason,
        )
    if (
        outcome is not Observation.STALE
        and event is None
        and updated.amount != gateway_refund.amount
    ):
        # The gateway's own data is the truth for money that moved (local = Stripe after sync);
        # an event's amount never is (L6: a signed event is a prompt, not proof).
        updated = attrs.evolve(updated, amount=gateway_refund.amount)
    if event is not None:
        updated = updated.with_event(
            RefundEventEntry(
                event_id=event.id,
                type=event.type,
                occurred_at=event.created_at,
                status=new_status,
                applied=outcome is not Observation.STALE,
            )
        )
    moved = refund_moved(
        order, refund, updated, at=recorded, track_refunded=track_refunded, leading=leading
    )
    return moved, outcome


def _led(order: Order, leading: tuple[ActivityEntry, ...]) -> Order:
    """``order`` with ``leading`` entries appended (``observe_refund``)."""
    return order.with_activity(*leading) if leading else order


def refund_moved(
    order: Order,
    before: Refund,
    after: Refund,
    *,
    at: datetime,
    track_refunded: bool = True,
    leading: tuple[ActivityEntry, ...] = (),
) -> Order:
    """F3, B2: ``order`` with its refund ``before`` replaced by ``after``.

    The one way a change to a known refund is written, whether the gateway reported it or
    refused our request (L3): a status change gets its activity entry (one set of messages),
    and with ``track_refunded`` the payment's ``amount_refunded`` follows what Stripe counts.
    ``leading`` entries come first in the timeline (``observe_refund``).
    """
    # The payment first: it depends on the two refunds only, and the refund and its entry are
    # then added in one change (issue 10).
    result = _shift_refunded(order, _counted(after) - _counted(before)) if track_refunded else order
    if after.status is before.status:
        return result.with_refund(after, *leading)
    return result.with_refund(
        after,
        *leading,
        ActivityEntry(  # positional, in field order (issue 10: one per refund's move)
            at,
            _STATUS_ACTIVITY[after.status],
            _status_message(after, after.status),
            None,  # actor_id: what the gateway reports is nobody's action
            after.id,
        ),
    )


def event_needs_live_read(order: Order, reported: Iterable[GatewayRefund]) -> bool:
    """L6: True when an event's refunds cannot be applied on the event's word alone: one names
    a refund the order does not know, or one of ours it knows only by our metadata (the echo of
    a refund still SUBMITTING), or gives a known refund another amount. The gateway is then
    read first; what the read shows is recorded, and the event only moves statuses."""
    for gateway_refund in reported:
        known = match_refund(order, gateway_refund)
        if (
            known is None
            or known.gateway_refund_id is None
            or known.amount != gateway_refund.amount
        ):
            return True
    return False


def _earlier_second(observed_at: datetime, as_of: datetime) -> bool:
    """L5: True when a report is older than what the refund knows.

    Stripe stamps events in whole seconds while live reads carry our clock's fraction, so a
    failure Stripe made in the same second just after a live read carries an earlier time than
    that read. Within one second the order is therefore unknown: such a report is not stale and
    applies when S3 allows the move directly (it can never leave FAILED or CANCELED).
    """
    return observed_at.replace(microsecond=0) < as_of.replace(microsecond=0)


def _counted(refund: Refund) -> int:
    """The minor units of ``refund`` that the gateway's ``amount_refunded`` counts: a refund
    pending, requiring action or succeeded there. A SUBMITTING refund is not counted: any live
    read that showed it at the gateway would have adopted its status."""
    status = refund.status
    counted = status not in RELEASED and status is not RefundStatus.SUBMITTING
    return refund.amount.minor if counted else 0


def _shift_refunded(order: Order, delta: int) -> Order:
    """``order`` with the payment's ``amount_refunded`` moved by ``delta`` minor units.

    Never below zero. Not capped at the captured amount: while a refund's failure has not
    reached us yet but the refund that replaced it at the gateway has, the sum is briefly more
    than captured; the refundable balance is then zero (the safe side) until the failure or a
    live read arrives, and a cap would make the count drift from then on.
    """
    payment = order.payment
    if payment is None or delta == 0:
        return order
    currency = payment.amount_refunded.currency
    if currency is not order.currency and currency != order.currency:
        return order
    refunded = _of_int(max(payment.amount_refunded.minor + delta, 0), currency)
    return order.with_payment(payment.with_amount_refunded(refunded))


def _import_external(
    order: Order, gateway_refund: GatewayRefund, observed_at: datetime, recorded_at: datetime
) -> Order:
    """B4: a refund the gateway's own data shows and the order lacks, recorded (never from an
    event alone, L6)."""
    local_id = gateway_refund.local_refund_id
    refused = order.find_refund(local_id) if local_id is not None else None
    refund = Refund(
        id=external_refund_id(gateway_refund),
        order_id=OrderId(order.id),
        amount=gateway_refund.amount,
        status=gateway_refund.status,
        created_at=gateway_refund.created_at,
        origin=RefundOrigin.EXTERNAL if refused is None else RefundOrigin.LOCAL,
        reason=gateway_refund.reason,
        notes=gateway_refund.metadata_value(METADATA_NOTES) or "",
        requested_by=refused.requested_by if refused is not None else None,
        quote_id=refused.quote_id if refused is not None else None,
        gateway_refund_id=gateway_refund.id,
        failure_reason=gateway_refund.failure_reason,
        status_as_of=observed_at,
    )
    if refused is None:
        message = (
            f"Refund of {refund.amount} made outside Kanorio (Stripe {gateway_refund.id}) "
            f"recorded, status {refund.status.name}"
        )
    else:
        message = (
            f"Stripe made refund {refused.id} of {refund.amount} after all (Stripe "
            f"{gateway_refund.id}), although an attempt was refused; recorded, status "
            f"{refund.status.name}"
        )
    return order.with_refund(refund).with_activity(
        ActivityEntry(
            at=recorded_at,
            kind=ActivityKind.EXTERNAL_REFUND_IMPORTED,
            message=message,
            refund_id=refund.id,
        )
    )


def refresh_payment(order: Order, record: PaymentRecord, *, at: datetime) -> Order:
    """B4: the order with the gateway's live payment record; a dispute change is recorded."""
    if order.payment is record or order.payment == record:
        return order
    updated = order.with_payment(record)
    was_disputed = order.payment.disputed if order.payment else False
    if record.disputed != was_disputed:
        message = "Payment disputed at Stripe" if record.disputed else "Payment dispute cleared"
        updated = updated.with_activity(
            ActivityEntry(at=at, kind=ActivityKind.PAYMENT_UPDATED, message=message)
        )
    return updated


def reconcile(
    order: Order,
    record: PaymentRecord,
    gateway_refunds: Iterable[GatewayRefund],
    policy: FeePolicy,
    *,
    at: datetime,
) -> Order:
    """B4, L2: the order made to match a live gateway read (payment and every refund).

    A live read is the gateway's truth now: it is never stale, and a refund it shows in a
    status S3 reaches only through a state we missed is walked through that state
    (``observe_refund``). Idempotent: reconciling twice with the same read changes nothing the
    second time.
    """
    result = refresh_payment(order, record, at=at)
    read = gateway_refunds if type(gateway_refunds) is tuple else None
    if read is not None and refunds_index(result.refunds).confirmed_by is read:
        # Issue 10: these very (immutable) gateway refunds were already found to agree with
        # every refund of this very (immutable) tuple: the loop below would change nothing. A
        # gateway hands back the same objects only for refunds that did not change.
        return rederive_status(result, policy, at=at)
    seen_ids: set[str] = set()
    observed = False
    for gateway_refund in sorted(gateway_refunds, key=lambda r: (r.created_at, r.id)):
        known = match_refund(result, gateway_refund)
        if gateway_refund.id not in seen_ids and _agrees(known, gateway_refund):
            # The read confirms the record as it is: observe_refund would change nothing
            # (CONFIRMED, nothing to fill in), so the order is left as is, the same object
            # (issue 10: a read of 1,000 known refunds rebuilds nothing).
            seen_ids.add(gateway_refund.id)
            continue
        seen_ids.add(gateway_refund.id)
        observed = True
        # A live read is newer than anything the order knows (the order is read before the
        # gateway, see RefundService._live), even when Stripe's clock runs ahead of ours.
        seen = max(at, known.status_as_of) if known and known.status_as_of else at
        result, _ = observe_refund(result, gateway_refund, observed_at=seen, track_refunded=False)
    if read is not None and (not observed or _all_agree(result, read)):
        refunds_index(result.refunds).confirmed_by = read
    return rederive_status(result, policy, at=at)


def _all_agree(order: Order, read: tuple[GatewayRefund, ...]) -> bool:
    """True when every refund of a read agrees with ``order`` as it is, each id once: the read
    would change nothing more (``reconcile`` then remembers it)."""
    ids = {r.id for r in read}
    return len(ids) == len(read) and all(_agrees(match_refund(order, r), r) for r in read)


def _agrees(known: Refund | None, gateway_refund: GatewayRefund) -> bool:
    """True when a live read's report leaves ``known`` exactly as it is: same gateway id,
    status and amount, and for a final status the same failure reason (what a CONFIRMED live
    report fills in, ``observe_refund``)."""
    return (
        known is not None
        and known.gateway_refund_id == gateway_refund.id
        and known.status is gateway_refund.status
        and known.amount == gateway_refund.amount
        and (known.status not in FINAL or known.failure_reason == gateway_refund.failure_reason)
    )


def _missed_statuses(current: RefundStatus, target: RefundStatus) -> tuple[RefundStatus, ...]:
    """The statuses a refund must have passed through, unseen, to get from ``current`` to
    ``target``: the shortest S3 path without its ends. Empty for a direct move, for no move,
    and when ``target`` cannot be reached (from a final status, or back to SUBMITTING)."""
    if current == target or refund_transition_allowed(current, target):
        return ()
    paths: list[tuple[RefundStatus, ...]] = [(current,)]
    seen = {current}
    while paths:
        path = paths.pop(0)
        for step in RefundStatus:
            if step in seen or not refund_transition_allowed(path[-1], step):
                continue
            if step == target:
                return path[1:]
            seen.add(step)
            paths.append((*path, step))
    return ()
