"""Exact, versioned serialisation of the library's values to JSON-safe dicts and back.

Orders, refunds, money, quotes, order details and eligibility answers (and every value they
hold) become plain ``dict`` / ``list`` / ``str`` / ``int`` / ``bool`` / ``None`` structures that
``json.dumps`` writes as they are, and come back equal::

    from kanorio_refunds.serialization import from_dict, to_dict
    data = to_dict(order)                 # {"object": "order", "format_version": 1, "id": ...}
    assert from_dict(Order, data) == order

The format (part of the public API, see ``docs/``):

- the top-level dict names what it holds (``"object": "order"``) and the ``format_version``;
  nested values carry neither;
- every attrs field of a value is written under its name; nothing is left out and nothing is
  added, so a field added to a domain class is serialised without any change here;
- money is ``{"amount": "12.50", "currency": "USD"}``: the amount as a decimal string with
  exactly the currency's ISO 4217 decimals (``"1500"`` for JPY, ``"1.250"`` for KWD), never a
  float; a currency alone is its code (``"USD"``);
- ``Decimal`` values (exchange rates) are strings (``"0.921234"``);
- datetimes are ISO 8601 with their UTC offset (``"2024-01-15T12:00:00+00:00"``); naive ones
  are refused both ways; a ``zoneinfo`` zone is kept as its offset at that instant;
- enums are their value (``"partially_refunded"``); tuples are lists; ids are strings.

Reading is strict: an unknown, missing or ill-typed field, a float anywhere, a naive datetime, an
unknown currency, another object type or another format version raises
``InvalidSerializedValue`` (a ``RefundError``, code ``invalid_serialized_value``) whose ``path``
names the bad field, such as ``refunds[2].amount.currency``. Nothing is dropped, coerced or
guessed. ``from_json`` also refuses duplicate keys and any JSON text that is not valid.

This module is imported only by who uses it: ``import kanorio_refunds`` does not load it.
"""

from __future__ import annotations

import enum
import json
import re
import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Final, TypeAlias, TypeVar, cast

import attrs

from kanorio_refunds.domain._balance import BalanceBreakdown
from kanorio_refunds.domain._details import OrderDetails
from kanorio_refunds.domain._eligibility import Eligibility, Ineligibility
from kanorio_refunds.domain._money import MAX_AMOUNT_DIGITS, Currency, Money
from kanorio_refunds.domain._order import ActivityEntry, Order
from kanorio_refunds.domain._payment import PaymentRecord
from kanorio_refunds.domain._quote import RefundQuote
from kanorio_refunds.domain._refund import Refund, RefundEventEntry
from kanorio_refunds.errors import InvalidSerializedValue, RefundError

__all__ = [
    "FORMAT_VERSION",
    "OBJECT_TYPES",
    "InvalidSerializedValue",
    "JsonValue",
    "from_dict",
    "from_json",
    "to_dict",
    "to_json",
]

#: The version of the serialised format written by this release (the ``format_version`` key).
#: It goes up whenever a serialised value changes shape (a field added, removed or retyped);
#: older versions are then upgraded on read, never misread.
FORMAT_VERSION: Final = 1

#: What ``to_dict`` and ``from_dict`` accept at the top level, under the stable name written
#: in the ``"object"`` key. Values nested in them are serialised too, without a name.
OBJECT_TYPES: Final[Mapping[str, type]] = types.MappingProxyType(
    {
        "order": Order,
        "refund": Refund,
        "money": Money,
        "refund_quote": RefundQuote,
        "order_details": OrderDetails,
        "eligibility": Eligibility,
        "payment_record": PaymentRecord,
        "activity_entry": ActivityEntry,
        "refund_event_entry": RefundEventEntry,
        "balance_breakdown": BalanceBreakdown,
        "ineligibility": Ineligibility,
    }
)

#: A JSON-safe value as this format writes it: no floats, ever.
JsonValue: TypeAlias = bool | int | str | list["JsonValue"] | dict[str, "JsonValue"] | None

_OBJECT_KEY: Final = "object"
_VERSION_KEY: Final = "format_version"
_ENVELOPE_KEYS: Final = frozenset({_OBJECT_KEY, _VERSION_KEY})
_NAMES: Final[Mapping[type, str]] = {cls: name for name, cls in OBJECT_TYPES.items()}

T = TypeVar("T")


def _where(path: str) -> str:
    return path or "the top level"


def _fail(path: str, problem: str) -> InvalidSerializedValue:
    return InvalidSerializedValue(f"{_where(path)}: {problem}", path=path)


def _field_path(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _kind(value: object) -> str:
    """What a JSON value is, for messages (never its contents: it may be long or private)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _wrong_type(path: str, value: object, expected: str) -> InvalidSerializedValue:
    if isinstance(value, float):
        # The one mistake worth its own sentence: a float can never carry money exactly.
        return _fail(
            path,
            f"expected {expected}, got a float; this format never uses floats (amounts and rates "
            f'are decimal strings such as "12.50")',
        )
    return _fail(path, f"expected {expected}, got {_kind(value)}")


# -- codecs ---------------------------------------------------------------------------------------
#
# One codec per type hint, compiled once from the attrs field definitions and type hints: the
# encoder checks the Python value (attrs does not check types, so a wrong value would otherwise be
# written and then fail to read), the decoder checks the JSON value. Both take the field's path.

Encoder: TypeAlias = Callable[[object, str], JsonValue]
Decoder: TypeAlias = Callable[[object, str], object]


@attrs.frozen
class _Codec:
    encode: Encoder
    decode: Decoder


_CODECS: dict[object, _Codec] = {}


def _str_codec(expected: str = "a string") -> _Codec:
    def encode(value: object, path: str) -> JsonValue:
        if not isinstance(value, str):
            raise _wrong_type(path, value, expected)
        return value

    def decode(data: object, path: str) -> object:
        if not isinstance(data, str):
            raise _wrong_type(path, data, expected)
        return data

    return _Codec(encode, decode)


def _int_codec() -> _Codec:
    def check(value: object, path: str) -> int:
        # bool is an int in Python; never let true stand for 1 (or 1 for true).
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong_type(path, value, "an integer")
        return value

    return _Codec(check, check)


def _bool_codec() -> _Codec:
    def check(value: object, path: str) -> bool:
        if not isinstance(value, bool):
            raise _wrong_type(path, value, "a boolean (true or false)")
        return value

    return _Codec(check, check)


def _datetime_codec() -> _Codec:
    def encode(value: object, path: str) -> JsonValue:
        if not isinstance(value, datetime):
            raise _wrong_type(path, value, "a datetime")
        if value.utcoffset() is None:
            raise _fail(path, "is a naive datetime; only timezone-aware datetimes can be written")
        return value.isoformat()

    def decode(data: object, path: str) -> object:
        if not isinstance(data, str):
            raise _wrong_type(path, data, "an ISO 8601 datetime string")
        if len(data) > 64:
            raise _fail(path, "is too long for an ISO 8601 datetime")
        try:
            value = datetime.fromisoformat(data)
        except ValueError:
            raise _fail(
                path,
                f"{data!r} is not an ISO 8601 datetime such as '2024-01-15T12:00:00+00:00'",
            ) from None
        if value.utcoffset() is None:
            raise _fail(
                path,
                f"{data!r} has no UTC offset; write it with one, such as "
                f"'2024-01-15T12:00:00+00:00'",
            )
        return value

    return _Codec(encode, decode)


# Plain decimal text as str(Decimal) writes it, ASCII digits only (Decimal() itself would also
# take underscores, spaces, "NaN" and non-ASCII digits).
_DECIMAL_TEXT: Final = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: Bounds on a Decimal's digits and exponent: far beyond any exchange rate, and small enough that
#: exact arithmetic on the value (``as_integer_ratio``) stays cheap whatever the data says.
_MAX_DECIMAL_DIGITS: Final = 64


def _decimal_bounds_problem(value: Decimal) -> str | None:
    if not value.is_finite():
        return "is not a finite number"
    _sign, digits, exponent = value.as_tuple()
    if len(digits) > _MAX_DECIMAL_DIGITS or abs(int(exponent)) > _MAX_DECIMAL_DIGITS:
        return f"has more than {_MAX_DECIMAL_DIGITS} digits or an exponent beyond that"
    return None


def _decimal_codec() -> _Codec:
    def encode(value: object, path: str) -> JsonValue:
        if not isinstance(value, Decimal):
            raise _wrong_type(path, value, "a Decimal")
        problem = _decimal_bounds_problem(value)
        if problem is not None:
            raise _fail(path, f"Decimal {value} {problem}")
        return str(value)  # exact: str(Decimal) round-trips sign, digits and exponent

    def decode(data: object, path: str) -> object:
        if not isinstance(data, str):
            raise _wrong_type(path, data, 'a decimal string such as "0.92"')
        if len(data) > 2 * _MAX_DECIMAL_DIGITS or not _DECIMAL_TEXT.fullmatch(data):
            raise _fail(path, f"{data[:80]!r} is not a decimal number such as '0.92'")
        value = Decimal(data)
        problem = _decimal_bounds_problem(value)
        if problem is not None:
            raise _fail(path, f"{data!r} {problem}")
        return value

    return _Codec(encode, decode)


_CURRENCY_TEXT: Final = re.compile(r"[A-Z]{3}")


def _currency_codec() -> _Codec:
    _expect_fields(Currency, ("code", "exponent"))

    def encode(value: object, path: str) -> JsonValue:
        if not isinstance(value, Currency):
            raise _wrong_type(path, value, "a Currency")
        return value.code

    def decode(data: object, path: str) -> object:
        if not isinstance(data, str):
            raise _wrong_type(path, data, 'an ISO 4217 currency code such as "USD"')
        if not _CURRENCY_TEXT.fullmatch(data):
            raise _fail(path, f"{data[:20]!r} is not an upper-case ISO 4217 code such as 'USD'")
        try:
            return Currency.of(data)
        except RefundError as error:
            raise _fail(path, error.message) from None

    return _Codec(encode, decode)


def _money_codec() -> _Codec:
    _expect_fields(Money, ("minor", "currency"))
    currency = _codec_for(Currency, "Money.currency")
    amount_text = re.compile(rf"(-?)([0-9]{{1,{MAX_AMOUNT_DIGITS}}})(?:\.([0-9]+))?")

    def encode(value: object, path: str) -> JsonValue:
        if not isinstance(value, Money):
            raise _wrong_type(path, value, "Money")
        text = value.amount_text()
        if len(text.lstrip("-").split(".")[0]) > MAX_AMOUNT_DIGITS:
            raise _fail(path, f"has more than {MAX_AMOUNT_DIGITS} digits before the point")
        return {"amount": text, "currency": currency.encode(value.currency, f"{path}.currency")}

    def decode(data: object, path: str) -> object:
        fields = _object_fields(data, path, ("amount", "currency"), "money")
        cur = cast(Currency, currency.decode(fields["currency"], _field_path(path, "currency")))
        where = _field_path(path, "amount")
        text = fields["amount"]
        if not isinstance(text, str):
            raise _wrong_type(where, text, f'a decimal string such as "12.50" ({cur.code})')
        match = amount_text.fullmatch(text)
        if match is None:
            raise _fail(
                where,
                f"{text[:80]!r} is not a plain decimal amount such as '12.50' (digits, an "
                f"optional minus sign and point, at most {MAX_AMOUNT_DIGITS} digits before it)",
            )
        sign, whole, fraction = match.groups()
        fraction = fraction or ""
        if len(fraction) > cur.exponent:
            raise _fail(
                where,
                f"{text!r} has more decimal places than {cur.code} has ({cur.exponent})",
            )
        minor = int(whole + fraction.ljust(cur.exponent, "0"))
        return Money(-minor if sign else minor, cur)

    return _Codec(encode, decode)


def _enum_codec(cls: type[enum.Enum], owner: str) -> _Codec:
    by_value: dict[object, enum.Enum] = {}
    for member in cls:
        value = member.value
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise TypeError(
                f"kanorio_refunds.serialization cannot serialise {owner}: enum {cls.__name__} "
                f"has a value that is neither a string nor an integer ({member.name})"
            )
        by_value[value] = member
    choices = ", ".join(repr(v) for v in by_value)

    def encode(value: object, path: str) -> JsonValue:
        if not isinstance(value, cls):
            raise _wrong_type(path, value, f"a {cls.__name__}")
        return cast(JsonValue, value.value)

    def decode(data: object, path: str) -> object:
        # The exact type matters: 1 and True, or "1" and 1, are different values here.
        for value, member in by_value.items():
            if type(value) is type(data) and value == data:
                return member
        if isinstance(data, (str, int)) and not isinstance(data, bool):
            shown = repr(data[:80]) if isinstance(data, str) else repr(data)
            raise _fail(path, f"{shown} is not a {cls.__name__}; expected one of {choices}")
        raise _wrong_type(path, data, f"a {cls.__name__} (one of {choices})")

    return _Codec(encode, decode)


def _optional_codec(inner: _Codec) -> _Codec:
    def encode(value: object, path: str) -> JsonValue:
        return None if value is None else inner.encode(value, path)

    def decode(data: object, path: str) -> object:
        return None if data is None else inner.decode(data, path)

    return _Codec(encode, decode)


def _sequence_codec(items: tuple[_Codec, ...] | _Codec) -> _Codec:
    """``tuple[X, ...]`` (``items`` one codec) or a fixed ``tuple[X, Y]`` (several), as a list."""

    def codec_at(index: int) -> _Codec:
        return items if isinstance(items, _Codec) else items[index]

    def check_length(value: tuple[object, ...] | list[object], path: str) -> None:
        if not isinstance(items, _Codec) and len(value) != len(items):
            raise _fail(path, f"expected a list of {len(items)} items, got {len(value)}")

    def encode(value: object, path: str) -> JsonValue:
        if not isinstance(value, tuple):
            raise _wrong_type(path, value, "a tuple")
        check_length(value, path)
        return [codec_at(i).encode(item, f"{path}[{i}]") for i, item in enumerate(value)]

    def decode(data: object, path: str) -> object:
        if not isinstance(data, (list, tuple)):
            raise _wrong_type(path, data, "a list")
        check_length(data, path)
        return tuple(codec_at(i).decode(item, f"{path}[{i}]") for i, item in enumerate(data))

    return _Codec(encode, decode)


def _expect_fields(cls: type, names: tuple[str, ...]) -> None:
    """The hand-written codecs (Money, Currency) know their class's fields: should the class
    change, refuse to run rather than silently drop what was added."""
    actual = tuple(f.name for f in attrs.fields(cls))
    if actual != names:
        raise TypeError(
            f"kanorio_refunds.serialization writes {cls.__name__} as {names} but its fields "
            f"are now {actual}; update its codec (and FORMAT_VERSION)"
        )


def _object_fields(data: object, path: str, names: tuple[str, ...], what: str) -> dict[str, object]:
    """``data`` as a JSON object with exactly the keys ``names``: unknown and missing keys are
    errors naming the first such field."""
    if not isinstance(data, dict):
        raise _wrong_type(path, data, f"an object ({what})")
    unknown = [key for key in data if key not in names]
    if unknown:
        key = unknown[0]
        shown = key if isinstance(key, str) else repr(key)
        raise _fail(
            _field_path(path, str(shown)[:80]),
            f"unknown field {str(shown)[:80]!r} in {what}; its fields are {', '.join(names)}",
        )
    missing = [name for name in names if name not in data]
    if missing:
        raise _fail(
            _field_path(path, missing[0]),
            f"missing field {missing[0]!r} of {what}"
            + (f" (also missing: {', '.join(missing[1:])})" if missing[1:] else ""),
        )
    return cast(dict[str, object], data)


def _attrs_codec(cls: type) -> _Codec:
    try:
        hints = typing.get_type_hints(cls)
    except Exception as error:  # a hint that cannot be resolved: refuse loudly, at once
        raise TypeError(
            f"kanorio_refunds.serialization cannot read the type hints of {cls.__name__}: {error}"
        ) from error
    fields = attrs.fields(cls)
    plan: list[tuple[str, str, _Codec]] = []  # (JSON key = field name, init alias, codec)
    for field in fields:
        if not field.init:
            raise TypeError(
                f"kanorio_refunds.serialization cannot serialise {cls.__name__}.{field.name}: "
                f"a field outside __init__ could not be read back"
            )
        plan.append(
            (field.name, field.alias, _codec_for(hints[field.name], f"{cls.__name__}.{field.name}"))
        )
    names = tuple(name for name, _, _ in plan)
    what = cls.__name__

    def encode(value: object, path: str) -> JsonValue:
        if type(value) is not cls:
            raise _wrong_type(path, value, f"a {what}")
        return {
            name: codec.encode(getattr(value, name), _field_path(path, name))
            for name, _, codec in plan
        }

    def decode(data: object, path: str) -> object:
        present = _object_fields(data, path, names, what)
        kwargs = {
            alias: codec.decode(present[name], _field_path(path, name))
            for name, alias, codec in plan
        }
        try:
            return cls(**kwargs)
        except RefundError as error:  # a domain validator refused the value (M1, …)
            raise _fail(path, f"not a valid {what}: {error.message}") from None
        except (TypeError, ValueError) as error:
            raise _fail(path, f"not a valid {what}: {error}") from None

    return _Codec(encode, decode)


def _codec_for(hint: object, owner: str) -> _Codec:
    """The codec of a type hint, compiled once. ``TypeError`` for a type this format cannot
    write exactly: a new kind of field fails loudly here, never silently."""
    cached = _CODECS.get(hint)
    if cached is not None:
        return cached
    codec = _compile(hint, owner)
    _CODECS[hint] = codec
    return codec


def _compile(hint: object, owner: str) -> _Codec:
    if isinstance(hint, typing.NewType):
        return _codec_for(hint.__supertype__, owner)
    if hint is Money:
        return _money_codec()
    if hint is Currency:
        return _currency_codec()
    if hint is datetime:
        return _datetime_codec()
    if hint is Decimal:
        return _decimal_codec()
    if hint is bool:
        return _bool_codec()
    if hint is int:
        return _int_codec()
    if hint is str:
        return _str_codec()
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_codec(hint, owner)
    if isinstance(hint, type) and attrs.has(hint):
        return _attrs_codec(hint)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        others = [arg for arg in args if arg is not type(None)]
        if len(others) == 1 and len(args) == 2:
            return _optional_codec(_codec_for(others[0], owner))
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return _sequence_codec(_codec_for(args[0], owner))
        if Ellipsis not in args:
            return _sequence_codec(tuple(_codec_for(arg, owner) for arg in args))
    raise TypeError(
        f"kanorio_refunds.serialization cannot serialise {owner}: its type {hint!r} has no exact "
        f"JSON form here; add a codec (and bump FORMAT_VERSION)"
    )


def _top_codec(cls: type) -> tuple[str, _Codec]:
    name = _NAMES.get(cls)
    if name is None:
        choices = ", ".join(c.__name__ for c in OBJECT_TYPES.values())
        raise TypeError(f"cannot serialise a {cls.__name__}; serialisable types are: {choices}")
    codec = _codec_for(cls, cls.__name__)
    if attrs.has(cls):
        clash = _ENVELOPE_KEYS & {f.name for f in attrs.fields(cls)}
        if clash:  # pragma: no cover - a guard for future fields
            raise TypeError(
                f"{cls.__name__} has a field named {sorted(clash)[0]!r}, which the top-level "
                f"envelope uses; rename one of them (and bump FORMAT_VERSION)"
            )
    return name, codec


# -- public API -----------------------------------------------------------------------------------


def to_dict(value: object) -> dict[str, JsonValue]:
    """``value`` as a JSON-safe dict: ``{"object": name, "format_version": 1, ...fields}``.

    ``value`` is one of ``OBJECT_TYPES`` (an Order, Refund, Money, RefundQuote, OrderDetails,
    Eligibility, …); anything else is a ``TypeError``, as with ``json.dumps``. A value that
    cannot be written exactly (a naive datetime, a float where a Decimal belongs, a string where
    an enum belongs) raises ``InvalidSerializedValue`` naming the field.
    """
    name, codec = _top_codec(type(value))
    encoded = codec.encode(value, "")
    assert isinstance(encoded, dict)  # every top-level type is an object
    return {_OBJECT_KEY: name, _VERSION_KEY: FORMAT_VERSION, **encoded}


def from_dict(cls: type[T], data: object) -> T:
    """The ``cls`` value that ``to_dict`` wrote as ``data``: exactly equal to the original.

    Raises ``InvalidSerializedValue`` (code ``invalid_serialized_value``), whose ``path`` names
    the bad field, for anything else: another object type or format version, an unknown,
    missing or ill-typed field, a float anywhere, a naive datetime, an unknown currency, an
    amount with more decimals than its currency has. ``TypeError`` when ``cls`` is not one of
    ``OBJECT_TYPES``.
    """
    name, codec = _top_codec(cls)
    if not isinstance(data, dict):
        raise _wrong_type("", data, f"an object (a serialised {name})")
    written = data.get(_OBJECT_KEY)
    if _OBJECT_KEY not in data:
        raise _fail(_OBJECT_KEY, f'missing; a serialised {name} starts with "object": {name!r}')
    if written != name or not isinstance(written, str):
        if isinstance(written, str) and written in OBJECT_TYPES:
            raise _fail(_OBJECT_KEY, f"this is a serialised {written!r}, not {name!r}")
        raise _wrong_type(_OBJECT_KEY, written, f"the string {name!r}")
    version = data.get(_VERSION_KEY)
    if _VERSION_KEY not in data:
        raise _fail(_VERSION_KEY, f"missing; this release reads format version {FORMAT_VERSION}")
    if isinstance(version, bool) or not isinstance(version, int):
        raise _wrong_type(_VERSION_KEY, version, f"the integer {FORMAT_VERSION}")
    if version != FORMAT_VERSION:
        later = version > FORMAT_VERSION
        raise _fail(
            _VERSION_KEY,
            f"format version {version} is not one this release reads (it reads "
            f"{FORMAT_VERSION}){'; upgrade kanorio_refunds to read it' if later else ''}",
        )
    fields = {key: item for key, item in data.items() if key not in _ENVELOPE_KEYS}
    return cast(T, codec.decode(fields, ""))


def to_json(value: object) -> str:
    """``to_dict(value)`` as compact JSON text with sorted keys (the same value always gives the
    same text, so it can be compared, hashed or signed)."""
    return json.dumps(to_dict(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, item in pairs:
        if key in result:
            # Two readers could take different copies of an ambiguous object: refuse it.
            raise InvalidSerializedValue(
                f"the JSON text has the key {key[:80]!r} twice in one object"
            )
        result[key] = item
    return result


def from_json(cls: type[T], text: str | bytes) -> T:
    """The ``cls`` value in JSON ``text`` written by ``to_json`` (or ``json.dumps(to_dict(v))``).

    Raises ``InvalidSerializedValue`` for text that is not valid JSON (a duplicate key, an
    integer too long to read, nesting too deep included) and for everything ``from_dict``
    refuses.
    """
    if not isinstance(text, (str, bytes, bytearray)):
        raise InvalidSerializedValue(f"expected JSON text, got {type(text).__name__}")
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except InvalidSerializedValue:
        raise
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError too
        problem = error.msg if isinstance(error, json.JSONDecodeError) else type(error).__name__
        raise InvalidSerializedValue(f"the text is not valid JSON: {problem}") from None
    return from_dict(cls, data)
