"""Fixtures for the Stripe adapter tests: a ``FakeStripe`` model and the fake HTTP transports a
test made, each checked for off-spec traffic when the test ends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kanorio_refunds.testing.fake_stripe import FakeStripe
from kanorio_refunds.testing.stripe_http import FakeStripeHTTPClient


@pytest.fixture
def model() -> FakeStripe:
    return FakeStripe()


@pytest.fixture
def transports() -> Iterator[list[FakeStripeHTTPClient]]:
    """Transports made by a test; each must have seen only on-spec requests."""
    made: list[FakeStripeHTTPClient] = []
    yield made
    for transport in made:
        transport.assert_no_violations()
