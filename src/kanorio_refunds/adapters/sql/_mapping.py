"""Orders to rows and back, exactly.

Every field of ``Order``, ``PaymentRecord``, ``Refund``, ``RefundEventEntry``,
``ActivityEntry``, ``Money`` and ``Currency`` is written and read by the functions below, and
``MAPPED_FIELDS`` names them. ``unmapped_fields()`` compares that list with the classes' attrs
fields: a field added to the domain later shows up there (a test fails, and a repository
refuses to start) instead of being silently dropped on the way to the database.

Writing checks what the database could not hold exactly (naive datetimes, amounts beyond
64 bits) and raises ``StorageError``; reading checks every value and raises
``InvalidStoredData`` instead of guessing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Final, TypeVar

import attrs

from kanorio_refunds.adapters.sql._errors import InvalidStoredData, StorageError
from kanorio_refunds.domain._feed import FeedEntry
from kanorio_refunds.domain._ids import (
    ActorId,
    ChargeId,
    EventId,
    GatewayRefundId,
    OrderId,
    PaymentIntentId,
    QuoteId,
    RefundId,
    SiteId,
)
from kanorio_refunds.domain._money import Currency, Money
from kanorio_refunds.domain._order import ActivityEntry, ActivityKind, Order, OrderStatus
from kanorio_refunds.domain._payment import PaymentRecord
from kanorio_refunds.domain._refund import (
    Refund,
    RefundEventEntry,
    RefundOrigin,
    RefundReason,
    RefundStatus,
)
from kanorio_refunds.errors import RefundError

__all__ = [
    "MAPPED_FIELDS",
    "Row",
    "activity_rows",
    "children_from_rows",
    "event_rows",
    "feed_entry_from_row",
    "order_from_rows",
    "order_row",
    "refund_row",
    "unmapped_fields",
    "utc_instant",
]

Row = dict[str, Any]
E = TypeVar("E", bound=Enum)
T = TypeVar("T")

#: The attrs fields this module stores, per class. Keep in step with the functions below.
MAPPED_FIELDS: Final[Mapping[type, frozenset[str]]] = {
    Order: frozenset(
        {
            "id",
            "site_id",
            "total",
            "status",
            "payment",
            "refunds",
            "buyer_access",
            "activity",
            "version",
        }
    ),
    PaymentRecord: frozenset(
        {
            "payment_intent_id",
            "charge_id",
            "captured",
            "stripe_fee",
            "platform_fee",
            "settlement_currency",
            "amount_refunded",
            "exchange_rate",
            "disputed",
        }
    ),
    Refund: frozenset(
        {
            "id",
            "order_id",
            "amount",
            "status",
            "created_at",
            "origin",
            "reason",
            "notes",
            "requested_by",
            "quote_id",
            "gateway_refund_id",
            "failure_reason",
            "status_as_of",
            "events",
        }
    ),
    RefundEventEntry: frozenset({"event_id", "type", "occurred_at", "status", "applied"}),
    ActivityEntry: frozenset({"at", "kind", "message", "actor_id", "refund_id"}),
    Money: frozenset({"minor", "currency"}),
    # The exponent is not stored: Currency.of(code) gives it back (ISO 4217).
    Currency: frozenset({"code", "exponent"}),
}

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_IN_PROGRESS: Final = frozenset(
    {RefundStatus.SUBMITTING, RefundStatus.PENDING, RefundStatus.REQUIRES_ACTION}
)


def unmapped_fields(
    mapping: Mapping[type, frozenset[str]] = MAPPED_FIELDS,
) -> dict[str, list[str]]:
    """``{"Order": ["new_field"], ...}``: attrs fields no column stores (and mapped names no
    class has any more), for ``MAPPED_FIELDS`` or another ``mapping``. Empty when the mapping
    is complete."""
    problems: dict[str, list[str]] = {}
    for cls, mapped in mapping.items():
        actual = {f.name for f in attrs.fields(cls)}
        diff = sorted(actual - mapped) + [f"(gone) {name}" for name in sorted(mapped - actual)]
        if diff:
            problems[cls.__name__] = diff
    return problems


# ------------------------------------------------------------------------------ writing


def utc_instant(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise StorageError(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise StorageError(
            f"{what} is a naive datetime ({value.isoformat()}); the store keeps UTC instants, "
            f"so give it a time zone (the library's clocks always do)"
        )
    return value.astimezone(UTC)


def _utc_or_none(value: datetime | None, what: str) -> datetime | None:
    return None if value is None else utc_instant(value, what)


def _minor(money: Money, what: str) -> int:
    if not isinstance(money, Money):
        raise StorageError(f"{what} must be Money, got {type(money).__name__}")
    if not _INT64_MIN <= money.minor <= _INT64_MAX:
        raise StorageError(
            f"{what} ({money}) does not fit a 64-bit integer of minor units, the largest amount "
            f"the store holds"
        )
    return money.minor


def _text(value: str, what: str) -> str:
    if not isinstance(value, str):
        raise StorageError(f"{what} must be text, got {type(value).__name__}")
    return value


def _text_or_none(value: str | None, what: str) -> str | None:
    return None if value is None else _text(value, what)


def order_row(order: Order) -> Row:
    """The columns of the orders row that describe ``order`` itself (not version, write id,
    nor the row's timestamps, which the repository sets)."""
    payment = order.payment
    row: Row = {
        "id": _text(order.id, "the order id"),
        "site_id": _text(order.site_id, "the site id"),
        "status": order.status.value,
        "currency": order.total.currency.code,
        "total_minor": _minor(order.total, "the order total"),
        "buyer_access": bool(order.buyer_access),
        "refund_count": len(order.refunds),
        "refunds_in_progress": sum(1 for r in order.refunds if r.status in _IN_PROGRESS),
        "activity_count": len(order.activity),
        "has_payment": payment is not None,
    }
    if payment is None:
        row.update(dict.fromkeys(_PAYMENT_COLUMNS))
        return row
    rate = payment.exchange_rate
    if rate is not None and not (isinstance(rate, Decimal) and rate.is_finite()):
        raise StorageError(f"the exchange rate must be a finite Decimal, got {rate!r}")
    row.update(
        {
            "payment_intent_id": _text_or_none(payment.payment_intent_id, "the PaymentIntent id"),
            "charge_id": _text_or_none(payment.charge_id, "the Charge id"),
            "payment_captured_minor": _minor(payment.captured, "the captured amount"),
            "payment_captured_currency": payment.captured.currency.code,
            "payment_stripe_fee_minor": _minor(payment.stripe_fee, "the Stripe fee"),
            "payment_stripe_fee_currency": payment.stripe_fee.currency.code,
            "payment_platform_fee_minor": _minor(payment.platform_fee, "the platform fee"),
            "payment_platform_fee_currency": payment.platform_fee.currency.code,
            "payment_settlement_currency": payment.settlement_currency.code,
            "payment_amount_refunded_minor": _minor(payment.amount_refunded, "the refunded amount"),
            "payment_amount_refunded_currency": payment.amount_refunded.currency.code,
            # str() of a Decimal is exact and Decimal() reads it back equal, digit for digit.
            "payment_exchange_rate": None if rate is None else str(rate),
            "payment_disputed": bool(payment.disputed),
        }
    )
    return row


_PAYMENT_COLUMNS: Final = (
    "payment_intent_id",
    "charge_id",
    "payment_captured_minor",
    "payment_captured_currency",
    "payment_stripe_fee_minor",
    "payment_stripe_fee_currency",
    "payment_platform_fee_minor",
    "payment_platform_fee_currency",
    "payment_settlement_currency",
    "payment_amount_refunded_minor",
    "payment_amount_refunded_currency",
    "payment_exchange_rate",
    "payment_disputed",
)


def refund_row(order_id: str, position: int, refund: Refund) -> Row:
    """The refunds row of ``refund``, the ``position``-th refund of order ``order_id``."""
    what = f"refund {refund.id!r}"
    return {
        "order_id": order_id,
        "position": position,
        "id": _text(refund.id, "a refund id"),
        # NULL in every order the library builds; kept exact for one assembled otherwise.
        "refund_order_id": None if refund.order_id == order_id else _text(refund.order_id, what),
        "amount_minor": _minor(refund.amount, f"the amount of {what}"),
        "currency": refund.amount.currency.code,
        "status": refund.status.value,
        "created_at": utc_instant(refund.created_at, f"the creation time of {what}"),
        "origin": refund.origin.value,
        "reason": None if refund.reason is None else refund.reason.value,
        "notes": _text(refund.notes, f"the notes of {what}"),
        "requested_by": _text_or_none(refund.requested_by, f"who asked for {what}"),
        "quote_id": _text_or_none(refund.quote_id, f"the quote of {what}"),
        "gateway_refund_id": _text_or_none(refund.gateway_refund_id, f"the gateway id of {what}"),
        "failure_reason": _text_or_none(refund.failure_reason, f"the failure reason of {what}"),
        "status_as_of": _utc_or_none(refund.status_as_of, f"the status time of {what}"),
    }


def event_rows(
    order_id: str, refund_position: int, start: int, entries: Sequence[RefundEventEntry]
) -> list[Row]:
    """Rows of a refund's event timeline entries ``entries``, the first at ``start``."""
    return [
        {
            "order_id": order_id,
            "refund_position": refund_position,
            "position": start + i,
            "event_id": _text(entry.event_id, "an event id"),
            "type": _text(entry.type, "an event type"),
            "occurred_at": utc_instant(entry.occurred_at, f"the time of event {entry.event_id!r}"),
            "status": None if entry.status is None else entry.status.value,
            "applied": bool(entry.applied),
        }
        for i, entry in enumerate(entries)
    ]


def activity_rows(order_id: str, start: int, entries: Sequence[ActivityEntry]) -> list[Row]:
    """Rows of activity entries ``entries``, the first at position ``start``."""
    return [
        {
            "order_id": order_id,
            "position": start + i,
            "at": utc_instant(entry.at, "an activity time"),
            "kind": entry.kind.value,
            "message": _text(entry.message, "an activity message"),
            "actor_id": _text_or_none(entry.actor_id, "an activity actor"),
            "refund_id": _text_or_none(entry.refund_id, "an activity refund id"),
        }
        for i, entry in enumerate(entries)
    ]


# ------------------------------------------------------------------------------ reading


class _Reader:
    """Reads one order's rows, naming the order and the column in every complaint."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id

    def bad(self, where: str, message: str) -> InvalidStoredData:
        return InvalidStoredData(f"stored order {self.order_id!r}: {where}: {message}")

    def text(self, row: Mapping[str, Any], column: str, where: str) -> str:
        value = row[column]
        if not isinstance(value, str):
            raise self.bad(where, f"{column} is {value!r}, not text")
        return value

    def text_or_none(self, row: Mapping[str, Any], column: str, where: str) -> str | None:
        return None if row[column] is None else self.text(row, column, where)

    def integer(self, row: Mapping[str, Any], column: str, where: str) -> int:
        value = row[column]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.bad(where, f"{column} is {value!r}, not an integer")
        return value

    def flag(self, row: Mapping[str, Any], column: str, where: str) -> bool:
        value = row[column]
        # SQLite hands booleans back as 0/1.
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise self.bad(where, f"{column} is {value!r}, not a boolean")

    def moment(self, row: Mapping[str, Any], column: str, where: str) -> datetime:
        value = row[column]
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise self.bad(where, f"{column} is {value!r}, not a time")
        return value

    def moment_or_none(self, row: Mapping[str, Any], column: str, where: str) -> datetime | None:
        return None if row[column] is None else self.moment(row, column, where)

    def enum(self, cls: type[E], row: Mapping[str, Any], column: str, where: str) -> E:
        value = row[column]
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(str(m.value) for m in cls)
            raise self.bad(where, f"{column} {value!r} is not one of {choices}") from None

    def enum_or_none(
        self, cls: type[E], row: Mapping[str, Any], column: str, where: str
    ) -> E | None:
        return None if row[column] is None else self.enum(cls, row, column, where)

    def currency(self, row: Mapping[str, Any], column: str, where: str) -> Currency:
        code = self.text(row, column, where)
        try:
            currency = Currency.of(code)
        except RefundError as e:
            raise self.bad(where, f"{column}: {e.message}") from None
        if currency.code != code:
            raise self.bad(where, f"{column} {code!r} is not an upper-case ISO 4217 code")
        return currency

    def money(self, row: Mapping[str, Any], minor: str, currency: str, where: str) -> Money:
        return Money(self.integer(row, minor, where), self.currency(row, currency, where))

    def rate(self, row: Mapping[str, Any], column: str, where: str) -> Decimal | None:
        text = self.text_or_none(row, column, where)
        if text is None:
            return None
        try:
            rate = Decimal(text)
        except InvalidOperation:
            raise self.bad(where, f"{column} {text!r} is not a decimal number") from None
        if not rate.is_finite() or str(rate) != text:
            raise self.bad(where, f"{column} {text!r} is not an exact decimal as stored")
        return rate


def _contiguous(reader: _Reader, rows: Sequence[Mapping[str, Any]], where: str) -> None:
    for expected, row in enumerate(rows):
        if row["position"] != expected:
            raise reader.bad(where, f"position {row['position']!r} where {expected} was expected")


def order_from_rows(
    order: Mapping[str, Any],
    refunds: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    activity: Sequence[Mapping[str, Any]],
) -> Order:
    """The order stored in these rows (children ordered by position). Raises
    ``InvalidStoredData`` naming the order and the column for anything it cannot read
    exactly."""
    reader = _Reader(str(order["id"]))
    if reader.integer(order, "refund_count", "orders") != len(refunds):
        raise reader.bad(
            "orders", f"refund_count says {order['refund_count']}, found {len(refunds)}"
        )
    if reader.integer(order, "activity_count", "orders") != len(activity):
        raise reader.bad(
            "orders", f"activity_count says {order['activity_count']}, found {len(activity)}"
        )
    with _domain_refusals(reader):
        refund_values, activity_values = _children(reader, refunds, events, activity)
        return Order(
            id=OrderId(reader.text(order, "id", "orders")),
            site_id=SiteId(reader.text(order, "site_id", "orders")),
            total=reader.money(order, "total_minor", "currency", "orders"),
            status=reader.enum(OrderStatus, order, "status", "orders"),
            payment=_payment(reader, order),
            refunds=refund_values,
            buyer_access=reader.flag(order, "buyer_access", "orders"),
            activity=activity_values,
            version=reader.integer(order, "version", "orders"),
        )


def children_from_rows(
    order_id: str,
    refunds: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    activity: Sequence[Mapping[str, Any]],
) -> tuple[tuple[Refund, ...], tuple[ActivityEntry, ...]]:
    """An order's stored refunds (with their timelines) and activity, from their rows."""
    reader = _Reader(order_id)
    with _domain_refusals(reader):
        return _children(reader, refunds, events, activity)


@contextmanager
def _domain_refusals(reader: _Reader) -> Iterator[None]:
    try:
        yield
    except InvalidStoredData:
        raise
    except (RefundError, ValueError, TypeError) as e:
        # A value the domain itself refuses (say, a bool where Money needs an int).
        raise reader.bad("orders", str(e)) from None


def _children(
    reader: _Reader,
    refunds: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    activity: Sequence[Mapping[str, Any]],
) -> tuple[tuple[Refund, ...], tuple[ActivityEntry, ...]]:
    _contiguous(reader, refunds, "refunds")
    _contiguous(reader, activity, "activity")
    by_refund: dict[int, list[Mapping[str, Any]]] = {}
    for row in events:
        by_refund.setdefault(row["refund_position"], []).append(row)
    unknown = set(by_refund) - set(range(len(refunds)))
    if unknown:
        raise reader.bad("refund_events", f"events of missing refund positions {sorted(unknown)}")
    return (
        tuple(
            _refund(reader, row, by_refund.get(position, ()))
            for position, row in enumerate(refunds)
        ),
        tuple(_activity(reader, row) for row in activity),
    )


def _payment(reader: _Reader, row: Mapping[str, Any]) -> PaymentRecord | None:
    if not reader.flag(row, "has_payment", "orders"):
        return None
    where = "orders (payment)"
    return PaymentRecord(
        payment_intent_id=_opt(
            PaymentIntentId, reader.text_or_none(row, "payment_intent_id", where)
        ),
        charge_id=_opt(ChargeId, reader.text_or_none(row, "charge_id", where)),
        captured=reader.money(row, "payment_captured_minor", "payment_captured_currency", where),
        stripe_fee=reader.money(
            row, "payment_stripe_fee_minor", "payment_stripe_fee_currency", where
        ),
        platform_fee=reader.money(
            row, "payment_platform_fee_minor", "payment_platform_fee_currency", where
        ),
        settlement_currency=reader.currency(row, "payment_settlement_currency", where),
        amount_refunded=reader.money(
            row, "payment_amount_refunded_minor", "payment_amount_refunded_currency", where
        ),
        exchange_rate=reader.rate(row, "payment_exchange_rate", where),
        disputed=reader.flag(row, "payment_disputed", where),
    )


def _refund(reader: _Reader, row: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> Refund:
    where = f"refunds position {row['position']}"
    _contiguous(reader, events, f"refund_events of {where}")
    return Refund(
        id=RefundId(reader.text(row, "id", where)),
        order_id=OrderId(
            reader.text(
                row, "refund_order_id" if row["refund_order_id"] is not None else "order_id", where
            )
        ),
        amount=reader.money(row, "amount_minor", "currency", where),
        status=reader.enum(RefundStatus, row, "status", where),
        created_at=reader.moment(row, "created_at", where),
        origin=reader.enum(RefundOrigin, row, "origin", where),
        reason=reader.enum_or_none(RefundReason, row, "reason", where),
        notes=reader.text(row, "notes", where),
        requested_by=_opt(ActorId, reader.text_or_none(row, "requested_by", where)),
        quote_id=_opt(QuoteId, reader.text_or_none(row, "quote_id", where)),
        gateway_refund_id=_opt(
            GatewayRefundId, reader.text_or_none(row, "gateway_refund_id", where)
        ),
        failure_reason=reader.text_or_none(row, "failure_reason", where),
        status_as_of=reader.moment_or_none(row, "status_as_of", where),
        events=tuple(_event(reader, e, where) for e in events),
    )


def _event(reader: _Reader, row: Mapping[str, Any], refund_where: str) -> RefundEventEntry:
    where = f"refund_events position {row['position']} of {refund_where}"
    return RefundEventEntry(
        event_id=EventId(reader.text(row, "event_id", where)),
        type=reader.text(row, "type", where),
        occurred_at=reader.moment(row, "occurred_at", where),
        status=reader.enum_or_none(RefundStatus, row, "status", where),
        applied=reader.flag(row, "applied", where),
    )


def _activity(reader: _Reader, row: Mapping[str, Any]) -> ActivityEntry:
    where = f"activity position {row['position']}"
    return ActivityEntry(
        at=reader.moment(row, "at", where),
        kind=reader.enum(ActivityKind, row, "kind", where),
        message=reader.text(row, "message", where),
        actor_id=_opt(ActorId, reader.text_or_none(row, "actor_id", where)),
        refund_id=_opt(RefundId, reader.text_or_none(row, "refund_id", where)),
    )


def feed_entry_from_row(row: Mapping[str, Any]) -> FeedEntry:
    """O1: a feed entry from an activity row joined with its order's ``site_id``."""
    reader = _Reader(str(row.get("order_id")))
    with _domain_refusals(reader):
        return FeedEntry(
            position=reader.integer(row, "feed_position", "activity"),
            order_id=OrderId(reader.text(row, "order_id", "activity")),
            site_id=SiteId(reader.text(row, "site_id", "orders")),
            entry=_activity(reader, row),
        )


def _opt(make: Callable[[str], T], value: str | None) -> T | None:
    return None if value is None else make(value)
