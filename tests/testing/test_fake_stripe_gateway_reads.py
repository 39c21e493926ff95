"""Issue 10: ``FakeStripeGateway`` keeps the refunds it read and reads the older pages as ids;
what it answers and which requests it makes are those of a plain read of every page.

A stand-in wrapping the model (``Proxy``) makes the gateway take its plain path (every page
rendered and parsed), so the two paths are compared on the same model.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import pytest

from kanorio_refunds import Money, OrderId, RefundService, RefundStatus
from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.memory import InMemoryOrderRepository
from kanorio_refunds.domain import Order
from kanorio_refunds.errors import GatewayUnavailable
from kanorio_refunds.testing.fake_stripe import (
    FakeStripe,
    FakeStripeGateway,
    Fault,
    stripe_paid_order,
)

ORDER = OrderId("o-1")


class Proxy:
    """The model behind a stand-in: every attribute is the model's."""

    def __init__(self, stripe: FakeStripe) -> None:
        self._stripe = stripe

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stripe, name)


class World:
    def __init__(self, refunds: int) -> None:
        self.clock = ManualClock(tick=timedelta(seconds=1))
        self.stripe = FakeStripe(clock=self.clock.unix_seconds)
        self.gateway = FakeStripeGateway(self.stripe)
        self.orders = InMemoryOrderRepository()
        self.service = RefundService(orders=self.orders, gateway=self.gateway, clock=self.clock)
        order = self.orders.add(
            stripe_paid_order(
                self.stripe,
                order_id=ORDER,
                site_id="shop",
                total=Money.parse("1000.00", "USD"),
                stripe_fee=Money.parse("1.00", "USD"),
            )
        )
        assert order.payment is not None
        self.intent = order.payment.payment_intent_id
        self.charge = order.payment.charge_id
        for i in range(refunds):
            self.stripe.create_refund(
                {"payment_intent": self.intent, "amount": 100 + i}, idempotency_key=f"k{i}"
            )

    def order(self) -> Order:
        return self.orders.get(ORDER)


def list_calls(stripe: FakeStripe, since: int) -> list[dict[str, Any]]:
    return [r.params for r in stripe.requests[since:] if r.operation == "list_refunds"]


def test_reads_of_a_paged_payment_equal_a_plain_read_and_make_its_requests() -> None:
    """B4, issue 10 goal 1: 250 refunds are one retrieve and three pages of 100, each after
    the last id of the page before; the refunds, oldest first, are those a plain read gives."""
    world = World(250)
    plain = FakeStripeGateway(cast(FakeStripe, Proxy(world.stripe)))
    before = len(world.stripe.requests)
    kept = world.gateway.fetch_payment(world.intent, None)
    ours = world.stripe.requests[before:]
    assert [r.operation for r in ours] == ["retrieve_payment_intent"] + ["list_refunds"] * 3
    pages = list_calls(world.stripe, before)
    assert [p["limit"] for p in pages] == [100, 100, 100]
    assert all(p["charge"] == world.charge for p in pages)
    middle = len(world.stripe.requests)
    read = plain.fetch_payment(world.intent, None)
    assert [r.params for r in world.stripe.requests[middle:]] == [r.params for r in ours]
    assert kept == read
    assert [r.amount.minor for r in kept.refunds] == [100 + i for i in range(250)]


def test_unchanged_refunds_are_the_same_objects_and_a_change_is_read() -> None:
    """B4, S3: a second read with nothing changed hands back the very same refunds; a late
    failure of the oldest refund (beyond the first page) is read, the others stay shared."""
    world = World(150)
    first = world.gateway.fetch_payment(world.intent, None).refunds
    assert world.gateway.fetch_payment(world.intent, None).refunds is first
    oldest = first[0]
    world.stripe.set_refund_status(oldest.id, "failed")
    again = world.gateway.fetch_payment(world.intent, None).refunds
    assert again is not first
    assert again[0].status is RefundStatus.FAILED
    assert again[0].failure_reason == "unknown"
    assert all(a is b for a, b in zip(again[1:], first[1:], strict=True))
    created = world.stripe.create_refund({"payment_intent": world.intent, "amount": 7})
    latest = world.gateway.fetch_payment(world.intent, None).refunds
    assert [r.id for r in latest] == [r.id for r in again] + [created["id"]]


def test_sync_sees_a_late_failure_of_any_older_refund() -> None:
    """B4, L2, S3: sync of an order with 250 refunds at Stripe, then one of its oldest fails at
    Stripe (succeeded -> failed): the next sync records the failure and releases its amount."""
    world = World(250)
    synced = world.service.sync(ORDER)
    assert len(synced.refunds) == 250
    assert world.service.sync(ORDER) == synced  # nothing changed: nothing saved
    target = synced.refunds[3]
    assert target.gateway_refund_id is not None
    world.stripe.set_refund_status(target.gateway_refund_id, "failed")
    after = world.service.sync(ORDER)
    assert after.refund(target.id).status is RefundStatus.FAILED
    assert after.payment is not None
    assert synced.payment is not None
    released = synced.payment.amount_refunded.minor - after.payment.amount_refunded.minor
    assert released == 103


def test_a_fault_on_a_page_still_fails_the_read() -> None:
    """L2: a server error on a page of the older refunds fails the live read, as a plain read
    fails (the retrieve was made, the page answered 500); the read after the faults succeeds."""
    world = World(250)
    world.gateway.fetch_payment(world.intent, None)
    world.stripe.inject_fault(Fault.SERVER_ERROR, operation="list_refunds")
    world.stripe.inject_fault(Fault.SERVER_ERROR, operation="list_refunds")
    before = len(world.stripe.requests)
    with pytest.raises(GatewayUnavailable):
        world.gateway.fetch_payment(world.intent, None)
    assert [r.http_status for r in world.stripe.requests[before:]] == [200, 500]
    with pytest.raises(GatewayUnavailable):
        world.gateway.fetch_payment(world.intent, None)
    assert len(world.gateway.fetch_payment(world.intent, None).refunds) == 250


def test_a_gateway_pointed_at_another_simulator_reads_that_one() -> None:
    """L6: what the gateway kept belongs to one simulator; a new one hands out the same ids."""

    def world(status: str) -> tuple[FakeStripe, Any]:
        model = FakeStripe(default_refund_status=status)
        pi = model.create_payment(10_000, "usd", stripe_fee=320)["id"]
        model.create_refund({"payment_intent": pi, "amount": 1000})
        return model, pi

    first, pi = world("succeeded")
    gateway = FakeStripeGateway(first)
    assert [r.status for r in gateway.fetch_payment(pi, None).refunds] == [RefundStatus.SUCCEEDED]
    second, pi2 = world("pending")
    gateway.stripe = second
    assert [r.status for r in gateway.fetch_payment(pi2, None).refunds] == [RefundStatus.PENDING]


def test_an_older_parse_by_another_thread_never_hides_a_late_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """L6: thread B renders refund x before Stripe fails it and parses it slowly; thread A
    reads after the failure. Every later read says FAILED (before the fix B's older parse
    replaced A's and was kept under the new revision)."""
    import threading

    import kanorio_refunds.testing.fake_stripe._gateway as gateway_module

    model = FakeStripe()
    pi = model.create_payment(10_000, "usd", stripe_fee=320)["id"]
    y = model.create_refund({"payment_intent": pi, "amount": 1000})["id"]
    x = model.create_refund({"payment_intent": pi, "amount": 2000})["id"]
    gateway = FakeStripeGateway(model)
    gateway.fetch_payment(pi, None)
    model.set_refund_status(x, "requires_action")
    b_parsing, go_b, b_done = threading.Event(), threading.Event(), threading.Event()
    real_parse = gateway_module.parse_refund

    def parse(obj: Any) -> Any:
        name = threading.current_thread().name
        if name == "B" and obj["id"] == x:
            b_parsing.set()
            go_b.wait(2)  # B holds a rendering of x from before the failure
        if name == "A" and obj["id"] == y:
            go_b.set()
            b_done.wait(2)
        return real_parse(obj)

    monkeypatch.setattr(gateway_module, "parse_refund", parse)

    def read_b() -> None:
        gateway.fetch_payment(pi, None)
        b_done.set()

    b = threading.Thread(target=read_b, name="B")
    b.start()
    assert b_parsing.wait(5)
    model.set_refund_status(x, "failed", failure_reason="lost_or_stolen_card")
    model.set_refund_status(y, "failed")
    a = threading.Thread(target=lambda: gateway.fetch_payment(pi, None), name="A")
    a.start()
    a.join(10)
    b.join(10)
    monkeypatch.setattr(gateway_module, "parse_refund", real_parse)
    for _ in range(2):
        statuses = {r.id: r.status for r in gateway.fetch_payment(pi, None).refunds}
        assert statuses[x] is RefundStatus.FAILED


def _read_and_plain(world: World) -> tuple[Any, Any, list[tuple[str, Any]], list[tuple[str, Any]]]:
    """The gateway's read and a plain read (``Proxy``), and the requests each made."""
    plain = FakeStripeGateway(cast(FakeStripe, Proxy(world.stripe)))
    before = len(world.stripe.requests)
    kept = world.gateway.fetch_payment(world.intent, None)
    middle = len(world.stripe.requests)
    read = plain.fetch_payment(world.intent, None)
    made = [(r.operation, r.params) for r in world.stripe.requests[before:middle]]
    plain_made = [(r.operation, r.params) for r in world.stripe.requests[middle:]]
    return kept, read, made, plain_made


def test_an_unchanged_payment_is_the_same_answer_from_the_same_request() -> None:
    """B4, issue 10: with nothing changed at Stripe a second read hands back the very same
    live payment, still from one logged retrieve with the plain read's parameters."""
    world = World(3)
    first = world.gateway.fetch_payment(world.intent, None)
    kept, read, made, plain_made = _read_and_plain(world)
    assert kept is first
    assert kept == read
    assert made == plain_made
    assert [operation for operation, _ in made] == ["retrieve_payment_intent"]


@pytest.mark.parametrize(
    "change",
    [
        "refund fails",
        "refund made",
        "dispute opened",
        "dispute closed",
        "charge tampered",
        "another payment",
    ],
)
def test_every_change_at_stripe_is_read_again(change: str) -> None:
    """B4, L6, E5: after any change to what Stripe stores, the read equals a plain read of every
    object again, with the same requests (a disputed charge adds its disputes listing)."""
    from kanorio_refunds.testing.contracts._gateway import _tamper

    world = World(2)
    first = world.gateway.fetch_payment(world.intent, None)
    model = world.stripe
    if change == "refund fails":
        model.set_refund_status(first.refunds[0].id, "failed")
    elif change == "refund made":
        model.create_refund({"payment_intent": world.intent, "amount": 5})
    elif change == "dispute opened":
        model.open_dispute(world.intent)
    elif change == "dispute closed":
        model.open_dispute(world.intent)
        world.gateway.fetch_payment(world.intent, None)
        model.close_dispute(world.intent, "lost")
    elif change == "charge tampered":
        _tamper(model, world.charge, amount_refunded=0)
    else:
        model.create_payment(500, "usd", stripe_fee=10)
    kept, read, made, plain_made = _read_and_plain(world)
    assert made == plain_made
    assert kept == read
    if change != "another payment":
        assert kept != first
    assert world.gateway.fetch_payment(world.intent, None) == read  # and kept again


@pytest.mark.parametrize("count", [11, 110, 111, 120, 210, 250])
def test_a_paged_payment_makes_its_page_requests_on_every_read(count: int) -> None:
    """Issue 10 goals 1 and 3: a read of more than ten refunds kept while nothing changed makes
    the very requests of the pages again (one per further 100 refunds, each after the last id
    of the page before: the plain read's parameters) and answers the same live payment."""
    world = World(count)
    plain = FakeStripeGateway(cast(FakeStripe, Proxy(world.stripe)))
    start = len(world.stripe.requests)
    first = world.gateway.fetch_payment(world.intent, None)
    middle = len(world.stripe.requests)
    again = world.gateway.fetch_payment(world.intent, None)
    end = len(world.stripe.requests)
    read = plain.fetch_payment(world.intent, None)
    made = [(r.operation, r.params) for r in world.stripe.requests[start:middle]]
    assert [(r.operation, r.params) for r in world.stripe.requests[middle:end]] == made
    assert [(r.operation, r.params) for r in world.stripe.requests[end:]] == made
    assert len(made) == 1 + -(-(count - 10) // 100)
    assert again is first
    assert again == read


@pytest.mark.parametrize(
    ("refunds", "operation", "answered"),
    [
        (1, "retrieve_payment_intent", [("retrieve_payment_intent", 500)]),
        (250, "list_refunds", [("retrieve_payment_intent", 200), ("list_refunds", 500)]),
    ],
)
def test_a_kept_read_still_fails_as_its_requests_would(
    refunds: int, operation: str, answered: list[tuple[str, int]]
) -> None:
    """L2: a server error injected into the retrieve, or into the first page of older refunds,
    fails a read that would have been answered from what was kept, after the requests before
    it, each logged as made (as the plain read fails); the next read answers again."""
    world = World(refunds)
    first = world.gateway.fetch_payment(world.intent, None)
    world.stripe.inject_fault(Fault.SERVER_ERROR, operation=operation)
    before = len(world.stripe.requests)
    with pytest.raises(GatewayUnavailable):
        world.gateway.fetch_payment(world.intent, None)
    made = [(r.operation, r.http_status) for r in world.stripe.requests[before:]]
    assert made == answered
    assert world.gateway.fetch_payment(world.intent, None) is first


def test_a_change_to_another_payment_keeps_this_ones_read() -> None:
    """B4, issue 10 goal 4: a read is kept per payment: refunds, a dispute or a new payment
    elsewhere leave this payment's kept read the answer (still from its own logged retrieve),
    while a change behind the model's back (the contract's tampering) is read again."""
    from kanorio_refunds.testing.contracts._gateway import _tamper

    world = World(1)
    other = world.stripe.create_payment(9_000, "usd", stripe_fee=100)["id"]
    first = world.gateway.fetch_payment(world.intent, None)
    world.stripe.create_refund({"payment_intent": other, "amount": 500})
    world.stripe.open_dispute(other)
    world.stripe.create_payment(500, "usd", stripe_fee=10)
    before = len(world.stripe.requests)
    assert world.gateway.fetch_payment(world.intent, None) is first
    assert [r.operation for r in world.stripe.requests[before:]] == ["retrieve_payment_intent"]
    other_charge = world.stripe.charge_of(other)["id"]
    _tamper(world.stripe, other_charge, description="changed elsewhere")
    again = world.gateway.fetch_payment(world.intent, None)
    assert again is not first
    assert again == first
