"""Benchmarks (``make bench``): how long the hot paths take, measured, never asserted.

The issue-10 rows (``_table``): every round runs on fresh state made by its set-up (not timed),
with pytest-benchmark's pedantic mode; each figure is the median of its rounds, and its ratio
to its floor or baseline is printed in one table at the end of the run.
"""

from __future__ import annotations

import functools
import itertools
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks import _table
from kanorio_refunds import (
    Actor,
    ActorId,
    FeePolicy,
    Money,
    Order,
    OrderId,
    RefundService,
    Role,
    SiteId,
)
from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.memory import InMemoryOrderRepository
from kanorio_refunds.domain._balance import refundable_balance
from kanorio_refunds.domain._events import GatewayEvent
from kanorio_refunds.domain._ids import GatewayRefundId
from kanorio_refunds.domain._money import Currency
from kanorio_refunds.domain._payment import GatewayRefund, PaymentRecord
from kanorio_refunds.domain._reconcile import reconcile
from kanorio_refunds.domain._refund import RefundStatus
from kanorio_refunds.testing.fake_stripe import (
    FakeStripe,
    FakeStripeGateway,
    gateway_events,
    stripe_paid_order,
)

OWNER = Actor(ActorId("owner"), {SiteId("shop"): Role.OWNER})


def test_money_parse(benchmark: BenchmarkFixture) -> None:
    benchmark(Money.parse, "1234.56", "USD")


def test_refundable_balance_cross_currency(benchmark: BenchmarkFixture) -> None:
    payment = PaymentRecord(
        payment_intent_id=None,
        charge_id=None,
        captured=Money.parse("100.00", "USD"),
        stripe_fee=Money.parse("2.90", "EUR"),
        platform_fee=Money.parse("1.00", "EUR"),
        settlement_currency=Currency.of("EUR"),
        amount_refunded=Money.zero("USD"),
        exchange_rate=Decimal("0.912345"),
    )
    benchmark(refundable_balance, payment, ())


def test_reconcile_order_with_500_gateway_refunds(benchmark: BenchmarkFixture) -> None:
    stripe = FakeStripe()
    order = stripe_paid_order(
        stripe,
        order_id="o",
        site_id="shop",
        total=Money.parse("100000.00", "USD"),
        stripe_fee=Money.parse("10.00", "USD"),
    )
    assert order.payment is not None
    start = datetime(2026, 1, 1, tzinfo=UTC)
    refunds = [
        GatewayRefund(
            id=GatewayRefundId(f"re_{i}"),
            amount=Money.parse("1.00", "USD"),
            status=RefundStatus.SUCCEEDED,
            created_at=start + timedelta(seconds=i),
        )
        for i in range(500)
    ]
    benchmark(reconcile, order, order.payment, refunds, FeePolicy.NET_OF_FEES, at=start)


ORDER = OrderId("o-0")
ROUNDS = 15
HISTORY_ROUNDS = 15
HISTORIES = (1, 1000)


class World:
    """A service over the simulator and an in-memory repository, with ``orders`` paid orders
    (``o-0``, ``o-1``, …) each with ``refunds`` refunds at Stripe, already synced."""

    def __init__(self, *, orders: int = 1, refunds: int = 0, last_pending: bool = False) -> None:
        self.clock = ManualClock(tick=timedelta(seconds=1))
        self.stripe = FakeStripe(clock=self.clock.unix_seconds)
        self.orders = InMemoryOrderRepository()
        self.service = RefundService(
            orders=self.orders, gateway=FakeStripeGateway(self.stripe), clock=self.clock
        )
        for n in range(orders):
            order = self.orders.add(
                stripe_paid_order(
                    self.stripe,
                    order_id=f"o-{n}",
                    site_id="shop",
                    total=Money.parse("100000.00", "USD"),
                    stripe_fee=Money.parse("1.75", "USD"),
                )
            )
            assert order.payment is not None
            for i in range(refunds):
                if last_pending and i == refunds - 1:
                    self.stripe.default_refund_status = "pending"
                self.stripe.create_refund(
                    {"payment_intent": order.payment.payment_intent_id, "amount": 1},
                    idempotency_key=f"{n}-{i}",
                )
            self.service.sync(order.id)


def _pedantic(
    benchmark: BenchmarkFixture,
    run: Callable[..., object],
    setup: Callable[[], tuple[tuple[Any, ...], dict[str, Any]]],
    rounds: int = ROUNDS,
) -> float:
    benchmark.pedantic(run, setup=setup, rounds=rounds, warmup_rounds=1)
    return _table.median_of(benchmark)


# ---------------------------------------------------------------------------- goal 2: the floor

_RESERVING = frozenset({"submitting", "pending", "requires_action", "succeeded"})


def _floor_refundable(order: dict[str, Any]) -> int:
    net = order["captured"] - order["stripe_fee"] - order["platform_fee"]
    reserved = sum(r["amount"] for r in order["refunds"] if r["status"] in _RESERVING)
    return max(min(net - reserved, order["captured"] - order["amount_refunded"]), 0)


def _floor_quote_and_process(
    order: dict[str, Any], actor_sites: dict[str, str], amount: int
) -> None:
    """The same eligibility (E1-E5), balance (B1, B2) and status (S1) arithmetic as a quote and
    its processing, by hand on ints and dicts: the floor of goal 2."""
    for _check in ("quote", "process"):
        if order["status"] not in ("paid", "partially_refunded"):
            raise ValueError("not eligible")
        if actor_sites.get(order["site"]) not in ("owner", "administrator"):
            raise ValueError("permission denied")
        if order["disputed"] or not order["payment_intent"]:
            raise ValueError("not eligible")
        refundable = _floor_refundable(order)
        if not 0 < amount <= refundable:
            raise ValueError("amount exceeds refundable")
    refund = {"id": f"rf_{len(order['refunds'])}", "amount": amount, "status": "submitting"}
    order["refunds"].append(refund)
    refund["status"] = "succeeded"  # the gateway's answer
    order["amount_refunded"] += amount
    order["status"] = "refunded" if _floor_refundable(order) == 0 else "partially_refunded"


def test_floor_quote_and_process(benchmark: BenchmarkFixture) -> None:
    """The hand-written floor of goal 2 (ints and dicts, no value objects)."""

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        order = {
            "status": "paid",
            "site": "shop",
            "captured": 5000,
            "stripe_fee": 175,
            "platform_fee": 0,
            "amount_refunded": 0,
            "disputed": False,
            "payment_intent": "pi_1",
            "refunds": [],
        }
        return (order, {"shop": "owner"}, 1000), {}

    _table.MEDIANS["floor"] = _pedantic(benchmark, _floor_quote_and_process, setup, rounds=200)


def _quote_and_process(service: RefundService, order_id: OrderId) -> None:
    quote = service.quote(order_id, OWNER, Money.parse("0.01", "USD"))
    service.process(quote, OWNER)


def test_quote_and_process_in_memory(benchmark: BenchmarkFixture) -> None:
    """Goal 2: quote + process on a fresh paid order, in memory: at most 50x the floor."""

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (World().service, ORDER), {}

    ours = _pedantic(benchmark, _quote_and_process, setup, rounds=60)
    _table.MEDIANS["quote+process"] = ours
    _table.record("quote+process, in memory", "floor", _table.MEDIANS["floor"], ours, 50)


# ---------------------------------------------------------------------------- goal 3: history


def _interleaved(
    benchmark: BenchmarkFixture,
    cases: dict[int, Callable[[], tuple[Any, ...]]],
    run: Callable[..., object],
    rounds: int,
) -> dict[int, float]:
    """The median time of ``run(*args)`` for each case, the cases timed in turn round by round
    (a shared machine's load then weighs on all alike), each round on fresh state made by its
    set-up (``cases[key]()``), which is not timed."""
    times: dict[int, list[float]] = {key: [] for key in cases}
    turns = itertools.cycle(cases)

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        key = next(turns)
        return (key, cases[key]()), {}

    def timed(key: int, call: tuple[Any, ...]) -> None:
        start = time.perf_counter()
        run(*call)
        times[key].append(time.perf_counter() - start)

    for make in cases.values():  # warm-up, not counted
        run(*make())
    benchmark.pedantic(timed, setup=setup, rounds=rounds * len(cases))
    return {key: statistics.median(taken) for key, taken in times.items()}


def _history_bench(
    benchmark: BenchmarkFixture,
    name: str,
    run: Callable[..., object],
    args: Callable[[World], tuple[Any, ...]],
    *,
    last_pending: bool = False,
) -> None:
    """Goal 3: ``run`` on an order with one refund and on one with 1,000, interleaved
    (``_interleaved``); the row is the ratio of their medians."""
    cases: dict[int, Callable[[], tuple[Any, ...]]] = {
        n: functools.partial(lambda n: args(World(refunds=n, last_pending=last_pending)), n)
        for n in HISTORIES
    }
    medians = _interleaved(benchmark, cases, run, HISTORY_ROUNDS)
    one, many = (medians[n] for n in HISTORIES)
    _table.record(f"{name}, {HISTORIES[-1]:,} refunds", "1 refund", one, many, 2)


def _pending_event(world: World) -> GatewayEvent:
    """The signed event of the order's last refund (pending) succeeding at Stripe."""
    last = world.orders.get(ORDER).refunds[-1]
    assert last.gateway_refund_id is not None
    seen = world.stripe.event_count()
    world.stripe.set_refund_status(last.gateway_refund_id, "succeeded")
    events = [e for e in gateway_events(world.stripe.events_since(seen)) if e.kind.reports_refunds]
    return events[-1]


def test_quote_and_process_with_history(benchmark: BenchmarkFixture) -> None:
    """Goal 3: quote + process on an order with 1 and with 1,000 refunds."""
    _history_bench(benchmark, "quote+process", _quote_and_process, lambda w: (w.service, ORDER))


def test_apply_event_with_history(benchmark: BenchmarkFixture) -> None:
    """Goal 3: a webhook moving a known refund, on an order with 1 and with 1,000 refunds."""
    _history_bench(
        benchmark,
        "apply_event",
        RefundService.apply_event,
        lambda w: (w.service, _pending_event(w)),
        last_pending=True,
    )


def test_sync_with_history(benchmark: BenchmarkFixture) -> None:
    """Goal 3: sync of an order with 1 and with 1,000 refunds (nothing to change)."""
    _history_bench(benchmark, "sync", RefundService.sync, lambda w: (w.service, ORDER))


def test_order_details_with_history(benchmark: BenchmarkFixture) -> None:
    """Goal 3: the order page (stored data) of an order with 1 and with 1,000 refunds."""
    _history_bench(
        benchmark,
        "order_details",
        RefundService.order_details,
        lambda w: (w.service, ORDER, OWNER),
    )


# ---------------------------------------------------------------------------- goal 4: many orders


def _with_other_orders(world: World, others: int) -> World:
    """``world`` with ``others`` more stored orders, paid by payments of their own."""
    template = world.orders.get(ORDER)
    assert template.payment is not None
    for n in range(others):
        payment = attrs.evolve(
            template.payment,
            payment_intent_id=f"pi_other_{n}",
            charge_id=f"ch_other_{n}",
        )
        world.orders.add(
            Order(
                id=OrderId(f"other-{n}"),
                site_id=template.site_id,
                total=template.total,
                status=template.status,
                payment=payment,
            )
        )
    return world


def test_apply_event_among_stored_orders(benchmark: BenchmarkFixture) -> None:
    """Goal 4: apply_event with 20 and with 5,020 orders stored (interleaved): independent of
    the number."""

    def among(stored: int) -> tuple[Any, ...]:
        world = _with_other_orders(World(refunds=1, last_pending=True), stored - 1)
        return (world.service, _pending_event(world))

    cases = {n: functools.partial(among, n) for n in (20, 5020)}
    medians = _interleaved(benchmark, cases, RefundService.apply_event, ROUNDS)
    _table.record("apply_event, 5,020 stored orders", "20 orders", medians[20], medians[5020], 1.3)


def _sync_all(service: RefundService, order_ids: list[OrderId]) -> None:
    for order_id in order_ids:
        service.sync(order_id)


def _sync_worlds(worlds: list[tuple[RefundService, list[OrderId]]]) -> None:
    for service, order_ids in worlds:
        _sync_all(service, order_ids)


SINGLE_WORLDS = 10


def test_sync_of_many_orders(benchmark: BenchmarkFixture) -> None:
    """Goal 4: syncing 1,000 orders (one refund each) in one world, against syncing the one
    order of each of 10 worlds (interleaved, 5 rounds each); per order, at most 1.3x."""

    def worlds(count: int, orders: int) -> tuple[Any, ...]:
        made = [World(orders=orders, refunds=1) for _ in range(count)]
        return ([(w.service, [OrderId(f"o-{n}") for n in range(orders)]) for w in made],)

    cases = {
        1: functools.partial(worlds, SINGLE_WORLDS, 1),
        1000: functools.partial(worlds, 1, 1000),
    }
    medians = _interleaved(benchmark, cases, _sync_worlds, 5)
    _table.record(
        "sync of 1,000 orders, per order",
        "1 order",
        medians[1] / SINGLE_WORLDS,
        medians[1000] / 1000,
        1.3,
    )


# ---------------------------------------------------------------------------- goal 5: import


def _import_micros(statement: str, package: str) -> float:
    """The import time (us) of ``statement`` in a fresh interpreter (``-X importtime``): the
    cumulative times of the modules it imports at top level, ``package`` and its submodules
    (a name loaded on first use, PEP 562, imports its module at top level too)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
    )
    total, seen = 0.0, False
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or parts[2].startswith("  "):  # nested under another import
            continue
        name = parts[2].strip()
        if name == package or name.startswith(f"{package}."):
            total, seen = total + float(parts[1]), True
    if not seen:
        raise AssertionError(f"no import time for {package} in {statement!r}")
    return total


def test_import_time(benchmark: BenchmarkFixture) -> None:
    """Goal 5: ``import kanorio_refunds`` against ``import attrs``, each in fresh interpreters
    (interleaved, median of 21): at most 1.5x. Also shown, without a goal: what a host's first
    import costs, ``from kanorio_refunds import RefundService, Money`` (the service and the
    domain it needs, attrs included)."""
    ours: list[float] = []
    host: list[float] = []
    attrs_times: list[float] = []

    def one_round() -> None:
        ours.append(_import_micros("import kanorio_refunds", "kanorio_refunds"))
        attrs_times.append(_import_micros("import attrs", "attrs"))
        host.append(
            _import_micros("from kanorio_refunds import RefundService, Money", "kanorio_refunds")
        )

    benchmark.pedantic(one_round, rounds=21, warmup_rounds=1)
    baseline = statistics.median(attrs_times) / 1e6
    _table.record(
        "import kanorio_refunds", "import attrs", baseline, statistics.median(ours) / 1e6, 1.5
    )
    _table.record(
        "from kanorio_refunds import RefundService",
        "import attrs",
        baseline,
        statistics.median(host) / 1e6,
        None,
    )
