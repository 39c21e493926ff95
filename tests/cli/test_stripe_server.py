"""``kanorio-refunds fake-stripe serve``: the simulator in its own process, used from this one
through the real ``stripe`` SDK and ``StripeGateway``, its state and faults driven over HTTP."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from kanorio_refunds.domain import Money, OrderId, RefundId, RefundReason
from kanorio_refunds.domain._payment import RefundRequest, idempotency_key_for, refund_metadata
from kanorio_refunds.errors import GatewayRejected, GatewayUnavailable
from kanorio_refunds.testing.fake_stripe import FakeStripe
from kanorio_refunds.testing.stripe_server import (
    LoopbackStripe,
    loopback_gateway,
    require_loopback_host,
    require_loopback_url,
)
from tests.cli.support import served_simulator, sim, sim_error


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with served_simulator() as served:
        yield served


def _request(pi: str, amount: str, refund_id: str) -> RefundRequest:
    return RefundRequest(
        payment_intent_id=pi,
        charge_id=None,
        amount=Money.parse(amount, "USD"),
        reason=RefundReason.CUSTOMER_REQUEST,
        idempotency_key=idempotency_key_for(RefundId(refund_id)),
        metadata=refund_metadata(
            OrderId("order-1"), RefundId(refund_id), RefundReason.CUSTOMER_REQUEST, ""
        ),
    )


def test_the_served_simulator_answers_the_real_sdk_from_another_process(url: str) -> None:
    """L1: a payment made over /_sim/, read and refunded through StripeGateway and the stripe
    SDK; the same idempotency key again replays the one refund; events are listed."""
    gateway = loopback_gateway(url)
    intent = sim(
        url, "POST", "/_sim/payments", {"amount": 12000, "currency": "usd", "stripe_fee": 378}
    )
    live = gateway.fetch_payment(intent["id"], None)
    assert live.record.captured == Money.parse("120.00", "USD")
    before = sim(url, "GET", "/_sim/events")["count"]
    first = gateway.create_refund(_request(intent["id"], "40.00", "rf-1"))
    again = gateway.create_refund(_request(intent["id"], "40.00", "rf-1"))
    assert first.id == again.id
    refunds = sim(url, "GET", f"/_sim/payments/{intent['id']}/refunds")["data"]
    assert [r["amount"] for r in refunds] == [4000]
    events = sim(url, "GET", f"/_sim/events?after={before}")["data"]
    assert "refund.created" in [e["type"] for e in events]


def test_faults_and_refund_statuses_are_driven_over_http(url: str) -> None:
    """L2, L3: an injected 500 is an unknown outcome, a rejection is definitive; a pending
    refund is moved to succeeded over /_sim/."""
    gateway = loopback_gateway(url)
    intent = sim(url, "POST", "/_sim/payments", {"amount": 5000, "currency": "usd"})
    sim(url, "POST", "/_sim/faults", {"fault": "server_error"})
    with pytest.raises(GatewayUnavailable):
        gateway.create_refund(_request(intent["id"], "10.00", "rf-2"))
    sim(url, "POST", "/_sim/faults", {"fault": "reject", "code": "charge_disputed"})
    with pytest.raises(GatewayRejected) as rejected:
        gateway.create_refund(_request(intent["id"], "10.00", "rf-3"))
    assert rejected.value.gateway_code == "charge_disputed"
    sim(url, "POST", "/_sim/default-refund-status", {"status": "pending"})
    try:
        made = gateway.create_refund(_request(intent["id"], "10.00", "rf-4"))
    finally:
        sim(url, "POST", "/_sim/default-refund-status", {"status": "succeeded"})
    moved = sim(url, "POST", f"/_sim/refunds/{made.id}/status", {"status": "succeeded"})
    assert moved["status"] == "succeeded"


def test_rate_limit_clock_and_bad_control_requests(url: str) -> None:
    """Every n-th API request answered 429 before the model; the clock moves forward only;
    a malformed control request is a 400, an unknown one a 404."""
    gateway = loopback_gateway(url)
    intent = sim(url, "POST", "/_sim/payments", {"amount": 5000, "currency": "usd"})
    sim(url, "POST", "/_sim/rate-limit", {"every": 1})
    try:
        with pytest.raises(GatewayUnavailable, match="rate"):
            gateway.fetch_payment(intent["id"], None)
    finally:
        sim(url, "POST", "/_sim/rate-limit", {"every": None})
    assert sim(url, "GET", "/_sim/stats")["rate_limited"] >= 1
    assert sim(url, "POST", "/_sim/clock/advance", {"seconds": 3600})["now"]
    assert sim_error(url, "POST", "/_sim/clock/advance", {"seconds": -1}) == 400
    assert sim_error(url, "POST", "/_sim/payments", {"amount": "12"}) == 400
    assert sim_error(url, "POST", "/_sim/faults", {"fault": "meteor"}) == 400
    assert sim_error(url, "GET", "/_sim/nothing") == 404


def test_only_loopback_is_served_or_called() -> None:
    """Only 127.x addresses: the server refuses to bind anything else, clients to call it."""
    for host in ("0.0.0.0", "192.168.1.10", "example.com", "::1"):
        with pytest.raises(ValueError, match="loopback only"):
            require_loopback_host(host)
        with pytest.raises(ValueError, match="loopback only"):
            LoopbackStripe(FakeStripe(), host=host)
    with pytest.raises(ValueError, match="loopback only"):
        require_loopback_url("https://api.stripe.com")
    assert require_loopback_url("http://localhost:1234/") == "http://127.0.0.1:1234"
    done = subprocess.run(
        [sys.executable, "-m", "kanorio_refunds.cli", "fake-stripe", "serve", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "error [invalid_input]: --host: loopback only" in done.stderr
    assert "Traceback" not in done.stderr
