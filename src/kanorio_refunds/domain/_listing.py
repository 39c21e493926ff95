"""O2: the Transactions list of a site, and the orders a periodic sync must read (I2).

Pure: the ``OrderListing`` port (``kanorio_refunds.ports``) finds the order ids page by page;
these functions check who may see the list, describe each row and carry the opaque cursors.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from datetime import datetime
from typing import Final

import attrs

from kanorio_refunds.domain._actor import Actor
from kanorio_refunds.domain._balance import FeePolicy, refundable_balance
from kanorio_refunds.domain._ids import OrderId, SiteId
from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._order import Order, OrderStatus
from kanorio_refunds.domain._refund import RefundStatus
from kanorio_refunds.errors import InvalidCursor, InvalidPaymentRecord, PermissionDenied

#: O2, I2: refund statuses that still wait for the gateway's outcome ("in progress").
IN_PROGRESS: Final[frozenset[RefundStatus]] = frozenset(
    {RefundStatus.SUBMITTING, RefundStatus.PENDING, RefundStatus.REQUIRES_ACTION}
)

_CURSOR_PREFIX: Final = "kc1."


@attrs.frozen
class ListingQuery:
    """O2: which of a site's orders to list: ``status`` (None: any), ``in_progress`` (True:
    only orders with a refund in progress, False: only without, None: both), after the opaque
    ``after`` cursor of a previous page, at most ``limit`` of them."""

    site_id: SiteId
    status: OrderStatus | None = None
    in_progress: bool | None = None
    after: str | None = None
    limit: int = 50


@attrs.frozen
class ListingPage:
    """O2: one page of order ids, newest first, and the cursor of the next page (None: this
    was the last)."""

    order_ids: tuple[OrderId, ...]
    next_cursor: str | None = None


@attrs.frozen
class TransactionRow:
    """O2: one line of the Transactions list: what the help page shows for an order."""

    order_id: OrderId
    total: Money
    status: OrderStatus
    #: The refundable balance from stored data (B1, B2; zero when the payment cannot give one).
    refundable: Money
    last_activity_at: datetime | None
    refunds_in_progress: int


@attrs.frozen
class TransactionsPage:
    """O2: a page of the Transactions list; pass ``next_cursor`` as ``after`` for the next."""

    rows: tuple[TransactionRow, ...]
    next_cursor: str | None = None


def refunds_in_progress(order: Order) -> int:
    """O2: how many of the order's refunds still wait for the gateway (SUBMITTING, PENDING,
    REQUIRES_ACTION)."""
    return sum(1 for r in order.refunds if r.status in IN_PROGRESS)


def needs_sync(order: Order) -> bool:
    """I2, L2: True when a periodic sync must read the order: a refund in progress, or a
    payment whose outcome is still open (PENDING)."""
    return order.status is OrderStatus.PENDING or refunds_in_progress(order) > 0


def matches(order: Order, query: ListingQuery) -> bool:
    """O2: True when ``order`` belongs in the list ``query`` asks for (cursor aside)."""
    if order.site_id != query.site_id:
        return False
    if query.status is not None and order.status is not query.status:
        return False
    return query.in_progress is None or (refunds_in_progress(order) > 0) == query.in_progress


def transaction_row(order: Order, policy: FeePolicy) -> TransactionRow:
    """O2: the list's line for ``order``, from stored data."""
    refundable = Money.zero(order.currency)
    # A payment that cannot give a balance (E4) lists zero; the order page says why.
    with contextlib.suppress(InvalidPaymentRecord):
        if order.payment is not None:
            refundable = refundable_balance(order.payment, order.refunds, policy).refundable
    return TransactionRow(
        order_id=order.id,
        total=order.total,
        status=order.status,
        refundable=refundable,
        last_activity_at=max((e.at for e in order.activity), default=None),
        refunds_in_progress=refunds_in_progress(order),
    )


def require_list_role(site_id: SiteId, actor: Actor) -> None:
    """E2, P2: only the site's owner and administrators see its Transactions list."""
    if not actor.may_refund(site_id):
        raise PermissionDenied(
            f"{actor.id} is not the owner or an administrator of site {site_id}; only they "
            f"can list its transactions"
        )


def check_limit(limit: int, *, most: int = 1000) -> None:
    """O2: a page size is an int from 1 to ``most``; ``ValueError`` otherwise."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= most:
        raise ValueError(f"limit must be an int from 1 to {most}, got {limit!r:.40}")


def encode_cursor(kind: str, *parts: str | int) -> str:
    """O2: an opaque cursor holding ``parts`` (a listing's keyset position), tagged with
    ``kind`` so one listing's cursor is refused by another."""
    raw = json.dumps([kind, *parts], separators=(",", ":")).encode()
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, types: tuple[type, ...]) -> tuple[str | int, ...]:
    """O2: the parts of a cursor ``encode_cursor(kind, …)`` made, each of the given type;
    ``InvalidCursor`` for anything else."""
    bad = InvalidCursor(
        f"{str(cursor)[:40]!r} is not a cursor of this listing; pass the next_cursor of a page "
        f"of the same listing, or no cursor to start from the newest"
    )
    if not isinstance(cursor, str) or not cursor.startswith(_CURSOR_PREFIX):
        raise bad
    body = cursor.removeprefix(_CURSOR_PREFIX)
    try:
        decoded = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if not isinstance(decoded, list) or len(decoded) != len(types) + 1 or decoded[0] != kind:
        raise bad
    parts = decoded[1:]
    for part, expected in zip(parts, types, strict=True):
        if type(part) is not expected:
            raise bad
    return tuple(parts)
