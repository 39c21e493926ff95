"""I1, I2: Stripe's PaymentIntent and Charge statuses read as payment states, payment events
routed, and the simulator's gateway registering a real (simulated) payment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kanorio_refunds import RefundService
from kanorio_refunds.adapters._stripe_json import (
    event_kind,
    parse_event,
    payment_state,
    unsettled_payment,
)
from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.memory import InMemoryOrderRepository
from kanorio_refunds.domain import EventKind, Money, OrderId, OrderStatus, PaymentState, SiteId
from kanorio_refunds.errors import GatewayProtocolError
from kanorio_refunds.testing.fake_stripe import FakeStripe, FakeStripeGateway


def _intent(status: str, *, error: bool = False, charge: Any = None) -> dict[str, Any]:
    return {
        "id": "pi_1",
        "object": "payment_intent",
        "status": status,
        "amount": 1250,
        "currency": "usd",
        "last_payment_error": {"code": "card_declined"} if error else None,
        "latest_charge": charge,
    }


@pytest.mark.parametrize(
    ("status", "error", "state"),
    [
        ("requires_payment_method", False, PaymentState.PENDING),
        ("requires_payment_method", True, PaymentState.FAILED),
        ("requires_confirmation", False, PaymentState.PENDING),
        ("requires_action", False, PaymentState.PENDING),
        ("processing", False, PaymentState.PENDING),
        ("requires_capture", False, PaymentState.PENDING),
        ("succeeded", False, PaymentState.PAID),
        ("canceled", False, PaymentState.EXPIRED),
        ("canceled", True, PaymentState.EXPIRED),
    ],
)
def test_payment_intent_statuses(status: str, error: bool, state: PaymentState) -> None:
    """I1, I2: each PaymentIntent status of API 2023-08-16 as a payment state (docs/rules.md)."""
    assert payment_state(_intent(status, error=error), None) is state


@pytest.mark.parametrize(
    ("status", "captured", "state"),
    [
        ("pending", False, PaymentState.PENDING),
        ("succeeded", True, PaymentState.PAID),
        ("succeeded", False, PaymentState.PENDING),
        ("failed", False, PaymentState.FAILED),
    ],
)
def test_charge_statuses(status: str, captured: bool, state: PaymentState) -> None:
    """I1, I2: a charge-only payment's state from the Charge's status and capture."""
    charge = {"id": "ch_1", "object": "charge", "status": status, "captured": captured}
    assert payment_state(None, charge) is state


def test_an_unknown_status_is_a_protocol_error() -> None:
    """I1: nothing is assumed about a status this API version does not know."""
    with pytest.raises(GatewayProtocolError, match="unknown status"):
        payment_state(_intent("requires_magic"), None)


def test_a_payment_without_a_capture_is_read_with_zero_amounts() -> None:
    """I1: a pending PaymentIntent has no charge yet: its record is zero, its amount known."""
    live = unsettled_payment(_intent("requires_payment_method"), None)
    assert live is not None
    assert live.state is PaymentState.PENDING
    assert live.payment_amount == Money.parse("12.50", "USD")
    assert live.record.captured.is_zero()
    assert live.record.payment_intent_id == "pi_1"
    assert unsettled_payment(_intent("succeeded", charge="ch_1"), "ch_1") is None


@pytest.mark.parametrize(
    ("stripe_type", "kind"),
    [
        ("payment_intent.succeeded", EventKind.PAYMENT_SUCCEEDED),
        ("payment_intent.payment_failed", EventKind.PAYMENT_FAILED),
        ("payment_intent.canceled", EventKind.PAYMENT_CANCELED),
        ("charge.succeeded", EventKind.PAYMENT_SUCCEEDED),
        ("charge.failed", EventKind.PAYMENT_FAILED),
    ],
)
def test_payment_events_are_routed_to_their_payment(stripe_type: str, kind: EventKind) -> None:
    """I2: payment outcome events are kinds that make the service read the payment, and a
    payment_intent event names its PaymentIntent."""
    assert event_kind(stripe_type) is kind
    assert kind.changes_payment
    if stripe_type.startswith("payment_intent."):
        event = parse_event(
            {
                "id": "evt_1",
                "object": "event",
                "type": stripe_type,
                "created": 1_700_000_000,
                "data": {"object": _intent("succeeded")},
            }
        )
        assert event.kind is kind
        assert event.payment_intent_id == "pi_1"


def test_the_simulators_gateway_registers_a_paid_order() -> None:
    """I1: intake over the simulator: the order is PAID with Stripe's record and amount."""
    stripe = FakeStripe()
    intent = stripe.create_payment(5000, "usd", stripe_fee=175)
    service = RefundService(
        InMemoryOrderRepository(),
        FakeStripeGateway(stripe),
        ManualClock(datetime(2026, 11, 26, tzinfo=UTC)),
    )
    order = service.register_order(OrderId("o1"), SiteId("shop"), payment_intent_id=intent["id"])
    assert order.status is OrderStatus.PAID
    assert order.total == Money.parse("50.00", "USD")
    assert order.payment is not None
    assert order.payment.stripe_fee == Money.parse("1.75", "USD")
