"""The order aggregate: status machine (S2), refunds, buyer access and activity timeline (F3)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Final

import attrs

from kanorio_refunds.domain._ids import ActorId, OrderId, QuoteId, RefundId, SiteId
from kanorio_refunds.domain._money import Currency, Money
from kanorio_refunds.domain._payment import PaymentRecord
from kanorio_refunds.domain._refund import Refund
from kanorio_refunds.errors import IllegalTransition, RefundNotFound


class OrderStatus(enum.Enum):
    """The order's status as the backend shows it."""

    PENDING = "pending"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    PAYMENT_FAILED = "payment_failed"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        """The status as the help page writes it: 'Partially Refunded'."""
        return self.value.replace("_", " ").title()


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


@attrs.frozen
class ActivityEntry:
    """One line of the order's append-only activity timeline (F3)."""

    at: datetime
    kind: ActivityKind
    message: str
    actor_id: ActorId | None = None
    refund_id: RefundId | None = None


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
        made = [r for r in self.refunds if r.quote_id == quote_id]
        return next((r for r in made if r.gateway_refund_id is not None), made[0] if made else None)

    def with_refund(self, refund: Refund) -> Order:
        """This order with ``refund`` added, or replacing the refund with the same id."""
        position = _positions(self).get(refund.id)
        if position is None:
            added = attrs.evolve(self, refunds=(*self.refunds, refund))
            _derive_index(self, added, None, refund)
            return added
        refunds = list(self.refunds)
        before = refunds[position]
        refunds[position] = refund
        replaced = attrs.evolve(self, refunds=tuple(refunds))
        _derive_index(self, replaced, before, refund)
        return replaced

    def with_activity(self, *entries: ActivityEntry) -> Order:
        """This order with ``entries`` appended to its activity timeline (never rewritten)."""
        return attrs.evolve(self, activity=(*self.activity, *entries))

    def with_status(self, status: OrderStatus) -> Order:
        """This order in ``status`` (S2 checked; staying put is allowed)."""
        if status != self.status:
            check_order_transition(self.status, status)
        return attrs.evolve(self, status=status)


# Where each refund sits in an order's ``refunds``, per refunds tuple (issue 10: lookups and
# replacements by id cost the same on an order's 1,000th refund as on its first). Kept beside
# the orders, keyed by the identity of their (immutable) refunds tuple, not in a field: an
# order's value (equality, hash, fields, serialisation) stays what it is, and every order
# sharing that tuple (``attrs.evolve`` of its activity, status, payment or version) shares the
# index. Ids are unique in an order (``with_refund`` replaces by id); should an order hold a
# repeated id, the first refund wins, as the scans this replaces did. A pure memo, bounded
# (cleared when full): nothing observable but speed.
class _Index:
    __slots__ = ("by_gateway", "by_id", "refunds")

    def __init__(
        self,
        refunds: tuple[Refund, ...],
        by_id: dict[RefundId, int],
        by_gateway: dict[str, int] | None,
    ) -> None:
        self.refunds = refunds  # held, so its id is not reused while the entry lives
        self.by_id = by_id
        self.by_gateway = by_gateway  # built on first use


_MAX_INDEXES: Final = 256
_INDEXES: dict[int, _Index] = {}


def _index(order: Order) -> _Index:
    refunds = order.refunds
    index = _INDEXES.get(id(refunds))
    if index is not None and index.refunds is refunds:
        return index
    by_id: dict[RefundId, int] = {}
    for i, refund in enumerate(refunds):
        by_id.setdefault(refund.id, i)
    return _remember(_Index(refunds, by_id, None))


def _positions(order: Order) -> dict[RefundId, int]:
    """The position of every refund of ``order`` by our id. Never mutated once made."""
    return _index(order).by_id


def gateway_positions(order: Order) -> dict[str, int]:
    """The position of every refund of ``order`` that has a gateway id, by that id (the first
    one for a repeated id). Never mutated once made."""
    index = _index(order)
    if index.by_gateway is None:
        by_gateway: dict[str, int] = {}
        for i, refund in enumerate(order.refunds):
            if refund.gateway_refund_id is not None:
                by_gateway.setdefault(refund.gateway_refund_id, i)
        index.by_gateway = by_gateway
    return index.by_gateway


def _derive_index(before: Order, after: Order, replaced: Refund | None, new: Refund) -> None:
    """Give ``after`` (``before`` with ``new`` added, or replacing ``replaced``) its index
    without a scan of its refunds."""
    old = _index(before)
    if replaced is None:
        by_id = {**old.by_id, new.id: len(before.refunds)}
        by_gateway = old.by_gateway
        if by_gateway is not None and new.gateway_refund_id is not None:
            by_gateway = {new.gateway_refund_id: len(before.refunds), **by_gateway}
        _remember(_Index(after.refunds, by_id, by_gateway))
    else:
        same_gateway = replaced.gateway_refund_id == new.gateway_refund_id
        _remember(_Index(after.refunds, old.by_id, old.by_gateway if same_gateway else None))


def _remember(index: _Index) -> _Index:
    if len(_INDEXES) >= _MAX_INDEXES:
        _INDEXES.clear()  # bounded memory; an index is rebuilt on its next use
    _INDEXES[id(index.refunds)] = index
    return index
