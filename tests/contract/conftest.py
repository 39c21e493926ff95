"""Fixtures of the port contract suites: the same tests run against every adapter of a port.

``gateway``: a ``GatewayHarness`` per ``PaymentGateway`` adapter, each over its own fresh
``FakeStripe`` model:

* ``memory``: ``FakeStripeGateway(FakeStripe)``, calling the model in-process;
* ``stripe``: ``StripeGateway`` over a real ``stripe.StripeClient`` whose HTTP transport is
  ``testing.stripe_http.FakeStripeHTTPClient`` serving the same model (every request and
  response checked against Stripe's OpenAPI subset; any off-spec traffic fails the test).

``repository``: an empty ``OrderRepository`` per adapter in ``REPOSITORY_FACTORIES`` (today
``InMemoryOrderRepository``). A host application proves its own repository (e.g. on SQL) by
running ``test_repository_contract.py`` with its factory added there (or by copying the module
next to its own fixture named ``repository``): the suite only uses the port's methods.

To run the suites against another adapter, add a builder to ``GATEWAY_BUILDERS`` or a factory
to ``REPOSITORY_FACTORIES``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from kanorio_refunds.adapters.memory import InMemoryOrderRepository
from kanorio_refunds.adapters.stripe import StripeGateway
from kanorio_refunds.ports import OrderRepository, PaymentGateway
from kanorio_refunds.testing.fake_stripe import FakeStripe, FakeStripeGateway
from kanorio_refunds.testing.stripe_http import FakeStripeHTTPClient, make_client, transport_of


@dataclass
class GatewayHarness:
    """One adapter under test, the Stripe model behind it and (for HTTP) its transport."""

    name: str
    model: FakeStripe
    gateway: PaymentGateway
    transport: FakeStripeHTTPClient | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def assert_clean_wire(self) -> None:
        """No request or response of this harness was off Stripe's spec."""
        if self.transport is not None:
            self.transport.assert_no_violations()


def _memory(model: FakeStripe, refund_application_fee: bool) -> GatewayHarness:
    gateway = FakeStripeGateway(model, refund_application_fee=refund_application_fee)
    return GatewayHarness("memory", model, gateway)


def _stripe(model: FakeStripe, refund_application_fee: bool) -> GatewayHarness:
    client = make_client(model)
    gateway = StripeGateway(client=client, refund_application_fee=refund_application_fee)
    return GatewayHarness("stripe", model, gateway, transport_of(client))


#: name -> builder(model, refund_application_fee) of every PaymentGateway adapter under contract.
GATEWAY_BUILDERS: dict[str, Callable[[FakeStripe, bool], GatewayHarness]] = {
    "memory": _memory,
    "stripe": _stripe,
}

MakeHarness = Callable[..., GatewayHarness]


@pytest.fixture(params=sorted(GATEWAY_BUILDERS))
def make_gateway(request: pytest.FixtureRequest) -> Iterator[MakeHarness]:
    """Build harnesses of this test's adapter; their wire is checked after the test."""
    builder = GATEWAY_BUILDERS[request.param]
    made: list[GatewayHarness] = []

    def make(
        model: FakeStripe | None = None, *, refund_application_fee: bool = False
    ) -> GatewayHarness:
        harness = builder(model if model is not None else FakeStripe(), refund_application_fee)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.assert_clean_wire()


@pytest.fixture
def gateway(make_gateway: MakeHarness) -> GatewayHarness:
    """A harness of this test's adapter over a fresh ``FakeStripe``."""
    return make_gateway()


#: name -> factory of an empty OrderRepository, for every repository under contract.
REPOSITORY_FACTORIES: dict[str, Callable[[], OrderRepository]] = {
    "memory": InMemoryOrderRepository,
}


@pytest.fixture(params=sorted(REPOSITORY_FACTORIES))
def repository(request: pytest.FixtureRequest) -> OrderRepository:
    """An empty repository of this test's adapter."""
    return REPOSITORY_FACTORIES[request.param]()
