"""L4: two processes refunding one order can never together exceed the refundable balance.

Two ``RefundService`` instances share one repository and one FakeStripe. They race in real
threads (a barrier releases both at once) and, deterministically, through a repository or
gateway wrapper that runs the other process's whole work between two steps of this one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanorio_refunds import (
    OrderStatus,
    Refund,
    RefundError,
    RefundQuote,
    RefundService,
    RefundStatus,
)
from kanorio_refunds.errors import (
    AmountExceedsRefundable,
    ConcurrencyConflict,
    NotEligible,
    StaleQuote,
)
from kanorio_refunds.testing.fake_stripe import Fault
from tests.support.gateway import FaultyGateway
from tests.support.repository import HookedRepository
from tests.support.world import (
    ADMIN,
    NET,
    ORDER_ID,
    OWNER,
    World,
    cents,
    usd,
)

#: What a loser of a race may be told (never an over-refund).
LOSING_CODES = frozenset({"stale_quote", "concurrency_conflict"})
#: What a refund asked for after the other one took (part of) the balance may be told.
LATE_CODES = LOSING_CODES | {"amount_exceeds_refundable", "not_eligible"}


def _assert_never_over_refunded(world: World) -> None:
    """The L4 invariant, locally and at Stripe, and both agree after a sync."""
    stored = world.order()
    local = sum(r.amount.minor for r in stored.refunds if r.status.reserves)
    assert local <= NET.minor
    assert world.stripe_refunded_minor() <= NET.minor
    synced = world.service.sync(ORDER_ID)
    assert all(r.status is not RefundStatus.SUBMITTING for r in synced.refunds)
    local_after = sum(r.amount.minor for r in synced.refunds if r.status.reserves)
    assert local_after == world.stripe_refunded_minor() <= NET.minor
    stripe_ids = {r["id"] for r in world.stripe_refunds()}
    assert {r.gateway_refund_id for r in synced.refunds} == stripe_ids
    expected = (
        OrderStatus.PAID
        if local_after == 0
        else OrderStatus.REFUNDED
        if local_after == NET.minor
        else OrderStatus.PARTIALLY_REFUNDED
    )
    assert synced.status is expected


def _race(actions: list[Callable[[], Refund]]) -> list[Refund | RefundError]:
    """Run ``actions`` in threads released together by a barrier; collect results/errors."""
    barrier = threading.Barrier(len(actions))
    results: list[Refund | RefundError | None] = [None] * len(actions)
    unexpected: list[BaseException] = []

    def run(i: int, action: Callable[[], Refund]) -> None:
        barrier.wait()
        try:
            results[i] = action()
        except RefundError as e:
            results[i] = e
        except BaseException as e:
            unexpected.append(e)

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not unexpected, unexpected
    assert all(not t.is_alive() for t in threads)
    return [r for r in results if r is not None]


# --------------------------------------------------------------------------- real threads


@pytest.mark.parametrize("run", range(50))
def test_two_threads_racing_on_one_order_never_over_refund(run: int) -> None:
    """L4: two services in two threads each process a quote confirmed on the same order
    (together 47.xx + 50.00: above the 95.80 balance yet below the 100.00 Stripe itself would
    allow, so only our checks can stop an over-refund): exactly one wins, the other gets
    stale_quote or concurrency_conflict, and only one Stripe refund exists."""
    world = World.build()
    world.add_order()
    mine = world.another_service(orders=HookedRepository(world.orders, pause=0.0005))
    other = world.another_service(orders=HookedRepository(world.orders, pause=0.0005))
    first = 4_700 + run  # vary the amounts a little between runs
    q1 = mine.quote(ORDER_ID, OWNER, cents(first))
    q2 = other.quote(ORDER_ID, ADMIN, usd("50.00"))

    results = _race([lambda: mine.process(q1, OWNER), lambda: other.process(q2, ADMIN)])

    won = [r for r in results if isinstance(r, Refund)]
    lost = [r for r in results if isinstance(r, RefundError)]
    assert len(won) == 1
    assert len(lost) == 1
    assert lost[0].code in LOSING_CODES
    assert won[0].status is RefundStatus.SUCCEEDED
    assert len(world.stripe_refunds()) == 1
    _assert_never_over_refunded(world)


@pytest.mark.parametrize("run", range(20))
def test_the_same_quote_in_two_threads_makes_one_refund(run: int) -> None:
    """L4, F2: a double click landing in two processes at once: both get the same refund,
    Stripe holds one."""
    world = World.build()
    world.add_order()
    mine = world.another_service(orders=HookedRepository(world.orders, pause=0.0005))
    other = world.another_service(orders=HookedRepository(world.orders, pause=0.0005))
    quote = mine.quote(ORDER_ID, OWNER, usd("40.00"))

    results = _race([lambda: mine.process(quote, OWNER), lambda: other.process(quote, OWNER)])

    refunds = [r for r in results if isinstance(r, Refund)]
    assert len(refunds) == 2, results
    assert {r.id for r in refunds} == {quote.refund_id}
    assert {r.gateway_refund_id for r in refunds} == {world.stripe_refunds()[0]["id"]}
    assert len(world.stripe_refunds()) == 1
    _assert_never_over_refunded(world)


@pytest.mark.parametrize("run", range(20))
def test_full_refunds_quoted_in_two_threads_refund_once(run: int) -> None:
    """L4: each process quotes and processes "Refund Full Amount" concurrently; at most one
    full refund is made, the other process is refused (stale, conflict, or nothing left)."""
    world = World.build()
    world.add_order()
    mine = world.another_service(orders=HookedRepository(world.orders, pause=0.0005))
    other = world.another_service(orders=HookedRepository(world.orders, pause=0.0005))

    def full(service: RefundService, actor: Any) -> Refund:
        return service.process(service.quote(ORDER_ID, actor), actor)

    results = _race([lambda: full(mine, OWNER), lambda: full(other, ADMIN)])

    won = [r for r in results if isinstance(r, Refund)]
    assert len(won) == 1
    assert all(e.code in LATE_CODES for e in results if isinstance(e, RefundError))
    assert world.stripe_refunded_minor() == NET.minor
    _assert_never_over_refunded(world)


# ------------------------------------------------------------- deterministic interleavings


def _interleaved(
    world: World,
    a_amount: int,
    b_amount: int,
    *,
    b_quotes_first: bool,
    at_step: int,
    at_gateway: str | None,
) -> tuple[Refund | RefundError, Refund | RefundError | None]:
    """Process A's refund while B's whole quote-and-process (or just process, when B quoted
    the same order as A did, before A processed) runs at one chosen point inside A: before A's
    ``at_step``-th repository call, or just before A's gateway call ``at_gateway``."""
    b_service = world.another_service()
    b_quote: list[RefundQuote] = []
    b_result: list[Refund | RefundError] = []

    def run_b() -> None:
        try:
            quote = b_quote[0] if b_quote else b_service.quote(ORDER_ID, ADMIN, cents(b_amount))
            b_result.append(b_service.process(quote, ADMIN))
        except RefundError as e:
            b_result.append(e)

    repo = HookedRepository(world.orders, at_step=None if at_gateway else at_step, hook=run_b)
    gateway = FaultyGateway(world.stripe, inner=world.gateway)
    if at_gateway == "create":
        gateway.before_create.append(run_b)
    elif at_gateway == "fetch":
        gateway.before_fetch.append(run_b)
    a_service = world.another_service(orders=repo, gateway=gateway)
    a_quote = world.service.quote(ORDER_ID, OWNER, cents(a_amount))
    if b_quotes_first:
        b_quote.append(b_service.quote(ORDER_ID, ADMIN, cents(b_amount)))
    # A's quote was made through the plain repository: only A's processing is hooked
    a_result: Refund | RefundError
    try:
        a_result = a_service.process(a_quote, OWNER)
    except RefundError as e:
        a_result = e
    if not b_result:  # the hook point was past A's last step: B runs after A
        run_b()
    return a_result, b_result[0]


@given(
    a_amount=st.integers(min_value=1, max_value=NET.minor),
    b_amount=st.integers(min_value=1, max_value=NET.minor),
    b_quotes_first=st.booleans(),
    at_step=st.integers(min_value=0, max_value=9),
    at_gateway=st.sampled_from([None, None, "fetch", "create"]),
    fault=st.sampled_from([None, None, Fault.TIMEOUT_AFTER_CREATE, Fault.CONNECTION_ERROR]),
)
def test_any_interleaving_of_two_refunds_never_over_refunds(
    a_amount: int,
    b_amount: int,
    b_quotes_first: bool,
    at_step: int,
    at_gateway: str | None,
    fault: Fault | None,
) -> None:
    """L4 (with L2): whatever the amounts, wherever B's work falls inside A's processing, and
    even when the first refund call times out or fails to connect, the refunds that hold money
    never exceed 95.80 (locally or at Stripe, before and after sync), every failure is
    stale_quote, concurrency_conflict, gateway_unavailable (injected) or, for a quote made
    after A reserved, amount_exceeds_refundable / not_eligible; without faults each success is
    exactly one Stripe refund."""
    world = World.build()
    world.add_order()
    if fault is not None:
        world.stripe.inject_fault(fault)

    a_result, b_result = _interleaved(
        world,
        a_amount,
        b_amount,
        b_quotes_first=b_quotes_first,
        at_step=at_step,
        at_gateway=at_gateway,
    )

    allowed = LATE_CODES | ({"gateway_unavailable"} if fault else set())
    for result in (a_result, b_result):
        if isinstance(result, RefundError):
            assert result.code in allowed, result
    if fault is not None:
        _assert_never_over_refunded(world)
        return
    if b_quotes_first:
        # both confirmed on the same figures: once one reserved, the other is stale
        assert sum(isinstance(r, Refund) for r in (a_result, b_result)) <= 1
        assert any(isinstance(r, Refund) for r in (a_result, b_result))
    successes = [r for r in (a_result, b_result) if isinstance(r, Refund)]
    assert len(world.stripe_refunds()) == len(successes)
    assert sorted(r["amount"] for r in world.stripe_refunds()) == sorted(
        r.amount.minor for r in successes
    )
    _assert_never_over_refunded(world)


@pytest.mark.parametrize("at_step", range(8))
def test_b_between_any_two_repository_steps_of_a(at_step: int) -> None:
    """L4: B quotes and processes 50.00 between any two repository steps of A processing 47.00
    (quoted before; 97.00 together is above the 95.80 balance): when B's work falls before A's
    write-ahead, A's quote is stale; after it, B's quote already sees A's reservation and is
    refused. Exactly one refund, never both."""
    world = World.build()
    world.add_order()

    a_result, b_result = _interleaved(
        world, 4_700, 5_000, b_quotes_first=False, at_step=at_step, at_gateway=None
    )

    successes = [r for r in (a_result, b_result) if isinstance(r, Refund)]
    assert len(successes) == 1
    loser = a_result if isinstance(b_result, Refund) else b_result
    assert isinstance(
        loser, StaleQuote | ConcurrencyConflict | AmountExceedsRefundable | NotEligible
    )
    _assert_never_over_refunded(world)
