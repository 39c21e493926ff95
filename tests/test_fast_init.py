"""Issue 10: ``fast_init`` gives a frozen attrs class an ``__init__`` that builds the very value
attrs' own would, with the same parameters; classes it cannot build are refused on import. And
the equality written out for ``Order`` is attrs' equality."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanorio_refunds.domain import _slots
from kanorio_refunds.domain._balance import BalanceBreakdown
from kanorio_refunds.domain._eligibility import Eligibility
from kanorio_refunds.domain._order import ActivityEntry, ActivityKind, Order, OrderStatus
from kanorio_refunds.domain._payment import LivePayment
from kanorio_refunds.domain._quote import RefundQuote
from kanorio_refunds.domain._refund import Refund, RefundEventEntry
from kanorio_refunds.domain._slots import fast_init
from kanorio_refunds.testing import paid_order, refund
from kanorio_refunds.testing import strategies as kst

FAST: tuple[type[Any], ...] = (
    ActivityEntry,
    BalanceBreakdown,
    Eligibility,
    LivePayment,
    Refund,
    RefundEventEntry,
    RefundQuote,
)


def _twins() -> tuple[type[Any], type[Any]]:
    """The same frozen attrs class twice: attrs' ``__init__``, and ``fast_init``'s."""

    def make() -> type[Any]:
        @attrs.frozen
        class Value:
            a: object
            b: object
            c: object = None
            d: object = ""
            e: tuple[object, ...] = ()

        return Value

    return make(), fast_init(make())


_ANY = st.one_of(st.none(), st.integers(), st.text(), st.tuples(st.integers()), st.booleans())


@given(st.lists(_ANY, min_size=2, max_size=5), st.booleans())
def test_builds_the_value_attrs_builds(values: list[object], by_keyword: bool) -> None:
    """Issue 10: positional or keyword, with or without the defaults, the value built has the
    same fields, equality, hash and repr as the one attrs' ``__init__`` builds."""
    plain, fast = _twins()
    names = ("a", "b", "c", "d", "e")[: len(values)]
    if by_keyword:
        given_by_name = dict(zip(names, values, strict=True))
        built, expected = fast(**given_by_name), plain(**given_by_name)
    else:
        built, expected = fast(*values), plain(*values)
    assert attrs.astuple(built, recurse=False) == attrs.astuple(expected, recurse=False)
    assert repr(built) == repr(expected)
    assert hash(built) == hash(expected)
    assert built == fast(*attrs.astuple(expected, recurse=False))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.a = 1


def test_refuses_what_attrs_init_would_refuse() -> None:
    """Issue 10: missing, unknown or repeated arguments raise TypeError, as attrs' do."""
    _, fast = _twins()
    with pytest.raises(TypeError):
        fast(1)
    with pytest.raises(TypeError):
        fast(1, 2, z=3)
    with pytest.raises(TypeError):
        fast(1, 2, a=3)
    with pytest.raises(TypeError):
        fast(1, 2, 3, 4, 5, 6)


@pytest.mark.parametrize("cls", FAST, ids=lambda c: c.__name__)
def test_the_domain_values_keep_attrs_parameters(cls: type[Any]) -> None:
    """Issue 10: each value built by ``fast_init`` takes the parameters attrs' ``__init__``
    took: every field, in order, with its default, and its annotations (which hypothesis'
    ``builds`` and documentation tools read)."""
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    fields = attrs.fields(cls)
    assert [p.name for p in parameters] == [f.name for f in fields]
    for parameter, field in zip(parameters, fields, strict=True):
        expected = inspect.Parameter.empty if field.default is attrs.NOTHING else field.default
        assert parameter.default is expected
        assert parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert set(cls.__init__.__annotations__) == {f.name for f in fields} | {"return"}
    assert cls.__init__.__qualname__ == f"{cls.__qualname__}.__init__"


def test_evolve_and_equality_still_work_on_a_domain_value() -> None:
    """Issue 10: ``attrs.evolve`` builds through the new ``__init__`` and gives the value
    attrs would."""
    at = datetime(2026, 12, 2, tzinfo=UTC)
    entry = ActivityEntry(at, kind=_kind(), message="m")
    assert entry.actor_id is None
    assert entry.refund_id is None
    moved = attrs.evolve(entry, message="n")
    assert moved == ActivityEntry(at=at, kind=_kind(), message="n", actor_id=None)
    assert moved != entry


def _kind() -> ActivityKind:
    return ActivityKind.STATUS_CHANGED


def _refused(**field: Any) -> type[Any]:
    @attrs.frozen
    class Value:
        a: int = attrs.field(**field)

    return Value


@pytest.mark.parametrize(
    "field",
    [
        {"validator": attrs.validators.instance_of(int)},
        {"converter": int},
        {"default": attrs.Factory(list)},
        {"kw_only": True},
        {"init": False, "default": 0},
        {"alias": "b"},
    ],
    ids=["validator", "converter", "factory", "kw_only", "no_init", "alias"],
)
def test_classes_it_cannot_build_are_refused(field: dict[str, Any]) -> None:
    """Issue 10: a class whose ``__init__`` does more than set each field from its parameter
    (a validator, a converter, a factory default, a keyword-only, uninitialised or renamed
    field) keeps attrs' ``__init__``: ``fast_init`` raises TypeError on import."""
    with pytest.raises(TypeError):
        fast_init(_refused(**field))


def test_a_post_init_is_refused() -> None:
    """Issue 10: so is a class with an ``__attrs_post_init__`` (fast_init would skip it)."""

    @attrs.frozen
    class Value:
        a: int

        def __attrs_post_init__(self) -> None:
            pass

    with pytest.raises(TypeError):
        _slots.fast_init(Value)


def _order_fields(order: Order) -> tuple[object, ...]:
    return tuple(getattr(order, f.name) for f in attrs.fields(Order))


@given(kst.orders_with_refunds(), st.data())
def test_order_equality_is_attrs_equality(order: Order, data: st.DataObject) -> None:
    """Issue 10: ``Order.__eq__``, ``__ne__`` and ``__hash__``, written out to compare the
    fields a change makes differ first, answer as attrs' (the fields as a tuple) do, for an
    order and a copy of it with any subset of its fields taken from another order."""
    other = data.draw(kst.orders_with_refunds())
    names = [f.name for f in attrs.fields(Order)]
    swapped = data.draw(st.sets(st.sampled_from(names)))
    mixed = attrs.evolve(order, **{name: getattr(other, name) for name in swapped})
    same = attrs.evolve(order)
    for a, b in ((order, mixed), (order, same), (mixed, order), (order, order)):
        expected = _order_fields(a) == _order_fields(b)
        assert (a == b) is expected
        assert (a != b) is (not expected)
        if expected:
            assert hash(a) == hash(b)
    assert order != _order_fields(order)
    assert order.__eq__(_order_fields(order)) is NotImplemented


@given(kst.orders_with_refunds())
def test_order_equality_compares_every_field(order: Order) -> None:
    """Issue 10: an order differing from another in any one field is unequal to it."""
    entry = ActivityEntry(datetime(2026, 12, 2, tzinfo=UTC), _kind(), "m")
    changed: dict[str, Any] = {
        "id": f"{order.id}-x",
        "site_id": f"{order.site_id}-x",
        "total": order.total + order.total.__class__(1, order.currency),
        "status": next(s for s in OrderStatus if s is not order.status),
        "payment": None if order.payment is not None else paid_order().payment,
        "refunds": order.refunds[:-1] if order.refunds else (refund(order),),
        "buyer_access": not order.buyer_access,
        "activity": (*order.activity, entry),
        "version": order.version + 1,
    }
    assert set(changed) == {f.name for f in attrs.fields(Order)}
    for name, value in changed.items():
        other = attrs.evolve(order, **{name: value})
        assert order != other, name
        assert other != order, name
        assert not order == other, name  # noqa: SIM201
