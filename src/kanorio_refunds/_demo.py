"""The main job: a walkthrough of the help page on the in-memory defaults.

Run it with ``make demo`` or ``python -m kanorio_refunds demo``. It prints what the order
details page would show at each step of "Refund Processing": a paid order with fees, its
eligibility, a partial refund, the remainder refunded with "Refund Full Amount", the Stripe event
timeline, an attempt that is not eligible, revoking buyer access, and a refund whose answer from
Stripe is lost and that ``sync`` recovers without refunding twice.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import timedelta
from typing import TextIO

from kanorio_refunds.adapters._stripe_json import parse_event
from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.memory import InMemoryOrderRepository, InMemoryProcessedEvents
from kanorio_refunds.domain._actor import Actor, Role
from kanorio_refunds.domain._amount import FULL
from kanorio_refunds.domain._details import OrderDetails
from kanorio_refunds.domain._ids import ActorId, SiteId
from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._quote import RefundQuote
from kanorio_refunds.domain._refund import Refund
from kanorio_refunds.errors import GatewayUnavailable, RefundError
from kanorio_refunds.service import RefundService
from kanorio_refunds.testing.fake_stripe import (
    FakeStripe,
    FakeStripeGateway,
    Fault,
    stripe_paid_order,
)

SITE = SiteId("sunrise-yoga")


def run(out: TextIO = sys.stdout) -> int:
    """Print the walkthrough to ``out``; returns 0 (the process exit code)."""

    def say(text: str = "") -> None:
        print(text, file=out)

    clock = ManualClock(tick=timedelta(seconds=1))
    stripe = FakeStripe(clock=clock.unix_seconds)
    orders = InMemoryOrderRepository()
    service = RefundService(
        orders=orders,
        gateway=FakeStripeGateway(stripe),
        clock=clock,
        processed_events=InMemoryProcessedEvents(),
    )
    owner = Actor(ActorId("maya (owner)"), {SITE: Role.OWNER})
    outsider = Actor(ActorId("leo (admin of another site)"), {SiteId("other-site"): Role.OWNER})

    def deliver_webhooks() -> None:
        # Stripe's webhooks, delivered to the host's endpoint, which hands them to the service.
        for event in stripe.events_since(delivered[0]):
            service.apply_event(parse_event(event))
        delivered[0] = len(stripe.events())

    delivered = [0]

    order = orders.add(
        stripe_paid_order(
            stripe,
            order_id="order-1042",
            site_id=SITE,
            total=Money.parse("120.00", "USD"),
            stripe_fee=Money.parse("3.78", "USD"),
            platform_fee=Money.parse("2.40", "USD"),
        )
    )
    order_id = order.id

    _heading(say, "1. E-commerce → Transactions → order-1042")
    _show(say, service.order_details(order_id, owner))

    _heading(say, "2. Initiate Refund: is it available?")
    eligibility = service.eligibility(order_id, owner)
    say(f"  Initiate Refund shown: {'yes' if eligibility.allowed else 'no'}")
    say(f"  Refundable balance:    {eligibility.refundable}  (real-time data from Stripe)")

    _heading(say, "3. Partial refund: 40.00, reason Customer Request → Confirm Refund")
    quote = service.quote(
        order_id,
        owner,
        Money.parse("40.00", "USD"),
        reason="customer_request",
        notes="Missed the first two classes",
    )
    _show_quote(say, quote)
    _heading(say, "   → Process Refund")
    refund = service.process(quote, owner)
    _show_refund(say, refund)
    again = service.process(quote, owner)
    say(f"  Clicking Process Refund again returns the same refund: {again.id == refund.id}")
    say(f"  Refunds at Stripe for this payment: {len(stripe.refunds_of(_pi(order)))}")
    deliver_webhooks()
    _show(say, service.order_details(order_id, owner))

    _heading(say, "4. Refund Full Amount (the remaining balance) → Confirm → Process")
    quote = service.quote(order_id, owner, FULL, reason="other", notes="Course cancelled")
    _show_quote(say, quote)
    stripe.default_refund_status = "pending"  # this card's issuer confirms refunds later
    refund = service.process(quote, owner)
    _show_refund(say, refund)
    deliver_webhooks()
    say("  ... later, Stripe reports the refund succeeded (webhook refund.updated)")
    stripe.set_refund_status(str(refund.gateway_refund_id), "succeeded")
    deliver_webhooks()
    details = service.order_details(order_id, owner)
    _show(say, details)

    _heading(say, "5. Stripe event timeline")
    for record in details.refunds:
        say(f"  Refund {record.id} ({record.amount}):")
        for event in record.events:
            applied = "" if event.applied else "  (not applied: stale)"
            status = event.status.name if event.status else "-"
            say(f"    {event.occurred_at:%H:%M:%S}  {event.type:<16} → {status}{applied}")

    _heading(say, "6. Trying again on the refunded order")
    for who in (owner, outsider):
        eligibility = service.eligibility(order_id, who)
        say(f"  {who.id}: Initiate Refund shown: {'yes' if eligibility.allowed else 'no'}")
        for reason in eligibility.reasons:
            say(f"    - {reason.rule} {reason.code}: {reason.message}")
    _attempt(say, lambda: service.quote(order_id, owner, Money.parse("1.00", "USD")))
    _attempt(say, lambda: service.quote(order_id, outsider, Money.parse("1.00", "USD")))

    _heading(say, "7. Revoke Buyer Access (a separate setting: refunds never change it)")
    say(f"  Buyer access before: {service.order_details(order_id, owner).buyer_access}")
    service.revoke_buyer_access(order_id, owner)
    service.revoke_buyer_access(order_id, owner)  # idempotent: recorded once
    say(f"  Buyer access after:  {service.order_details(order_id, owner).buyer_access}")
    _show_activity(say, service.order_details(order_id, owner))

    _heading(say, "8. When Stripe's answer is lost: nothing lost, nothing refunded twice")
    second = orders.add(
        stripe_paid_order(
            stripe,
            order_id="order-1043",
            site_id=SITE,
            total=Money.parse("8000", "JPY"),
            stripe_fee=Money.parse("288", "JPY"),
        )
    )
    stripe.default_refund_status = "succeeded"
    quote = service.quote(second.id, owner, Money.parse("3000", "JPY"), reason="duplicate")
    stripe.inject_fault(Fault.TIMEOUT_AFTER_CREATE)
    try:
        service.process(quote, owner)
    except GatewayUnavailable as e:
        say(f"  Process Refund: {e.code}: {e.message}")
    waiting = service.order_details(second.id, owner)
    say(f"  Record: {waiting.refunds[0].status.name}, balance held: {waiting.refundable}")
    synced = service.sync(second.id)
    say(f"  After sync: {synced.refunds[0].status.name}, order {synced.status.label}")
    say(f"  Refunds at Stripe for this payment: {len(stripe.refunds_of(_pi(second)))}")
    return 0


def _pi(order: object) -> str:
    payment = getattr(order, "payment", None)
    return str(payment.payment_intent_id) if payment else ""


def _heading(say: Callable[[str], None], text: str) -> None:
    say("")
    say(text)
    say("-" * len(text))


def _show(say: Callable[[str], None], details: OrderDetails) -> None:
    order = details.order
    say(f"  Order {order.id}  total {order.total}  status {details.status.label}")
    if details.breakdown is not None:
        b = details.breakdown
        say(
            f"  Captured {b.captured} − Stripe fee {b.stripe_fee} − platform fee "
            f"{b.platform_fee} = net {b.net_received}"
        )
        say(f"  Already refunded or in progress: {b.reserved}")
    say(f"  Refundable balance: {details.refundable}")
    for refund in details.refunds:
        _show_refund(say, refund)


def _show_quote(say: Callable[[str], None], quote: RefundQuote) -> None:
    reason = quote.reason.name.replace("_", " ").title() if quote.reason else "none"
    say("  Confirmation window:")
    say(f"    Refund {quote.amount}, reason {reason}, notes {quote.notes!r}")
    say(f"    Refundable {quote.refundable_before} → {quote.refundable_after} after this refund")
    say(f"    Order status will be: {quote.resulting_status.label}")
    for notice in quote.notices:
        say(f"    ! {notice.value}")


def _show_refund(say: Callable[[str], None], refund: Refund) -> None:
    reason = refund.reason.name.replace("_", " ").title() if refund.reason else "none"
    say(
        f"  Refund record: {refund.amount}  {refund.created_at:%Y-%m-%d %H:%M:%S}  "
        f"reason {reason}  status {refund.status.name}  Stripe {refund.gateway_refund_id}"
    )


def _show_activity(say: Callable[[str], None], details: OrderDetails) -> None:
    say("  Recent activity (newest first):")
    for entry in details.recent_activity:
        say(f"    {entry.at:%H:%M:%S}  {entry.message}")


def _attempt(say: Callable[[str], None], action: Callable[[], object]) -> None:
    try:
        action()
    except RefundError as e:
        say(f"  Refused: {e.code}: {e.message}")
    else:  # pragma: no cover - the walkthrough's attempts are all refused
        say("  Unexpectedly accepted")
