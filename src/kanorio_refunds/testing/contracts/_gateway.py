"""``PaymentGatewayContract``: what the service relies on from a ``PaymentGateway``."""

from __future__ import annotations

from kanorio_refunds.ports import PaymentGateway
from kanorio_refunds.testing.fake_stripe import FakeStripe


class PaymentGatewayContract:
    """The ``PaymentGateway`` port contract, as a pytest base class, over the Stripe simulator.

    Subclass it in a class named ``Test...`` and define ``make_gateway``; override
    ``check_wire`` to check what went over the wire after each test.
    """

    def make_gateway(
        self, stripe: FakeStripe, *, refund_application_fee: bool = False
    ) -> PaymentGateway:
        """A gateway of the adapter under test that talks to ``stripe`` (in-process, or through
        ``kanorio_refunds.testing.stripe_http``), refunding the platform's application fee with
        each refund when ``refund_application_fee`` is true."""
        raise NotImplementedError(
            f"{type(self).__name__} must define make_gateway() to run PaymentGatewayContract"
        )

    def check_wire(self) -> None:
        """Called after each test: fail it if the traffic was wrong (e.g. a request off Stripe's
        spec). The default checks nothing."""
