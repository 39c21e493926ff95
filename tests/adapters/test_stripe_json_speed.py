"""Issue 10: the fast readings of ``adapters._stripe_json`` (``parse_refund``, ``parse_payment``,
``refund_params``, ``reason_from_gateway``, the remembered moments) give exactly what the
straightforward code gave.

The reference below is that code as it was before the fast paths (commit 1f8ddfb), kept here
verbatim but for its names: every field checked on its own, through ``_reader``'s exception
handling. Each property feeds both the same objects, as Stripe sends them and malformed in
every way the fast paths look at (subclasses of str, int and dict, other mappings, expanded
ids, unknown or odd currencies, amounts and timestamps out of range, …), and requires the same
outcome: the same value, field by field and type by type, or the same error class with the
same message, chained to nothing (P3). The module's memories (currency units, moments, sending
figures) are emptied at random, so both a first reading and a remembered one are compared.
"""

from __future__ import annotations

import copy
import functools
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanorio_refunds.adapters import _stripe_json as sj
from kanorio_refunds.adapters._stripe_json import (
    DISPUTE_STATUSES,
    DISPUTE_STATUSES_BLOCKING_REFUNDS,
    parse_payment,
    parse_refund,
    reason_from_gateway,
    redact_secrets,
    refund_params,
)
from kanorio_refunds.domain._money import Currency, Money, from_stripe_amount, to_stripe_amount
from kanorio_refunds.domain._payment import (
    METADATA_REASON,
    GatewayRefund,
    PaymentRecord,
    RefundRequest,
)
from kanorio_refunds.domain._refund import RefundReason, RefundStatus
from kanorio_refunds.errors import GatewayProtocolError, GatewayUnavailable, RefundError
from kanorio_refunds.testing.fake_stripe import FakeStripe

from .test_payment_values_speed import (
    _Dict,
    _Equal,
    _Int,
    _MoreItems,
    _OtherGet,
    _outcome,
    _ref_freeze_metadata,
    _same,
    _Shown,
    _str_metadata,
    _Text,
)

# ---------------------------------------------------------------------------------------------
# the reference: the straightforward code, as it was
# ---------------------------------------------------------------------------------------------


def _ref_reader(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(read: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(read)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            error: RefundError
            try:
                return read(*args, **kwargs)
            except GatewayUnavailable as e:
                error = GatewayUnavailable(_ref_quote(e.message))
            except GatewayProtocolError as e:
                error = GatewayProtocolError(_ref_quote(e.message))
            except (
                RefundError,
                ValueError,
                TypeError,
                KeyError,
                IndexError,
                AttributeError,
                ArithmeticError,
                RecursionError,
            ) as e:
                detail = e.message if isinstance(e, RefundError) else str(e)
                error = GatewayProtocolError(
                    f"Stripe's {what} cannot be read ({type(e).__name__}: {_ref_quote(detail)})"
                )
            raise error

        return wrapper

    return decorate


def _ref_quote(text: str) -> str:
    text = redact_secrets(text)
    return text if len(text) <= 300 else text[:299] + "…"


def _ref_require_object(obj: Any, what: str) -> None:
    if type(obj) is not dict and not isinstance(obj, Mapping):
        raise GatewayProtocolError(f"Stripe {what} is not an object: {type(obj).__name__}")


def _ref_field(obj: Mapping[str, Any], key: str, what: str) -> Any:
    if (type(obj) is not dict and not isinstance(obj, Mapping)) or key not in obj:
        raise GatewayProtocolError(f"Stripe {what} has no {key!r}; cannot read it")
    return obj[key]


def _ref_object_id(obj: Mapping[str, Any], what: str) -> str:
    value = _ref_field(obj, "id", what)
    if not isinstance(value, str) or not value:
        raise GatewayProtocolError(f"Stripe {what} has no readable id: {value!r:.40}")
    return value


def _ref_sendable_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or sj._STRIPE_ID_RE.fullmatch(value) is None:
        raise GatewayProtocolError(f"Stripe {what} has an id that is not a Stripe id")
    return value


def _ref_id_of(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if type(value) is dict or isinstance(value, Mapping):
        inner = value.get("id")
        return inner if isinstance(inner, str) else None
    raise GatewayProtocolError(f"expected an id or an object, got {type(value).__name__}")


def _ref_units(value: Any, what: str, *, missing_is_zero: bool = False) -> int:
    if value is None and missing_is_zero:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise GatewayProtocolError(f"Stripe {what} is not an integer amount: {value!r:.40}")
    if value < 0:
        raise GatewayProtocolError(f"Stripe {what} is negative: {value}")
    return value


def _ref_flag(value: Any, what: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise GatewayProtocolError(f"Stripe {what} is not a boolean: {value!r:.40}")
    return value


def _ref_timestamp(value: Any, what: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int):
        raise GatewayProtocolError(f"Stripe {what} has a non-integer timestamp {value!r:.40}")
    try:
        moment: datetime | None = datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        moment = None
    if moment is None:
        raise GatewayProtocolError(f"Stripe {what} has an impossible timestamp {value!r:.40}")
    return moment


def _ref_rate(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        rate: Decimal | None = value if isinstance(value, Decimal) else Decimal(repr(value))
    except InvalidOperation:
        rate = None
    if rate is None:
        raise GatewayProtocolError(f"unreadable exchange rate {value!r:.40}")
    if not rate.is_finite() or rate <= 0:
        raise GatewayProtocolError(f"exchange rate {value!r:.40} is not a positive number")
    return rate


_REF_STATUSES = {
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.REQUIRES_ACTION,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELED,
}
_REF_STRIPE_REASONS = {
    RefundReason.DUPLICATE: "duplicate",
    RefundReason.FRAUDULENT: "fraudulent",
    RefundReason.CUSTOMER_REQUEST: "requested_by_customer",
}


def _ref_reason_from_gateway(stripe_value: Any, metadata_value: Any) -> RefundReason | None:
    if metadata_value:
        for reason in RefundReason:
            if reason.value == metadata_value:
                return reason
    for reason, value in _REF_STRIPE_REASONS.items():
        if value == stripe_value:
            return reason
    return None


def _ref_metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if type(value) is not dict and not isinstance(value, Mapping):
        raise GatewayProtocolError(f"Stripe refund metadata is not a hash: {value!r:.40}")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise GatewayProtocolError("Stripe refund metadata holds something that is not a string")
    return dict(value)


def _ref_optional_text(value: Any, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise GatewayProtocolError(f"Stripe {what} is not a string: {value!r:.40}")


def _ref_pi(value: Any) -> Any:
    return value if value else None


@_ref_reader("refund")
def _ref_parse_refund(obj: Mapping[str, Any]) -> GatewayRefund:
    _ref_require_object(obj, "refund")
    status_text = obj.get("status")
    if status_text is None:
        status = RefundStatus.PENDING
    else:
        found = _REF_STATUSES.get(status_text) if isinstance(status_text, str) else None
        if found is None:
            raise GatewayProtocolError(f"Stripe refund has an unknown status {status_text!r:.40}")
        status = found
    metadata = _ref_metadata(obj.get("metadata"))
    currency = Currency.of(_ref_field(obj, "currency", "refund"))
    return GatewayRefund(
        id=_ref_object_id(obj, "refund"),  # type: ignore[arg-type]
        amount=from_stripe_amount(
            _ref_units(_ref_field(obj, "amount", "refund"), "refund amount"), currency
        ),
        status=status,
        created_at=_ref_timestamp(_ref_field(obj, "created", "refund"), "refund"),
        payment_intent_id=_ref_pi(_ref_id_of(obj.get("payment_intent"))),
        charge_id=_ref_pi(_ref_id_of(obj.get("charge"))),
        reason=_ref_reason_from_gateway(
            _ref_optional_text(obj.get("reason"), "refund reason"), metadata.get(METADATA_REASON)
        ),
        failure_reason=_ref_optional_text(obj.get("failure_reason"), "refund failure_reason"),
        # The converter as it was (a tuple passes today's converter as it is).
        metadata=_ref_freeze_metadata(metadata),
    )


@_ref_reader("charge")
def _ref_disputed_charge_id(charge: Mapping[str, Any]) -> str | None:
    _ref_require_object(charge, "charge")
    if not _ref_flag(charge.get("disputed"), "charge.disputed"):
        return None
    return _ref_sendable_id(_ref_field(charge, "id", "charge"), "disputed charge")


def _ref_dispute_blocks_refunds(dispute: Mapping[str, Any]) -> bool:
    if not isinstance(dispute, Mapping) or dispute.get("object") != "dispute":
        raise GatewayProtocolError("Stripe's dispute listing holds something that is not a dispute")
    status = dispute.get("status")
    if not isinstance(status, str) or status not in DISPUTE_STATUSES:
        raise GatewayProtocolError(f"Stripe dispute has an unknown status {status!r:.40}")
    return status in DISPUTE_STATUSES_BLOCKING_REFUNDS


def _ref_blocked_by_dispute(
    charge: Mapping[str, Any], disputes: Iterable[Mapping[str, Any]] | None
) -> bool:
    if _ref_disputed_charge_id(charge) is None:
        return False
    if disputes is None:
        return True
    listed = list(disputes)
    if not listed:
        return True
    blocking = [_ref_dispute_blocks_refunds(d) for d in listed]
    return any(blocking)


@_ref_reader("charge")
def _ref_parse_payment(
    charge: Mapping[str, Any],
    payment_intent_id: str | None,
    disputes: Iterable[Mapping[str, Any]] | None = None,
) -> PaymentRecord:
    _ref_require_object(charge, "charge")
    currency = Currency.of(_ref_field(charge, "currency", "charge"))
    captured = from_stripe_amount(
        _ref_units(charge.get("amount_captured"), "charge.amount_captured", missing_is_zero=True),
        currency,
    )
    refunded = from_stripe_amount(
        _ref_units(_ref_field(charge, "amount_refunded", "charge"), "charge.amount_refunded"),
        currency,
    )
    txn = charge.get("balance_transaction")
    if not isinstance(txn, Mapping):
        raise GatewayProtocolError(
            f"charge {charge.get('id')} has no expanded balance transaction yet, so its fees "
            f"are unknown; try again once Stripe has settled it"
        )
    settlement = Currency.of(_ref_field(txn, "currency", "balance transaction"))
    stripe_fee = Money.zero(settlement)
    platform_fee = Money.zero(settlement)
    fee_details = txn.get("fee_details") or ()
    if not isinstance(fee_details, list | tuple):
        raise GatewayProtocolError("Stripe balance transaction fee_details is not a list")
    for detail in fee_details:
        fee = from_stripe_amount(
            _ref_units(_ref_field(detail, "amount", "fee"), "fee amount"),
            Currency.of(_ref_field(detail, "currency", "fee")),
            rounding="up",
        )
        if fee.currency != settlement:
            raise GatewayProtocolError(
                f"fee in {fee.currency.code} on a {settlement.code} balance transaction"
            )
        if detail.get("type") == "application_fee":
            platform_fee = platform_fee + fee
        else:
            stripe_fee = stripe_fee + fee
    rate = _ref_rate(txn.get("exchange_rate"))
    return PaymentRecord(
        payment_intent_id=_ref_pi(payment_intent_id or _ref_id_of(charge.get("payment_intent"))),
        charge_id=_ref_pi(_ref_id_of(charge.get("id"))),
        captured=captured,
        stripe_fee=stripe_fee,
        platform_fee=platform_fee,
        settlement_currency=settlement,
        amount_refunded=refunded,
        exchange_rate=rate if settlement != currency else None,
        disputed=_ref_blocked_by_dispute(charge, disputes),
    )


def _ref_refund_params(
    request: RefundRequest, *, refund_application_fee: bool, reverse_transfer: bool = False
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "amount": to_stripe_amount(request.amount),
        "metadata": dict(request.metadata),
    }
    if request.payment_intent_id:
        params["payment_intent"] = request.payment_intent_id
    elif request.charge_id:
        params["charge"] = request.charge_id
    else:
        raise GatewayProtocolError("a refund request must name a PaymentIntent or a Charge")
    reason = _REF_STRIPE_REASONS.get(request.reason) if request.reason is not None else None
    if reason is not None:
        params["reason"] = reason
    if refund_application_fee:
        params["refund_application_fee"] = True
    if reverse_transfer:
        params["reverse_transfer"] = True
    return params


# ---------------------------------------------------------------------------------------------
# comparing outcomes exactly (with test_payment_values_speed's _same)
# ---------------------------------------------------------------------------------------------


def _forget(data: st.DataObject) -> None:
    """Empty the memories of the fast paths, at random: a first reading is compared too."""
    if data.draw(st.booleans(), label="forget"):
        sj._UNITS.clear()
        sj._MOMENTS.clear()
        sj._SENDING.clear()


# ---------------------------------------------------------------------------------------------
# strategies: Stripe's values and their malformed neighbours
# ---------------------------------------------------------------------------------------------


_odd = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=6),
    st.builds(_Text, st.sampled_from(["usd", "succeeded", "re_1", "duplicate", ""])),
    st.builds(_Int, st.integers(min_value=-5, max_value=1_700_000_000)),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just(Decimal("1.5")),
)
_MISSING = object()  # a field left out

# Every value a field of a refund or a charge is read in, usual or not: each case of the fast
# paths' checks, and what the checked code reads differently (subclasses, other mappings).
_CURRENCY_EDGES = [
    "usd", "USD", " eur ", "jpy", "isk", "ISK", "mga", "bhd", "kwd", "idr", "huf", "clf", "xxx",
    "", "us", "uſd", "ınr", _Text("usd"), 5, None, ["usd"], _MISSING,
]  # fmt: skip
_AMOUNT_EDGES = [0, 1, 150, 10**12, 2**70, -1, _Int(5), True, False, 1.0, "100", None, _MISSING]
_TIMESTAMP_EDGES = [
    1_700_000_000,
    0,
    -1,
    253_402_300_799,  # 9999-12-31T23:59:59Z, the last moment a datetime holds
    253_402_300_800,
    -62_135_596_800,  # 0001-01-01T00:00:00Z, the first
    -62_135_596_801,
    2**63,
    -(2**63),
    _Int(1_700_000_000),
    True,
    1.5,
    "1700000000",
    None,
    _MISSING,
]


def _id_edges(prefix: str) -> list[Any]:
    """An expandable id: the id, an empty or subclassed one, the expanded object, …"""
    return [
        None, f"{prefix}_1", "", _Text(f"{prefix}_2"), {"id": f"{prefix}_3"}, {"id": 5}, {},
        _Dict({"id": f"{prefix}_4"}), 5, _MISSING,
    ]  # fmt: skip


_METADATA_EDGES = [
    None,
    {},
    {"kanorio_refund_id": "rf_1", "kanorio_order_id": "o-1"},
    {"b": "1", "a": "2", METADATA_REASON: "duplicate"},
    {METADATA_REASON: "nope"},
    {METADATA_REASON: ""},
    {_Text("a"): "b"},
    {"a": _Text("b")},
    {_Shown("a"): "b", "c": _Shown("d")},
    _MoreItems({"a": "b"}),
    {"a": 1},
    {1: "a"},
    _Dict({"a": "b"}),
    MappingProxyType({"a": "b"}),
    OrderedDict({"b": "1", "a": "2"}),
    [],
    "x",
    5,
    _MISSING,
]
_REFUND_EDGES: dict[str, list[Any]] = {
    "id": ["re_1", "", _Text("re_2"), 5, {"id": "re_3"}, None, _MISSING],
    "amount": _AMOUNT_EDGES,
    "currency": _CURRENCY_EDGES,
    "status": [*_REF_STATUSES, "unknown", _Text("succeeded"), 5, ["x"], None, _MISSING],
    "created": _TIMESTAMP_EDGES,
    "metadata": _METADATA_EDGES,
    "payment_intent": _id_edges("pi"),
    "charge": _id_edges("ch"),
    "reason": [
        None,
        "",
        "duplicate",
        "fraudulent",
        "requested_by_customer",
        "expired_uncaptured_charge",
        _Text("duplicate"),
        5,
        _MISSING,
    ],
    "failure_reason": [None, "", "lost_or_stolen_card", _Text("x"), 5, _MISSING],
}
_FEE = {"amount": 175, "currency": "usd", "type": "stripe_fee"}
_CHARGE_EDGES: dict[tuple[Any, ...], list[Any]] = {
    ("currency",): _CURRENCY_EDGES,
    ("amount_captured",): _AMOUNT_EDGES,
    ("amount_refunded",): _AMOUNT_EDGES,
    ("payment_intent",): _id_edges("pi"),
    ("id",): [*_id_edges("ch"), "ch bad!"],
    ("disputed",): [None, False, True, "yes", 0, 1, _MISSING],
    ("balance_transaction",): [
        None,
        "txn_1",
        5,
        [],
        _Dict({"currency": "usd"}),
        MappingProxyType({"currency": "usd"}),
        _MISSING,
    ],
    ("balance_transaction", "currency"): _CURRENCY_EDGES,
    ("balance_transaction", "exchange_rate"): [
        None,
        1.1,
        0.9123,
        1,
        Decimal("1.25"),
        Decimal("NaN"),
        float("inf"),
        "1.1",
        0,
        -1.0,
        True,
        _MISSING,
    ],
    ("balance_transaction", "fee_details"): [
        None,
        [],
        (),
        0,
        "",
        {},
        False,
        "x",
        [_Dict(_FEE)],
        [_OtherGet(_FEE)],
        [MappingProxyType(_FEE)],
        [5],
        [{}],
        (dict(_FEE),),
        [dict(_FEE, type="application_fee"), dict(_FEE, currency="USD")],
        _MISSING,
    ],
    ("balance_transaction", "fee_details", 0, "amount"): _AMOUNT_EDGES,
    ("balance_transaction", "fee_details", 0, "currency"): [*_CURRENCY_EDGES, "eur"],
    ("balance_transaction", "fee_details", 0, "type"): [
        None,
        "stripe_fee",
        "application_fee",
        "tax",
        _Text("application_fee"),
        5,
        ["x"],
        _MISSING,
    ],
}
_PAYMENT_INTENT_IDS = [None, "", "pi_arg", _Text("pi_sub"), 5, 0]
_DISPUTES: list[Any] = [
    None,
    [],
    [{"object": "dispute", "status": "won"}],
    [{"object": "dispute", "status": "lost"}, {"object": "dispute", "status": "won"}],
    [{"object": "dispute", "status": "unknown"}],
    [5],
]


def _refund(**fields: Any) -> dict[str, Any]:
    """A refund as Stripe sends it, with ``fields`` changed (``_MISSING``: left out)."""
    obj: dict[str, Any] = {
        "id": "re_1",
        "object": "refund",
        "amount": 100,
        "balance_transaction": "txn_1",
        "charge": "ch_1",
        "created": 1_700_000_000,
        "currency": "usd",
        "metadata": {"kanorio_refund_id": "rf_1", "kanorio_order_id": "o-1"},
        "payment_intent": "pi_1",
        "reason": None,
        "status": "succeeded",
    }
    for key, value in fields.items():
        if value is _MISSING:
            obj.pop(key, None)
        else:
            obj[key] = value
    return obj


def _charge(changes: dict[tuple[Any, ...], Any]) -> dict[str, Any]:
    """A captured charge as Stripe sends it, with a Stripe fee and a platform fee, and with
    each path in ``changes`` set to its value (``_MISSING``: left out)."""
    charge: dict[str, Any] = {
        "id": "ch_1",
        "object": "charge",
        "amount": 5_000,
        "amount_captured": 5_000,
        "amount_refunded": 100,
        "currency": "usd",
        "disputed": False,
        "payment_intent": "pi_1",
        "balance_transaction": {
            "id": "txn_1",
            "object": "balance_transaction",
            "currency": "usd",
            "exchange_rate": None,
            "fee_details": [dict(_FEE), dict(_FEE, amount=300, type="application_fee")],
        },
    }
    for path, value in changes.items():
        node: Any = charge
        for key in path[:-1]:
            # Each level on the way copied: an earlier change may have put a shared value here.
            found = (type(node) is dict and key in node) or (
                type(node) is list and type(key) is int and key < len(node)
            )
            if found and type(node[key]) in (dict, list):
                node[key] = node = copy.copy(node[key])
            else:
                node = None
        if type(node) is dict:
            if value is _MISSING:
                node.pop(path[-1], None)
            else:
                node[path[-1]] = value
    return charge


@st.composite
def _refund_objects(draw: st.DrawFn) -> Any:
    """A refund as Stripe sends it with up to three of its fields changed to any of their
    values above or to anything at all; mostly a dict, else another mapping or no object."""
    fields = {
        key: draw(st.sampled_from(edges) | _odd)
        for key, edges in _REFUND_EDGES.items()
        if draw(st.integers(min_value=0, max_value=3)) == 0
    }
    obj = _refund(**fields)
    wrap = draw(st.sampled_from(["dict"] * 8 + ["subclass", "proxy", "odd"]))
    if wrap == "subclass":
        return _Dict(obj)
    if wrap == "proxy":
        return MappingProxyType(obj)
    if wrap == "odd":
        return draw(_odd)
    return obj


@st.composite
def _charges(draw: st.DrawFn) -> Any:
    """A charge as Stripe sends it with up to three of its values changed (as for refunds)."""
    changes = {
        path: draw(st.sampled_from(edges) | _odd)
        for path, edges in _CHARGE_EDGES.items()
        if draw(st.integers(min_value=0, max_value=4)) == 0
    }
    charge = _charge(changes)
    wrap = draw(st.sampled_from(["dict"] * 8 + ["subclass", "proxy", "odd"]))
    if wrap == "subclass":
        return _Dict(charge)
    if wrap == "proxy":
        return MappingProxyType(charge)
    if wrap == "odd":
        return draw(_odd)
    return charge


def _either(*usual: Any) -> st.SearchStrategy[Any]:
    """Mostly one of ``usual``, sometimes anything."""
    return st.sampled_from(usual) | st.sampled_from(usual) | _odd


# ---------------------------------------------------------------------------------------------
# the properties
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [(field, value) for field, edges in _REFUND_EDGES.items() for value in edges],
)
def test_parse_refund_of_each_value_reads_as_the_straightforward_code(
    field: str, value: Any
) -> None:
    """Issue 10, P3: parse_refund of a refund with one field changed to each of its usual and
    malformed values gives what the field-by-field reading gave: the same value, or the same
    error class and message, chained to nothing; on a first reading and a remembered one."""
    obj = _refund(**{field: value})
    for forget in (True, False, False):
        if forget:
            sj._UNITS.clear()
            sj._MOMENTS.clear()
        _same(parse_refund, _ref_parse_refund, obj)
    # And as the reason of the one written in the metadata (either may decide).
    if field == "reason":
        for ours in ("duplicate", "other", "nope", ""):
            obj = _refund(reason=value, metadata={METADATA_REASON: ours})
            _same(parse_refund, _ref_parse_refund, obj)


@pytest.mark.parametrize(
    ("path", "value"),
    [(path, value) for path, edges in _CHARGE_EDGES.items() for value in edges],
)
def test_parse_payment_of_each_value_reads_as_the_straightforward_code(
    path: tuple[Any, ...], value: Any
) -> None:
    """Issue 10, P3, E5: parse_payment of a charge with one value changed to each of its usual
    and malformed values, with each payment id and disputes given, gives what the field-by-field
    reading gave (the same value, or error class and message, chained to nothing)."""
    charge = _charge({path: value})
    sj._UNITS.clear()
    for payment_intent_id in _PAYMENT_INTENT_IDS:
        for disputes in _DISPUTES:
            _same(parse_payment, _ref_parse_payment, charge, payment_intent_id, disputes)


@given(data=st.data())
def test_parse_refund_reads_as_the_straightforward_code(data: st.DataObject) -> None:
    """Issue 10, P3: parse_refund gives what the field-by-field reading gave, for refunds with
    several fields changed at once (the same value, or error class and message, chained to
    nothing), on a first reading and a remembered one."""
    obj = data.draw(_refund_objects())
    _forget(data)
    first = _same(parse_refund, _ref_parse_refund, obj)
    second = _same(parse_refund, _ref_parse_refund, obj)
    assert first == second


@given(data=st.data())
def test_parse_refund_of_usual_refunds_reads_as_the_straightforward_code(
    data: st.DataObject,
) -> None:
    """Issue 10: the refunds the fast path reads itself (every field as Stripe's JSON gives
    it) give the field-by-field reading's value, type by type."""
    obj = {
        "id": data.draw(st.sampled_from(["re_1", "re_x9"])),
        "object": "refund",
        "amount": data.draw(st.integers(min_value=0, max_value=10**12)),
        "currency": data.draw(st.sampled_from(["usd", "USD", " eur ", "jpy", "mga", "bhd"])),
        "status": data.draw(st.sampled_from([*_REF_STATUSES, None])),
        "created": data.draw(st.integers(min_value=-62_135_596_800, max_value=253_402_300_799)),
        "metadata": data.draw(st.none() | _str_metadata),
        "payment_intent": data.draw(st.sampled_from([None, "", "pi_1"])),
        "charge": data.draw(st.sampled_from([None, "", "ch_1"])),
        "reason": data.draw(st.sampled_from([None, "", "duplicate", "requested_by_customer"])),
        "failure_reason": data.draw(st.sampled_from([None, "", "unknown"])),
    }
    _forget(data)
    outcome = _same(parse_refund, _ref_parse_refund, obj)
    assert outcome[0] == "value"


@given(data=st.data())
def test_parse_payment_reads_as_the_straightforward_code(data: st.DataObject) -> None:
    """Issue 10, P3, E5: parse_payment gives what the field-by-field reading gave, for charges
    with several values changed at once, disputed or not, with any payment id and disputes
    given (the same value, or error class and message, chained to nothing)."""
    charge = data.draw(_charges())
    payment_intent_id = data.draw(st.sampled_from(_PAYMENT_INTENT_IDS) | _odd)
    disputes = data.draw(st.sampled_from(_DISPUTES))
    _forget(data)
    for _ in range(2):
        _same(parse_payment, _ref_parse_payment, charge, payment_intent_id, disputes)


def test_stripe_objects_of_the_simulator_read_as_the_straightforward_code() -> None:
    """Issue 10, B3: FakeStripe's own answers (a refund, a partly refunded charge with a Stripe
    and a platform fee, one in another settlement currency) read the same both ways."""
    stripe = FakeStripe()
    same = stripe.create_payment(5_000, "usd", stripe_fee=175, application_fee=300)
    other = stripe.create_payment(
        5_000, "eur", stripe_fee=175, settlement_currency="usd", exchange_rate=Decimal("1.1")
    )
    for payment in (same, other):
        refund = stripe.create_refund(
            {
                "payment_intent": payment["id"],
                "amount": 100,
                "metadata": {"kanorio_refund_id": "rf_1", METADATA_REASON: "duplicate"},
            }
        )
        intent = stripe.retrieve_payment_intent(
            payment["id"], expand=["latest_charge.balance_transaction"]
        )
        charge = intent["latest_charge"]
        assert _same(parse_refund, _ref_parse_refund, refund)[0] == "value"
        assert _same(parse_payment, _ref_parse_payment, charge, payment["id"])[0] == "value"


@pytest.mark.parametrize(
    ("currency", "units", "minor"),
    [
        ("usd", 1250, 1250),
        ("USD", 0, 0),
        ("jpy", 1500, 1500),
        ("mga", 1500, 150_000),  # zero-decimal at Stripe, two decimals in ISO
        ("bhd", 1230, 1230),  # three decimals both ways
        ("isk", 500, 5),  # two decimals at Stripe, none in ISO: the checked reading
    ],
)
def test_parse_refund_amounts_by_hand(currency: str, units: int, minor: int) -> None:
    """Issue 10, M3: refund amounts in Stripe's units as our minor units, computed by hand."""
    refund = parse_refund(
        {"id": "re_1", "amount": units, "currency": currency, "created": 1_700_000_000}
    )
    assert refund.amount == Money(minor, Currency.of(currency))
    assert type(refund.amount.minor) is int
    assert refund.created_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert refund.status is RefundStatus.PENDING
    assert refund.metadata == ()


def test_parse_payment_fees_by_hand() -> None:
    """Issue 10, B3: a charge's fees summed by hand: Stripe's fee and tax, the platform's fee,
    zero where there is none, the rate kept only across currencies."""
    charge = {
        "id": "ch_1",
        "currency": "eur",
        "amount_captured": 5_000,
        "amount_refunded": 0,
        "payment_intent": "pi_1",
        "balance_transaction": {
            "currency": "usd",
            "exchange_rate": 1.1,
            "fee_details": [
                {"amount": 175, "currency": "usd", "type": "stripe_fee"},
                {"amount": 25, "currency": "USD", "type": "tax"},
                {"amount": 300, "currency": "usd", "type": "application_fee"},
            ],
        },
    }
    usd, eur = Currency.of("usd"), Currency.of("eur")
    assert parse_payment(charge, None) == PaymentRecord(
        payment_intent_id="pi_1",  # type: ignore[arg-type]
        charge_id="ch_1",  # type: ignore[arg-type]
        captured=Money(5_000, eur),
        stripe_fee=Money(200, usd),
        platform_fee=Money(300, usd),
        settlement_currency=usd,
        amount_refunded=Money(0, eur),
        exchange_rate=Decimal("1.1"),
    )
    charge["currency"] = "usd"
    record = parse_payment(charge, "pi_arg")
    assert record.exchange_rate is None
    assert record.payment_intent_id == "pi_arg"


_STRIPE_REASON_TEXTS = [
    None, "", "duplicate", "fraudulent", "requested_by_customer", "x", _Text("fraudulent"),
    _Equal("x"), 5,
]  # fmt: skip
_OUR_REASON_TEXTS = [
    None, "", "duplicate", "customer_request", "other", "nope", _Text("other"), _Equal("nope"), 5,
]  # fmt: skip


@pytest.mark.parametrize("metadata_value", _OUR_REASON_TEXTS)
@pytest.mark.parametrize("stripe_value", _STRIPE_REASON_TEXTS)
def test_reason_from_gateway_as_the_loops_gave_it(stripe_value: Any, metadata_value: Any) -> None:
    """Issue 10, N4: the reason read from the tables is the one the loops over the reasons
    found, for plain strings and anything else."""
    _same(reason_from_gateway, _ref_reason_from_gateway, stripe_value, metadata_value)


_MONEY_CURRENCIES = [
    Currency.of("usd"),
    Currency.of("USD"),  # another object of the same code
    Currency.of("jpy"),
    Currency.of("isk"),
    Currency.of("bhd"),
    Currency.of("mga"),
    Currency.of("idr"),
    Currency("USD", 3),  # a currency built by hand with another exponent
    Currency("JPY", 2),
]


_MINORS = [
    0, 1, 5, 10, 100, 500, 99_999_999, 100_000_000, 999_999_999, 10**12 - 1, 10**12,
    10**13, -1, -10, -100, -99_999_999, -100_000_000, -(10**12), _Int(500),
]  # fmt: skip


@pytest.mark.parametrize("minor", _MINORS)
@pytest.mark.parametrize("currency", _MONEY_CURRENCIES, ids=repr)
def test_refund_params_of_each_amount_as_they_were(minor: int, currency: Currency) -> None:
    """Issue 10, M3, A4: refund_params sends each amount in each currency as to_stripe_amount
    did, or refuses it with the same error (a step, too many digits, either sign), on a first
    sending and a remembered one."""
    request = RefundRequest("pi_1", None, Money(minor, currency), None, "key", {})
    sj._SENDING.clear()
    for _ in range(3):
        _same(refund_params, _ref_refund_params, request, refund_application_fee=False)


@given(
    data=st.data(),
    minor=st.integers(min_value=-(10**13), max_value=10**13)
    | st.sampled_from([0, 1, 10, 100, 99_999_999, 100_000_000, 10**12, _Int(500)]),
    currency=st.sampled_from(_MONEY_CURRENCIES),
    payment_intent_id=st.sampled_from([None, "", "pi_1"]),
    charge_id=st.sampled_from([None, "", "ch_1"]),
    reason=st.sampled_from([None, *RefundReason]),
    metadata=_str_metadata,
    refund_application_fee=st.booleans(),
    reverse_transfer=st.booleans(),
)
def test_refund_params_as_they_were(
    data: st.DataObject,
    minor: int,
    currency: Currency,
    payment_intent_id: Any,
    charge_id: Any,
    reason: RefundReason | None,
    metadata: dict[str, str],
    refund_application_fee: bool,
    reverse_transfer: bool,
) -> None:
    """Issue 10, M3, L1: refund_params sends the same parameters, and refuses what Stripe
    would refuse (a step, too many digits) with the same error, whatever currency object was
    sent before."""
    request = RefundRequest(
        payment_intent_id,
        charge_id,
        Money(minor, currency),
        reason,
        "key",
        metadata,
    )
    _forget(data)
    # Another currency object sent first: what is remembered for its code is not this one's.
    for before in data.draw(st.lists(st.sampled_from(_MONEY_CURRENCIES), max_size=2)):
        earlier = attrs.evolve(request, amount=Money(10, before))
        _outcome(refund_params, earlier, refund_application_fee=False)
    flags = {"refund_application_fee": refund_application_fee, "reverse_transfer": reverse_transfer}
    for _ in range(2):
        _same(refund_params, _ref_refund_params, request, **flags)


@given(
    value=st.integers(min_value=-(2**64), max_value=2**64)
    | st.sampled_from([0, 253_402_300_799, 253_402_300_800, -62_135_596_800, -62_135_596_801])
)
def test_moments_are_fromtimestamps(value: int) -> None:
    """Issue 10: a remembered moment is ``datetime.fromtimestamp(value, tz=UTC)``, or None where
    that raises, before and after it is remembered."""
    try:
        expected: datetime | None = datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        expected = None
    for _ in range(2):
        moment = sj._moment(value)
        assert moment == expected
        assert moment is None or moment.tzinfo is UTC


class _AnyInt(int):
    """An int subclass equal to every number, hashed as 0."""

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 0


def test_moments_of_int_subclasses_are_not_remembered() -> None:
    """Issue 10: only plain ints are remembered: an int subclass may compare and hash as
    another number, whose moment it would then be taken for (or give its own)."""
    sj._MOMENTS.clear()
    assert sj._moment(_AnyInt(1_700_000_000)) == datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert sj._moment(0) == datetime.fromtimestamp(0, tz=UTC)
    assert sj._moment(_AnyInt(5)) == datetime.fromtimestamp(5, tz=UTC)


def test_moments_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 10: the memory of moments never holds more than its bound, and what it forgot is
    read again the same."""
    monkeypatch.setattr(sj, "_MAX_MOMENTS", 8)
    sj._MOMENTS.clear()
    for value in range(100):
        assert sj._moment(1_700_000_000 + value) == datetime.fromtimestamp(
            1_700_000_000 + value, tz=UTC
        )
        assert len(sj._MOMENTS) <= 8
    sj._MOMENTS.clear()
