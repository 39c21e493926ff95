"""The reference backend (examples/backend) under Flask's test client, on fakes: the Stripe
simulator in-process (``FakeStripeGateway``), the in-memory stores and a manual clock, seeded
with the same demo data ``serve.py`` seeds.

``Browser`` is a signed-in test client that remembers the CSRF token of the last page, as a
browser's forms do.
"""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from kanorio_refunds import OrderId, RefundService
from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.memory import InMemoryOrderRepository, InMemoryProcessedEvents
from kanorio_refunds.adapters.stripe import StripeWebhookVerifier
from kanorio_refunds.signed_quotes import QuoteSigner
from kanorio_refunds.testing.fake_stripe import FakeStripe, FakeStripeGateway, sign_webhook

BACKEND = Path(__file__).resolve().parents[2] / "examples" / "backend"
if str(BACKEND) not in sys.path:
    sys.path.insert(0, str(BACKEND))

from kanorio_backend import Backend, create_app  # noqa: E402
from kanorio_backend.seed import seed  # noqa: E402

WEBHOOK_SECRET = "whsec_test_backend_only"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Shop:
    """One seeded backend: the app, its service, the simulator behind it and the clock."""

    def __init__(self) -> None:
        self.clock = ManualClock(tick=timedelta(milliseconds=10))
        self.stripe = FakeStripe(clock=lambda: int(self.clock.now().timestamp()))
        orders = InMemoryOrderRepository()
        self.service = RefundService(
            orders=orders,
            gateway=FakeStripeGateway(self.stripe),
            clock=self.clock,
            processed_events=InMemoryProcessedEvents(),
        )
        seed(self.stripe, self.service)
        self.app: Flask = create_app(
            Backend(
                service=self.service,
                verifier=StripeWebhookVerifier(WEBHOOK_SECRET, clock=self.clock),
                signer=QuoteSigner("s" * 32, clock=self.clock),
            )
        )
        self.delivered = 0
        self.deliver_webhooks()

    def deliver_webhooks(self) -> list[int]:
        """POST the simulator's new events, signed, to the app's webhook endpoint, as
        ``serve.py``'s forwarder does; the HTTP statuses it answered."""
        client = self.app.test_client()
        statuses = []
        for event in self.stripe.events_since(self.delivered):
            signed = sign_webhook(event, WEBHOOK_SECRET, timestamp=self.clock.now())
            answer = client.post("/stripe/webhook", data=signed.payload, headers=signed.headers)
            statuses.append(answer.status_code)
            self.delivered += 1
        return statuses

    def payment_of(self, order_id: str) -> str:
        """The PaymentIntent id of a seeded order."""
        payment = self.service.orders.get(OrderId(order_id)).payment
        assert payment is not None
        assert payment.payment_intent_id is not None
        return str(payment.payment_intent_id)

    def stripe_refunds(self, order_id: str) -> list[dict[str, Any]]:
        """The refunds Stripe holds for the order's payment."""
        return self.stripe.refunds_of(self.payment_of(order_id))

    def browser(self, user: str | None = None) -> Browser:
        """A new browser, signed in as ``user`` (a demo user's key) unless None."""
        browser = Browser(self.app.test_client())
        if user is not None:
            browser.sign_in(user)
        return browser


class Browser:
    """A test client that keeps the CSRF token of the last page it read."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.csrf = ""

    def get(self, path: str) -> TestResponse:
        response = self.client.get(path)
        self._remember(response)
        return response

    def post(self, path: str, data: dict[str, str], *, csrf: bool = True) -> TestResponse:
        form = {"csrf_token": self.csrf, **data} if csrf else data
        response = self.client.post(path, data=form)
        self._remember(response)
        return response

    def sign_in(self, user: str) -> TestResponse:
        self.get("/signin")
        response = self.post("/signin", {"user": user})
        assert response.status_code == 303, response.text
        return response

    def _remember(self, response: TestResponse) -> None:
        found = _CSRF.search(response.get_data(as_text=True))
        if found:
            self.csrf = found.group(1)


@pytest.fixture
def shop() -> Shop:
    return Shop()


def text_of(response: TestResponse, test_id: str) -> str:
    """The text inside the first element with that ``data-testid`` (tags removed, spaces
    collapsed)."""
    html = response.get_data(as_text=True)
    start = html.find(f'data-testid="{test_id}"')
    assert start >= 0, f"no {test_id} on the page"
    start = html.index(">", start) + 1
    depth, i = 1, start
    for match in re.finditer(r"<(/?)([a-z0-9]+)[^>]*?(/?)>", html[start:]):
        if match.group(2) in ("input", "br", "meta", "link", "img"):
            continue
        depth += -1 if match.group(1) else (0 if match.group(3) else 1)
        if depth == 0:
            i = start + match.start()
            break
    inner = re.sub(r"<[^>]+>", " ", html[start:i])
    return re.sub(r"\s+", " ", inner.replace("&#39;", "'").replace("&amp;", "&")).strip()


def has_test_id(response: TestResponse, test_id: str) -> bool:
    return f'data-testid="{test_id}"' in response.get_data(as_text=True)
