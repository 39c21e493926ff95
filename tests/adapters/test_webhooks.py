"""``StripeWebhookVerifier``: Stripe-signed deliveries in, ``GatewayEvent``s out (P1, P3, L5).

Signatures are made by the SDK's own ``stripe.WebhookSignature.generate_signature_header``;
payloads are the events ``FakeStripe`` emits (API 2023-08-16 shapes), serialised like Stripe.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import pickle
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import stripe
from hypothesis import given
from hypothesis import strategies as st

from kanorio_refunds.adapters._stripe_json import parse_event
from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.stripe import StripeWebhookVerifier
from kanorio_refunds.domain._events import EventKind, GatewayEvent
from kanorio_refunds.domain._refund import RefundStatus
from kanorio_refunds.errors import (
    GatewayMisconfigured,
    InvalidEvent,
    InvalidSignature,
    RefundError,
)
from kanorio_refunds.testing.fake_stripe import FakeStripe
from kanorio_refunds.testing.stripe_http import dumps_stripe_json, load_fixtures

SECRET = "whsec_kanorioTestSecretNumberOne0000000000"
OLD_SECRET = "whsec_kanorioTestSecretTheOldOne111111111"
OTHER_SECRET = "whsec_someoneElsesSecret22222222222222222"
ALL_SECRETS = (SECRET, OLD_SECRET, OTHER_SECRET)
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
TS = int(NOW.timestamp())


def sign(payload: str | bytes, secret: str = SECRET, timestamp: int = TS) -> str:
    text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
    header: str = stripe.WebhookSignature.generate_signature_header(text, secret, timestamp)
    return header


def v1_of(header: str) -> str:
    return header.split("v1=", 1)[1]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def verifier(clock: ManualClock) -> StripeWebhookVerifier:
    return StripeWebhookVerifier(SECRET, clock=clock)


def _events() -> list[dict[str, Any]]:
    """Every event type FakeStripe emits: a refund's life, a failure, a dispute's life."""
    model = FakeStripe()
    pi = model.create_payment(10_000, "usd", stripe_fee=320)
    model.default_refund_status = "pending"
    first = model.create_refund(
        {"payment_intent": pi["id"], "amount": 1000, "metadata": {"kanorio_refund_id": "rf_1"}},
        idempotency_key="k1",
    )
    model.set_refund_status(first["id"], "succeeded")
    second = model.create_refund({"payment_intent": pi["id"], "amount": 500}, idempotency_key="k2")
    model.set_refund_status(second["id"], "failed", failure_reason="declined")
    model.open_dispute(pi["id"])
    model.close_dispute(pi["id"], "lost")
    return model.events()


EVENTS = _events()


def _payload(event: dict[str, Any]) -> bytes:
    return dumps_stripe_json(event).encode("utf-8")


# ---------------------------------------------------------------------------------------------
# accepted deliveries
# ---------------------------------------------------------------------------------------------


def test_fake_stripe_emits_the_event_types_under_test() -> None:
    """The scenario covers refund.*, charge.refunded, charge.refund.updated and disputes."""
    assert {e["type"] for e in EVENTS} == {
        "refund.created",
        "refund.updated",
        "refund.failed",
        "charge.refunded",
        "charge.refund.updated",
        "charge.dispute.created",
        "charge.dispute.closed",
    }


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: f"{e['id']}-{e['type']}")
def test_a_correctly_signed_event_is_read(
    verifier: StripeWebhookVerifier, event: dict[str, Any]
) -> None:
    """P1, L5: a delivery signed with our secret, within the tolerance, is read exactly as
    parse_event reads the event."""
    payload = _payload(event)

    got = verifier.verify(payload, sign(payload))

    assert isinstance(got, GatewayEvent)
    assert got == parse_event(event)
    assert got.id == event["id"]
    assert got.type == event["type"]
    assert got.created_at == datetime.fromtimestamp(event["created"], tz=UTC)


def test_event_kinds_are_mapped(verifier: StripeWebhookVerifier) -> None:
    """L5: refund.created/updated/failed carry the refund; charge.refunded and dispute events
    name the payment (and the dispute state); other types are IGNORED."""
    read = [verifier.verify(_payload(e), sign(_payload(e))) for e in EVENTS]
    by_type: dict[str, list[GatewayEvent]] = {}
    for event in read:
        by_type.setdefault(event.type, []).append(event)

    created = by_type["refund.created"][0]
    assert created.kind is EventKind.REFUND_CREATED
    assert created.refunds[0].status is RefundStatus.PENDING
    assert created.refunds[0].local_refund_id == "rf_1"
    assert created.payment_intent_id is not None
    assert by_type["refund.updated"][0].kind is EventKind.REFUND_UPDATED
    assert by_type["refund.updated"][0].refunds[0].status is RefundStatus.SUCCEEDED
    failed = by_type["refund.failed"][0]
    assert failed.kind is EventKind.REFUND_FAILED
    assert failed.refunds[0].status is RefundStatus.FAILED
    assert failed.refunds[0].failure_reason == "declined"
    assert by_type["charge.refunded"][0].kind is EventKind.PAYMENT_REFUNDED
    assert by_type["charge.refunded"][0].charge_id is not None
    opened = by_type["charge.dispute.created"][0]
    assert opened.kind is EventKind.DISPUTE_OPENED
    assert opened.disputed is True
    closed = by_type["charge.dispute.closed"][0]
    assert closed.kind is EventKind.DISPUTE_CLOSED
    assert closed.disputed is True  # closed as lost: refunds stay blocked (E5)
    # API versions before 2024-10-28 report refund status changes of charges only as
    # charge.refund.updated: the refund is carried so the service can act on it.
    legacy = by_type["charge.refund.updated"]
    assert [e.refunds[0].status for e in legacy] == [RefundStatus.SUCCEEDED, RefundStatus.FAILED]


def test_dispute_updated_and_unknown_types(verifier: StripeWebhookVerifier) -> None:
    """L5: charge.dispute.updated maps to DISPUTE_UPDATED; an unknown type (and Stripe's own
    example event, plan.created) comes out IGNORED, not as an error."""
    dispute = next(e for e in EVENTS if e["type"] == "charge.dispute.created")
    updated = json.loads(json.dumps(dispute))
    updated.update(id="evt_dispute_updated", type="charge.dispute.updated")
    updated["data"]["object"]["status"] = "under_review"
    customer = {
        "id": "evt_customer",
        "object": "event",
        "api_version": "2023-08-16",
        "created": TS,
        "data": {"object": {"id": "cus_1", "object": "customer"}},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "customer.created",
    }
    fixture = load_fixtures()["event"]

    got = [verifier.verify(_payload(e), sign(_payload(e))) for e in (updated, customer, fixture)]

    assert got[0].kind is EventKind.DISPUTE_UPDATED
    assert got[0].disputed is True
    assert got[1].kind is EventKind.IGNORED
    assert got[2].kind is EventKind.IGNORED
    assert got[2].type == "plan.created"


def test_a_bytearray_body_is_accepted(verifier: StripeWebhookVerifier) -> None:
    """Frameworks hand the raw body as bytes or bytearray; both verify."""
    payload = _payload(EVENTS[0])
    assert verifier.verify(bytearray(payload), sign(payload)).id == EVENTS[0]["id"]


@pytest.mark.parametrize("seconds", [-300, -1, 0, 1, 299, 300])
def test_timestamps_within_the_tolerance_pass(
    verifier: StripeWebhookVerifier, seconds: int
) -> None:
    """P1: up to 300 s old, or up to 300 s ahead (clock skew), is accepted."""
    payload = _payload(EVENTS[0])
    assert verifier.verify(payload, sign(payload, timestamp=TS - seconds)).id == EVENTS[0]["id"]


def test_the_clock_decides_the_age(clock: ManualClock) -> None:
    """P1: the age is measured on the injected Clock, not time.time()."""
    verifier = StripeWebhookVerifier(SECRET, clock=clock, tolerance_seconds=60)
    payload = _payload(EVENTS[0])
    header = sign(payload)
    verifier.verify(payload, header)

    clock.advance(timedelta(seconds=61))

    with pytest.raises(InvalidSignature, match="61 s old"):
        verifier.verify(payload, header)


def test_the_system_clock_is_the_default() -> None:
    """P1: without a clock, a signature made now verifies."""
    verifier = StripeWebhookVerifier(SECRET)
    payload = _payload(EVENTS[0])
    now = int(datetime.now(UTC).timestamp())
    assert verifier.verify(payload, sign(payload, timestamp=now)).id == EVENTS[0]["id"]


# ---------------------------------------------------------------------------------------------
# rotation
# ---------------------------------------------------------------------------------------------


def test_rotation_accepts_either_secret(clock: ManualClock) -> None:
    """P1: during a secret rotation both the new and the old secret are accepted."""
    verifier = StripeWebhookVerifier([SECRET, OLD_SECRET], clock=clock)
    payload = _payload(EVENTS[0])

    assert verifier.verify(payload, sign(payload, SECRET)).id == EVENTS[0]["id"]
    assert verifier.verify(payload, sign(payload, OLD_SECRET)).id == EVENTS[0]["id"]
    with pytest.raises(InvalidSignature):
        verifier.verify(payload, sign(payload, OTHER_SECRET))


def test_several_v1_signatures_in_one_header(clock: ManualClock) -> None:
    """P1: Stripe signs with every active secret during a rotation (several v1 entries); any
    one matching a configured secret is enough, in any position."""
    payload = _payload(EVENTS[0])
    new_sig, old_sig = v1_of(sign(payload, SECRET)), v1_of(sign(payload, OLD_SECRET))
    header = f"t={TS},v1={new_sig},v1={old_sig},v0=legacy"
    garbage_first = f"t={TS},v1={'0' * 64},v1={old_sig}"

    for secrets in ([SECRET], [OLD_SECRET], [OTHER_SECRET, OLD_SECRET]):
        verifier = StripeWebhookVerifier(secrets, clock=clock)
        assert verifier.verify(payload, header).id == EVENTS[0]["id"]
    old_only = StripeWebhookVerifier(OLD_SECRET, clock=clock)
    assert old_only.verify(payload, garbage_first).id == EVENTS[0]["id"]
    with pytest.raises(InvalidSignature):
        StripeWebhookVerifier(OTHER_SECRET, clock=clock).verify(payload, header)


# ---------------------------------------------------------------------------------------------
# refusals
# ---------------------------------------------------------------------------------------------

GOOD = _payload(EVENTS[0])
OLD_TS = TS - 30 * 86_400  # a delivery captured a month ago


def _tampered() -> tuple[bytes, str | None]:
    header = sign(GOOD)
    tampered = GOOD.replace(b'"amount": 1000', b'"amount": 9000')
    assert tampered != GOOD
    return tampered, header


def _signed_text(text: str) -> tuple[bytes, str | None]:
    return text.encode("utf-8"), sign(text)


REFUSALS: dict[str, Callable[[], tuple[bytes, str | None]]] = {
    "tampered body": _tampered,
    "wrong secret": lambda: (GOOD, sign(GOOD, OTHER_SECRET)),
    "no header": lambda: (GOOD, None),
    "empty header": lambda: (GOOD, ""),
    "blank header": lambda: (GOOD, "   "),
    "garbage header": lambda: (GOOD, "garbage"),
    "no timestamp": lambda: (GOOD, f"v1={v1_of(sign(GOOD))}"),
    "non-numeric timestamp": lambda: (GOOD, f"t=abc,v1={v1_of(sign(GOOD))}"),
    "fractional timestamp": lambda: (GOOD, f"t={TS}.5,v1={v1_of(sign(GOOD))}"),
    "no v1 signature": lambda: (GOOD, f"t={TS}"),
    "only a v0 signature": lambda: (GOOD, f"t={TS},v0={v1_of(sign(GOOD))}"),
    "non-ASCII signature": lambda: (GOOD, f"t={TS},v1=é{v1_of(sign(GOOD))[1:]}"),
    "signature of another timestamp": lambda: (
        GOOD,
        f"t={TS},v1={v1_of(sign(GOOD, timestamp=TS - 1))}",
    ),
    "301 s old": lambda: (GOOD, sign(GOOD, timestamp=TS - 301)),
    "a day old": lambda: (GOOD, sign(GOOD, timestamp=TS - 86_400)),
    "301 s in the future": lambda: (GOOD, sign(GOOD, timestamp=TS + 301)),
    "non-UTF-8 body": lambda: (b"\xff\xfe" + GOOD, sign(GOOD)),
    "huge header": lambda: (GOOD, sign(GOOD) + ",v1=" + "a" * 10_000),
    # The header is read exactly as Stripe specifies it (P1 regressions: a key with spaces is
    # another key, a second t is refused, only integer seconds are a timestamp).
    "replay: a fresh ' t' before the old t": lambda: (
        GOOD,
        f" t={TS},t={OLD_TS},v1={v1_of(sign(GOOD, timestamp=OLD_TS))}",
    ),
    "replay: a fresh ' t' after the old t": lambda: (
        GOOD,
        f"t={OLD_TS}, t={TS},v1={v1_of(sign(GOOD, timestamp=OLD_TS))}",
    ),
    "replay: a fresh 't ' after the signature": lambda: (
        GOOD,
        f"t={OLD_TS},v1={v1_of(sign(GOOD, timestamp=OLD_TS))},t ={TS}",
    ),
    "replay: a fresh second t first": lambda: (
        GOOD,
        f"t={TS},t={OLD_TS},v1={v1_of(sign(GOOD, timestamp=OLD_TS))}",
    ),
    "replay: a fresh second t last": lambda: (
        GOOD,
        f"t={OLD_TS},v1={v1_of(sign(GOOD, timestamp=OLD_TS))},t={TS}",
    ),
    "the same t twice": lambda: (GOOD, f"t={TS},t={TS},v1={v1_of(sign(GOOD))}"),
    "space before t": lambda: (GOOD, f" t={TS},v1={v1_of(sign(GOOD))}"),
    "space after t": lambda: (GOOD, f"t ={TS},v1={v1_of(sign(GOOD))}"),
    "space before the timestamp": lambda: (GOOD, f"t= {TS},v1={v1_of(sign(GOOD))}"),
    "space after the timestamp": lambda: (GOOD, f"t={TS} ,v1={v1_of(sign(GOOD))}"),
    "space before v1": lambda: (GOOD, f"t={TS}, v1={v1_of(sign(GOOD))}"),
    "space before the signature": lambda: (GOOD, f"t={TS},v1= {v1_of(sign(GOOD))}"),
    "upper-case T": lambda: (GOOD, f"T={TS},v1={v1_of(sign(GOOD))}"),
    "upper-case V1": lambda: (GOOD, f"t={TS},V1={v1_of(sign(GOOD))}"),
    "upper-case hex signature": lambda: (GOOD, f"t={TS},v1={v1_of(sign(GOOD)).upper()}"),
    "negative timestamp": lambda: (GOOD, f"t=-{TS},v1={v1_of(sign(GOOD))}"),
    "timestamp with a plus sign": lambda: (GOOD, f"t=+{TS},v1={v1_of(sign(GOOD))}"),
    "timestamp in exponent notation": lambda: (GOOD, f"t=1.8e9,v1={v1_of(sign(GOOD))}"),
    "timestamp in hex": lambda: (GOOD, f"t={hex(TS)},v1={v1_of(sign(GOOD))}"),
    "empty timestamp": lambda: (GOOD, f"t=,v1={v1_of(sign(GOOD))}"),
    "an item without '='": lambda: (GOOD, f"{sign(GOOD)},garbage"),
    "a trailing comma": lambda: (GOOD, f"{sign(GOOD)},"),
    "empty v1": lambda: (GOOD, f"t={TS},v1="),
    "v0 signatures only": lambda: (
        GOOD,
        f"t={TS},v0={v1_of(sign(GOOD))},v0={v1_of(sign(GOOD, OLD_SECRET))}",
    ),
    "signature of the body alone": lambda: (
        GOOD,
        f"t={TS},v1={hmac.new(SECRET.encode(), GOOD, hashlib.sha256).hexdigest()}",
    ),
    "signature keyed without the whsec_ prefix": lambda: (
        GOOD,
        sign(GOOD, SECRET.removeprefix("whsec_")),
    ),
    "body re-serialised": lambda: (
        json.dumps(json.loads(GOOD), separators=(",", ":")).encode("utf-8"),
        sign(GOOD),
    ),
    "body with a trailing newline": lambda: (GOOD + b"\n", sign(GOOD)),
    "body truncated": lambda: (GOOD[:-1], sign(GOOD)),
    "body of another event": lambda: (_payload(EVENTS[1]), sign(GOOD)),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refused_deliveries_raise_invalid_signature(
    verifier: StripeWebhookVerifier, case: str
) -> None:
    """P1: tampered bodies, wrong secrets, missing or garbled headers, stale or future
    timestamps and non-UTF-8 bodies are all ``invalid_signature``."""
    payload, header = REFUSALS[case]()

    with pytest.raises(InvalidSignature) as info:
        verifier.verify(payload, header)

    assert info.value.code == "invalid_signature"
    assert not isinstance(info.value, stripe.StripeError)


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("replay: a fresh ' t' before the old t", "old, more than the 300 s"),
        ("replay: a fresh ' t' after the old t", "old, more than the 300 s"),
        ("replay: a fresh 't ' after the signature", "old, more than the 300 s"),
        ("replay: a fresh second t first", "more than one timestamp"),
        ("replay: a fresh second t last", "more than one timestamp"),
        ("the same t twice", "more than one timestamp"),
        ("space before t", "no readable timestamp"),
        ("space after the timestamp", "no readable timestamp"),
        ("timestamp with a plus sign", "no readable timestamp"),
        ("space before v1", "no v1 signature"),
        ("v0 signatures only", "no v1 signature"),
        ("an item without '='", "malformed"),
        ("upper-case hex signature", "matches the payload"),
        ("body re-serialised", "matches the payload"),
    ],
)
def test_refusals_say_why(verifier: StripeWebhookVerifier, case: str, match: str) -> None:
    """P1: the reason names what is wrong (without any secret)."""
    payload, header = REFUSALS[case]()
    with pytest.raises(InvalidSignature, match=match):
        verifier.verify(payload, header)


def test_the_reviewers_replay_is_refused_with_the_system_clock() -> None:
    """P1 regression (review f1): a delivery signed 30 days ago, replayed with a fresh ' t='
    item in front, passed the SDK's signature check on the old t and our age check on the
    fresh one. The signature and the age are now checked on the same, single t."""
    payload = GOOD.decode("utf-8")
    old = int(datetime.now(UTC).timestamp()) - 30 * 86_400
    signature = v1_of(sign(payload, timestamp=old))
    verifier = StripeWebhookVerifier(SECRET)
    fresh = int(datetime.now(UTC).timestamp())

    for header in (
        f"t={old},v1={signature}",
        f" t={fresh},t={old},v1={signature}",
        f"t={fresh},t={old},v1={signature}",
        f"t={old},v1={signature}, t={fresh}",
    ):
        with pytest.raises(InvalidSignature):
            verifier.verify(GOOD, header)


def test_a_signature_with_the_right_secret_but_another_timestamp_is_refused(
    verifier: StripeWebhookVerifier,
) -> None:
    """P1: the signed timestamp is the one whose age is checked: moving t (even by one second,
    even to a fresher time) breaks the signature."""
    old_signature = v1_of(sign(GOOD, timestamp=TS - 301))
    for t in (TS - 300, TS, TS + 1):
        with pytest.raises(InvalidSignature, match="matches the payload"):
            verifier.verify(GOOD, f"t={t},v1={old_signature}")


def test_rotation_signatures_any_order_with_other_schemes(clock: ManualClock) -> None:
    """P1, rotation: v1 signatures of several secrets, in any order, among v0 and unknown
    schemes; each configured secret alone, or both, accept; another secret does not."""
    new_sig, old_sig = v1_of(sign(GOOD, SECRET)), v1_of(sign(GOOD, OLD_SECRET))
    headers = [
        f"t={TS},v1={new_sig},v1={old_sig}",
        f"v1={old_sig},v0={new_sig},t={TS},v1={new_sig},scheme9=zz",
        f"v0=legacy,v1={'f' * 64},t={TS},v1={old_sig}",
    ]
    both = StripeWebhookVerifier([OLD_SECRET, SECRET], clock=clock)
    for header in headers:
        assert both.verify(GOOD, header).id == EVENTS[0]["id"]
        assert StripeWebhookVerifier(OLD_SECRET, clock=clock).verify(GOOD, header)
    assert StripeWebhookVerifier(SECRET, clock=clock).verify(GOOD, headers[0])
    with pytest.raises(InvalidSignature):
        StripeWebhookVerifier(SECRET, clock=clock).verify(GOOD, headers[2])
    with pytest.raises(InvalidSignature):
        StripeWebhookVerifier([OTHER_SECRET], clock=clock).verify(GOOD, headers[1])


def _header_items() -> list[str]:
    """Pieces of Stripe-Signature headers, valid and forged, fresh and stale."""
    items = []
    for t in (TS, TS - 100, TS + 250, TS - 301, OLD_TS):
        items += [f"t={t}", f" t={t}", f"t ={t}", f"v1={v1_of(sign(GOOD, timestamp=t))}"]
    items += [
        f"v1={v1_of(sign(GOOD, OLD_SECRET))}",
        f"v1={v1_of(sign(GOOD, OTHER_SECRET))}",
        f" v1={v1_of(sign(GOOD))}",
        f"v0={v1_of(sign(GOOD))}",
        "v1=" + "0" * 64,
        "t=abc",
        "x=y",
    ]
    return items


@given(st.lists(st.sampled_from(_header_items()), max_size=6))
def test_whatever_we_accept_stripes_sdk_accepts_on_the_same_fresh_timestamp(
    items: list[str],
) -> None:
    """Compatibility (P1): a header we accept is one Stripe's own SDK accepts too, and the
    timestamp the SDK reads from it is within the tolerance — we are never looser than Stripe
    on the signature, and the age we check is the age of what was signed."""
    verifier = StripeWebhookVerifier([SECRET, OLD_SECRET], clock=ManualClock(NOW))
    header = ",".join(items)
    try:
        verifier.verify(GOOD, header)
    except InvalidSignature:
        return
    text = GOOD.decode("utf-8")
    assert any(_sdk_accepts(text, header, secret) for secret in (SECRET, OLD_SECRET)), header
    timestamp, _ = stripe.WebhookSignature._get_timestamp_and_signatures(header, "v1")
    assert abs(timestamp - TS) <= 300, header
    assert [item.partition("=")[0] for item in items].count("t") == 1, header


def _sdk_accepts(text: str, header: str, secret: str) -> bool:
    try:
        return bool(stripe.WebhookSignature.verify_header(text, header, secret, tolerance=None))
    except stripe.SignatureVerificationError:
        return False


SIGNED_NON_EVENTS: dict[str, str] = {
    "malformed JSON": '{"id": "evt_1", "object": "event",',
    "not JSON at all": "hello",
    "a JSON list": "[1, 2, 3]",
    "a charge, not an event": json.dumps({"id": "ch_1", "object": "charge"}),
    "an event without data": json.dumps(
        {"id": "evt_1", "object": "event", "type": "refund.created", "created": TS}
    ),
    "a refund with an unknown status": json.dumps(
        {
            "id": "evt_1",
            "object": "event",
            "type": "refund.updated",
            "created": TS,
            "data": {
                "object": {
                    "id": "re_1",
                    "object": "refund",
                    "amount": 100,
                    "currency": "usd",
                    "created": TS,
                    "status": "teleported",
                }
            },
        }
    ),
    "a thin v2 event": json.dumps({"id": "evt_1", "object": "v2.core.event", "type": "x"}),
}


@pytest.mark.parametrize("case", sorted(SIGNED_NON_EVENTS))
def test_correctly_signed_non_events_raise_invalid_event(
    verifier: StripeWebhookVerifier, case: str
) -> None:
    """A payload signed with our secret that is not a readable Stripe event is
    ``invalid_event`` (answer 400; nothing is applied)."""
    payload, header = _signed_text(SIGNED_NON_EVENTS[case])

    with pytest.raises(InvalidEvent) as info:
        verifier.verify(payload, header)

    assert info.value.code == "invalid_event"


def _signed_bytes(payload: bytes, secret: str = SECRET) -> str:
    mac = hmac.new(secret.encode(), f"{TS}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={TS},v1={mac}"


def test_refusals_chain_nothing(verifier: StripeWebhookVerifier) -> None:
    """P3 (issue 9 item 3): no refusal keeps what Python raised while reading the delivery
    (a UnicodeDecodeError or JSONDecodeError holds the whole payload, a reader's error quotes
    it unscrubbed): neither __cause__ nor __context__ is set."""
    deliveries = [make() for make in REFUSALS.values()]
    deliveries += [_signed_text(text) for text in SIGNED_NON_EVENTS.values()]
    not_utf8 = b'{"object": "event", "id": "' + SECRET.encode() + b'\xff"}'
    deliveries.append((not_utf8, _signed_bytes(not_utf8)))
    deep = "[" * 100_000 + "]" * 100_000  # json.loads: RecursionError, not ValueError
    deliveries.append(_signed_text(deep))
    for payload, header in deliveries:
        with pytest.raises((InvalidSignature, InvalidEvent)) as info:
            verifier.verify(payload, header)
        assert info.value.__cause__ is None
        assert info.value.__context__ is None
        assert SECRET not in _everything_about(info.value)


def test_a_header_that_is_not_text_is_a_programming_error(
    verifier: StripeWebhookVerifier,
) -> None:
    """P1: the Stripe-Signature header is text (or None when absent); bytes are a bug of the
    endpoint, as a text body is."""
    with pytest.raises(TypeError, match="header as text"):
        verifier.verify(GOOD, sign(GOOD).encode())  # type: ignore[arg-type]


def test_text_payloads_are_a_programming_error(verifier: StripeWebhookVerifier) -> None:
    """The raw body bytes are required: text may already be re-encoded or re-serialised."""
    with pytest.raises(TypeError, match="raw request body"):
        verifier.verify(GOOD.decode("utf-8"), sign(GOOD))  # type: ignore[arg-type]


@given(st.text(max_size=200))
def test_any_header_is_verified_or_refused_never_crashes(header: str) -> None:
    """P1: whatever arrives in the header, the answer is a GatewayEvent or InvalidSignature."""
    verifier = StripeWebhookVerifier(SECRET, clock=ManualClock(NOW))
    with pytest.raises(InvalidSignature):
        verifier.verify(GOOD, header)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
_event_like = st.fixed_dictionaries(
    {"object": st.just("event")},
    optional={
        "id": _json,
        "type": st.sampled_from(["refund.created", "charge.refunded", "charge.dispute.closed"])
        | _json,
        "created": st.integers(min_value=-(10**20), max_value=10**20) | _json,
        "data": st.fixed_dictionaries(
            {},
            optional={
                "object": st.fixed_dictionaries(
                    {},
                    optional={
                        "object": st.sampled_from(["refund", "charge", "dispute"]) | _json,
                        "id": _json,
                        "status": st.sampled_from(["succeeded", "needs_response"]) | _json,
                        "amount": st.integers() | _json,
                        "currency": st.sampled_from(["usd", "jpy", "xxx"]) | _json,
                        "created": st.integers() | _json,
                        "metadata": _json,
                        "payment_intent": _json,
                        "charge": _json,
                        "disputed": _json,
                    },
                )
            },
        )
        | _json,
    },
)


@given(_event_like)
def test_any_signed_json_is_an_event_or_invalid_event(data: dict[str, Any]) -> None:
    """A correctly signed body is either read as a GatewayEvent or refused as InvalidEvent:
    never an unexpected exception in the webhook endpoint."""
    verifier = StripeWebhookVerifier(SECRET, clock=ManualClock(NOW))
    payload, header = _signed_text(json.dumps(data))
    try:
        event = verifier.verify(payload, header)
    except InvalidEvent:
        return
    assert isinstance(event, GatewayEvent)


# ---------------------------------------------------------------------------------------------
# configuration and secrecy (P3)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secrets", "match"),
    [
        ("", "empty"),
        ([], "no webhook signing secret"),
        ([SECRET, "  "], "#2 is empty"),
        (SECRET + "\n", "whitespace"),
        ("sk_test_thisIsAnApiKeyNotAWebhookSecret", "does not look like"),
        ([SECRET, None], "#2 is empty"),
    ],
)
def test_bad_secrets_are_refused_without_showing_them(secrets: Any, match: str) -> None:
    """P3: a misconfigured secret is refused with a message that does not contain it."""
    with pytest.raises(GatewayMisconfigured, match=match) as info:
        StripeWebhookVerifier(secrets)
    text = _everything_about(info.value)
    for value in secrets if isinstance(secrets, list) else [secrets]:
        if isinstance(value, str) and value.strip():
            assert value.strip() not in text


@pytest.mark.parametrize("tolerance", [0, -1, True, 1.5])
def test_tolerance_must_be_a_positive_int(tolerance: Any) -> None:
    """P1: the tolerance cannot be switched off (the SDK skips the check for 0/None)."""
    with pytest.raises((TypeError, ValueError)):
        StripeWebhookVerifier(SECRET, tolerance_seconds=tolerance)


def _everything_about(error: BaseException) -> str:
    return "\n".join(
        [str(error), repr(error), *traceback.format_exception(error), str(vars(error))]
    )


def test_secrets_are_never_shown(clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    """P3: no secret in the verifier's repr/str/attributes, in any refusal's message, repr or
    traceback, or in any log line; secrets cannot be pickled away either."""
    caplog.set_level(logging.DEBUG)
    verifier = StripeWebhookVerifier([SECRET, OLD_SECRET], clock=clock)
    texts = [repr(verifier), str(verifier), repr(vars(verifier)), f"{verifier}"]
    for case in sorted(REFUSALS):
        payload, header = REFUSALS[case]()
        with pytest.raises(InvalidSignature) as info:
            verifier.verify(payload, header)
        texts.append(_everything_about(info.value))
    for text in SIGNED_NON_EVENTS.values():
        with pytest.raises(InvalidEvent) as event_info:
            verifier.verify(*_signed_text(text))
        texts.append(_everything_about(event_info.value))
    verifier.verify(GOOD, sign(GOOD, OLD_SECRET))
    texts.append(caplog.text)

    blob = "\n".join(texts)
    for secret in (SECRET, OLD_SECRET):
        assert secret not in blob
        assert secret.removeprefix("whsec_") not in blob
    assert "2 configured" in repr(verifier)
    assert "tolerance_seconds=300" in repr(verifier)
    with pytest.raises(TypeError):
        pickle.dumps(verifier)


def test_refusals_are_refund_errors_with_stable_codes(verifier: StripeWebhookVerifier) -> None:
    """Webhook endpoints catch RefundError: both refusals are, with stable codes."""
    assert issubclass(InvalidSignature, RefundError)
    assert issubclass(InvalidEvent, RefundError)
    assert InvalidSignature.code == "invalid_signature"
    assert InvalidEvent.code == "invalid_event"
    assert verifier.tolerance_seconds == 300


def test_exchange_rates_in_payloads_do_not_matter(verifier: StripeWebhookVerifier) -> None:
    """The signature covers the exact bytes: a payload with decimal numbers verifies as sent."""
    event = dict(EVENTS[0])
    event["data"] = {"object": {**EVENTS[0]["data"]["object"]}, "rate": Decimal("0.912345")}
    payload = dumps_stripe_json(event).encode("utf-8")
    assert b"0.912345" in payload
    assert verifier.verify(payload, sign(payload)).id == EVENTS[0]["id"]
