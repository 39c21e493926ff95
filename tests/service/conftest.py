"""Fixtures of the service tests: a fresh in-memory world and the standard paid order."""

from __future__ import annotations

import pytest

from kanorio_refunds import Actor, Order
from tests.support.world import ADMIN, BUYER, OTHER_SITE_ADMIN, OWNER, STAFF, World


@pytest.fixture
def world() -> World:
    """FakeStripe → FakeStripeGateway, InMemoryOrderRepository, ManualClock (1 s tick),
    InMemoryProcessedEvents and a RefundService over them; no order yet."""
    return World.build()


@pytest.fixture
def order(world: World) -> Order:
    """A PAID USD 100.00 order of site shop-1, Stripe fee 3.20, platform fee 1.00 (95.80
    refundable under NET_OF_FEES), its payment held by the world's FakeStripe."""
    return world.add_order()


@pytest.fixture
def owner() -> Actor:
    """The owner of shop-1."""
    return OWNER


@pytest.fixture
def admin() -> Actor:
    """An administrator of shop-1."""
    return ADMIN


@pytest.fixture
def staff() -> Actor:
    """A staff member of shop-1 (may not refund)."""
    return STAFF


@pytest.fixture
def buyer() -> Actor:
    """A buyer of shop-1 (may not refund)."""
    return BUYER


@pytest.fixture
def other_site_admin() -> Actor:
    """An administrator of shop-2 only (may not refund shop-1's orders)."""
    return OTHER_SITE_ADMIN
