"""The whole refund flow once through ``RefundService`` with the real Stripe adapter.

``StripeGateway`` drives the real ``stripe`` SDK against the in-process fake HTTP backend (one
``FakeStripe`` model, every request checked against Stripe's OpenAPI subset); webhook deliveries
are signed with the SDK's own signer and go through ``StripeWebhookVerifier`` into
``apply_event``, like a host's webhook endpoint (docs/integration.md) would do it.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import stripe

from kanorio_refunds import (
    FULL,
    Actor,
    ActorId,
    EventEffect,
    Money,
    OrderId,
    OrderStatus,
    RefundReason,
    RefundService,
    RefundStatus,
    Role,
    SiteId,
)
from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.memory import InMemoryOrderRepository, InMemoryProcessedEvents
from kanorio_refunds.adapters.stripe import StripeGateway, StripeWebhookVerifier
from kanorio_refunds.domain._order import ActivityKind
from kanorio_refunds.errors import (
    GatewayRejected,
    GatewayUnavailable,
    InvalidEvent,
    InvalidSignature,
    RefundError,
)
from kanorio_refunds.testing.fake_stripe import FakeStripe, Fault, stripe_paid_order
from kanorio_refunds.testing.stripe_http import (
    FakeStripeHTTPClient,
    dumps_stripe_json,
    make_client,
    transport_of,
)

WEBHOOK_SECRET = "whsec_endToEndSecret000000000000000000000"
ORDER = OrderId("ord_e2e")
OWNER = Actor(ActorId("owner-1"), {SiteId("shop-1"): Role.OWNER})


def _usd(text: str) -> Money:
    return Money.parse(text, "USD")


@dataclass
class World:
    clock: ManualClock
    model: FakeStripe
    transport: FakeStripeHTTPClient
    orders: InMemoryOrderRepository
    service: RefundService
    verifier: StripeWebhookVerifier
    delivered: int = 0

    @property
    def payment_intent(self) -> str:
        payment = self.orders.get(ORDER).payment
        assert payment is not None
        assert payment.payment_intent_id is not None
        return payment.payment_intent_id

    def webhook(self, body: bytes, signature: str | None) -> tuple[int, str]:
        """A framework-free webhook endpoint, as docs/integration.md wires it."""
        try:
            event = self.verifier.verify(body, signature)
        except (InvalidSignature, InvalidEvent) as e:
            return 400, e.code
        try:
            outcome = self.service.apply_event(event)
        except GatewayUnavailable:
            return 503, "retry later"  # Stripe redelivers
        return 200, outcome.effect.value

    def deliver_new_events(self) -> list[tuple[str, int, str]]:
        """Sign and post every event Stripe emitted since the last delivery."""
        results = []
        for event in self.model.events_since(self.delivered):
            body = dumps_stripe_json(event).encode("utf-8")
            header = stripe.WebhookSignature.generate_signature_header(
                body.decode("utf-8"), WEBHOOK_SECRET, int(self.clock.now().timestamp())
            )
            status, text = self.webhook(body, header)
            results.append((event["type"], status, text))
        self.delivered = len(self.model.events())
        return results


@pytest.fixture
def world() -> Iterator[World]:
    clock = ManualClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC), tick=timedelta(seconds=1))
    model = FakeStripe(clock=clock.unix_seconds, default_refund_status="pending")
    client = make_client(model)
    orders = InMemoryOrderRepository(
        [
            stripe_paid_order(
                model,
                order_id=ORDER,
                site_id="shop-1",
                total=_usd("100.00"),
                stripe_fee=_usd("3.20"),
                platform_fee=_usd("1.00"),
            )
        ]
    )
    service = RefundService(
        orders, StripeGateway(client=client), clock, processed_events=InMemoryProcessedEvents()
    )
    verifier = StripeWebhookVerifier(WEBHOOK_SECRET, clock=clock)
    w = World(clock, model, transport_of(client), orders, service, verifier)
    w.delivered = len(model.events())
    yield w
    w.transport.assert_no_violations()


def test_refund_flow_end_to_end(world: World) -> None:
    """F1–F4, L1, L5, P1: quote → process (written ahead, sent with our key) → Stripe's events
    verified and applied (duplicates reported) → a full refund → buyer access revoked."""
    service = world.service

    details = service.order_details(ORDER, OWNER, live=True)
    assert details.refundable == _usd("95.80")  # 100.00 - 3.20 Stripe fee - 1.00 platform fee

    quote = service.quote(ORDER, OWNER, _usd("30.00"), RefundReason.CUSTOMER_REQUEST, "Damaged")
    assert (quote.refundable_before, quote.refundable_after) == (_usd("95.80"), _usd("65.80"))
    assert quote.resulting_status is OrderStatus.PARTIALLY_REFUNDED

    refund = service.process(quote, OWNER)
    assert refund.status is RefundStatus.PENDING
    assert refund.gateway_refund_id is not None
    assert service.process(quote, OWNER).id == refund.id  # the same quote twice: one refund
    posts = world.transport.requests_to("POST /v1/refunds")
    assert {p.idempotency_key for p in posts} == {f"kanorio-refund-{refund.id}"}
    assert len(world.model.refunds_of(world.payment_intent)) == 1

    created = world.deliver_new_events()
    assert [(t, s) for t, s, _ in created] == [("refund.created", 200), ("charge.refunded", 200)]

    world.model.set_refund_status(refund.gateway_refund_id, "succeeded")
    updated = world.deliver_new_events()
    assert ("refund.updated", 200, "applied") in updated
    assert all(status == 200 for _, status, _ in updated)
    order = world.orders.get(ORDER)
    assert order.refund(refund.id).status is RefundStatus.SUCCEEDED
    assert order.status is OrderStatus.PARTIALLY_REFUNDED
    assert {e.type for e in order.refund(refund.id).events} >= {"refund.created", "refund.updated"}

    # Stripe redelivers an event: it is recognised and changes nothing.
    world.delivered = 0
    again = world.deliver_new_events()
    assert all(status == 200 for _, status, _ in again)
    assert world.orders.get(ORDER) == order

    rest = service.process(service.quote(ORDER, OWNER, FULL), OWNER)
    world.model.set_refund_status(str(rest.gateway_refund_id), "succeeded")
    world.deliver_new_events()
    order = world.orders.get(ORDER)
    assert rest.amount == _usd("65.80")
    assert order.status is OrderStatus.REFUNDED
    assert order.buyer_access is True  # F4: refunds never revoke access by themselves

    assert service.revoke_buyer_access(ORDER, OWNER).buyer_access is False


def test_sync_resumes_after_a_timeout_after_create(world: World) -> None:
    """L2: Stripe created the refund but the answer was lost: process raises
    GatewayUnavailable with the refund still SUBMITTING (amount reserved); sync finds it at
    Stripe by our metadata and adopts it, without sending a second refund."""
    world.model.inject_fault(Fault.TIMEOUT_AFTER_CREATE)
    quote = world.service.quote(ORDER, OWNER, _usd("40.00"))

    with pytest.raises(GatewayUnavailable) as info:
        world.service.process(quote, OWNER)

    refund_id = info.value.refund_id
    assert refund_id is not None
    pending = world.orders.get(ORDER)
    assert pending.refund(refund_id).status is RefundStatus.SUBMITTING
    at_stripe = world.model.refunds_of(world.payment_intent)
    assert len(at_stripe) == 1

    synced = world.service.sync(ORDER)

    assert synced.refund(refund_id).gateway_refund_id == at_stripe[0]["id"]
    assert synced.refund(refund_id).status is RefundStatus.PENDING
    assert len(world.model.refunds_of(world.payment_intent)) == 1
    assert len(world.transport.requests_to("POST /v1/refunds")) == 1
    assert world.service.sync(ORDER) == synced  # idempotent

    # The events of the lost answer arrive too, with the later success; whichever event (or
    # live read) brings the news first, the refund ends SUCCEEDED and every delivery is 2xx.
    world.model.set_refund_status(at_stripe[0]["id"], "succeeded")
    assert {status for _, status, _ in world.deliver_new_events()} == {200}
    assert world.orders.get(ORDER).refund(refund_id).status is RefundStatus.SUCCEEDED


def test_sync_resends_with_the_same_key_when_nothing_was_created(world: World) -> None:
    """L2: the connection failed before Stripe saw the refund: sync sends it again with the
    same idempotency key, and exactly one refund exists."""
    world.model.inject_fault(Fault.CONNECTION_ERROR)
    quote = world.service.quote(ORDER, OWNER, _usd("25.00"))
    with pytest.raises(GatewayUnavailable) as info:
        world.service.process(quote, OWNER)
    assert world.model.refunds_of(world.payment_intent) == []

    synced = world.service.sync(ORDER)

    assert info.value.refund_id is not None
    refund = synced.refund(info.value.refund_id)
    assert refund.status is RefundStatus.PENDING
    posts = world.transport.requests_to("POST /v1/refunds")
    assert [p.outcome for p in posts] == ["connection_error", "200"]
    assert {p.idempotency_key for p in posts} == {f"kanorio-refund-{refund.id}"}
    assert len(world.model.refunds_of(world.payment_intent)) == 1


def test_a_definitive_rejection_fails_the_refund_and_releases_it(world: World) -> None:
    """L3: Stripe refuses (e.g. charge_disputed): the refund is FAILED with Stripe's code and
    the balance is free again."""
    world.model.inject_fault(Fault.REJECT, code="charge_disputed")
    quote = world.service.quote(ORDER, OWNER, _usd("10.00"))

    with pytest.raises(GatewayRejected) as info:
        world.service.process(quote, OWNER)

    assert info.value.gateway_code == "charge_disputed"
    order = world.orders.get(ORDER)
    assert info.value.refund_id is not None
    assert order.refund(info.value.refund_id).status is RefundStatus.FAILED
    assert order.status is OrderStatus.PAID
    assert world.service.eligibility(ORDER, OWNER).refundable == _usd("95.80")


def test_webhook_endpoint_status_codes(world: World) -> None:
    """P1, L5: bad signatures are 400; every outcome is 2xx; a gateway outage while applying a
    payment event is 5xx so that Stripe redelivers, and the redelivery then succeeds."""
    quote = world.service.quote(ORDER, OWNER, _usd("5.00"))
    world.service.process(quote, OWNER)
    events = world.model.events_since(world.delivered)
    charge_refunded = next(e for e in events if e["type"] == "charge.refunded")
    body = dumps_stripe_json(charge_refunded).encode("utf-8")

    def signed(secret: str = WEBHOOK_SECRET) -> str:
        return str(
            stripe.WebhookSignature.generate_signature_header(
                body.decode("utf-8"), secret, int(world.clock.now().timestamp())
            )
        )

    assert world.webhook(body, None) == (400, "invalid_signature")
    assert world.webhook(body, signed("whsec_wrong")) == (400, "invalid_signature")
    world.model.inject_fault(Fault.SERVER_ERROR, operation="retrieve_payment_intent")
    assert world.webhook(body, signed()) == (503, "retry later")
    status, result = world.webhook(body, signed())
    assert status == 200
    assert result in {r.value for r in EventEffect}
    assert world.webhook(body, signed()) == (200, "duplicate")


def test_every_event_outcome_is_a_success_for_the_endpoint(world: World) -> None:
    """L5: unknown orders and ignored types are answered 2xx, never raised."""
    other = FakeStripe()
    pi = other.create_payment(1000, "usd", stripe_fee=59)
    other.create_refund({"payment_intent": pi["id"], "amount": 100}, idempotency_key="x")
    results = []
    for event in other.events():
        body = dumps_stripe_json(event).encode("utf-8")
        header = stripe.WebhookSignature.generate_signature_header(
            body.decode("utf-8"), WEBHOOK_SECRET, int(world.clock.now().timestamp())
        )
        results.append(world.webhook(body, header))
    assert results
    assert {status for status, _ in results} == {200}
    assert {text for _, text in results} <= {r.value for r in EventEffect}


@pytest.mark.parametrize(
    "body", ["[]", "null", "1", '{"object": "list", "data": [], "has_more": true}']
)
@pytest.mark.parametrize("stripe_acted", [True, False], ids=["created", "not created"])
def test_an_unreadable_create_answer_is_an_unknown_outcome_that_sync_resolves(
    world: World, body: str, stripe_acted: bool
) -> None:
    """L2 (issue 9 item 2): whatever shape Stripe's answer to the create has, process raises
    GatewayUnavailable (never AttributeError), the refund stays SUBMITTING with its amount
    reserved and an "outcome unknown" entry; sync then ends with exactly one refund at Stripe,
    whether Stripe had made it or not."""
    world.transport.inject_http_response(
        200, body, operation="POST /v1/refunds", after_model=stripe_acted
    )
    quote = world.service.quote(ORDER, OWNER, _usd("20.00"))

    with pytest.raises(GatewayUnavailable) as info:
        world.service.process(quote, OWNER)

    refund_id = info.value.refund_id
    assert refund_id is not None
    order = world.orders.get(ORDER)
    assert order.refund(refund_id).status is RefundStatus.SUBMITTING
    assert world.service.eligibility(ORDER, OWNER).refundable == _usd("75.80")
    assert any(
        e.kind is ActivityKind.REFUND_OUTCOME_UNKNOWN and e.refund_id == refund_id
        for e in order.activity
    )
    assert len(world.model.refunds_of(world.payment_intent)) == (1 if stripe_acted else 0)

    synced = world.service.sync(ORDER)

    (at_stripe,) = world.model.refunds_of(world.payment_intent)
    assert synced.refund(refund_id).gateway_refund_id == at_stripe["id"]
    assert synced.refund(refund_id).status is RefundStatus.PENDING
    assert at_stripe["amount"] == 2000


def test_no_secret_echoed_by_stripe_reaches_the_services_traceback(world: World) -> None:
    """P3 (issue 9 item 3): Stripe's refusal echoing an API key and a webhook secret becomes a
    GatewayRejected from RefundService.process whose whole formatted traceback (every chained
    error included) holds neither."""
    key = "sk_live_51KanorioEchoedThroughTheService000000000000"
    echoed = f"No such thing: {key} / {WEBHOOK_SECRET}"
    error = {"type": "invalid_request_error", "code": "parameter_invalid", "message": echoed}
    world.transport.inject_http_response(400, {"error": error}, operation="POST /v1/refunds")
    quote = world.service.quote(ORDER, OWNER, _usd("10.00"))

    with pytest.raises(RefundError) as info:
        world.service.process(quote, OWNER)

    assert isinstance(info.value, GatewayRejected)
    text = "".join(traceback.format_exception(info.value)) + repr(info.value)
    assert key not in text
    assert WEBHOOK_SECRET not in text
    assert "[redacted]" in text
    assert not any(isinstance(e, stripe.StripeError) for e in _chain(info.value))


def _chain(error: BaseException | None) -> list[BaseException]:
    found: list[BaseException] = []
    while error is not None and error not in found:
        found.append(error)
        error = error.__cause__ or error.__context__
    return found
