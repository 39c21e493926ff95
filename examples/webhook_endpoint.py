"""A framework-free webhook endpoint: raw body + Stripe-Signature → verify → apply_event.

Any web framework's handler reduces to ``handle_webhook``: pass it the *raw* request body bytes
and the ``Stripe-Signature`` header, answer with the status it returns. See
docs/integration.md for Flask, FastAPI and Django wiring.

    python examples/webhook_endpoint.py     # signs a sample event and handles it
"""

from __future__ import annotations

import json

from kanorio_refunds import RefundService
from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.memory import InMemoryOrderRepository, InMemoryProcessedEvents
from kanorio_refunds.adapters.stripe import StripeWebhookVerifier
from kanorio_refunds.errors import GatewayUnavailable, InvalidEvent, InvalidSignature
from kanorio_refunds.testing.fake_stripe import FakeStripe, FakeStripeGateway


def handle_webhook(
    service: RefundService, verifier: StripeWebhookVerifier, body: bytes, signature: str | None
) -> tuple[int, str]:
    """The HTTP status and text to answer Stripe with."""
    try:
        event = verifier.verify(body, signature)
    except (InvalidSignature, InvalidEvent) as e:
        return 400, e.code  # not from Stripe (or not an event): never retried usefully
    try:
        outcome = service.apply_event(event)
    except GatewayUnavailable:
        return 503, "try again"  # Stripe redelivers; applying is idempotent
    # Every outcome (applied, duplicate, stale, ignored, unknown order) is a success for Stripe.
    return 200, outcome.effect.value


def main() -> None:
    """Sign one sample event with Stripe's own helper and run it through the endpoint."""
    import stripe

    secret = "whsec_example_only"
    service = RefundService(
        orders=InMemoryOrderRepository(),
        gateway=FakeStripeGateway(FakeStripe()),
        clock=ManualClock(),
        processed_events=InMemoryProcessedEvents(),
    )
    verifier = StripeWebhookVerifier(secret)
    body = json.dumps(
        {
            "id": "evt_1",
            "object": "event",
            "type": "customer.created",
            "created": 1_700_000_000,
            "data": {"object": {"id": "cus_1", "object": "customer"}},
        }
    )
    good = stripe.WebhookSignature.generate_signature_header(body, secret)
    print(handle_webhook(service, verifier, body.encode(), good))
    print(handle_webhook(service, verifier, body.encode(), "t=1,v1=forged"))


if __name__ == "__main__":
    main()
