"""Both ``PaymentGateway`` adapters run the shipped ``PaymentGatewayContract``, the suite a host
runs on its own gateway (docs/usage.md):

* ``FakeStripeGateway``, calling the ``FakeStripe`` model in-process;
* ``StripeGateway`` over a real ``stripe.StripeClient`` whose HTTP transport is
  ``testing.stripe_http.FakeStripeHTTPClient`` serving the same model: every request and
  response is checked against Stripe's OpenAPI subset, and any off-spec traffic fails the test.
"""

from __future__ import annotations

from kanorio_refunds.adapters.stripe import StripeGateway
from kanorio_refunds.ports import PaymentGateway
from kanorio_refunds.testing.contracts import PaymentGatewayContract
from kanorio_refunds.testing.fake_stripe import FakeStripe, FakeStripeGateway
from kanorio_refunds.testing.stripe_http import FakeStripeHTTPClient, make_client, transport_of


class TestFakeStripeGateway(PaymentGatewayContract):
    """The in-process gateway keeps every promise of the ``PaymentGateway`` port."""

    def make_gateway(
        self, stripe: FakeStripe, *, refund_application_fee: bool = False
    ) -> PaymentGateway:
        """A ``FakeStripeGateway`` calling ``stripe`` directly."""
        return FakeStripeGateway(stripe, refund_application_fee=refund_application_fee)


class TestStripeGateway(PaymentGatewayContract):
    """The Stripe adapter, through the real SDK, keeps every promise of the port, and says
    nothing off Stripe's spec."""

    def setup_method(self) -> None:
        """The transports of this test's gateways (pytest makes one instance per test)."""
        self.transports: list[FakeStripeHTTPClient] = []

    def make_gateway(
        self, stripe: FakeStripe, *, refund_application_fee: bool = False
    ) -> PaymentGateway:
        """A ``StripeGateway`` whose SDK client talks to ``stripe`` over the fake transport."""
        client = make_client(stripe)
        self.transports.append(transport_of(client))
        return StripeGateway(client=client, refund_application_fee=refund_application_fee)

    def check_wire(self) -> None:
        """No request or response of this test was off Stripe's spec."""
        for transport in self.transports:
            transport.assert_no_violations()
