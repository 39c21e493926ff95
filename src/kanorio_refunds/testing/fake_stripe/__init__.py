"""The Stripe simulator, for tests: an in-memory model of Stripe's refund API (2023-08-16).

``FakeStripe`` models payments, fees, exchange rates, Connect destination charges, idempotency
keys, asynchronous refund statuses (including late failures), disputes, events and injected
faults. Use it:

- in-process, through ``FakeStripeGateway`` (the ``PaymentGateway`` port over the model);
- through the real ``stripe`` SDK and ``StripeGateway``, with
  ``kanorio_refunds.testing.stripe_http`` (an HTTP transport that serves the model in-process).

``stripe_paid_order(stripe, ...)`` builds a PAID order whose payment exists in the model.

The model's events reach a ``RefundService`` with ``gateway_events`` (Stripe event JSON as
``apply_event`` input) or ``EventRelay`` (each event applied once, in order, like webhook
deliveries); ``sign_webhook`` makes the signed body and ``Stripe-Signature`` header that a
host's webhook endpoint receives. None of this imports ``stripe``.

The names below are the stable surface; the private modules (``_model`` for state and
behaviour, ``_params``, ``_render``, ``_faults``, ``_idempotency``, ``_listing``,
``_requests``, ``_units``, ``_gateway``, ``_webhooks``) may change.
"""

from kanorio_refunds.testing.fake_stripe._faults import (
    Fault,
    StripeApiError,
    StripeConnectionFault,
    StripeTimeoutFault,
)
from kanorio_refunds.testing.fake_stripe._gateway import FakeStripeGateway, stripe_paid_order
from kanorio_refunds.testing.fake_stripe._model import FakeStripe
from kanorio_refunds.testing.fake_stripe._render import API_VERSION
from kanorio_refunds.testing.fake_stripe._requests import RequestRecord
from kanorio_refunds.testing.fake_stripe._webhooks import (
    WEBHOOK_CONTENT_TYPE,
    EventRelay,
    SignedWebhook,
    gateway_events,
    sign_webhook,
)

__all__ = [
    "API_VERSION",
    "WEBHOOK_CONTENT_TYPE",
    "EventRelay",
    "FakeStripe",
    "FakeStripeGateway",
    "Fault",
    "RequestRecord",
    "SignedWebhook",
    "StripeApiError",
    "StripeConnectionFault",
    "StripeTimeoutFault",
    "gateway_events",
    "sign_webhook",
    "stripe_paid_order",
]
