"""POST /stripe/webhook: signatures verified by the library, events applied idempotently (P1,
L5)."""

from __future__ import annotations

import json

from kanorio_refunds.testing.fake_stripe import Fault, sign_webhook
from tests.backend.conftest import WEBHOOK_SECRET, Shop, text_of


def _refund_made(shop: Shop, amount: str = "20.00") -> str:
    """A refund of #1001 made through the pages; its Stripe id."""
    browser = shop.browser("olivia")
    browser.get("/orders/1001/refund")
    page = browser.post("/orders/1001/refund", {"action": "confirm", "amount": amount})
    quote = page.text.split('name="quote" value="')[1].split('"')[0]
    assert browser.post("/orders/1001/refund/process", {"quote": quote}).status_code == 303
    return str(shop.stripe_refunds("1001")[0]["id"])


def test_a_signed_event_is_applied_and_a_redelivery_is_a_duplicate(shop: Shop) -> None:
    """L5: a late failure arrives as a signed webhook: 200, the refund Failed, the order back
    to Paid, the event in the refund's timeline; the same delivery again: 200, duplicate."""
    refund_id = _refund_made(shop)
    assert set(shop.deliver_webhooks()) == {200}
    shop.stripe.set_refund_status(refund_id, "failed", failure_reason="expired_or_canceled_card")
    events = shop.stripe.events_since(shop.delivered)
    assert events
    client = shop.app.test_client()
    signed = sign_webhook(events[0], WEBHOOK_SECRET, timestamp=shop.clock.now())
    first = client.post("/stripe/webhook", data=signed.payload, headers=signed.headers)
    again = client.post("/stripe/webhook", data=signed.payload, headers=signed.headers)
    assert first.status_code == again.status_code == 200
    assert first.get_json()["order_id"] == "1001"
    assert again.get_json()["result"] == "duplicate"
    order = shop.service.orders.get(shop.service.orders.get("1001").id)
    assert order.status.value == "paid"
    assert events[0]["id"] in [e.event_id for e in order.refunds[0].events]
    page = shop.browser("olivia").get("/orders/1001")
    assert "Failed" in text_of(page, "refund-status")
    assert "expired_or_canceled_card" in text_of(page, "refund-failure")


def test_a_wrong_signature_is_a_400_with_its_code(shop: Shop) -> None:
    """P1: signed with another secret, or not at all: refused, nothing applied."""
    refund_id = _refund_made(shop)
    shop.deliver_webhooks()
    shop.stripe.set_refund_status(refund_id, "failed", failure_reason="lost_or_stolen_card")
    event = shop.stripe.events_since(shop.delivered)[0]
    client = shop.app.test_client()
    forged = sign_webhook(event, "whsec_not_the_endpoints", timestamp=shop.clock.now())
    answers = [
        client.post("/stripe/webhook", data=forged.payload, headers=forged.headers),
        client.post("/stripe/webhook", data=forged.payload, headers={"Content-Type": "x"}),
    ]
    for answer in answers:
        assert answer.status_code == 400
        assert answer.get_json()["code"] == "invalid_signature"
    order = shop.service.orders.get(shop.service.orders.get("1001").id)
    assert order.refunds[0].status.value == "succeeded"


def test_a_signed_body_that_is_no_event_is_a_400(shop: Shop) -> None:
    """P1: a validly signed body that is no Stripe event is refused (400, with its code)."""
    signed = sign_webhook(b'{"not": "an event"}', WEBHOOK_SECRET, timestamp=shop.clock.now())
    answer = shop.app.test_client().post(
        "/stripe/webhook", data=signed.payload, headers=signed.headers
    )
    assert answer.status_code == 400
    assert answer.get_json()["code"] == "invalid_event"


def test_an_event_of_a_type_not_followed_is_a_200(shop: Shop) -> None:
    """L5: a signed event of a type the library does not follow is acknowledged, nothing changed."""
    body = json.dumps(
        {
            "id": "evt_1",
            "object": "event",
            "type": "customer.created",
            "created": 1,
            "data": {"object": {"id": "cus_1", "object": "customer"}},
        }
    )
    signed = sign_webhook(body, WEBHOOK_SECRET, timestamp=shop.clock.now())
    answer = shop.app.test_client().post(
        "/stripe/webhook", data=signed.payload, headers=signed.headers
    )
    assert answer.status_code == 200
    assert answer.get_json()["result"] == "ignored"


def test_the_webhook_needs_no_session_and_no_csrf_token(shop: Shop) -> None:
    """Stripe has neither: the signature is the proof (a signed-out client, no token)."""
    refund_id = _refund_made(shop)
    shop.deliver_webhooks()
    shop.stripe.set_refund_status(refund_id, "failed", failure_reason="unknown")
    assert set(shop.deliver_webhooks()) == {200}


def test_an_event_that_cannot_be_applied_is_a_500_in_json(shop: Shop) -> None:
    """L5: the event is verified but Stripe refuses the read it needs (not a retryable
    failure): the endpoint answers 500 with the error's code as JSON, not an HTML page, and
    applies the event when it comes again."""
    pi = shop.payment_of("1001")
    shop.stripe.open_dispute(pi)
    event = shop.stripe.events_since(shop.delivered)[0]
    signed = sign_webhook(event, WEBHOOK_SECRET, timestamp=shop.clock.now())
    client = shop.app.test_client()
    shop.stripe.inject_fault(
        Fault.REJECT, operation="retrieve_payment_intent", code="resource_missing"
    )
    first = client.post("/stripe/webhook", data=signed.payload, headers=signed.headers)
    assert first.status_code == 500
    assert first.is_json
    assert first.get_json()["code"] == "gateway_rejected"
    again = client.post("/stripe/webhook", data=signed.payload, headers=signed.headers)
    assert again.status_code == 200
    assert again.get_json()["result"] == "applied"
