"""When Stripe does not answer or refuses: what the pages say, and that a refund is still
made at most once (L1–L3)."""

from __future__ import annotations

import re

from kanorio_refunds.testing.fake_stripe import Fault, sign_webhook
from tests.backend.conftest import WEBHOOK_SECRET, Browser, Shop, has_test_id, text_of


def _confirmed(browser: Browser, amount: str = "20.00") -> str:
    browser.get("/orders/1001/refund")
    page = browser.post("/orders/1001/refund", {"action": "confirm", "amount": amount})
    found = re.search(r'name="quote" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


def test_a_lost_answer_is_said_and_processing_again_makes_no_second_refund(shop: Shop) -> None:
    """L2, L6: Stripe made the refund but its answer was lost: the page says the outcome is
    unknown and not to refund again; the order page's live read finds the refund at Stripe (by
    its metadata) and records it; the same confirmation again returns that refund: still one
    Stripe refund."""
    browser = shop.browser("olivia")
    quote = _confirmed(browser)
    shop.stripe.inject_fault(Fault.TIMEOUT_AFTER_CREATE)
    assert browser.post("/orders/1001/refund/process", {"quote": quote}).status_code == 303
    page = browser.get("/orders/1001")
    assert "outcome is unknown" in text_of(page, "flash")
    made = shop.stripe_refunds("1001")
    assert len(made) == 1
    assert "Succeeded" in text_of(page, "refund-status")
    assert made[0]["id"] in text_of(page, "refund-stripe-id")
    assert text_of(page, "refundable-balance") == "$100.00"
    assert browser.post("/orders/1001/refund/process", {"quote": quote}).status_code == 303
    page = browser.get("/orders/1001")
    assert "Succeeded" in text_of(page, "flash")
    assert len(shop.stripe_refunds("1001")) == 1


def test_a_refusal_by_stripe_is_said_and_recorded_as_failed(shop: Shop) -> None:
    """L3: Stripe refused the refund: the page says why; the refund is Failed, its amount back
    in the balance."""
    browser = shop.browser("olivia")
    quote = _confirmed(browser)
    shop.stripe.inject_fault(Fault.REJECT, code="charge_disputed")
    assert browser.post("/orders/1001/refund/process", {"quote": quote}).status_code == 303
    page = browser.get("/orders/1001")
    flash = text_of(page, "flash")
    assert flash.startswith("Stripe refused the refund of $20.00: ")  # said once, localised
    assert flash.count("Stripe refused") == 1
    assert "charge_disputed" in flash
    assert ".." not in flash
    assert "Failed" in text_of(page, "refund-status")
    assert text_of(page, "refundable-balance") == "$120.00"
    assert shop.stripe_refunds("1001") == []


def test_order_page_shows_stored_data_when_stripe_does_not_answer(shop: Shop) -> None:
    """B4: the live read failed: the stored order, with a warning saying so."""
    shop.stripe.inject_fault(Fault.CONNECTION_ERROR, operation="retrieve_payment_intent")
    page = shop.browser("olivia").get("/orders/1001")
    assert page.status_code == 200
    assert "Stripe did not answer" in text_of(page, "stale-warning")
    assert text_of(page, "refundable-balance") == "$120.00"


def test_confirm_says_so_when_stripe_does_not_answer(shop: Shop) -> None:
    """B4: a quote needs live data; without it the form says so, nothing is refunded."""
    browser = shop.browser("olivia")
    browser.get("/orders/1001/refund")
    shop.stripe.inject_fault(Fault.CONNECTION_ERROR, operation="retrieve_payment_intent")
    page = browser.post("/orders/1001/refund", {"action": "confirm", "amount": "5.00"})
    assert page.status_code == 422
    assert 'id="form-error"' in page.text
    assert 'data-code="gateway_unavailable"' in page.text
    assert not has_test_id(page, "confirm-amount")


def test_webhook_answers_503_when_stripe_cannot_be_read_and_applies_on_redelivery(
    shop: Shop,
) -> None:
    """A charge event makes the service read Stripe; if that fails, 503: Stripe delivers it
    again, and then it applies."""
    pi = shop.payment_of("1001")
    shop.stripe.open_dispute(pi)
    event = shop.stripe.events_since(shop.delivered)[0]
    signed = sign_webhook(event, WEBHOOK_SECRET, timestamp=shop.clock.now())
    client = shop.app.test_client()
    shop.stripe.inject_fault(Fault.CONNECTION_ERROR, operation="retrieve_payment_intent")
    first = client.post("/stripe/webhook", data=signed.payload, headers=signed.headers)
    assert first.status_code == 503
    again = client.post("/stripe/webhook", data=signed.payload, headers=signed.headers)
    assert again.status_code == 200
    page = shop.browser("olivia").get("/orders/1001")
    assert 'data-code="payment_disputed"' in page.text
    assert "Initiate Refund</a>" not in page.text


def test_a_refused_refund_confirmed_again_is_said_to_be_refused(shop: Shop) -> None:
    """L3, F2: the same confirmation again after Stripe refused it returns that refusal, not
    "submitted to Stripe"; still nothing at Stripe."""
    browser = shop.browser("olivia")
    quote = _confirmed(browser)
    shop.stripe.inject_fault(Fault.REJECT, code="charge_disputed")
    browser.post("/orders/1001/refund/process", {"quote": quote})
    browser.get("/orders/1001")
    assert browser.post("/orders/1001/refund/process", {"quote": quote}).status_code == 303
    flash = text_of(browser.get("/orders/1001"), "flash")
    assert "submitted to Stripe" not in flash
    assert flash.startswith("Stripe refused this refund of $20.00: ")
    assert "charge_disputed" in flash
    assert shop.stripe_refunds("1001") == []


def test_process_when_stripe_cannot_be_read_says_nothing_was_sent(shop: Shop) -> None:
    """L1, L2: Stripe could not be read before the refund was written: nothing is recorded or
    sent, and the page must not say "the refund is recorded ... do not refund again"; the same
    confirmation later makes the one refund."""
    browser = shop.browser("olivia")
    quote = _confirmed(browser)
    shop.stripe.inject_fault(Fault.CONNECTION_ERROR, operation="retrieve_payment_intent")
    assert browser.post("/orders/1001/refund/process", {"quote": quote}).status_code == 303
    page = browser.get("/orders/1001")
    flash = text_of(page, "flash")
    assert "nothing was sent" in flash
    assert "Do not refund again" not in flash
    assert not has_test_id(page, "refund-record")
    assert shop.stripe_refunds("1001") == []
    assert browser.post("/orders/1001/refund/process", {"quote": quote}).status_code == 303
    assert [r["amount"] for r in shop.stripe_refunds("1001")] == [2000]


def test_the_form_says_so_when_its_balance_is_the_stored_one(shop: Shop) -> None:
    """B4: Stripe did not answer when the form opened: its refundable balance is the stored
    one, and the form says so as the order page does."""
    shop.stripe.inject_fault(Fault.CONNECTION_ERROR, operation="retrieve_payment_intent")
    page = shop.browser("olivia").get("/orders/1001/refund")
    assert page.status_code == 200
    assert "Stripe did not answer" in text_of(page, "stale-warning")
