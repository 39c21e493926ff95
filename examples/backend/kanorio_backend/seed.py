"""The demo data: real succeeded payments in the Stripe simulator, each registered as an order
with ``RefundService.register_order`` (I1), as a host's checkout would.

The four orders the browser tests use (/work/notes/backend-contract.md, examples/backend
README) are stable: #1001 (USD 120.00, no fees), #1002 (USD 1,234.50 with fees), #1003
(JPY 4,820) and #1004 (KWD 5.120). #1005 is refunded in full, to show an order that cannot be
refunded and why; #2001 belongs to the other site.
"""

from __future__ import annotations

from typing import Final

import attrs

from kanorio_backend.users import DEMO_SITE, DEMO_USERS, OTHER_SITE
from kanorio_refunds import FULL, OrderId, RefundReason, RefundService, SiteId
from kanorio_refunds.testing.fake_stripe import FakeStripe


@attrs.frozen
class DemoOrder:
    """One seeded order: its payment in Stripe units (``amount`` 12000 is USD 120.00, JPY
    4820 is ¥4,820, KWD 5120 is 5.120) and fees; ``refunded``: refund it in full once."""

    order_id: OrderId
    site: SiteId
    amount: int
    currency: str
    stripe_fee: int = 0
    application_fee: int = 0
    refunded: bool = False


#: Registered in this order, so the list (newest first) starts with #1001.
DEMO_ORDERS: Final[tuple[DemoOrder, ...]] = (
    DemoOrder(OrderId("2001"), OTHER_SITE, 7500, "eur", stripe_fee=250),
    DemoOrder(OrderId("1005"), DEMO_SITE, 5000, "usd", stripe_fee=175, refunded=True),
    DemoOrder(OrderId("1004"), DEMO_SITE, 5120, "kwd", stripe_fee=150),
    DemoOrder(OrderId("1003"), DEMO_SITE, 4820, "jpy", stripe_fee=174),
    DemoOrder(OrderId("1002"), DEMO_SITE, 123450, "usd", stripe_fee=3610, application_fee=2469),
    DemoOrder(OrderId("1001"), DEMO_SITE, 12000, "usd"),
)


def seed(stripe: FakeStripe, service: RefundService) -> None:
    """Make each demo order's payment at the simulator and register the order for it; refund
    the ``refunded`` ones in full as their site's owner."""
    for demo in DEMO_ORDERS:
        intent = stripe.create_payment(
            demo.amount,
            demo.currency,
            stripe_fee=demo.stripe_fee,
            application_fee=demo.application_fee,
            metadata={"order_id": demo.order_id},
        )
        service.register_order(demo.order_id, demo.site, payment_intent_id=str(intent["id"]))
        if demo.refunded:
            owner = next(u for u in DEMO_USERS if u.site == demo.site and u.role.value == "owner")
            quote = service.quote(
                demo.order_id, owner.actor, FULL, RefundReason.DUPLICATE, "Charged twice"
            )
            service.process(quote, owner.actor)
