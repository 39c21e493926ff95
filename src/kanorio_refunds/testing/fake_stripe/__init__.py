"""The Stripe simulator, for tests: an in-memory model of Stripe's refund API (2023-08-16).

``FakeStripe`` models payments, fees, exchange rates, idempotency keys, asynchronous refund
statuses (including late failures), disputes, events and injected faults. Use it:

- in-process, through ``FakeStripeGateway`` (the ``PaymentGateway`` port over the model);
- through the real ``stripe`` SDK and ``StripeGateway``, with
  ``kanorio_refunds.testing.stripe_http`` (an HTTP transport that serves the model in-process).

``stripe_paid_order(stripe, ...)`` builds a PAID order whose payment exists in the model.
"""

from kanorio_refunds.testing.fake_stripe._gateway import FakeStripeGateway, stripe_paid_order
from kanorio_refunds.testing.fake_stripe._model import (
    API_VERSION,
    FakeStripe,
    Fault,
    RequestRecord,
    StripeApiError,
    StripeConnectionFault,
    StripeTimeoutFault,
)

__all__ = [
    "API_VERSION",
    "FakeStripe",
    "FakeStripeGateway",
    "Fault",
    "RequestRecord",
    "StripeApiError",
    "StripeConnectionFault",
    "StripeTimeoutFault",
    "stripe_paid_order",
]
