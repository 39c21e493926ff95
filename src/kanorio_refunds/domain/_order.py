"""The order aggregate: status machine (S2), refunds, buyer access and activity timeline (F3)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime
from typing import Final

import attrs

from kanorio_refunds.domain._ids import ActorId, OrderId, QuoteId, RefundId, SiteId
from kanorio_refunds.domain._memo import remember
from kanorio_refunds.domain._money import Currency, Money, _of_int
from kanorio_refunds.domain._payment import GatewayRefund, PaymentRecord
from kanorio_refunds.domain._refund import RELEASED, Refund, RefundStatus
from kanorio_refunds.domain._slots import fast_init, slot_setters
from kanorio_refunds.errors import IllegalTransition, RefundNotFound


class OrderStatus(enum.Enum):
    """The order's status as the backend shows it."""

    # Hashed by identity, as members compare (issue 10: Enum's own __hash__ is Python code,
    # run on every set or dict lookup of a member).
    __hash__ = object.__hash__

    PENDING = "pending"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    PAYMENT_FAILED = "payment_failed"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        """The status as the help page writes it: 'Partially Refunded'."""
        return _STATUS_LABELS[self]


_STATUS_LABELS: Final[dict[OrderStatus, str]] = {
    status: status.value.replace("_", " ").title() for status in OrderStatus
}


# S2: the order state machine. EXPIRED is final. PAYMENT_FAILED is not (S2 revised with I2):
# Stripe returns a PaymentIntent whose payment failed to requires_payment_method, and the
# buyer's retry may still succeed (PAID) until it is canceled (EXPIRED); docs/rules.md.
_ORDER_TRANSITIONS: Final[dict[OrderStatus, frozenset[OrderStatus]]] = {
    OrderStatus.PENDING: frozenset(
        {OrderStatus.PAID, OrderStatus.PAYMENT_FAILED, OrderStatus.EXPIRED}
    ),
    OrderStatus.PAID: frozenset({OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED}),
    OrderStatus.PARTIALLY_REFUNDED: frozenset({OrderStatus.REFUNDED, OrderStatus.PAID}),
    # Back to PARTIALLY_REFUNDED or PAID only when a refund fails or is canceled (S2); the
    # derivation in rules.status makes that the only way there.
    OrderStatus.REFUNDED: frozenset({OrderStatus.PARTIALLY_REFUNDED, OrderStatus.PAID}),
    OrderStatus.PAYMENT_FAILED: frozenset({OrderStatus.PAID, OrderStatus.EXPIRED}),
    OrderStatus.EXPIRED: frozenset(),
}


#: I2, O2: statuses in which the payment's outcome may still change (the periodic sync reads
#: their orders). A failed PaymentIntent may still succeed on a retry, but it is followed by its
#: webhook (``payment_intent.succeeded``), not polled: docs/operations.md.
PAYMENT_OPEN_STATUSES: Final[frozenset[OrderStatus]] = frozenset({OrderStatus.PENDING})


def payment_settled(status: OrderStatus) -> bool:
    """I2: False while the order's payment outcome is still open (PENDING)."""
    return status not in PAYMENT_OPEN_STATUSES


def order_transition_allowed(current: OrderStatus, new: OrderStatus) -> bool:
    """S2: True when an order may move from ``current`` to ``new``."""
    return new in _ORDER_TRANSITIONS[current]


def check_order_transition(current: OrderStatus, new: OrderStatus) -> None:
    """S2: raise ``IllegalTransition`` unless ``current`` → ``new`` is allowed."""
    if not order_transition_allowed(current, new):
        allowed = ", ".join(sorted(s.name for s in _ORDER_TRANSITIONS[current])) or "nothing"
        raise IllegalTransition(
            f"an order cannot go from {current.name} to {new.name}; from {current.name} it may "
            f"go to: {allowed}"
        )


class ActivityKind(enum.Enum):
    """What an activity entry records."""

    # Hashed by identity, as members compare (issue 10: Enum's own __hash__ is Python code,
    # run on every set or dict lookup of a member).
    __hash__ = object.__hash__

    REFUND_REQUESTED = "refund_requested"
    REFUND_SUBMITTED = "refund_submitted"
    REFUND_OUTCOME_UNKNOWN = "refund_outcome_unknown"
    REFUND_PENDING = "refund_pending"
    REFUND_REQUIRES_ACTION = "refund_requires_action"
    REFUND_SUCCEEDED = "refund_succeeded"
    REFUND_FAILED = "refund_failed"
    REFUND_CANCELED = "refund_canceled"
    EXTERNAL_REFUND_IMPORTED = "external_refund_imported"
    STATUS_CHANGED = "status_changed"
    PAYMENT_UPDATED = "payment_updated"
    BUYER_ACCESS_REVOKED = "buyer_access_revoked"
    BUYER_ACCESS_RESTORED = "buyer_access_restored"


@fast_init
@attrs.frozen
class ActivityEntry:
    """One line of the order's append-only activity timeline (F3)."""

    at: datetime
    kind: ActivityKind
    message: str
    actor_id: ActorId | None = None
    refund_id: RefundId | None = None


def status_changed_entry(
    old: OrderStatus, new: OrderStatus, *, at: datetime, actor_id: ActorId | None = None
) -> ActivityEntry:
    """F3, S1, I2: the timeline's entry for an order moving from ``old`` to ``new``, whatever
    moved it (its refunds or its payment)."""
    return ActivityEntry(  # positional, in field order (issue 10: one per status change)
        at,
        ActivityKind.STATUS_CHANGED,
        f"Order status changed from {old.label} to {new.label}",
        actor_id,
    )


@attrs.frozen
class Order:
    """An e-commerce order of one website, with everything refunds need.

    Immutable: every change returns a new Order; the repository stores it with ``version`` + 1.
    """

    id: OrderId
    site_id: SiteId
    total: Money
    status: OrderStatus
    payment: PaymentRecord | None = None
    refunds: tuple[Refund, ...] = ()
    buyer_access: bool = True
    activity: tuple[ActivityEntry, ...] = ()
    version: int = 0

    # Equality as attrs would generate it (the same class, the fields pairwise equal, a field
    # equal to itself by identity first, as tuples compare), written out to compare first the
    # fields a change makes differ (issue 10: every use case asks whether its change changed
    # the order; the timeline and the refunds differ by their lengths, answered in C, where
    # attrs' order compared the total and the payment record first). attrs sees these and
    # generates none.
    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Order)
        return (
            self.version == other.version
            and self.activity == other.activity
            and self.refunds == other.refunds
            and self.status == other.status
            and self.buyer_access == other.buyer_access
            and self.id == other.id
            and self.site_id == other.site_id
            and (self.payment is other.payment or self.payment == other.payment)
            and (self.total is other.total or self.total == other.total)
        )

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        return hash(
            (
                self.id,
                self.site_id,
                self.total,
                self.status,
                self.payment,
                self.refunds,
                self.buyer_access,
                self.activity,
                self.version,
            )
        )

    @property
    def currency(self) -> Currency:
        """The order (presentment) currency."""
        return self.total.currency

    def refund(self, refund_id: RefundId) -> Refund:
        """The refund with that id; ``RefundNotFound`` otherwise."""
        position = _positions(self).get(refund_id)
        if position is None:
            raise RefundNotFound(f"order {self.id} has no refund {refund_id}")
        return self.refunds[position]

    def find_refund(self, refund_id: RefundId) -> Refund | None:
        """The refund with that id, or None."""
        position = _positions(self).get(refund_id)
        return None if position is None else self.refunds[position]

    def refund_for_quote(self, quote_id: QuoteId) -> Refund | None:
        """The refund made from that quote, if it was processed (F2 idempotency).

        Should an attempt refused by the gateway have been made after all, both are recorded
        with the quote's id (``reconcile.match_refund``); the one the gateway holds is the
        quote's refund.
        """
        positions = _quote_positions(self).get(quote_id)
        if not positions:
            return None
        if len(positions) == 1:  # the usual case: one attempt
            return self.refunds[positions[0]]
        made = [self.refunds[i] for i in positions]
        return next((r for r in made if r.gateway_refund_id is not None), made[0])

    def submitting_refunds(self) -> tuple[Refund, ...]:
        """The refunds still SUBMITTING (written ahead, no answer of the gateway yet: L1, L2),
        in the order's order."""
        refunds = self.refunds
        return tuple(refunds[i] for i in refunds_index(refunds).submitting)

    def with_refund(self, refund: Refund, *entries: ActivityEntry) -> Order:
        """This order with ``refund`` added, or replacing the refund with the same id, and
        ``entries`` appended to its activity timeline."""
        position = _positions(self).get(refund.id)
        activity = (*self.activity, *entries) if entries else None
        if position is None:
            changed = _changed(self, refunds=(*self.refunds, refund), activity=activity)
            _derive_index(self, changed, None, refund)
        else:
            refunds = list(self.refunds)
            before = refunds[position]
            refunds[position] = refund
            changed = _changed(self, refunds=tuple(refunds), activity=activity)
            _derive_index(self, changed, before, refund)
        if entries:
            _derive_submitted(self.activity, changed.activity, entries)
        return changed

    def with_activity(self, *entries: ActivityEntry) -> Order:
        """This order with ``entries`` appended to its activity timeline (never rewritten)."""
        appended = _changed(self, activity=(*self.activity, *entries))
        _derive_submitted(self.activity, appended.activity, entries)
        return appended

    def submitted_refund_ids(self) -> frozenset[RefundId]:
        """The refunds whose activity timeline says they were submitted to the gateway (a
        REFUND_SUBMITTED entry). Never mutated once made."""
        known = _SUBMITTED.get(id(self.activity))
        if known is not None and known[0] is self.activity:
            return known[1]
        ids = frozenset(
            e.refund_id
            for e in self.activity
            if e.kind is ActivityKind.REFUND_SUBMITTED and e.refund_id is not None
        )
        _remember_submitted(self.activity, ids)
        return ids

    def with_payment(self, payment: PaymentRecord) -> Order:
        """This order with the gateway's ``payment`` record."""
        return _changed(self, payment=payment)

    def with_status(self, status: OrderStatus, *entries: ActivityEntry) -> Order:
        """This order in ``status`` (S2 checked; staying put is allowed), with ``entries``
        appended to its activity timeline."""
        if status is not self.status:
            check_order_transition(self.status, status)
        if not entries:
            return _changed(self, status=status)
        changed = _changed(self, status=status, activity=(*self.activity, *entries))
        _derive_submitted(self.activity, changed.activity, entries)
        return changed


def at_version(order: Order, version: int) -> Order:
    """``order`` as stored at ``version`` (what a repository's save hands back), built directly
    like ``_changed`` (``attrs.evolve`` for a host's subclass, which keeps its fields)."""
    if type(order) is not Order:
        return attrs.evolve(order, version=version)
    return _order(
        order.id,
        order.site_id,
        order.total,
        order.status,
        order.payment,
        order.refunds,
        order.buyer_access,
        order.activity,
        version,
    )


def _changed(
    order: Order,
    *,
    status: OrderStatus | None = None,
    payment: PaymentRecord | None = None,
    refunds: tuple[Refund, ...] | None = None,
    activity: tuple[ActivityEntry, ...] | None = None,
) -> Order:
    """``attrs.evolve(order, ...)`` for the fields ``Order``'s own methods change, without its
    introspection on every call (issue 10: several per use case). A subclass of ``Order``
    (a host's, with fields of its own) gets ``attrs.evolve``, which keeps them."""
    if type(order) is not Order:
        return attrs.evolve(
            order,
            status=order.status if status is None else status,
            payment=order.payment if payment is None else payment,
            refunds=order.refunds if refunds is None else refunds,
            activity=order.activity if activity is None else activity,
        )
    return _order(
        order.id,
        order.site_id,
        order.total,
        order.status if status is None else status,
        order.payment if payment is None else payment,
        order.refunds if refunds is None else refunds,
        order.buyer_access,
        order.activity if activity is None else activity,
        order.version,
    )


_ORDER_FIELDS: Final = (
    "id",
    "site_id",
    "total",
    "status",
    "payment",
    "refunds",
    "buyer_access",
    "activity",
    "version",
)


def _order_builder() -> Callable[..., Order]:
    """A builder of ``Order`` values from all nine fields, in order, that sets the slots
    directly (``_slots``): the value ``Order(...)`` gives, for fields that are what they hold
    (``slot_setters`` checks Order's fields on import)."""
    (s_id, s_site, s_total, s_status, s_payment, s_refunds, s_access, s_activity, s_version) = (
        slot_setters(Order, _ORDER_FIELDS)
    )
    new = object.__new__

    def build(
        id: OrderId,
        site_id: SiteId,
        total: Money,
        status: OrderStatus,
        payment: PaymentRecord | None,
        refunds: tuple[Refund, ...],
        buyer_access: bool,
        activity: tuple[ActivityEntry, ...],
        version: int,
    ) -> Order:
        order: Order = new(Order)
        s_id(order, id)
        s_site(order, site_id)
        s_total(order, total)
        s_status(order, status)
        s_payment(order, payment)
        s_refunds(order, refunds)
        s_access(order, buyer_access)
        s_activity(order, activity)
        s_version(order, version)
        return order

    return build


_order: Final = _order_builder()


# Where each refund sits in an order's ``refunds``, per refunds tuple (issue 10: lookups and
# replacements by id cost the same on an order's 1,000th refund as on its first). Kept beside
# the orders, keyed by the identity of their (immutable) refunds tuple, not in a field: an
# order's value (equality, hash, fields, serialisation) stays what it is, and every order
# sharing that tuple (``attrs.evolve`` of its activity, status, payment or version) shares the
# index. Ids are unique in an order (``with_refund`` replaces by id); should an order hold a
# repeated id, the first refund wins, as the scans this replaces did. A pure memo, bounded
# (the oldest entry goes when full): nothing observable but speed.
#
# Beside the positions it keeps what is derived from the same tuple: the sum of the refunds
# that reserve part of the balance (B1, ``_balance.reserved_amount``), and the last gateway
# read that confirmed every refund as it is (``_reconcile.reconcile``). Each is derived for
# the next tuple from the change ``with_refund`` makes, never by a scan, or forgotten.
class _Index:
    __slots__ = (
        "by_gateway",
        "by_id",
        "by_quote",
        "confirmed_by",
        "refunds",
        "reserved",
        "status_kept",
        "submitting",
    )

    def __init__(
        self,
        refunds: tuple[Refund, ...],
        by_id: dict[RefundId, int],
        by_gateway: dict[str, int],
        by_quote: dict[QuoteId, tuple[int, ...]],
        submitting: tuple[int, ...],
        reserved: Money | None = None,
    ) -> None:
        self.refunds = refunds  # held, so its id is not reused while the entry lives
        self.by_id = by_id
        self.by_gateway = by_gateway
        self.by_quote = by_quote
        self.submitting = submitting  # positions of the SUBMITTING refunds, ascending
        self.reserved = reserved  # computed on first use
        #: A gateway read (its refunds, immutable) that agreed with every refund here.
        self.confirmed_by: tuple[GatewayRefund, ...] | None = None
        #: (payment record, policy, status): S1 derives that status for these refunds with
        #: that (immutable) record and fee policy (``_status.rederive_status``). One tuple, set
        #: in one assignment, so threads sharing the index never see halves of two.
        self.status_kept: tuple[PaymentRecord, object, OrderStatus] | None = None


# Enough for a sweep of a few thousand orders (sync of every order, a Transactions page) to
# find each order's index again (issue 10, goal 4); each entry holds one order's refunds.
_MAX_INDEXES: Final = 4096
_INDEXES: dict[int, _Index] = {}


def refunds_index(refunds: tuple[Refund, ...]) -> _Index:
    """The index of a refunds tuple (made on first use). Never mutated but to fill in what it
    derives from the tuple, once."""
    index = _INDEXES.get(id(refunds))
    if index is not None and index.refunds is refunds:
        return index
    return _remember(_Index(refunds, *_scan(refunds)))


def _scan(
    refunds: tuple[Refund, ...],
) -> tuple[dict[RefundId, int], dict[str, int], dict[QuoteId, tuple[int, ...]], tuple[int, ...]]:
    """The positions of the refunds by our id, by gateway id and by quote id, and of those
    SUBMITTING, in one pass."""
    by_id: dict[RefundId, int] = {}
    by_gateway: dict[str, int] = {}
    by_quote: dict[QuoteId, tuple[int, ...]] = {}
    submitting: list[int] = []
    for i, refund in enumerate(refunds):
        by_id.setdefault(refund.id, i)
        if refund.gateway_refund_id is not None:
            by_gateway.setdefault(refund.gateway_refund_id, i)
        if refund.quote_id is not None:
            by_quote[refund.quote_id] = (*by_quote.get(refund.quote_id, ()), i)
        if refund.status is RefundStatus.SUBMITTING:
            submitting.append(i)
    return by_id, by_gateway, by_quote, tuple(submitting)


def _positions(order: Order) -> dict[RefundId, int]:
    """The position of every refund of ``order`` by our id. Never mutated once made."""
    return refunds_index(order.refunds).by_id


def gateway_positions(order: Order) -> dict[str, int]:
    """The position of every refund of ``order`` that has a gateway id, by that id (the first
    one for a repeated id). Never mutated once made."""
    return refunds_index(order.refunds).by_gateway


def _quote_positions(order: Order) -> dict[QuoteId, tuple[int, ...]]:
    """The positions of the refunds made from each quote, in order. Never mutated once made."""
    return refunds_index(order.refunds).by_quote


def _derive_index(before: Order, after: Order, replaced: Refund | None, new: Refund) -> None:
    """Give ``after`` (``before`` with ``new`` added, or replacing ``replaced``) its index
    without a scan of its refunds (but for a refund that changes its gateway or quote id to
    another one, which the domain never does)."""
    old = refunds_index(before.refunds)
    known = old.reserved
    if known is None and not before.refunds:  # the first refund: the sum is its own
        known = _of_int(0, new.amount.currency)
    reserved = _reserved_after(known, replaced, new)
    gateway_id, quote_id = new.gateway_refund_id, new.quote_id
    if replaced is None:
        at = len(before.refunds)
        by_id = {**old.by_id, new.id: at}
        by_gateway = old.by_gateway
        if gateway_id is not None and gateway_id not in by_gateway:
            by_gateway = {**by_gateway, gateway_id: at}
        by_quote = old.by_quote
        if quote_id is not None:
            by_quote = {**by_quote, quote_id: (*by_quote.get(quote_id, ()), at)}
        submitting = old.submitting
        if new.status is RefundStatus.SUBMITTING:
            submitting = (*submitting, at)
        _remember(_Index(after.refunds, by_id, by_gateway, by_quote, submitting, reserved))
        _forget(old)
        return
    at = old.by_id[new.id]
    by_gateway, by_quote, submitting = old.by_gateway, old.by_quote, old.submitting
    if replaced.gateway_refund_id != gateway_id or replaced.quote_id != quote_id:
        if replaced.gateway_refund_id is None and replaced.quote_id == quote_id:
            # A refund of ours getting its gateway id: the usual change.
            assert gateway_id is not None
            if by_gateway.get(gateway_id, at + 1) > at:
                by_gateway = {**by_gateway, gateway_id: at}
        else:
            _, by_gateway, by_quote, _ = _scan(after.refunds)
    was, now = replaced.status is RefundStatus.SUBMITTING, new.status is RefundStatus.SUBMITTING
    if was and not now:
        submitting = () if submitting == (at,) else tuple([i for i in submitting if i != at])
    elif now and not was:
        submitting = tuple(sorted((*submitting, at)))
    _remember(_Index(after.refunds, old.by_id, by_gateway, by_quote, submitting, reserved))
    _forget(old)


def _forget(index: _Index) -> None:
    """Drop ``index``, which a change just derived the next one from: an order is changed far
    more often than an older version of it is used again (which then indexes it once more), and
    each index holds its refunds and their positions: without this, an order built up refund by
    refund kept every earlier version's index alive, up to the memo's bound."""
    if index.refunds and _INDEXES.get(id(index.refunds)) is index:  # () is every new order's
        _INDEXES.pop(id(index.refunds), None)


def _reserved_after(reserved: Money | None, replaced: Refund | None, new: Refund) -> Money | None:
    """B1: the reserved sum once ``replaced`` (if any) gives way to ``new``; None (computed
    again on use) when it was not known or a refund is in another currency."""
    if (
        replaced is not None
        and replaced.amount is new.amount
        and (replaced.status in RELEASED) is (new.status in RELEASED)
    ):
        return reserved  # the same amount, reserving (or not) as before: the usual move
    for refund, sign in ((replaced, -1), (new, 1)):
        if reserved is None or refund is None or refund.status in RELEASED:
            continue
        amount = refund.amount
        if amount.currency is not reserved.currency and amount.currency != reserved.currency:
            return None
        reserved = _of_int(reserved.minor + sign * amount.minor, reserved.currency)
    return reserved


def _remember(index: _Index) -> _Index:
    if type(index.refunds) is not tuple:
        return index  # a list (or other sequence) may change in place: never remembered
    # Bounded memory: the oldest goes (rebuilt on its next use, should it have one).
    return remember(_INDEXES, id(index.refunds), index, _MAX_INDEXES)


# ``Order.submitted_refund_ids`` per activity tuple, like the refunds index (issue 10: the
# question is asked on every answer of the gateway; the timeline grows with every refund).
_SUBMITTED: dict[int, tuple[tuple[ActivityEntry, ...], frozenset[RefundId]]] = {}


def _derive_submitted(
    before: tuple[ActivityEntry, ...],
    after: tuple[ActivityEntry, ...],
    entries: tuple[ActivityEntry, ...],
) -> None:
    known = _SUBMITTED.get(id(before))
    if not before:
        known = (before, frozenset())  # a timeline's start: nothing submitted
    elif known is None or known[0] is not before:
        return  # computed on first use
    ids = known[1]
    for entry in entries:  # a loop, not a comprehension: 3.11 makes one a function call
        if entry.kind is ActivityKind.REFUND_SUBMITTED and entry.refund_id is not None:
            ids = ids | {entry.refund_id}
    _remember_submitted(after, ids)
    if before and _SUBMITTED.get(id(before)) is known:  # as ``_forget`` does for the index
        _SUBMITTED.pop(id(before), None)


def _remember_submitted(activity: tuple[ActivityEntry, ...], ids: frozenset[RefundId]) -> None:
    if type(activity) is tuple:  # a list may change in place: never remembered
        remember(_SUBMITTED, id(activity), (activity, ids), _MAX_INDEXES)
