"""The README's tour, runnable: refund part of an order, then the rest, on in-memory adapters.

python examples/quickstart.py
"""

from __future__ import annotations

from kanorio_refunds import FULL, Actor, ActorId, Money, OrderId, RefundService, Role, SiteId
from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.memory import InMemoryOrderRepository, InMemoryProcessedEvents
from kanorio_refunds.testing.fake_stripe import FakeStripe, FakeStripeGateway, stripe_paid_order


def main() -> None:
    """Quote and process two refunds and print what the order page would show."""
    # One clock: the simulator and the service share time, so timelines read in order.
    clock = ManualClock()
    stripe = FakeStripe(clock=clock.unix_seconds)
    orders = InMemoryOrderRepository()
    orders.add(
        stripe_paid_order(
            stripe,
            order_id="o-1",
            site_id="shop",
            total=Money.parse("100.00", "USD"),
            stripe_fee=Money.parse("3.20", "USD"),
            platform_fee=Money.parse("1.00", "USD"),
        )
    )
    service = RefundService(
        orders=orders,
        gateway=FakeStripeGateway(stripe),
        clock=clock,
        processed_events=InMemoryProcessedEvents(),
    )
    owner = Actor(ActorId("maya"), {SiteId("shop"): Role.OWNER})
    order_id = OrderId("o-1")

    print("refundable:", service.eligibility(order_id, owner).refundable)
    quote = service.quote(order_id, owner, Money.parse("30.00", "USD"), "customer_request")
    refund = service.process(quote, owner)
    print(
        "refund:", refund.amount, refund.status.name, "→ order", orders.get(order_id).status.label
    )

    rest = service.process(service.quote(order_id, owner, FULL), owner)
    print("refund:", rest.amount, rest.status.name, "→ order", orders.get(order_id).status.label)


if __name__ == "__main__":
    main()
