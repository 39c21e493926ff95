"""Fuzz properties for every service entry point fed by outside data (issue 9 item 6c): whatever
arrives, only a ``RefundError`` may escape (errors M1, M2, N1–N3, A1–A4, L5, L6).

Already fuzzed elsewhere, not repeated here: ``serialization.from_dict``/``from_json``
(tests/test_serialization.py), ``QuoteSigner.open`` (tests/test_signed_quotes.py) and the Stripe
adapter's own readers and ``StripeGateway`` over arbitrary HTTP bodies
(tests/adapters/test_stripe_fuzz.py).
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from kanorio_refunds import FULL, Money, RefundError, RefundReason
from kanorio_refunds.adapters.stripe import parse_event
from kanorio_refunds.domain._notes import validate_reason_and_notes
from kanorio_refunds.testing.fake_stripe import Fault
from tests.support.world import ORDER_ID, OWNER, World, usd

_JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
_JSON = st.recursive(
    _JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_ANYTHING = (
    _JSON
    | st.decimals(allow_nan=True, allow_infinity=True)
    | st.binary(max_size=10)
    | st.sampled_from([Decimal("sNaN"), Decimal("-0"), Decimal("1E+30"), object(), 1.5, True])
)
_NUMBERISH = st.from_regex(
    r"\A[ +\-]?[0-9０-９٠-٩]{0,6}([.,][0-9]{0,4})?([eE][+\-]?[0-9]{1,3})?\s?\Z"
)
_CURRENCIES = st.sampled_from(["USD", "JPY", "KWD", "ISK", "usd", "uſd", "", "XXX", "EURO"])


def _only_refund_errors(call: Any) -> Any:
    try:
        return call()
    except RefundError:
        return None


@given(text=_ANYTHING | _NUMBERISH | st.text(max_size=30), currency=_CURRENCIES | _ANYTHING)
def test_money_parse_raises_only_refund_errors(text: Any, currency: Any) -> None:
    """M1, M2: ``Money.parse`` of any text, Decimal or other value, in any currency, gives an
    integer amount of the currency or a ``RefundError``; what it reads back prints the same
    value."""
    money = _only_refund_errors(lambda: Money.parse(text, currency))
    if money is not None:
        assert isinstance(money.minor, int)
        assert not isinstance(money.minor, bool)
        if isinstance(text, str | Decimal):
            assert Decimal(str(text).strip()) == Decimal(money.minor).scaleb(
                -money.currency.exponent
            )


@given(value=_ANYTHING | st.sampled_from([r.value for r in RefundReason]) | st.text(max_size=30))
def test_reason_parse_raises_only_refund_errors(value: Any) -> None:
    """N1: ``RefundReason.parse`` of anything is a reason, None, or a ``RefundError``."""
    parsed = _only_refund_errors(lambda: RefundReason.parse(value))
    assert parsed is None or isinstance(parsed, RefundReason)


@given(
    reason=st.sampled_from([None, *RefundReason]),
    notes=st.text(max_size=600) | _ANYTHING,
)
def test_notes_raise_only_refund_errors(reason: RefundReason | None, notes: Any) -> None:
    """N2, N3: any notes (any Unicode, control characters, surrogates, any length, any type)
    are cleaned notes of at most 500 characters without control characters but newline and tab,
    or a ``RefundError``."""
    cleaned = _only_refund_errors(lambda: validate_reason_and_notes(reason, notes))
    if cleaned is not None:
        assert isinstance(cleaned, str)
        assert len(cleaned) <= 500
        assert all(c in "\n\t" or (ord(c) >= 0x20 and not 0x7F <= ord(c) < 0xA0) for c in cleaned)
        if reason is RefundReason.OTHER:
            assert cleaned.strip()


@given(
    amount=st.builds(
        Money.from_minor, st.integers(-(10**12), 10**12), st.sampled_from(["USD", "EUR", "JPY"])
    )
    | st.just(FULL)
    | _ANYTHING,
    reason=_ANYTHING | st.sampled_from([r.value for r in RefundReason]),
    notes=st.text(max_size=600) | _ANYTHING,
)
def test_quote_raises_only_refund_errors(amount: Any, reason: Any, notes: Any) -> None:
    """A1–A4, N1–N3: ``RefundService.quote`` with any amount, reason and notes quotes within the
    refundable balance or raises a ``RefundError``; it never changes the money state."""
    world = World.with_order()
    quote = _only_refund_errors(lambda: world.service.quote(ORDER_ID, OWNER, amount, reason, notes))
    if quote is not None:
        assert usd("0.01") <= quote.amount <= usd("95.80")
    assert world.stripe_refunds() == []
    assert world.order().refunds == ()


def _world_with_events() -> tuple[World, list[dict[str, Any]]]:
    """Every kind of event Stripe sends about one order: refunds (created, updated, failed),
    a dispute opened and closed, charge.refunded; and a refund whose answer was lost."""
    world = World.with_order(default_refund_status="pending")
    first = world.refund(usd("30.00"))
    world.stripe.set_refund_status(world.stripe_refund_of(first)["id"], "succeeded")
    world.gateway.arm_fault("create", Fault.TIMEOUT_AFTER_CREATE)
    _only_refund_errors(lambda: world.refund(usd("10.00")))
    world.dashboard_refund(usd("5.00"))
    world.stripe.open_dispute(world.pi(), inquiry=True)
    world.stripe.close_dispute(world.pi(), "warning_closed")
    return world, world.stripe.events()


_WORLD, _EVENTS = _world_with_events()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@given(data=st.data())
def test_apply_event_raises_only_refund_errors(data: st.DataObject) -> None:
    """L5, L6: an event built from any Stripe-like JSON (one of Stripe's own events for the
    order with any of its fields replaced, removed or retyped) is either refused by
    ``parse_event`` or applied by ``apply_event``; only ``RefundError`` escapes, and no event
    changes a refund's amount or creates a refund Stripe does not hold."""
    world, events = _world_with_events() if data.draw(st.booleans()) else (None, _EVENTS)
    world = world or World.with_order()  # an order the events do not name: unknown order
    event = copy.deepcopy(data.draw(st.sampled_from(events)))
    paths = _paths(event)
    for _ in range(data.draw(st.integers(1, 4))):
        path = data.draw(st.sampled_from(paths))
        if not path:
            event = data.draw(_JSON)
            break
        parent: Any = event
        try:
            for step in path[:-1]:
                parent = parent[step]
            if data.draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = data.draw(_JSON)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation changed the shape above this path
    before = {r.id: r.amount for r in world.order().refunds}
    parsed = _only_refund_errors(lambda: parse_event(event))
    if parsed is None:
        return
    _only_refund_errors(lambda: world.service.apply_event(parsed))
    order = world.order()
    assert {r.id: r.amount for r in order.refunds if r.id in before} == before
    at_stripe = {r["id"] for r in world.stripe_refunds()}
    assert all(r.gateway_refund_id in at_stripe for r in order.refunds if r.gateway_refund_id)
