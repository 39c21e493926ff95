"""kanorio_refunds.serialization: exact, versioned JSON-safe dicts of the library's values.

Serialisation is part of the public API (design §4): exact, versioned, amounts as decimal strings
(M1: never a float), datetimes with their offset, every field and nothing else.
"""

from __future__ import annotations

import contextlib
import copy
import enum
import json
import subprocess
import sys
import types
import typing
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanorio_refunds import serialization
from kanorio_refunds.domain import (
    ActivityEntry,
    ActivityKind,
    BalanceBreakdown,
    Currency,
    Eligibility,
    Ineligibility,
    Money,
    Order,
    OrderDetails,
    OrderStatus,
    PaymentRecord,
    Refund,
    RefundEventEntry,
    RefundQuote,
)
from kanorio_refunds.domain._balance import refundable_balance
from kanorio_refunds.domain._money import ISO_EXPONENTS
from kanorio_refunds.domain._status import derive_order_status
from kanorio_refunds.errors import RefundError
from kanorio_refunds.serialization import (
    FORMAT_VERSION,
    OBJECT_TYPES,
    InvalidSerializedValue,
    JsonValue,
    from_dict,
    from_json,
    to_dict,
    to_json,
)
from kanorio_refunds.testing import T0, paid_order, refund, with_refunds
from kanorio_refunds.testing import strategies as kst

# -- strategies for every serialisable type -----------------------------------------------------


@st.composite
def _refunds(draw: st.DrawFn) -> Refund:
    order = draw(kst.orders_with_refunds(max_refunds=3).filter(lambda o: bool(o.refunds)))
    return draw(st.sampled_from(order.refunds))


@st.composite
def _activity_entries(draw: st.DrawFn) -> ActivityEntry:
    order = draw(kst.orders_with_refunds(max_refunds=2).filter(lambda o: bool(o.activity)))
    return draw(st.sampled_from(order.activity))


@st.composite
def _event_entries(draw: st.DrawFn) -> RefundEventEntry:
    refund_ = draw(_refunds().filter(lambda r: bool(r.events)))
    return draw(st.sampled_from(refund_.events))


def _some_money() -> st.SearchStrategy[Money]:
    # Negative too: a breakdown's net can be below zero when fees exceed the capture.
    return st.builds(
        Money, st.integers(min_value=-(10**30) + 1, max_value=10**30 - 1), kst.currencies()
    )


STRATEGIES: dict[type, st.SearchStrategy[typing.Any]] = {
    Order: kst.orders(),
    Refund: _refunds(),
    Money: _some_money(),
    RefundQuote: kst.quotes(),
    OrderDetails: kst.order_details(),
    Eligibility: kst.eligibilities(),
    PaymentRecord: kst.payment_records(),
    ActivityEntry: _activity_entries(),
    RefundEventEntry: _event_entries(),
    BalanceBreakdown: kst.eligibilities()
    .map(lambda e: e.breakdown)
    .filter(lambda b: b is not None),
    Ineligibility: kst.eligibilities()
    .filter(lambda e: bool(e.reasons))
    .map(lambda e: e.reasons[0]),
}
TYPES = list(STRATEGIES)


def test_every_object_type_has_a_strategy() -> None:
    """The round-trip properties below cover every type ``to_dict`` accepts."""
    assert set(OBJECT_TYPES.values()) == set(STRATEGIES)


def _walk(value: JsonValue) -> typing.Iterator[object]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


# -- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", TYPES, ids=lambda c: c.__name__)
def test_round_trip_is_exact(cls: type) -> None:
    """M1, F3: from_dict(to_dict(x)) == x for every serialisable type; the dict is JSON-safe
    (json.dumps works on it, and reading the JSON text back gives x again), holds no float, and
    names its object type and format version at the top level."""

    @given(STRATEGIES[cls])
    def check(value: object) -> None:
        data = to_dict(value)
        assert from_dict(cls, data) == value
        assert data["object"] == serialization._NAMES[cls]
        assert data["format_version"] == FORMAT_VERSION
        assert not any(isinstance(item, float) for item in _walk(data))
        text = json.dumps(data)
        assert from_dict(cls, json.loads(text)) == value
        assert from_json(cls, to_json(value)) == value
        assert to_json(from_json(cls, to_json(value))) == to_json(value)

    check()


@given(kst.quotes())
def test_a_quote_round_trip_keeps_what_process_checks(quote: RefundQuote) -> None:
    """F1, F2: a quote read back is equal to the one made, so processing it is processing
    the quote that was confirmed (its id still matches its contents)."""
    again = from_dict(RefundQuote, json.loads(json.dumps(to_dict(quote))))
    assert again == quote
    assert again.refund_id == quote.refund_id
    assert again.notices == quote.notices


@pytest.mark.parametrize(
    ("text", "code", "written"),
    [
        ("12.50", "USD", "12.50"),
        ("12.5", "USD", "12.50"),
        ("0", "USD", "0.00"),
        ("1500", "JPY", "1500"),
        ("1.25", "KWD", "1.250"),
        ("0.0001", "CLF", "0.0001"),
        ("99999999999999999999.99", "EUR", "99999999999999999999.99"),
    ],
)
def test_money_is_a_decimal_string_with_its_currency(text: str, code: str, written: str) -> None:
    """M1, M3: money is {"amount": decimal string with the ISO exponent's decimals, "currency":
    code}, exact for every exponent (0, 2, 3, 4) and any size; never a float."""
    money = Money.parse(text, code)
    data = to_dict(money)
    assert data == {"object": "money", "format_version": 1, "amount": written, "currency": code}
    assert from_dict(Money, data) == money
    assert from_dict(Money, {**data, "amount": text}) == money  # fewer decimals read exactly


@given(st.sampled_from(sorted(ISO_EXPONENTS)), st.integers(min_value=-(10**20), max_value=10**20))
def test_money_round_trips_in_every_iso_currency(code: str, minor: int) -> None:
    """M1, M3: every ISO 4217 currency, negative amounts too (a breakdown may hold one)."""
    money = Money.from_minor(minor, code)
    data = to_dict(money)
    assert isinstance(data["amount"], str)
    assert from_dict(Money, data) == money
    assert Decimal(data["amount"]) == money.amount


def test_the_format_of_an_order() -> None:
    """F3: an order's dict: every field by name, enums by value, datetimes ISO 8601 with their
    offset, Decimals as strings, tuples as lists, ids as strings, None as null."""
    order = paid_order(settlement_currency="EUR", exchange_rate="0.921234", stripe_fee="2.95")
    order = with_refunds(order, [refund(order, "10.00", created_at=T0)])
    data = to_dict(order)
    assert list(data)[:2] == ["object", "format_version"]
    assert set(data) - {"object", "format_version"} == {f.name for f in attrs.fields(Order)}
    assert data["status"] == "partially_refunded"
    payment = data["payment"]
    assert isinstance(payment, dict)
    assert payment["exchange_rate"] == "0.921234"
    assert payment["settlement_currency"] == "EUR"
    assert payment["stripe_fee"] == {"amount": "2.95", "currency": "EUR"}
    refunds = data["refunds"]
    assert isinstance(refunds, list)
    first = refunds[0]
    assert isinstance(first, dict)
    assert first["created_at"] == "2024-01-15T12:00:00+00:00"
    assert first["status"] == "succeeded"
    assert first["reason"] is None
    assert first["events"] == []


def test_offsets_are_kept_and_naive_datetimes_refused() -> None:
    """F3: a datetime keeps its UTC offset (to the second); a naive one is refused both when
    writing and when reading."""
    order = paid_order()
    tz = timezone(timedelta(hours=5, minutes=30, seconds=15))
    made = refund(order, created_at=datetime(2024, 1, 15, 17, 30, 0, 123456, tzinfo=tz))
    data = to_dict(made)
    assert data["created_at"] == "2024-01-15T17:30:00.123456+05:30:15"
    back = from_dict(Refund, data)
    assert back == made
    assert back.created_at.utcoffset() == tz.utcoffset(None)

    naive = attrs.evolve(made, created_at=datetime(2024, 1, 15, 12, 0))
    with pytest.raises(InvalidSerializedValue, match="naive") as caught:
        to_dict(naive)
    assert caught.value.path == "created_at"
    with pytest.raises(InvalidSerializedValue, match="no UTC offset") as caught:
        from_dict(Refund, {**data, "created_at": "2024-01-15T12:00:00"})
    assert caught.value.path == "created_at"
    assert from_dict(Refund, {**data, "created_at": "2024-01-15T12:00:00Z"}).created_at == T0


# -- strict reading -----------------------------------------------------------------------------


def _order_dict() -> dict[str, typing.Any]:
    order = paid_order(settlement_currency="EUR", exchange_rate="0.92", stripe_fee="2.95")
    refunds = [refund(order, "1.00", refund_id=f"rf_{n}") for n in range(3)]
    return to_dict(with_refunds(order, refunds))


def _set(data: dict[str, typing.Any], path: tuple[str | int, ...], value: object) -> None:
    target: typing.Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def _delete(data: dict[str, typing.Any], path: tuple[str | int, ...]) -> None:
    target: typing.Any = data
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]


@pytest.mark.parametrize(
    ("where", "value", "path", "message"),
    [
        (("refunds", 2, "amount", "currency"), "XYZ", "refunds[2].amount.currency", "ISO 4217"),
        (("refunds", 2, "amount", "currency"), "usd", "refunds[2].amount.currency", "upper-case"),
        (("refunds", 2, "amount", "currency"), None, "refunds[2].amount.currency", "got null"),
        (("refunds", 1, "amount", "amount"), "1.005", "refunds[1].amount.amount", "decimal places"),
        (("refunds", 1, "amount", "amount"), "1e3", "refunds[1].amount.amount", "plain decimal"),
        (("refunds", 1, "amount", "amount"), " 1.00", "refunds[1].amount.amount", "plain decimal"),
        (("refunds", 1, "amount", "amount"), "+1.00", "refunds[1].amount.amount", "plain decimal"),
        (("refunds", 1, "amount", "amount"), "١٢", "refunds[1].amount.amount", "plain decimal"),
        (("refunds", 1, "amount", "amount"), 100, "refunds[1].amount.amount", "got an integer"),
        (("refunds", 0, "status"), "done", "refunds[0].status", "not a RefundStatus"),
        (("refunds", 0, "status"), "SUCCEEDED", "refunds[0].status", "not a RefundStatus"),
        (("refunds", 0, "created_at"), "yesterday", "refunds[0].created_at", "ISO 8601"),
        (("refunds", 0, "created_at"), 1705320000, "refunds[0].created_at", "got an integer"),
        (("refunds", 0, "events"), {}, "refunds[0].events", "expected a list"),
        (("refunds", 0, "notes"), ["a"], "refunds[0].notes", "expected a string"),
        (("version",), True, "version", "got a boolean"),
        (("version",), "3", "version", "got a string"),
        (("buyer_access",), 1, "buyer_access", "got an integer"),
        (("payment", "exchange_rate"), "NaN", "payment.exchange_rate", "not a decimal"),
        (("payment", "exchange_rate"), "1_000", "payment.exchange_rate", "not a decimal"),
        (("payment", "exchange_rate"), "1E+999999", "payment.exchange_rate", "64 digits"),
        (("payment", "exchange_rate"), 1, "payment.exchange_rate", "got an integer"),
        (("payment",), "pi_1", "payment", "expected an object"),
        (("refunds",), None, "refunds", "got null"),
    ],
)
def test_ill_typed_fields_name_their_path(
    where: tuple[str | int, ...], value: object, path: str, message: str
) -> None:
    """M1, M2: an ill-typed or invalid field is an InvalidSerializedValue naming its path."""
    data = _order_dict()
    _set(data, where, value)
    with pytest.raises(InvalidSerializedValue, match=message) as caught:
        from_dict(Order, data)
    assert caught.value.path == path
    assert caught.value.code == "invalid_serialized_value"
    assert str(caught.value).startswith(f"{path}: ")


@pytest.mark.parametrize(
    ("where", "path"),
    [
        (("refunds", 2, "amount", "amount"), "refunds[2].amount.amount"),
        (("refunds", 2, "amount"), "refunds[2].amount"),
        (("total", "amount"), "total.amount"),
        (("payment", "exchange_rate"), "payment.exchange_rate"),
        (("version",), "version"),
        (("buyer_access",), "buyer_access"),
        (("refunds", 0, "reason"), "refunds[0].reason"),
        (("format_version",), "format_version"),
    ],
)
@pytest.mark.parametrize("number", [12.5, 1.0, float("nan"), float("inf")])
def test_a_float_anywhere_is_refused(
    where: tuple[str | int, ...], path: str, number: float
) -> None:
    """M1: a float is refused wherever it appears, with a message saying floats are never used."""
    data = _order_dict()
    _set(data, where, number)
    with pytest.raises(InvalidSerializedValue, match="never uses floats") as caught:
        from_dict(Order, data)
    assert caught.value.path == path


def test_unknown_fields_are_refused_never_dropped() -> None:
    """F3: an unknown field (at any depth) is an error naming it, never silently dropped."""
    data = _order_dict()
    data["refunds"][2]["amont"] = "1.00"
    with pytest.raises(InvalidSerializedValue, match="unknown field 'amont'") as caught:
        from_dict(Order, data)
    assert caught.value.path == "refunds[2].amont"

    data = _order_dict()
    data["total"]["scale"] = 2
    with pytest.raises(InvalidSerializedValue, match="unknown field 'scale'") as caught:
        from_dict(Order, data)
    assert caught.value.path == "total.scale"

    data = _order_dict()
    data["colour"] = "red"
    with pytest.raises(InvalidSerializedValue) as caught:
        from_dict(Order, data)
    assert caught.value.path == "colour"


@pytest.mark.parametrize(
    ("where", "path"),
    [
        (("refunds", 1, "status"), "refunds[1].status"),
        (("refunds", 1, "amount", "currency"), "refunds[1].amount.currency"),
        (("payment", "disputed"), "payment.disputed"),
        (("activity",), "activity"),
        (("version",), "version"),  # even a field with a default: nothing is guessed
    ],
)
def test_missing_fields_are_refused(where: tuple[str | int, ...], path: str) -> None:
    """F3: a missing field is an error naming it; defaults are never filled in silently."""
    data = _order_dict()
    _delete(data, where)
    with pytest.raises(InvalidSerializedValue, match="missing field") as caught:
        from_dict(Order, data)
    assert caught.value.path == path


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"format_version": 2}, "format_version", "format version 2 is not one this release"),
        ({"format_version": 0}, "format_version", "format version 0"),
        ({"format_version": "1"}, "format_version", "got a string"),
        ({"format_version": True}, "format_version", "got a boolean"),
        ({"format_version": None}, "format_version", "got null"),
        ({"object": "refund"}, "object", "this is a serialised 'refund', not 'order'"),
        ({"object": "invoice"}, "object", "expected the string 'order'"),
        ({"object": 1}, "object", "got an integer"),
    ],
)
def test_the_envelope_is_checked(change: dict[str, object], path: str, message: str) -> None:
    """A dict of another object type or another format version is never misread."""
    data = {**_order_dict(), **change}
    with pytest.raises(InvalidSerializedValue, match=message) as caught:
        from_dict(Order, data)
    assert caught.value.path == path


def test_a_missing_envelope_key_is_named() -> None:
    """A dict without "object" or "format_version" says which is missing."""
    for key in ("object", "format_version"):
        data = _order_dict()
        del data[key]
        with pytest.raises(InvalidSerializedValue, match="missing") as caught:
            from_dict(Order, data)
        assert caught.value.path == key


def test_a_newer_format_says_to_upgrade() -> None:
    """Data written by a later release asks for that release, rather than being misread."""
    with pytest.raises(InvalidSerializedValue, match="upgrade kanorio_refunds"):
        from_dict(Order, {**_order_dict(), "format_version": FORMAT_VERSION + 1})


def test_a_domain_validator_refusal_is_an_invalid_serialized_value() -> None:
    """M1: when a class's own validator refuses the decoded fields (a RefundError, or attrs'
    TypeError or ValueError), that is an InvalidSerializedValue with the object's path."""

    def refuse(_instance: object, _attribute: object, value: str) -> None:
        if value == "bad":
            raise RefundError("the domain refuses 'bad'")

    @attrs.frozen
    class Checked:
        name: str = attrs.field(validator=refuse)

    codec = serialization._codec_for(Checked, "Checked")
    assert codec.decode({"name": "good"}, "x") == Checked("good")
    with pytest.raises(InvalidSerializedValue, match="the domain refuses") as caught:
        codec.decode({"name": "bad"}, "items[3]")
    assert caught.value.path == "items[3]"


def test_writing_checks_the_values_too() -> None:
    """M1: a value that could not be read back (a float rate, a str status) is refused when
    written, naming the field, so nothing unreadable is ever stored."""
    order = paid_order(settlement_currency="EUR", exchange_rate="0.92")
    assert order.payment is not None
    bad_rate = attrs.evolve(order, payment=attrs.evolve(order.payment, exchange_rate=0.92))
    with pytest.raises(InvalidSerializedValue, match="never uses floats") as caught:
        to_dict(bad_rate)
    assert caught.value.path == "payment.exchange_rate"
    bad_status = attrs.evolve(order, status="paid")
    with pytest.raises(InvalidSerializedValue, match="OrderStatus") as caught:
        to_dict(bad_status)
    assert caught.value.path == "status"


def test_unsupported_types_are_a_type_error() -> None:
    """Like json.dumps, to_dict of something it does not know is a TypeError (a programming
    error, not bad data); so is from_dict into such a type."""
    with pytest.raises(TypeError, match="cannot serialise a dict"):
        to_dict({"amount": "1.00"})
    with pytest.raises(TypeError, match="cannot serialise a Currency"):
        from_dict(Currency, {})


# -- driven by the attrs fields -----------------------------------------------------------------


def test_a_new_field_is_serialised_without_any_change() -> None:
    """F3: the converter is driven by the attrs fields and type hints: a field added to a class
    is written and read back with no change to the serialiser, never silently dropped."""

    @attrs.frozen
    class Later:
        amount: Money
        at: datetime
        status: OrderStatus
        tags: tuple[str, ...] = ()
        rate: Decimal | None = None

    value = Later(Money.parse("1.00", "USD"), T0, OrderStatus.PAID, ("a", "b"), Decimal("0.5"))
    codec = serialization._codec_for(Later, "Later")
    data = codec.encode(value, "")
    assert data == {
        "amount": {"amount": "1.00", "currency": "USD"},
        "at": "2024-01-15T12:00:00+00:00",
        "status": "paid",
        "tags": ["a", "b"],
        "rate": "0.5",
    }
    assert codec.decode(data, "") == value


@pytest.mark.parametrize("hint", [float, set[str], dict[str, str], list[int], int | str, bytes])
def test_a_field_of_a_type_without_exact_json_fails_loudly(hint: object) -> None:
    """M1: a field whose type has no exact JSON form here (a float, a set, …) makes the
    serialiser refuse the class at once, rather than write something lossy."""
    cls = attrs.make_class("Odd", {"value": attrs.field(type=hint)}, frozen=True)
    with pytest.raises(TypeError, match=r"cannot serialise Odd\.value"):
        serialization._codec_for(cls, "Odd")


def _describe(hint: object, seen: dict[str, typing.Any]) -> str:
    """A readable name for a type hint; every attrs class and enum reached is recorded in
    ``seen`` (its fields' types, or its values)."""
    if isinstance(hint, typing.NewType):
        return f"{hint.__name__}(str)"
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_describe(arg, seen) for arg in typing.get_args(hint))
    if origin is tuple:
        args = typing.get_args(hint)
        return f"tuple[{', '.join('...' if a is Ellipsis else _describe(a, seen) for a in args)}]"
    if hint is type(None):
        return "None"
    assert isinstance(hint, type), hint
    if issubclass(hint, enum.Enum):
        seen[hint.__name__] = [member.value for member in hint]
    elif attrs.has(hint) and hint not in (Money, Currency) and hint.__name__ not in seen:
        seen[hint.__name__] = {}
        hints = typing.get_type_hints(hint)
        seen[hint.__name__] = {f.name: _describe(hints[f.name], seen) for f in attrs.fields(hint)}
    return hint.__name__


def _format_now() -> dict[str, typing.Any]:
    seen: dict[str, typing.Any] = {}
    for cls in OBJECT_TYPES.values():
        _describe(cls, seen)
    return seen


# Format version 1: the fields (in order) of every serialised class and the values of every
# enum they hold. Money is {"amount", "currency"} and Currency its code (test_money_*).
FORMAT_V1: typing.Final[dict[str, typing.Any]] = {
    "ActivityEntry": {
        "at": "datetime",
        "kind": "ActivityKind",
        "message": "str",
        "actor_id": "ActorId(str) | None",
        "refund_id": "RefundId(str) | None",
    },
    "ActivityKind": [
        "refund_requested",
        "refund_submitted",
        "refund_outcome_unknown",
        "refund_pending",
        "refund_requires_action",
        "refund_succeeded",
        "refund_failed",
        "refund_canceled",
        "external_refund_imported",
        "status_changed",
        "payment_updated",
        "buyer_access_revoked",
        "buyer_access_restored",
    ],
    "BalanceBreakdown": {
        "policy": "FeePolicy",
        "captured": "Money",
        "stripe_fee": "Money",
        "platform_fee": "Money",
        "net_received": "Money",
        "reserved": "Money",
        "stripe_remaining": "Money",
        "refundable": "Money",
        "settlement_currency": "Currency",
        "cross_currency": "bool",
    },
    "Eligibility": {
        "reasons": "tuple[Ineligibility, ...]",
        "refundable": "Money",
        "breakdown": "BalanceBreakdown | None",
    },
    "FeePolicy": ["net_of_fees", "gross"],
    "Ineligibility": {
        "rule": "str",
        "code": "str",
        "message": "str",
    },
    "Notice": [
        "fees_not_refunded",
        "fees_absorbed",
        "buyer_access_kept",
        "cross_currency",
        "fraudulent_blocklist",
        "irreversible",
    ],
    "Order": {
        "id": "OrderId(str)",
        "site_id": "SiteId(str)",
        "total": "Money",
        "status": "OrderStatus",
        "payment": "PaymentRecord | None",
        "refunds": "tuple[Refund, ...]",
        "buyer_access": "bool",
        "activity": "tuple[ActivityEntry, ...]",
        "version": "int",
    },
    "OrderDetails": {
        "order": "Order",
        "status": "OrderStatus",
        "refundable": "Money",
        "breakdown": "BalanceBreakdown | None",
        "eligibility": "Eligibility",
        "refunds": "tuple[Refund, ...]",
        "recent_activity": "tuple[ActivityEntry, ...]",
        "buyer_access": "bool",
    },
    "OrderStatus": [
        "pending",
        "paid",
        "partially_refunded",
        "refunded",
        "payment_failed",
        "expired",
    ],
    "PaymentRecord": {
        "payment_intent_id": "PaymentIntentId(str) | None",
        "charge_id": "ChargeId(str) | None",
        "captured": "Money",
        "stripe_fee": "Money",
        "platform_fee": "Money",
        "settlement_currency": "Currency",
        "amount_refunded": "Money",
        "exchange_rate": "Decimal | None",
        "disputed": "bool",
    },
    "Refund": {
        "id": "RefundId(str)",
        "order_id": "OrderId(str)",
        "amount": "Money",
        "status": "RefundStatus",
        "created_at": "datetime",
        "origin": "RefundOrigin",
        "reason": "RefundReason | None",
        "notes": "str",
        "requested_by": "ActorId(str) | None",
        "quote_id": "QuoteId(str) | None",
        "gateway_refund_id": "GatewayRefundId(str) | None",
        "failure_reason": "str | None",
        "status_as_of": "datetime | None",
        "events": "tuple[RefundEventEntry, ...]",
    },
    "RefundEventEntry": {
        "event_id": "EventId(str)",
        "type": "str",
        "occurred_at": "datetime",
        "status": "RefundStatus | None",
        "applied": "bool",
    },
    "RefundOrigin": ["local", "external"],
    "RefundQuote": {
        "id": "QuoteId(str)",
        "order_id": "OrderId(str)",
        "actor_id": "ActorId(str)",
        "amount": "Money",
        "reason": "RefundReason | None",
        "notes": "str",
        "order_status": "OrderStatus",
        "refund_count": "int",
        "refundable_before": "Money",
        "refundable_after": "Money",
        "resulting_status": "OrderStatus",
        "breakdown": "BalanceBreakdown",
        "notices": "tuple[Notice, ...]",
    },
    "RefundReason": ["duplicate", "fraudulent", "customer_request", "other"],
    "RefundStatus": ["submitting", "pending", "requires_action", "succeeded", "failed", "canceled"],
}


def test_the_format_is_pinned() -> None:
    """Format version 1 is pinned: any change to a serialised class's fields, their types or an
    enum's values fails here. Once a release has shipped a format version, such a change must
    bump FORMAT_VERSION and teach from_dict to upgrade the older dicts; then update FORMAT_V1."""
    now = _format_now()
    assert FORMAT_VERSION == 1
    assert now == FORMAT_V1, (
        f"the serialised format changed: if format version {FORMAT_VERSION} has been released, "
        f"bump FORMAT_VERSION and add an upgrade; then set FORMAT_V1 to:\n"
        f"{json.dumps(now, indent=4)}"
    )


# -- fuzz: only RefundError ---------------------------------------------------------------------

_JSON: st.SearchStrategy[object] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["USD", "12.50", "2024-01-15T12:00:00+00:00", "paid", "order"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["object", "format_version", "amount", "currency", "id", "status"])
            | st.text(max_size=8),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@pytest.mark.parametrize("cls", TYPES, ids=lambda c: c.__name__)
def test_arbitrary_json_raises_only_refund_errors(cls: type) -> None:
    """M1: whatever JSON value is given, from_dict either reads it or raises a RefundError
    (InvalidSerializedValue); never KeyError, TypeError, ValueError or another exception."""

    @given(_JSON)
    def check(data: object) -> None:
        if isinstance(data, dict) and not isinstance(data.get("object"), str) and data:
            data = {"object": serialization._NAMES[cls], "format_version": 1, **data}
        with contextlib.suppress(InvalidSerializedValue):
            from_dict(cls, data)

    check()


@st.composite
def _mutated(draw: st.DrawFn, cls: type) -> dict[str, typing.Any]:
    """A valid dict of ``cls`` with one place replaced, removed or added to."""
    data = copy.deepcopy(to_dict(draw(STRATEGIES[cls])))
    containers: list[dict[str, typing.Any] | list[typing.Any]] = [
        item for item in _walk(data) if isinstance(item, (dict, list)) and item
    ]
    target = draw(st.sampled_from(containers))
    keys = list(target) if isinstance(target, dict) else list(range(len(target)))
    key = draw(st.sampled_from(keys))
    action = draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "replace":
        target[key] = draw(_JSON)  # type: ignore[index]
    elif action == "delete":
        del target[key]  # type: ignore[arg-type]
    elif isinstance(target, dict):
        target[draw(st.text(max_size=8))] = draw(_JSON)
    else:
        target.append(draw(_JSON))
    return data


@pytest.mark.parametrize("cls", [Order, RefundQuote, Eligibility, Money], ids=lambda c: c.__name__)
def test_mutated_dicts_raise_only_refund_errors(cls: type) -> None:
    """M1: a valid dict with one field replaced, removed or added reads back or raises
    InvalidSerializedValue; nothing else."""

    @given(_mutated(cls))
    def check(data: dict[str, typing.Any]) -> None:
        with contextlib.suppress(InvalidSerializedValue):
            from_dict(cls, data)

    check()


@given(st.text(max_size=60) | st.binary(max_size=60))
def test_from_json_of_any_text_raises_only_refund_errors(text: str | bytes) -> None:
    """M1: any text or bytes into from_json: read, or InvalidSerializedValue."""
    with contextlib.suppress(InvalidSerializedValue):
        from_json(Order, text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"object": "money", "object": "money"}', "twice"),
        ("{", "not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
        ('{"a": ' + "9" * 5000 + "}", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
        ('{"object": "money", "format_version": 1, "amount": 12.5, "currency": "USD"}', "floats"),
        ('{"object": "money", "format_version": 1, "amount": NaN, "currency": "USD"}', "floats"),
    ],
)
def test_from_json_refuses_what_is_not_exact_json(text: str | bytes, message: str) -> None:
    """M1: duplicate keys, broken JSON, absurd nesting or integers, NaN: InvalidSerializedValue."""
    with pytest.raises(InvalidSerializedValue, match=message):
        from_json(Money, text)


# -- the strategies the properties use ----------------------------------------------------------


@given(kst.orders_with_refunds(disputed=None))
def test_orders_with_refunds_are_valid(order: Order) -> None:
    """B1, S1, F3: generated orders reserve no more than they received net, carry the status
    their amounts give, Stripe's refunded count, and time-ordered activity."""
    assert order.payment is not None
    breakdown = refundable_balance(order.payment, order.refunds)
    assert breakdown.reserved <= breakdown.net_received
    assert derive_order_status(order.status, order.refunds, breakdown.refundable) == order.status
    counted = [r for r in order.refunds if r.status.reserves and r.status.name != "SUBMITTING"]
    assert order.payment.amount_refunded.minor == sum(r.amount.minor for r in counted)
    times = [entry.at for entry in order.activity]
    assert times == sorted(times)
    assert order.buyer_access or order.activity[-1].kind is ActivityKind.BUYER_ACCESS_REVOKED
    assert order.version >= 1


@given(kst.quotes())
def test_quotes_are_made_by_the_service(quote: RefundQuote) -> None:
    """F1: generated quotes are RefundService.quote's: a positive amount within the balance."""
    assert quote.amount.is_positive()
    assert quote.amount <= quote.refundable_before
    assert quote.refundable_after == quote.refundable_before - quote.amount
    assert quote.notices


@given(kst.eligibilities())
def test_eligibilities_cover_allowed_and_refused(eligibility: Eligibility) -> None:
    """E1–E5: an answer is allowed exactly when it lists no failing rule."""
    assert eligibility.allowed == (not eligibility.reasons)
    assert all(r.rule in {"E1", "E2", "E3", "E4", "E5"} for r in eligibility.reasons)


@given(kst.order_details())
def test_order_details_show_recent_activity_newest_first(details: OrderDetails) -> None:
    """F3: the details view shows the order's refunds and its activity newest first."""
    assert details.refunds == details.order.refunds
    times = [entry.at for entry in details.recent_activity]
    assert times == sorted(times, reverse=True)


def test_import_kanorio_refunds_stays_light() -> None:
    """``import kanorio_refunds`` loads neither the serialiser nor the quote signer."""
    code = (
        "import sys, kanorio_refunds; "
        "print(sorted(m for m in sys.modules if m.startswith('kanorio_refunds.s')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "kanorio_refunds.serialization" not in out
    assert "kanorio_refunds.signed_quotes" not in out


def test_utc_is_written_as_plus_zero() -> None:
    """F3: the library's own times (UTC) are written with a +00:00 offset."""
    entry = ActivityEntry(
        at=datetime(2026, 11, 26, 9, 0, tzinfo=UTC), kind=ActivityKind.STATUS_CHANGED, message="m"
    )
    assert to_dict(entry)["at"] == "2026-11-26T09:00:00+00:00"
    assert to_dict(entry)["object"] == "activity_entry"
