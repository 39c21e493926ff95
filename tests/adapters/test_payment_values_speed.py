"""Issue 10: the builders of ``domain._payment`` (``payment_record``, ``gateway_refund``) and
its metadata converter give exactly what the classes and the converter gave.

``payment_record`` and ``gateway_refund`` set the slots of a new PaymentRecord or GatewayRefund
without attrs' ``__init__``; ``_freeze_metadata`` sorts a plain dict of plain strings as it is.
Each is compared with the straightforward construction: the same value, field by field and type
by type (``_shape``), the same hash and repr; the converter also with the same error for what
it refuses. The helpers here (``_shape``, ``_same``, the odd subclasses) also serve
``test_stripe_json_speed``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanorio_refunds.domain import _payment
from kanorio_refunds.domain._money import Currency, Money
from kanorio_refunds.domain._payment import (
    METADATA_REASON,
    GatewayRefund,
    PaymentRecord,
    RefundRequest,
    gateway_refund,
    payment_record,
)
from kanorio_refunds.domain._refund import RefundReason, RefundStatus
from kanorio_refunds.domain._slots import slot_setters
from kanorio_refunds.errors import RefundError

# ---------------------------------------------------------------------------------------------
# comparing outcomes exactly
# ---------------------------------------------------------------------------------------------


def _shape(value: Any) -> Any:
    """``value`` as nested tuples naming every part's exact type and repr: equal shapes are the
    same value, down to a str subclass, an int's type or a datetime's tzinfo."""
    if attrs.has(type(value)):
        return (
            type(value),
            tuple((f.name, _shape(getattr(value, f.name))) for f in attrs.fields(type(value))),
        )
    if type(value) in (tuple, list):
        return (type(value), tuple(_shape(v) for v in value))
    if type(value) is dict:
        return (dict, tuple((_shape(k), _shape(v)) for k, v in value.items()))
    if isinstance(value, datetime):
        return (type(value), repr(value), value.tzinfo)
    return (type(value), repr(value))


def _outcome(read: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """What ``read(*args, **kwargs)`` gives: its value's shape, or its error's class and
    message and whether it chains nothing (P3: the original's text is unscrubbed)."""
    try:
        value = read(*args, **kwargs)
    except RefundError as e:
        unchained = e.__cause__ is None and e.__context__ is None
        return ("error", type(e), e.message, str(e), unchained)
    except Exception as e:  # compared, not swallowed: both sides must raise the same
        return ("raised", type(e), str(e))
    return ("value", _shape(value), value)


def _same(fast: Callable[..., Any], reference: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """The outcome of ``fast(*args, **kw)``, which must be ``reference``'s, exactly."""
    got, expected = _outcome(fast, *args, **kw), _outcome(reference, *args, **kw)
    assert got == expected
    assert got[0] != "error" or got[4], "P3: a reader's error chains nothing"
    return got


# ---------------------------------------------------------------------------------------------
# odd values
# ---------------------------------------------------------------------------------------------


class _Text(str):
    """A str subclass: read by the checked code (``str()`` of it is a plain str)."""


class _Int(int):
    """An int subclass: an amount or timestamp the fast paths leave to the checked code."""


class _Dict(dict[Any, Any]):
    """A dict subclass: a mapping the fast paths leave to the checked code."""


class _Shown(str):
    """A str subclass shown as another text: ``str()`` of it is not its own text."""

    def __str__(self) -> str:
        return "shown"


class _Equal(str):
    """A str subclass equal to every text (and hashed as its own)."""

    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = str.__hash__


class _OtherGet(dict[Any, Any]):
    """A dict subclass whose ``get`` tells another thing than ``[]``."""

    def get(self, key: Any, default: Any = None) -> Any:
        return "other"


class _MoreItems(dict[Any, Any]):
    """A dict subclass whose ``items()`` tells more than it holds (``dict()`` of it does not)."""

    def items(self) -> Any:
        return [*super().items(), ("extra", "pair")]


_meta_text = st.sampled_from(["rf_1", "o-1", "duplicate", "fraudulent", "other", "nope", ""])
_meta_key = st.sampled_from(
    [METADATA_REASON, "kanorio_refund_id", "kanorio_order_id", "kanorio_notes", "a", "Z", ""]
)
_str_metadata = st.dictionaries(_meta_key, _meta_text, max_size=5)
_METADATA_VALUES: list[Any] = [
    {},
    {"kanorio_refund_id": "rf_1", "kanorio_order_id": "o-1"},
    {"b": "1", "a": "2", METADATA_REASON: "duplicate"},
    {_Text("a"): "b"},
    {"a": _Text("b")},
    {_Shown("a"): "b", "c": _Shown("d")},
    _MoreItems({"a": "b"}),
    {"a": 1},
    {1: "a", 2: "b"},
    _Dict({"b": "a", "a": "b"}),
    MappingProxyType({"a": "b"}),
    OrderedDict({"b": "1", "a": "2"}),
    (("b", "1"), ("a", "2")),  # a tuple is kept as it is, sorted or not
    (),
    [("a", "b")],  # no mapping: refused
    None,
    "x",
]


def _ref_freeze_metadata(value: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The metadata converter as it was (commit 1f8ddfb)."""
    if isinstance(value, tuple):
        return value
    return tuple(sorted((str(k), str(v)) for k, v in value.items()))


@given(
    value=st.one_of(
        st.sampled_from(_METADATA_VALUES),
        _str_metadata,
        _str_metadata.map(lambda d: {_Text(k): v for k, v in d.items()}),
        _str_metadata.map(lambda d: {k: _Shown(v) for k, v in d.items()}),
        st.dictionaries(_meta_key, st.none() | st.integers() | st.text(max_size=3), max_size=3),
        st.lists(st.tuples(_meta_text, _meta_text), max_size=3).map(tuple),  # kept as it is
        st.lists(st.tuples(_meta_text, _meta_text), max_size=2),  # no mapping: refused
    )
)
def test_freeze_metadata_as_it_was(value: Any) -> None:
    """Issue 10: the metadata converter gives the same sorted pairs of plain strings (or the
    same error) for every input, and GatewayRefund and RefundRequest hold them."""
    outcome = _same(_payment._freeze_metadata, _ref_freeze_metadata, value)
    if outcome[0] == "value":
        refund = GatewayRefund(
            id="re_1",  # type: ignore[arg-type]
            amount=Money(1, Currency.of("usd")),
            status=RefundStatus.PENDING,
            created_at=datetime(2024, 1, 1, tzinfo=UTC),
            metadata=value,
        )
        request = RefundRequest(None, None, Money(1, Currency.of("usd")), None, "key", value)
        assert _shape(refund.metadata) == _shape(request.metadata) == outcome[1]


@given(
    payment_intent_id=st.sampled_from([None, "pi_1", _Text("pi_2")]),
    charge_id=st.sampled_from([None, "ch_1"]),
    minor=st.integers(min_value=0, max_value=10**6),
    rate=st.sampled_from([None, Decimal("1.1")]),
    disputed=st.booleans(),
    status=st.sampled_from(list(RefundStatus)),
    reason=st.sampled_from([None, *RefundReason]),
    metadata=_str_metadata,
)
def test_builders_give_the_classes_values(
    payment_intent_id: Any,
    charge_id: Any,
    minor: int,
    rate: Decimal | None,
    disputed: bool,
    status: RefundStatus,
    reason: RefundReason | None,
    metadata: dict[str, str],
) -> None:
    """Issue 10: payment_record and gateway_refund build the value PaymentRecord(...) and
    GatewayRefund(...) build: equal, the same hash and repr, field by field the same objects."""
    usd, eur = Currency.of("usd"), Currency.of("eur")
    fields = (payment_intent_id, charge_id, Money(minor, eur), Money(1, usd), Money(0, usd))
    record = payment_record(*fields, usd, Money(minor // 2, eur), rate, disputed)
    expected = PaymentRecord(*fields, usd, Money(minor // 2, eur), rate, disputed)
    assert (record, hash(record), repr(record)) == (expected, hash(expected), repr(expected))
    assert _shape(record) == _shape(expected)
    assert record.with_amount_refunded(Money(1, eur)) == attrs.evolve(
        expected, amount_refunded=Money(1, eur)
    )
    at = datetime(2024, 1, 1, tzinfo=UTC)
    frozen = _ref_freeze_metadata(metadata)
    args = ("re_1", Money(minor, usd), status, at, payment_intent_id, charge_id, reason, "x")
    refund = gateway_refund(*args, frozen)
    built = GatewayRefund(*args, metadata)  # type: ignore[arg-type]
    assert (refund, hash(refund), repr(refund)) == (built, hash(built), repr(built))
    assert _shape(refund) == _shape(built)


def test_builders_refuse_a_changed_class() -> None:
    """Issue 10: a builder's class checked on import: another field, a validator or a converter
    where the builder sets the value as given fails there, not later."""

    @attrs.frozen
    class Plain:
        a: int
        b: int = attrs.field(converter=int)

    @attrs.frozen
    class Validated:
        a: int = attrs.field(validator=attrs.validators.instance_of(int))

    assert len(slot_setters(Plain, ("a", "b"), converted=("b",))) == 2
    with pytest.raises(TypeError):
        slot_setters(Plain, ("a",))
    with pytest.raises(TypeError):
        slot_setters(Plain, ("a", "b"))  # b's converter would be skipped
    with pytest.raises(TypeError):
        slot_setters(Validated, ("a",))
