"""Helpers for the Stripe adapter tests: a ``StripeGateway`` on the real SDK over the fake HTTP
transport, a paid order in the model, a refund request for it, and secrets to echo."""

from __future__ import annotations

import traceback
from typing import Any

import stripe

from kanorio_refunds.adapters.stripe import StripeGateway
from kanorio_refunds.domain._ids import PaymentIntentId, RefundId
from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._order import Order
from kanorio_refunds.domain._payment import RefundRequest, idempotency_key_for, refund_metadata
from kanorio_refunds.domain._refund import RefundReason
from kanorio_refunds.testing.fake_stripe import FakeStripe, stripe_paid_order
from kanorio_refunds.testing.stripe_http import FakeStripeHTTPClient, transport_of

#: The secrets that must never show (P3): a live-looking API key and a webhook signing secret.
API_KEY = "sk_live_51KanorioEchoedKeyThatMustNeverBeShown0123456789"
WEBHOOK_SECRET = "whsec_kanorioEchoedWebhookSecret0123456789abcdef"
SECRETS = (API_KEY, WEBHOOK_SECRET)

#: The operations the gateway sends, by the transport's names.
RETRIEVE_INTENT = "GET /v1/payment_intents/{intent}"
RETRIEVE_CHARGE = "GET /v1/charges/{charge}"
LIST_REFUNDS = "GET /v1/refunds"
LIST_DISPUTES = "GET /v1/disputes"
CREATE_REFUND = "POST /v1/refunds"


def gateway(
    model: FakeStripe,
    transports: list[FakeStripeHTTPClient],
    *,
    api_key: str = API_KEY,
    http_client: FakeStripeHTTPClient | None = None,
    **options: Any,
) -> tuple[StripeGateway, FakeStripeHTTPClient]:
    """A gateway whose client holds ``api_key`` (the transport never checks it) and talks to
    ``model`` through ``http_client`` (default: a new ``FakeStripeHTTPClient``)."""
    transport = http_client if http_client is not None else FakeStripeHTTPClient(model)
    client = stripe.StripeClient(api_key, http_client=transport, max_network_retries=0)
    transports.append(transport_of(client))
    return StripeGateway(client=client, **options), transport


def paid_order(model: FakeStripe, *, disputed: bool = False, refunds: int = 0) -> Order:
    """A paid 100.00 USD order; with ``disputed``, its charge has a (won) dispute, so a read
    of it lists disputes too; with ``refunds``, that many refunds of 0.01 at Stripe (more than
    10, and a read lists refunds beyond the 10 that come expanded with the charge)."""
    order = stripe_paid_order(
        model,
        order_id="ord_1",
        site_id="shop-1",
        total=Money.parse("100.00", "USD"),
        stripe_fee=Money.parse("3.20", "USD"),
    )
    if disputed:
        model.open_dispute(intent_of(order))
        model.close_dispute(intent_of(order), "won")
    for i in range(refunds):
        model.create_refund(
            {"payment_intent": intent_of(order), "amount": 1}, idempotency_key=f"world-{i}"
        )
    return order


def intent_of(order: Order) -> PaymentIntentId:
    assert order.payment is not None
    assert order.payment.payment_intent_id is not None
    return order.payment.payment_intent_id


def request_for(order: Order, amount: str = "10.00", refund_id: str = "rf_1") -> RefundRequest:
    assert order.payment is not None
    rid = RefundId(refund_id)
    reason = RefundReason.CUSTOMER_REQUEST
    return RefundRequest(
        payment_intent_id=order.payment.payment_intent_id,
        charge_id=order.payment.charge_id,
        amount=Money.parse(amount, "USD"),
        reason=reason,
        idempotency_key=idempotency_key_for(rid),
        metadata=refund_metadata(order.id, rid, reason, "notes"),
    )


def everything_about(error: BaseException) -> str:
    """All a log could show of ``error``: str, repr, attributes and the whole formatted
    traceback, chained exceptions included."""
    return "\n".join(
        [
            str(error),
            repr(error),
            repr(vars(error)),
            repr(error.args),
            *traceback.format_exception(error),
        ]
    )


def chain_of(error: BaseException) -> list[BaseException]:
    """``error`` and every exception reachable from it by ``__cause__`` or ``__context__``."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        todo += [current.__cause__, current.__context__]
    return seen
