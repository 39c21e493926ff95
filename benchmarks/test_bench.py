"""Benchmarks (``make bench``): how long the hot paths take, measured, never asserted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pytest_benchmark.fixture import BenchmarkFixture

from kanorio_refunds import Actor, ActorId, FeePolicy, Money, OrderId, RefundService, Role, SiteId
from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.memory import InMemoryOrderRepository
from kanorio_refunds.domain._balance import refundable_balance
from kanorio_refunds.domain._ids import GatewayRefundId
from kanorio_refunds.domain._money import Currency
from kanorio_refunds.domain._payment import GatewayRefund, PaymentRecord
from kanorio_refunds.domain._reconcile import reconcile
from kanorio_refunds.domain._refund import RefundStatus
from kanorio_refunds.testing.fake_stripe import FakeStripe, FakeStripeGateway, stripe_paid_order

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


def test_quote_and_process_in_memory(benchmark: BenchmarkFixture) -> None:
    clock = ManualClock(tick=timedelta(seconds=1))
    stripe = FakeStripe(clock=clock.unix_seconds)
    orders = InMemoryOrderRepository()
    service = RefundService(orders=orders, gateway=FakeStripeGateway(stripe), clock=clock)
    counter = iter(range(10**9))

    def one_refund() -> None:
        n = next(counter)
        orders.add(
            stripe_paid_order(
                stripe,
                order_id=f"o-{n}",
                site_id="shop",
                total=Money.parse("50.00", "USD"),
                stripe_fee=Money.parse("1.75", "USD"),
            )
        )
        quote = service.quote(OrderId(f"o-{n}"), OWNER, Money.parse("10.00", "USD"))
        service.process(quote, OWNER)

    benchmark(one_refund)
