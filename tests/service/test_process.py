"""F2 "Process Refund", F3 refund records and activity, L1 write-ahead and N4 Stripe mapping."""

from __future__ import annotations

import itertools

import attrs
import pytest

from kanorio_refunds import (
    FULL,
    ActivityKind,
    Actor,
    EventEffect,
    Order,
    OrderStatus,
    RefundError,
    RefundReason,
    RefundStatus,
)
from kanorio_refunds.domain import RefundOrigin
from kanorio_refunds.domain._payment import (
    METADATA_NOTES,
    METADATA_ORDER_ID,
    METADATA_REASON,
    METADATA_REFUND_ID,
    RefundRequest,
)
from kanorio_refunds.errors import (
    GatewayRejected,
    InvalidQuote,
    NotEligible,
    PermissionDenied,
    StaleQuote,
)
from kanorio_refunds.testing.fake_stripe import Fault
from tests.support.gateway import FaultyGateway
from tests.support.repository import HookedRepository
from tests.support.world import (
    NET,
    ORDER_ID,
    START,
    World,
    cents,
    reserved_minor,
    stored_refundable,
    usd,
)

# ------------------------------------------------------------------------------------- F2


def test_process_makes_one_stripe_refund_and_records_it(
    world: World, order: Order, owner: Actor
) -> None:
    """F2: processing a quote refunds exactly its amount at Stripe and records the refund."""
    quote = world.service.quote(ORDER_ID, owner, usd("30.00"), "customer_request")

    refund = world.service.process(quote, owner)

    at_stripe = world.stripe_refunds()
    assert len(at_stripe) == 1
    assert at_stripe[0]["amount"] == 3_000
    assert refund.id == quote.refund_id
    assert refund.gateway_refund_id == at_stripe[0]["id"]
    assert refund.status is RefundStatus.SUCCEEDED
    assert world.order().refunds == (refund,)
    assert world.order().status is OrderStatus.PARTIALLY_REFUNDED


def test_processing_the_same_quote_twice_makes_one_stripe_refund(
    world: World, order: Order, owner: Actor
) -> None:
    """F2: processing the same quote twice makes one Stripe refund and returns the same record."""
    quote = world.service.quote(ORDER_ID, owner, usd("30.00"))

    first = world.service.process(quote, owner)
    second = world.service.process(quote, owner)

    assert second == first
    assert len(world.stripe_refunds()) == 1
    assert len(world.create_requests()) == 1
    assert len(world.order().refunds) == 1
    assert world.stripe_refunded_minor() == 3_000


def test_processing_the_same_quote_from_another_service_makes_one_refund(
    world: World, order: Order, owner: Actor
) -> None:
    """F2: a double submission reaching a second process (another service instance) returns
    the same record and makes no second Stripe refund."""
    quote = world.service.quote(ORDER_ID, owner, usd("30.00"))
    first = world.service.process(quote, owner)

    again = world.another_service().process(quote, owner)

    assert again == first
    assert len(world.stripe_refunds()) == 1


def test_a_quote_gone_stale_after_another_refund_is_refused(
    world: World, order: Order, owner: Actor, admin: Actor
) -> None:
    """F2: two quotes confirmed on the same version: once one is processed, the other is
    refused with stale_quote and makes nothing at Stripe, even though it would still fit."""
    by_owner = world.service.quote(ORDER_ID, owner, usd("10.00"))
    by_admin = world.service.quote(ORDER_ID, admin, usd("10.00"))
    world.service.process(by_owner, owner)

    with pytest.raises(StaleQuote) as info:
        world.service.process(by_admin, admin)

    assert info.value.code == "stale_quote"
    assert len(world.stripe_refunds()) == 1
    assert len(world.order().refunds) == 1


def test_a_quote_gone_stale_after_a_dashboard_refund_is_refused(
    world: World, order: Order, owner: Actor
) -> None:
    """F2, B4: the re-check on fresh data sees a refund made at Stripe after the quote: the
    quote is stale; only the dashboard refund exists at Stripe, and it is recorded."""
    quote = world.service.quote(ORDER_ID, owner, FULL)
    world.dashboard_refund(cents(5_000))

    with pytest.raises(StaleQuote):
        world.service.process(quote, owner)

    assert [r["amount"] for r in world.stripe_refunds()] == [5_000]
    assert [r.origin for r in world.order().refunds] == [RefundOrigin.EXTERNAL]
    assert world.service.quote(ORDER_ID, owner, FULL).amount == usd("45.80")


def test_another_actor_cannot_process_a_quote(
    world: World, order: Order, owner: Actor, admin: Actor
) -> None:
    """F2, P2: a quote is processed only by the actor who confirmed it, even another admin."""
    quote = world.service.quote(ORDER_ID, owner, usd("10.00"))
    version = world.order().version

    with pytest.raises(PermissionDenied):
        world.service.process(quote, admin)

    assert world.create_requests() == []
    assert world.order().version == version


def test_dispute_opened_after_the_quote_refuses_processing(
    world: World, order: Order, owner: Actor
) -> None:
    """F2, E5: a dispute opened at Stripe after the quote is seen on fresh data: processing is
    refused, no refund is made at Stripe, and a new quote says payment_disputed."""
    quote = world.service.quote(ORDER_ID, owner, usd("10.00"))
    world.stripe.open_dispute(world.pi())

    with pytest.raises(RefundError) as info:
        world.service.process(quote, owner)

    assert info.value.code in ("stale_quote", "not_eligible")
    assert world.create_requests() == []
    assert world.stripe_refunds() == []
    assert world.order().refunds == ()
    payment = world.order().payment
    assert payment is not None
    assert payment.disputed
    with pytest.raises(NotEligible) as requote:
        world.service.quote(ORDER_ID, owner, usd("10.00"))
    assert "payment_disputed" in requote.value.reasons


# --------------------------------------------- F2: a quote is bound to what was confirmed


def test_the_echo_of_the_first_refund_does_not_stale_the_second_quote(
    world: World, order: Order, owner: Actor
) -> None:
    """F1, F2: (regression) a second partial refund confirmed right after a first one; Stripe's
    echo of the first (refund.created, charge.refunded: UNCHANGED) then bumps the order's
    version. That changes no figure the user confirmed, so processing the second quote goes
    through; it used to be refused as stale ("version 3, now 4")."""
    world.service.process(world.service.quote(ORDER_ID, owner, usd("10.00")), owner)
    second = world.service.quote(ORDER_ID, owner, usd("20.00"))
    version = world.order().version

    echoes = world.deliver_new()

    assert echoes
    assert {o.effect for o in echoes} == {EventEffect.UNCHANGED}
    assert world.order().version > version
    refund = world.service.process(second, owner)
    assert refund.id == second.refund_id
    assert refund.status is RefundStatus.SUCCEEDED
    assert [r["amount"] for r in world.stripe_refunds()] == [1_000, 2_000]
    assert world.order().status is OrderStatus.PARTIALLY_REFUNDED


def test_an_echo_landing_between_the_check_and_the_save_is_retried(
    world: World, order: Order, owner: Actor
) -> None:
    """F2, L4: the echo of the first refund is applied by another process just before this one
    saves its write-ahead: the versioned save conflicts, the check runs again on the newer order
    (nothing it checks changed) and the refund goes through, once."""
    world.service.process(world.service.quote(ORDER_ID, owner, usd("10.00")), owner)
    second = world.service.quote(ORDER_ID, owner, usd("20.00"))

    def other_process_delivers_the_echoes() -> None:
        world.deliver_new()

    repo = HookedRepository(
        world.orders, at_step=0, hook=other_process_delivers_the_echoes, only=frozenset({"save"})
    )

    refund = world.another_service(orders=repo).process(second, owner)

    assert repo.fired
    # the live read changed nothing (no save); the write-ahead conflicted, was checked and
    # saved again; then the answer was saved
    assert repo.calls.count("save") == 3
    assert refund.status is RefundStatus.SUCCEEDED
    assert [r["amount"] for r in world.stripe_refunds()] == [1_000, 2_000]
    assert world.order().refund(second.refund_id).amount == usd("20.00")


def test_a_timeline_entry_does_not_stale_an_open_quote(
    world: World, order: Order, owner: Actor, admin: Actor
) -> None:
    """F2, F4: revoking buyer access between "Confirm Refund" and "Process Refund" adds to the
    activity (a new version) but changes no money figure: the quote still goes through."""
    quote = world.service.quote(ORDER_ID, owner, usd("10.00"))
    world.service.revoke_buyer_access(ORDER_ID, admin)

    refund = world.service.process(quote, owner)

    assert refund.status is RefundStatus.SUCCEEDED
    assert world.order().buyer_access is False


def test_a_dispute_won_meanwhile_does_not_stale_an_open_quote(
    world: World, order: Order, owner: Actor
) -> None:
    """F2, E5, B4: a dispute opened and won between quote and process is seen by live reads
    (payment updates in the activity) but leaves the status, balance and eligibility the user
    saw: the quote still goes through."""
    quote = world.service.quote(ORDER_ID, owner, usd("10.00"))
    world.stripe.open_dispute(world.pi())
    world.deliver_new()
    world.stripe.close_dispute(world.pi(), "won")
    world.deliver_new()

    refund = world.service.process(quote, owner)

    assert refund.status is RefundStatus.SUCCEEDED
    assert len(world.stripe_refunds()) == 1


def test_a_change_of_the_balance_by_an_event_stales_an_open_quote(
    world: World, order: Order, owner: Actor
) -> None:
    """F2, S1: a change the user did not see is still refused: the first refund failing late
    (its webhook puts 10.00 back) makes a quote confirmed on 85.80 stale, and nothing more
    reaches Stripe."""
    first = world.service.process(world.service.quote(ORDER_ID, owner, usd("10.00")), owner)
    quote = world.service.quote(ORDER_ID, owner, usd("20.00"))
    assert quote.refundable_before == usd("85.80")
    world.stripe.set_refund_status(first.gateway_refund_id or "", "failed")
    world.deliver_new()

    with pytest.raises(StaleQuote) as info:
        world.service.process(quote, owner)

    assert "85.80" in info.value.message
    assert "95.80" in info.value.message
    assert len(world.create_requests()) == 1


def test_a_new_quote_after_a_failed_refund_makes_a_new_refund(
    world: World, order: Order, owner: Actor
) -> None:
    """F1, F2, L3: Stripe refuses a refund (FAILED, the balance back at 95.80, the order PAID
    again); confirming the same amount again is a new quote and makes a new refund, while the
    first quote still answers with its failed refund (the same quote twice: one refund)."""
    first = world.service.quote(ORDER_ID, owner, usd("10.00"))
    world.stripe.inject_fault(Fault.REJECT, code="amount_too_large")
    with pytest.raises(GatewayRejected):
        world.service.process(first, owner)
    assert world.order().status is OrderStatus.PAID

    again = world.service.quote(ORDER_ID, owner, usd("10.00"))
    refund = world.service.process(again, owner)

    assert again.refundable_before == first.refundable_before == NET
    assert again.id != first.id
    assert refund.id != first.refund_id
    assert refund.status is RefundStatus.SUCCEEDED
    assert world.service.process(first, owner).status is RefundStatus.FAILED
    assert [r["amount"] for r in world.stripe_refunds()] == [1_000]
    assert [r.status for r in world.order().refunds] == [
        RefundStatus.FAILED,
        RefundStatus.SUCCEEDED,
    ]


# ------------------------------------------------------------------------------------- F3


def test_refund_record_keeps_what_was_asked(world: World, order: Order, admin: Actor) -> None:
    """F3: the record keeps amount, created timestamp, reason, notes, status, requester and the
    Stripe refund id; no failure reason."""
    quote = world.service.quote(ORDER_ID, admin, usd("12.34"), "duplicate", "Charged twice")
    before = world.clock.now()

    refund = world.service.process(quote, admin)

    stored = world.order().refund(refund.id)
    assert stored == refund
    assert stored.amount == usd("12.34")
    assert before < stored.created_at < world.clock.now()
    assert stored.created_at.tzinfo is not None
    assert stored.reason is RefundReason.DUPLICATE
    assert stored.notes == "Charged twice"
    assert stored.status is RefundStatus.SUCCEEDED
    assert stored.requested_by == admin.id
    assert stored.gateway_refund_id == world.stripe_refunds()[0]["id"]
    assert stored.failure_reason is None
    assert stored.origin is RefundOrigin.LOCAL
    assert stored.quote_id == quote.id


def test_activity_records_requested_submitted_succeeded_and_status_change(
    world: World, order: Order, owner: Actor
) -> None:
    """F3: processing adds activity entries: refund requested (by whom), status changed,
    submitted to Stripe, succeeded; all naming the refund, none before the request."""
    quote = world.service.quote(ORDER_ID, owner, usd("30.00"), "customer_request")

    refund = world.service.process(quote, owner)

    activity = world.order().activity
    kinds = [a.kind for a in activity]
    assert kinds == [
        ActivityKind.REFUND_REQUESTED,
        ActivityKind.STATUS_CHANGED,
        ActivityKind.REFUND_SUBMITTED,
        ActivityKind.REFUND_SUCCEEDED,
    ]
    requested = activity[0]
    assert requested.actor_id == owner.id
    assert requested.refund_id == refund.id
    assert "30.00" in requested.message
    assert "Paid" in activity[1].message
    assert "Partially Refunded" in activity[1].message
    assert refund.gateway_refund_id is not None
    assert refund.gateway_refund_id in activity[2].message
    assert all(
        a.refund_id == refund.id for a in activity if a.kind is not ActivityKind.STATUS_CHANGED
    )
    assert [a.at for a in activity] == sorted(a.at for a in activity)
    assert all(a.at >= START for a in activity)


def test_activity_is_append_only_across_operations(
    world: World, order: Order, owner: Actor, admin: Actor
) -> None:
    """F3: every later activity timeline starts with the earlier one, whatever the operation
    (quote with import, refund, failed refund, access change, events, sync)."""
    seen: list[tuple[object, ...]] = [world.order().activity]

    def snapshot() -> None:
        seen.append(world.order().activity)

    world.dashboard_refund(cents(500))
    world.service.quote(ORDER_ID, owner, usd("1.00"))
    snapshot()
    world.service.process(world.service.quote(ORDER_ID, owner, usd("10.00")), owner)
    snapshot()
    world.service.revoke_buyer_access(ORDER_ID, admin)
    snapshot()
    world.stripe.inject_fault(Fault.REJECT, code="amount_too_large")
    with pytest.raises(GatewayRejected):
        world.service.process(world.service.quote(ORDER_ID, admin, usd("2.00")), admin)
    snapshot()
    world.service.restore_buyer_access(ORDER_ID, admin)
    snapshot()
    world.deliver_new()
    snapshot()
    world.service.sync(ORDER_ID)
    snapshot()
    world.service.process(world.service.quote(ORDER_ID, admin, FULL), admin)
    snapshot()

    for earlier, later in itertools.pairwise(seen):
        assert later[: len(earlier)] == earlier
    assert len(seen[-1]) > len(seen[0])


# ------------------------------------------------------------------------------------- L1


def test_refund_is_written_ahead_as_submitting_before_stripe_is_called(
    world: World, order: Order, owner: Actor
) -> None:
    """L1: when the gateway is called, the refund is already stored as SUBMITTING, reserving
    its amount (the stored balance is reduced) and the order status already reflects it."""
    checked: list[RefundRequest] = []
    spy = FaultyGateway(world.stripe, inner=world.gateway)

    def at_the_call() -> None:
        request = spy.created[-1]
        stored = world.order()
        refund = stored.refund(quote.refund_id)
        assert refund.status is RefundStatus.SUBMITTING
        assert refund.gateway_refund_id is None
        assert reserved_minor(stored) == 3_000
        assert stored_refundable(stored) == usd("65.80")
        assert stored.status is OrderStatus.PARTIALLY_REFUNDED
        assert world.stripe_refunds() == []
        checked.append(request)

    spy.before_create.append(at_the_call)
    service = world.another_service(gateway=spy)
    quote = service.quote(ORDER_ID, owner, usd("30.00"))

    service.process(quote, owner)

    assert len(checked) == 1
    assert checked[0].local_refund_id == quote.refund_id


def test_idempotency_key_is_derived_from_our_refund_id(
    world: World, order: Order, owner: Actor
) -> None:
    """L1: Stripe receives an idempotency key derived from our refund id."""
    quote = world.service.quote(ORDER_ID, owner, usd("30.00"))

    refund = world.service.process(quote, owner)

    (request,) = world.create_requests()
    assert request.idempotency_key is not None
    assert refund.id in request.idempotency_key
    assert request.http_status == 200


def test_our_ids_reason_and_notes_go_in_the_stripe_metadata(
    world: World, order: Order, owner: Actor
) -> None:
    """L1, N4: the Stripe refund's metadata holds our order id, refund id, reason and notes."""
    quote = world.service.quote(ORDER_ID, owner, usd("5.00"), "other", "Gesture ✓ for Zoë")

    refund = world.service.process(quote, owner)

    metadata = world.stripe_refunds()[0]["metadata"]
    assert metadata[METADATA_ORDER_ID] == ORDER_ID
    assert metadata[METADATA_REFUND_ID] == refund.id
    assert metadata[METADATA_REASON] == "other"
    assert metadata[METADATA_NOTES] == "Gesture ✓ for Zoë"


@pytest.mark.parametrize(
    ("reason", "stripe_reason"),
    [
        (RefundReason.DUPLICATE, "duplicate"),
        (RefundReason.FRAUDULENT, "fraudulent"),
        (RefundReason.CUSTOMER_REQUEST, "requested_by_customer"),
        (RefundReason.OTHER, None),
        (None, None),
    ],
)
def test_stripe_reason_mapping(
    world: World,
    order: Order,
    owner: Actor,
    reason: RefundReason | None,
    stripe_reason: str | None,
) -> None:
    """N4: DUPLICATE→duplicate, FRAUDULENT→fraudulent, CUSTOMER_REQUEST→requested_by_customer,
    OTHER and none → no Stripe reason at all (the parameter is not sent)."""
    notes = "why" if reason is RefundReason.OTHER else ""
    quote = world.service.quote(ORDER_ID, owner, usd("5.00"), reason, notes)

    refund = world.service.process(quote, owner)

    (request,) = world.create_requests()
    assert request.params.get("reason") == stripe_reason
    assert ("reason" in request.params) == (stripe_reason is not None)
    assert world.stripe_refunds()[0]["reason"] == stripe_reason
    assert refund.reason is reason


def test_full_refund_sends_the_exact_net_amount(world: World, order: Order, owner: Actor) -> None:
    """A5, L1: "Refund Full Amount" sends exactly 9580 cents to Stripe, naming the payment."""
    world.service.process(world.service.quote(ORDER_ID, owner, FULL), owner)

    (request,) = world.create_requests()
    assert request.params["amount"] == NET.minor
    assert request.params["payment_intent"] == world.pi()
    assert world.stripe_refunded_minor() == NET.minor


# ----------------------------------------------------------------------- quote integrity (P2)


def test_a_quote_altered_after_confirmation_is_refused(
    world: World, order: Order, owner: Actor
) -> None:
    """F2, P2: "Process Refund" executes what was confirmed: a quote whose amount was changed
    after "Confirm Refund" is refused and nothing reaches Stripe."""
    confirmed = world.service.quote(ORDER_ID, owner, usd("10.00"))
    altered = attrs.evolve(confirmed, amount=usd("90.00"))

    with pytest.raises(InvalidQuote):
        world.service.process(altered, owner)

    assert world.create_requests() == []


def test_process_stores_notes_normalised_whatever_the_quote_says(
    world: World, order: Order, owner: Actor
) -> None:
    """N3, P2: the notes stored on the refund and sent to Stripe are trimmed and NFC, even
    when the quote handed to process carries them raw."""
    confirmed = world.service.quote(ORDER_ID, owner, usd("10.00"), "other", "Zoe")
    raw = attrs.evolve(confirmed, notes="  Zoe\u0301  ")

    try:
        refund = world.service.process(raw, owner)
    except RefundError:
        return  # refusing the altered quote is fine too
    assert refund.notes == "Zoé"
    assert world.stripe_refunds()[0]["metadata"][METADATA_NOTES] == "Zoé"
