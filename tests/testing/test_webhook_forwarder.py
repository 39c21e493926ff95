"""``WebhookForwarder``: the simulator's events, signed, POSTed in order to a webhook endpoint
on loopback (``stripe listen --forward-to``), redelivered while the endpoint cannot take them
(L5: deliveries are at least once, in order)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.stripe import StripeWebhookVerifier
from kanorio_refunds.errors import RefundError
from kanorio_refunds.testing.fake_stripe import FakeStripe
from kanorio_refunds.testing.stripe_server import (
    LoopbackStripe,
    WebhookForwarder,
    require_loopback_endpoint,
)

SECRET = "whsec_forwarder_test"


class Endpoint:
    """A webhook endpoint on 127.0.0.1: verifies each delivery with the library's verifier,
    records the events it accepted, and answers the statuses it is told to (then 200)."""

    def __init__(self, verifier: StripeWebhookVerifier) -> None:
        self.verifier = verifier
        self.accepted: list[str] = []
        self.refused: list[str] = []
        self.answers: list[int] = []
        self.paths: list[str] = []
        self.gets: list[str] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.paths.append(self.path)
                status = endpoint.answers.pop(0) if endpoint.answers else 200
                try:
                    event = endpoint.verifier.verify(body, self.headers.get("Stripe-Signature"))
                except RefundError as e:
                    endpoint.refused.append(e.code)
                    status = 400
                else:
                    if status == 200:
                        endpoint.accepted.append(event.id)
                self.send_response(status)
                if 300 <= status < 400:  # as a sign-in wall in front of the endpoint answers
                    self.send_header("Location", "/signin")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:  # the page a redirect points at: always 200
                endpoint.gets.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/stripe/webhook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stripe() -> Iterator[tuple[FakeStripe, LoopbackStripe]]:
    model = FakeStripe()
    with LoopbackStripe(model) as server:
        yield model, server


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    made = Endpoint(StripeWebhookVerifier(SECRET))
    yield made
    made.close()


def _events(model: FakeStripe, disputes: int = 2) -> list[str]:
    """Some events at the simulator (a dispute opened and closed per payment); their ids."""
    for _ in range(disputes):
        intent = model.create_payment(5000, "usd", stripe_fee=0)
        model.open_dispute(str(intent["id"]))
        model.close_dispute(str(intent["id"]), "won")
    ids = [str(e["id"]) for e in model.events()]
    assert ids, "the simulator emitted no events to forward"
    return ids


def test_forwards_every_event_in_order_signed_as_stripe_signs(
    stripe: tuple[FakeStripe, LoopbackStripe], endpoint: Endpoint
) -> None:
    """P1: the endpoint's own verifier accepts every delivery; order kept; nothing twice."""
    model, server = stripe
    ids = _events(model)
    forwarder = WebhookForwarder(server.url, endpoint.url, SECRET)
    attempts = forwarder.forward_pending()
    assert [a.event_id for a in attempts] == ids
    assert all(a.accepted and a.done for a in attempts)
    assert endpoint.accepted == ids
    assert set(endpoint.paths) == {"/stripe/webhook"}
    assert forwarder.delivered == len(ids)
    assert forwarder.forward_pending() == []  # nothing new: nothing sent again
    assert endpoint.accepted == ids


def test_an_endpoint_that_cannot_take_an_event_gets_it_again_in_order(
    stripe: tuple[FakeStripe, LoopbackStripe], endpoint: Endpoint
) -> None:
    """L5: a 503 stops the pass at that event; the next pass starts with it, like Stripe's
    redelivery; no event is skipped or reordered."""
    model, server = stripe
    ids = _events(model)
    endpoint.answers = [200, 503]
    forwarder = WebhookForwarder(server.url, endpoint.url, SECRET)
    first = forwarder.forward_pending()
    assert [(a.event_id, a.status, a.done) for a in first] == [
        (ids[0], 200, True),
        (ids[1], 503, False),
    ]
    assert forwarder.delivered == 1
    forwarder.forward_pending()
    assert endpoint.accepted == ids
    assert [d.event_id for d in forwarder.deliveries] == [ids[0], ids[1], *ids[1:]]


def test_an_event_refused_for_good_is_skipped(
    stripe: tuple[FakeStripe, LoopbackStripe], endpoint: Endpoint
) -> None:
    """A 4xx does not get better by redelivery (a bad signature, a body the endpoint cannot
    read): recorded, then the next events go on."""
    model, server = stripe
    ids = _events(model)
    forwarder = WebhookForwarder(server.url, endpoint.url, "whsec_another_endpoints")
    attempts = forwarder.forward_pending()
    assert [(a.status, a.done, a.accepted) for a in attempts] == [(400, True, False)] * len(ids)
    assert endpoint.refused == ["invalid_signature"] * len(ids)
    assert endpoint.accepted == []
    assert forwarder.delivered == len(ids)


@pytest.mark.parametrize("redirect", [301, 302, 303, 307])
def test_a_redirect_is_never_followed_nor_counted_delivered(
    stripe: tuple[FakeStripe, LoopbackStripe], endpoint: Endpoint, redirect: int
) -> None:
    """L5: Stripe does not follow an endpoint's redirects; neither does the forwarder. Were
    the POST answered 302 turned into a GET of the sign-in page, its 200 would count the event
    as delivered while the endpoint never took it. A 3xx is refused, reported, then skipped."""
    model, server = stripe
    ids = _events(model, disputes=1)
    endpoint.answers = [redirect]
    attempts = WebhookForwarder(server.url, endpoint.url, SECRET).forward_pending()
    assert (attempts[0].status, attempts[0].accepted, attempts[0].done) == (redirect, False, True)
    assert endpoint.gets == []
    assert ids[0] not in endpoint.accepted
    assert endpoint.accepted == ids[1:]


def test_no_answer_leaves_the_event_pending(stripe: tuple[FakeStripe, LoopbackStripe]) -> None:
    model, server = stripe
    ids = _events(model, disputes=1)
    gone = Endpoint(StripeWebhookVerifier(SECRET))
    url = gone.url
    gone.close()  # nobody listens on that port any more
    forwarder = WebhookForwarder(server.url, url, SECRET, timeout=5)
    attempts = forwarder.forward_pending()
    assert [(a.event_id, a.status, a.done) for a in attempts] == [(ids[0], None, False)]
    assert attempts[0].error is not None
    assert forwarder.delivered == 0


def test_after_skips_the_first_events(
    stripe: tuple[FakeStripe, LoopbackStripe], endpoint: Endpoint
) -> None:
    model, server = stripe
    ids = _events(model)
    WebhookForwarder(server.url, endpoint.url, SECRET, after=2).forward_pending()
    assert endpoint.accepted == ids[2:]


def test_signatures_use_the_clock_given(
    stripe: tuple[FakeStripe, LoopbackStripe],
) -> None:
    """With the simulator's clock moved (``/_sim/clock/advance``), the endpoint's verifier on
    that clock must see signatures of that time: the forwarder signs on the clock it is given."""
    model, server = stripe
    ids = _events(model, disputes=1)
    later = ManualClock(datetime(2031, 1, 1, tzinfo=UTC))
    receiver = Endpoint(StripeWebhookVerifier(SECRET, clock=later))
    try:
        on_system_time = WebhookForwarder(server.url, receiver.url, SECRET)
        assert {a.status for a in on_system_time.forward_pending()} == {400}
        on_that_clock = WebhookForwarder(server.url, receiver.url, SECRET, clock=later.now)
        on_that_clock.forward_pending()
        assert receiver.accepted == ids
    finally:
        receiver.close()


def test_started_it_forwards_in_the_background_until_stopped(
    stripe: tuple[FakeStripe, LoopbackStripe], endpoint: Endpoint
) -> None:
    model, server = stripe
    ids = _events(model)
    arrived = threading.Event()
    seen: list[str] = []

    def on_delivery(delivery: Any) -> None:
        seen.append(delivery.event_id)
        if len(seen) == len(ids):
            arrived.set()

    with WebhookForwarder(
        server.url, endpoint.url, SECRET, interval=0.05, on_delivery=on_delivery
    ) as forwarder:
        assert arrived.wait(timeout=60), f"delivered only {seen}"
    assert endpoint.accepted == ids
    assert forwarder.delivered == len(ids)
    with pytest.raises(RuntimeError):
        forwarder.start()  # a forwarder runs once


@pytest.mark.parametrize(
    ("stripe_url", "forward_to"),
    [
        ("http://10.0.0.5:12112", "http://127.0.0.1:8000/stripe/webhook"),
        ("http://127.0.0.1:12112", "http://example.com:8000/stripe/webhook"),
        ("http://127.0.0.1:12112", "https://127.0.0.1:8000/stripe/webhook"),
        ("http://127.0.0.1:12112", "http://0.0.0.0:8000/stripe/webhook"),
        ("http://127.0.0.1:12112", "http://127.0.0.1/stripe/webhook"),
    ],
)
def test_loopback_only(stripe_url: str, forward_to: str) -> None:
    with pytest.raises(ValueError, match="loopback only"):
        WebhookForwarder(stripe_url, forward_to, SECRET)


def test_the_secret_is_checked_and_never_shown() -> None:
    with pytest.raises(ValueError, match="whsec_"):
        WebhookForwarder("http://127.0.0.1:1", "http://127.0.0.1:2/hook", "sk_test_123")
    forwarder = WebhookForwarder("http://127.0.0.1:1", "http://127.0.0.1:2/hook", SECRET)
    assert SECRET not in repr(forwarder)
    assert forwarder.forward_to == "http://127.0.0.1:2/hook"


def test_require_loopback_endpoint_keeps_the_path() -> None:
    assert require_loopback_endpoint("http://localhost:8000/a/b?x=1") == (
        "http://127.0.0.1:8000/a/b?x=1"
    )
    assert require_loopback_endpoint("http://127.0.0.1:8000") == "http://127.0.0.1:8000/"
