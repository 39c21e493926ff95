"""FakeStripe answers list calls from its per-charge indexes and hands out fresh copies: the
pages are Stripe's (worked out by hand below) whatever other payments hold, and no answer
aliases the model's state."""

from __future__ import annotations

from typing import Any

import pytest

from kanorio_refunds.testing.fake_stripe import FakeStripe, Fault, StripeTimeoutFault


def ids(listing: dict[str, Any]) -> tuple[list[str], bool]:
    return [obj["id"] for obj in listing["data"]], listing["has_more"]


@pytest.fixture
def interleaved() -> tuple[FakeStripe, dict[str, str], dict[str, str]]:
    """Refunds of payments A, B and C created in the order a1 b1 a2 c1 b2 a3 a4."""
    fake = FakeStripe()
    pis = {name: fake.create_payment(10_000, "usd", stripe_fee=320)["id"] for name in "ABC"}
    refunds: dict[str, str] = {}
    for name in ("a1", "b1", "a2", "c1", "b2", "a3", "a4"):
        pi = pis[name[0].upper()]
        refunds[name] = fake.create_refund({"payment_intent": pi, "amount": 100})["id"]
    return fake, pis, refunds


def test_pages_of_one_payment_among_others(
    interleaved: tuple[FakeStripe, dict[str, str], dict[str, str]],
) -> None:
    fake, pi, re = interleaved
    a = pi["A"]
    assert ids(fake.list_refunds(payment_intent=a, limit=2)) == ([re["a4"], re["a3"]], True)
    assert ids(fake.list_refunds(payment_intent=a, limit=2, starting_after=re["a3"])) == (
        [re["a2"], re["a1"]],
        False,
    )
    # ending_before: the refunds just newer than the cursor (a2, a3, a4), the oldest two first
    # in the page, still newest first; more newer ones remain.
    assert ids(fake.list_refunds(payment_intent=a, limit=2, ending_before=re["a1"])) == (
        [re["a3"], re["a2"]],
        True,
    )
    assert ids(fake.list_refunds(payment_intent=a, limit=5, ending_before=re["a2"])) == (
        [re["a4"], re["a3"]],
        False,
    )
    charge_b = fake.charge_of(pi["B"])["id"]
    assert ids(fake.list_refunds(charge=charge_b)) == ([re["b2"], re["b1"]], False)
    assert ids(fake.list_refunds(charge=charge_b, payment_intent=pi["B"])) == (
        [re["b2"], re["b1"]],
        False,
    )
    assert ids(fake.list_refunds(charge=charge_b, payment_intent=a)) == ([], False)


def test_a_cursor_from_another_payment_pages_by_creation_time(
    interleaved: tuple[FakeStripe, dict[str, str], dict[str, str]],
) -> None:
    """As at Stripe, a cursor is a position in time: c1 sits between a2 and a3."""
    fake, pi, re = interleaved
    a = pi["A"]
    assert ids(fake.list_refunds(payment_intent=a, starting_after=re["c1"])) == (
        [re["a2"], re["a1"]],
        False,
    )
    assert ids(fake.list_refunds(payment_intent=a, ending_before=re["b1"])) == (
        [re["a4"], re["a3"], re["a2"]],
        False,
    )
    assert ids(fake.list_refunds(payment_intent=pi["C"], starting_after=re["a1"])) == ([], False)


def test_unfiltered_pages_cover_every_payment(
    interleaved: tuple[FakeStripe, dict[str, str], dict[str, str]],
) -> None:
    fake, _, re = interleaved
    assert ids(fake.list_refunds(limit=3)) == ([re["a4"], re["a3"], re["b2"]], True)
    assert ids(fake.list_refunds(limit=3, starting_after=re["b2"])) == (
        [re["c1"], re["a2"], re["b1"]],
        True,
    )
    assert ids(fake.list_refunds(limit=3, starting_after=re["b1"])) == ([re["a1"]], False)
    assert ids(fake.list_refunds(limit=3, ending_before=re["a2"])) == (
        [re["a3"], re["b2"], re["c1"]],
        True,
    )


def test_disputes_are_listed_per_charge_and_in_time(
    interleaved: tuple[FakeStripe, dict[str, str], dict[str, str]],
) -> None:
    fake, pi, _ = interleaved
    dc = fake.open_dispute(pi["C"])["id"]
    da = fake.open_dispute(pi["A"], inquiry=True)["id"]
    assert ids(fake.list_disputes(payment_intent=pi["A"])) == ([da], False)
    assert ids(fake.list_disputes(charge=fake.charge_of(pi["C"])["id"])) == ([dc], False)
    assert ids(fake.list_disputes(payment_intent=pi["B"])) == ([], False)
    assert ids(fake.list_disputes(starting_after=da)) == ([dc], False)
    assert ids(fake.list_disputes(payment_intent=pi["C"], ending_before=da)) == ([], False)


def test_no_answer_aliases_the_model() -> None:
    """Lists, events, the request log, idempotent replays and a timeout's result are copies."""
    fake = FakeStripe()
    pi = fake.create_payment(10_000, "usd", stripe_fee=320, metadata={"k": "v"})["id"]
    first = fake.create_refund(
        {"payment_intent": pi, "amount": 100, "metadata": {"m": "1"}}, idempotency_key="k"
    )
    listing = fake.list_refunds(payment_intent=pi, expand=["data.charge"])
    listing["data"][0]["metadata"]["m"] = "changed"
    listing["data"][0]["charge"]["metadata"]["k"] = "changed"
    fake.events_since(0)[0]["data"]["object"]["metadata"]["m"] = "changed"
    last = fake.last_request()
    assert last is not None
    last.params["payment_intent"] = "changed"
    first["metadata"]["m"] = "changed"
    replay = fake.create_refund(
        {"payment_intent": pi, "amount": 100, "metadata": {"m": "1"}}, idempotency_key="k"
    )
    replay["metadata"]["m"] = "changed"
    fake.inject_fault(Fault.TIMEOUT_AFTER_CREATE, operation="retrieve_refund")
    with pytest.raises(StripeTimeoutFault) as info:
        fake.retrieve_refund(first["id"])
    assert info.value.result is not None
    info.value.result["metadata"]["m"] = "changed"

    assert fake.retrieve_refund(first["id"])["metadata"] == {"m": "1"}
    assert fake.charge_of(pi)["metadata"] == {"k": "v"}
    assert fake.events()[0]["data"]["object"]["metadata"] == {"m": "1"}
    create, listed = fake.requests[:2]
    assert create.params == {"payment_intent": pi, "amount": 100, "metadata": {"m": "1"}}
    assert listed.params == {"payment_intent": pi, "limit": 10, "expand": ["data.charge"]}
    assert fake.create_refund(
        {"payment_intent": pi, "amount": 100, "metadata": {"m": "1"}}, idempotency_key="k"
    )["metadata"] == {"m": "1"}


def test_the_parameters_a_caller_passes_are_copied() -> None:
    """The request log keeps what was sent, even if the caller reuses its dict afterwards."""
    fake = FakeStripe()
    pi = fake.create_payment(10_000, "usd", stripe_fee=320)["id"]
    params: dict[str, Any] = {"payment_intent": pi, "amount": 100, "metadata": {"a": "1"}}
    fake.create_refund(params, idempotency_key="k")
    params["metadata"]["a"] = "2"
    params["amount"] = 200
    assert fake.requests[-1].params == {"payment_intent": pi, "amount": 100, "metadata": {"a": "1"}}
    assert fake.event_count() == 2
