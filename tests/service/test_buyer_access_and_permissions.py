"""F4 buyer access and P2/E2: every use case checks the actor itself and writes nothing if
refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest

from kanorio_refunds import FULL, ActivityKind, Actor, Order, RefundQuote, RefundService
from kanorio_refunds.errors import PermissionDenied
from tests.support.world import ADMIN, NOT_ALLOWED, ORDER_ID, OWNER, World, cents, usd

# ------------------------------------------------------------------------------------- F4


def test_refunds_never_change_buyer_access(world: World, order: Order, owner: Actor) -> None:
    """F4: a partial and then a full refund leave the buyer's access granted."""
    assert world.order().buyer_access is True

    world.service.process(world.service.quote(ORDER_ID, owner, usd("10.00")), owner)
    assert world.order().buyer_access is True
    world.service.process(world.service.quote(ORDER_ID, owner, FULL), owner)

    stored = world.order()
    assert stored.buyer_access is True
    assert not {ActivityKind.BUYER_ACCESS_REVOKED, ActivityKind.BUYER_ACCESS_RESTORED} & {
        a.kind for a in stored.activity
    }


def test_revoke_is_recorded_and_idempotent(world: World, order: Order, admin: Actor) -> None:
    """F4: revoking access is recorded once with who did it; a second revoke changes nothing
    (no activity, same version)."""
    revoked = world.service.revoke_buyer_access(ORDER_ID, admin)

    assert revoked.buyer_access is False
    assert world.order() == revoked
    entry = revoked.activity[-1]
    assert entry.kind is ActivityKind.BUYER_ACCESS_REVOKED
    assert entry.actor_id == admin.id

    again = world.service.revoke_buyer_access(ORDER_ID, admin)

    assert again == revoked
    assert world.order().version == revoked.version
    assert world.order().activity == revoked.activity


def test_restore_is_recorded_and_idempotent(world: World, order: Order, owner: Actor) -> None:
    """F4: restoring access after a revoke is recorded; restoring again changes nothing, and
    restoring an order whose access was never revoked changes nothing either."""
    untouched = world.service.restore_buyer_access(ORDER_ID, owner)
    assert untouched == order

    world.service.revoke_buyer_access(ORDER_ID, owner)
    restored = world.service.restore_buyer_access(ORDER_ID, owner)

    assert restored.buyer_access is True
    assert [a.kind for a in restored.activity][-2:] == [
        ActivityKind.BUYER_ACCESS_REVOKED,
        ActivityKind.BUYER_ACCESS_RESTORED,
    ]
    assert restored.activity[-1].actor_id == owner.id
    assert world.service.restore_buyer_access(ORDER_ID, owner) == restored


def test_access_change_does_not_touch_refunds_or_stripe(
    world: World, order: Order, owner: Actor
) -> None:
    """F4: revoking access is a separate operation: no refund, no Stripe call of any kind."""
    requests = len(world.stripe.requests)

    world.service.revoke_buyer_access(ORDER_ID, owner)

    assert world.order().refunds == ()
    assert len(world.stripe.requests) == requests


@pytest.mark.parametrize("actor", NOT_ALLOWED, ids=lambda a: str(a.id))
@pytest.mark.parametrize("grant", [False, True], ids=["revoke", "restore"])
def test_access_changes_need_owner_or_admin(
    world: World, order: Order, actor: Actor, grant: bool
) -> None:
    """F4, E2: revoke and restore follow the refund permission rule."""
    if grant:
        world.service.revoke_buyer_access(ORDER_ID, OWNER)
    before = world.order()
    change = world.service.restore_buyer_access if grant else world.service.revoke_buyer_access

    with pytest.raises(PermissionDenied):
        change(ORDER_ID, actor)

    assert world.order() == before


# ------------------------------------------------------------------------------------- P2

UseCase = Callable[[RefundService, Actor, RefundQuote], Any]

USE_CASES: dict[str, UseCase] = {
    "quote": lambda s, a, q: s.quote(ORDER_ID, a, usd("10.00")),
    "quote_full": lambda s, a, q: s.quote(ORDER_ID, a, FULL, "fraudulent"),
    "process_owner_quote": lambda s, a, q: s.process(q, a),
    # a caller bypassing the UI relabels the owner's quote as its own
    "process_forged_quote": lambda s, a, q: s.process(attrs.evolve(q, actor_id=a.id), a),
    "revoke": lambda s, a, q: s.revoke_buyer_access(ORDER_ID, a),
    "restore": lambda s, a, q: s.restore_buyer_access(ORDER_ID, a),
    "order_details": lambda s, a, q: s.order_details(ORDER_ID, a),
    "order_details_live": lambda s, a, q: s.order_details(ORDER_ID, a, live=True),
}


@pytest.mark.parametrize("use_case", USE_CASES.values(), ids=USE_CASES.keys())
@pytest.mark.parametrize("actor", NOT_ALLOWED, ids=lambda a: str(a.id))
def test_non_admins_are_refused_and_nothing_is_written(
    world: World, order: Order, actor: Actor, use_case: UseCase
) -> None:
    """P2, E2: staff, buyers, anonymous actors and an admin of another site are refused with
    permission_denied by quote, process, revoke, restore and order_details, and nothing is
    written: the stored order (and its version) is unchanged and Stripe receives no request at
    all, not even a read, although a dashboard refund is waiting to be imported."""
    owners_quote = world.service.quote(ORDER_ID, OWNER, usd("10.00"))
    world.dashboard_refund(cents(100))  # what any live read would import
    before = world.order()
    requests = len(world.stripe.requests)

    with pytest.raises(PermissionDenied) as info:
        use_case(world.service, actor, owners_quote)

    assert info.value.code == "permission_denied"
    assert world.order() == before
    assert len(world.stripe.requests) == requests
    assert len(world.stripe_refunds()) == 1


@pytest.mark.parametrize("actor", [OWNER, ADMIN], ids=["owner", "admin"])
def test_owner_and_admin_may_do_everything(world: World, order: Order, actor: Actor) -> None:
    """P2, E2: the owner and an administrator of the order's site pass every check."""
    refund = world.service.process(world.service.quote(ORDER_ID, actor, usd("1.00")), actor)
    world.service.revoke_buyer_access(ORDER_ID, actor)
    world.service.restore_buyer_access(ORDER_ID, actor)
    details = world.service.order_details(ORDER_ID, actor)

    assert details.refunds == (world.order().refund(refund.id),)
    assert details.eligibility.allowed


def test_eligibility_for_an_outsider_neither_reads_stripe_nor_writes(
    world: World, order: Order, other_site_admin: Actor, buyer: Actor
) -> None:
    """E2, P2: asking about eligibility as someone who may not refund answers from stored data
    (E2 listed among the reasons) without a Stripe call or a save."""
    version = world.order().version
    requests = len(world.stripe.requests)
    for actor in (other_site_admin, buyer):
        answer = world.service.eligibility(ORDER_ID, actor)
        assert "not_owner_or_admin" in answer.codes
    assert world.order().version == version
    assert len(world.stripe.requests) == requests
