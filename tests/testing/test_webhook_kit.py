"""The testing kit's webhook helpers: ``sign_webhook`` signs like Stripe (the SDK's own signer
is the oracle) and ``StripeWebhookVerifier`` accepts what it signs; ``gateway_events`` and
``EventRelay`` bring the simulator's events to ``RefundService.apply_event``."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stripe

from kanorio_refunds import (
    EventEffect,
    EventOutcome,
    GatewayEvent,
    Money,
    OrderId,
    OrderStatus,
    RefundService,
    RefundStatus,
)
from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.memory import InMemoryOrderRepository
from kanorio_refunds.adapters.stripe import StripeWebhookVerifier
from kanorio_refunds.domain._refund import RefundOrigin
from kanorio_refunds.errors import GatewayUnavailable, InvalidSignature
from kanorio_refunds.testing import owner
from kanorio_refunds.testing.fake_stripe import (
    WEBHOOK_CONTENT_TYPE,
    EventRelay,
    FakeStripe,
    FakeStripeGateway,
    gateway_events,
    sign_webhook,
    stripe_paid_order,
)

SECRET = "whsec_kitTestSecret000000000000000000000"
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
ORDER = OrderId("order-1")
OWNER = owner("shop-1")


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


class World:
    """One clock for the simulator and the service (one second per read)."""

    def __init__(self) -> None:
        self.clock = ManualClock(NOW, tick=timedelta(seconds=1))
        self.stripe = FakeStripe(clock=self.clock.unix_seconds)
        self.orders = InMemoryOrderRepository()
        self.service = RefundService(
            orders=self.orders, gateway=FakeStripeGateway(self.stripe), clock=self.clock
        )
        self.order = self.orders.add(
            stripe_paid_order(
                self.stripe,
                order_id=ORDER,
                site_id="shop-1",
                total=usd("100.00"),
                stripe_fee=usd("3.20"),
            )
        )
        assert self.order.payment is not None
        self.pi = str(self.order.payment.payment_intent_id)


@pytest.fixture
def world() -> World:
    return World()


def _a_refund_event() -> dict[str, Any]:
    model = FakeStripe()
    pi = model.create_payment(10_000, "usd", stripe_fee=320)
    model.create_refund({"payment_intent": pi["id"], "amount": 1_000, "metadata": {"é": "ü"}})
    event: dict[str, Any] = model.events()[0]
    return event


# ---------------------------------------------------------------------------------------------
# sign_webhook
# ---------------------------------------------------------------------------------------------


def test_a_signed_event_is_what_the_sdk_would_sign_and_the_verifier_accepts() -> None:
    """The payload is the event as Stripe serialises it; the header is exactly the one Stripe's
    own SDK generates for that payload, secret and time; the verifier reads the event."""
    event = _a_refund_event()
    ts = int(NOW.timestamp())

    signed = sign_webhook(event, SECRET, timestamp=ts)

    text = signed.payload.decode("utf-8")
    assert text.startswith('{\n  "id": "evt_')
    assert '"é": "ü"' in text  # UTF-8, not \u escapes, as Stripe sends
    sdk_header = stripe.WebhookSignature.generate_signature_header(text, SECRET, ts)
    assert signed.signature_header == sdk_header
    assert signed.timestamp == ts
    verifier = StripeWebhookVerifier(SECRET, clock=ManualClock(NOW + timedelta(seconds=30)))
    assert verifier.verify(signed.payload, signed.signature_header) == gateway_events([event])[0]


def test_headers_are_those_of_a_stripe_delivery() -> None:
    signed = sign_webhook(b"{}", SECRET, timestamp=1_700_000_000)
    assert signed.headers == {
        "Content-Type": WEBHOOK_CONTENT_TYPE,
        "Stripe-Signature": signed.signature_header,
    }
    assert WEBHOOK_CONTENT_TYPE == "application/json; charset=utf-8"
    assert SECRET not in repr(signed)


@pytest.mark.parametrize("raw", [b'{"id": "evt_1"}', '{"id": "evt_1"}'])
def test_a_payload_already_serialised_is_signed_byte_for_byte(raw: bytes | str) -> None:
    signed = sign_webhook(raw, SECRET, timestamp=1_700_000_000)
    assert signed.payload == b'{"id": "evt_1"}'
    expected = stripe.WebhookSignature.generate_signature_header(
        '{"id": "evt_1"}', SECRET, 1_700_000_000
    )
    assert signed.signature_header == expected


def test_an_aware_datetime_is_the_signed_time() -> None:
    assert sign_webhook(b"{}", SECRET, timestamp=NOW).timestamp == int(NOW.timestamp())
    with pytest.raises(ValueError, match="aware"):
        sign_webhook(b"{}", SECRET, timestamp=datetime(2026, 11, 26, 9, 0))
    with pytest.raises(TypeError):
        sign_webhook(b"{}", SECRET, timestamp=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sign_webhook(b"{}", SECRET, timestamp=True)


def test_by_default_it_is_signed_now_so_a_verifier_on_the_system_clock_accepts_it() -> None:
    event = _a_refund_event()
    before = int(datetime.now(UTC).timestamp())
    signed = sign_webhook(event, SECRET)
    after = int(datetime.now(UTC).timestamp())
    assert before <= signed.timestamp <= after
    assert (
        StripeWebhookVerifier(SECRET).verify(signed.payload, signed.signature_header).id
        == (event["id"])
    )


def test_the_verifier_refuses_another_secret_an_altered_body_and_an_old_signature() -> None:
    """The helper signs what it is given, so hosts can test their endpoint's refusals."""
    event = _a_refund_event()
    verifier = StripeWebhookVerifier(SECRET, clock=ManualClock(NOW))
    other = sign_webhook(event, "whsec_someoneElse00000000000000000000000", timestamp=NOW)
    with pytest.raises(InvalidSignature):
        verifier.verify(other.payload, other.signature_header)
    good = sign_webhook(event, SECRET, timestamp=NOW)
    with pytest.raises(InvalidSignature):
        verifier.verify(good.payload.replace(b"1000", b"9000"), good.signature_header)
    old = sign_webhook(event, SECRET, timestamp=NOW - timedelta(minutes=10))
    with pytest.raises(InvalidSignature, match="old"):
        verifier.verify(old.payload, old.signature_header)


@pytest.mark.parametrize("secret", ["", None])
def test_a_secret_is_required(secret: Any) -> None:
    with pytest.raises(ValueError, match="secret"):
        sign_webhook(b"{}", secret)


def test_only_events_and_payloads_are_signed() -> None:
    with pytest.raises(TypeError, match="event"):
        sign_webhook(["not", "an", "event"], SECRET)  # type: ignore[arg-type]


def test_the_kit_signs_and_reads_events_without_the_stripe_sdk() -> None:
    """Hosts whose test environment has no ``stripe`` package can still use the kit."""
    code = (
        "import sys\n"
        "sys.modules['stripe'] = None  # any import of stripe now fails\n"
        "from kanorio_refunds.testing.fake_stripe import FakeStripe, gateway_events, sign_webhook\n"
        "m = FakeStripe()\n"
        "pi = m.create_payment(1000, 'usd', stripe_fee=59)\n"
        "m.create_refund({'payment_intent': pi['id'], 'amount': 100})\n"
        "events = m.events()\n"
        "assert [e.type for e in gateway_events(events)] == ['refund.created', 'charge.refunded']\n"
        "signed = sign_webhook(events[0], 'whsec_x', timestamp=1700000000)\n"
        "assert signed.signature_header.startswith('t=1700000000,v1=')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------------------------------
# gateway_events and EventRelay
# ---------------------------------------------------------------------------------------------


def test_converted_events_give_the_order_what_happened_at_stripe(world: World) -> None:
    """A refund made in Stripe's dashboard, then its late failure: the events, converted and
    applied, import it as EXTERNAL, then release its amount (S1, L3)."""
    refund = world.stripe.create_refund({"payment_intent": world.pi, "amount": 2_500})

    outcomes = [world.service.apply_event(e) for e in gateway_events(world.stripe.events())]

    assert EventEffect.APPLIED in {o.effect for o in outcomes}
    order = world.orders.get(ORDER)
    assert order.status is OrderStatus.PARTIALLY_REFUNDED
    (imported,) = order.refunds
    assert imported.origin is RefundOrigin.EXTERNAL
    assert (imported.amount, imported.status) == (usd("25.00"), RefundStatus.SUCCEEDED)
    assert imported.gateway_refund_id == refund["id"]

    mark = len(world.stripe.events())
    world.stripe.set_refund_status(refund["id"], "failed", failure_reason="declined")
    for event in gateway_events(world.stripe.events_since(mark)):
        world.service.apply_event(event)

    order = world.orders.get(ORDER)
    assert order.status is OrderStatus.PAID
    assert [r.status for r in order.refunds] == [RefundStatus.FAILED]


def test_the_relay_delivers_each_event_once_in_order(world: World) -> None:
    relay = EventRelay(world.stripe)
    quote = world.service.quote(ORDER, OWNER, usd("10.00"))
    refund = world.service.process(quote, OWNER)
    assert [e.type for e in relay.pending()] == ["refund.created", "charge.refunded"]

    outcomes = relay.deliver(world.service)

    assert [o.event_id for o in outcomes] == [e["id"] for e in world.stripe.events()]
    assert relay.delivered == 2
    assert relay.pending() == []
    assert relay.deliver(world.service) == []
    order = world.orders.get(ORDER)
    assert order.refund(refund.id).status is RefundStatus.SUCCEEDED
    assert order.status is OrderStatus.PARTIALLY_REFUNDED


def test_a_relay_can_start_after_the_events_so_far(world: World) -> None:
    world.stripe.create_refund({"payment_intent": world.pi, "amount": 100})
    relay = EventRelay(world.stripe, since=world.stripe.event_count())
    assert relay.pending() == []
    assert relay.deliver(world.service) == []
    assert world.orders.get(ORDER).refunds == ()
    with pytest.raises(ValueError, match="since"):
        EventRelay(world.stripe, since=-1)


class OutageOnce:
    """A service whose first delivery of one event type fails as in a gateway outage (the
    endpoint answers 5xx); every other delivery goes to the real service."""

    def __init__(self, service: RefundService, failing_type: str) -> None:
        self.service = service
        self.failing_type = failing_type
        self.seen: list[str] = []

    def apply_event(self, event: GatewayEvent) -> EventOutcome:
        self.seen.append(event.type)
        if event.type == self.failing_type and self.seen.count(event.type) == 1:
            raise GatewayUnavailable("Stripe is down")
        return self.service.apply_event(event)


def test_a_failed_delivery_stays_pending_and_is_redelivered(world: World) -> None:
    """L5: when applying an event fails, the error propagates and that event (and those after
    it) stays pending; the next delivery starts with it, never repeating the delivered one."""
    relay = EventRelay(world.stripe)
    world.stripe.create_refund({"payment_intent": world.pi, "amount": 1_000})
    endpoint = OutageOnce(world.service, "charge.refunded")

    with pytest.raises(GatewayUnavailable):
        relay.deliver(endpoint)
    assert relay.delivered == 1
    assert [e.type for e in relay.pending()] == ["charge.refunded"]

    outcomes = relay.deliver(endpoint)

    assert [o.event_id for o in outcomes] == [world.stripe.events()[1]["id"]]
    assert endpoint.seen == ["refund.created", "charge.refunded", "charge.refunded"]
    assert relay.pending() == []
    assert world.orders.get(ORDER).status is OrderStatus.PARTIALLY_REFUNDED
