"""The simulator's events for a host's tests: as ``RefundService.apply_event`` input
(``gateway_events``, ``EventRelay``) and as signed webhook deliveries for testing a webhook
endpoint (``sign_webhook``).

Nothing here needs the ``stripe`` SDK: events are read by the same code as the Stripe adapter's
(``adapters._stripe_json.parse_event``) and signed the way Stripe signs them (HMAC-SHA256).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

import attrs

from kanorio_refunds.adapters._stripe_json import parse_event
from kanorio_refunds.domain._events import EventOutcome, GatewayEvent
from kanorio_refunds.testing.fake_stripe._model import FakeStripe
from kanorio_refunds.testing.fake_stripe._render import stripe_json


def gateway_events(events: Iterable[Mapping[str, Any]]) -> list[GatewayEvent]:
    """Stripe events (``FakeStripe.events()``, ``events_since(n)``: Stripe's event JSON) as
    ``RefundService.apply_event`` input, in the same order.

    Each is exactly what ``StripeWebhookVerifier.verify`` returns for that event delivered
    signed, so feeding these to ``apply_event`` tests what a webhook endpoint would do, without
    the signing. Raises ``GatewayProtocolError`` for an event it cannot read.
    """
    return [parse_event(event) for event in events]


class _AppliesEvents(Protocol):
    def apply_event(self, event: GatewayEvent) -> EventOutcome: ...


class EventRelay:
    """Stripe's webhook delivery, in-process: every event the simulator emits is applied to a
    service once, in emission order.

    ``since`` is the number of events already delivered (default 0: every event of the
    simulator; ``FakeStripe.event_count()`` skips the ones emitted so far)::

        relay = EventRelay(stripe)
        service.process(service.quote(order_id, owner, amount), owner)
        outcomes = relay.deliver(service)   # refund.created, charge.refunded

    Thread-safe: concurrent ``deliver`` calls never deliver an event twice.
    """

    def __init__(self, stripe: FakeStripe, *, since: int = 0) -> None:
        if isinstance(since, bool) or not isinstance(since, int) or since < 0:
            raise ValueError("since must be a number of events (an int >= 0)")
        self._stripe = stripe
        self._delivered = since
        self._lock = threading.Lock()

    @property
    def delivered(self) -> int:
        """How many of the simulator's events are behind us (delivered or skipped)."""
        with self._lock:
            return self._delivered

    def pending(self) -> list[GatewayEvent]:
        """The events emitted and not delivered yet, oldest first (nothing is marked
        delivered)."""
        with self._lock:
            return gateway_events(self._stripe.events_since(self._delivered))

    def deliver(self, service: _AppliesEvents) -> list[EventOutcome]:
        """Apply every pending event with ``service.apply_event`` (a ``RefundService``, or
        anything with that method), oldest first; return the outcomes.

        If ``apply_event`` raises (e.g. ``GatewayUnavailable`` while the service reads the
        payment), the error propagates and the failing event and those after it stay pending,
        as Stripe redelivers after a failed delivery: the next ``deliver`` starts with them.
        """
        with self._lock:
            outcomes: list[EventOutcome] = []
            for event in gateway_events(self._stripe.events_since(self._delivered)):
                outcomes.append(service.apply_event(event))
                self._delivered += 1
            return outcomes


#: The ``Content-Type`` of Stripe's webhook requests.
WEBHOOK_CONTENT_TYPE = "application/json; charset=utf-8"


@attrs.frozen
class SignedWebhook:
    """One webhook delivery as Stripe sends it: the raw body and its ``Stripe-Signature``
    header value (``t=<timestamp>,v1=<signature>``). The secret is not kept."""

    payload: bytes
    signature_header: str
    timestamp: int

    @property
    def headers(self) -> dict[str, str]:
        """The request headers of the delivery: ``Content-Type`` and ``Stripe-Signature``."""
        return {"Content-Type": WEBHOOK_CONTENT_TYPE, "Stripe-Signature": self.signature_header}


def sign_webhook(
    event: Mapping[str, Any] | bytes | str,
    secret: str,
    *,
    timestamp: int | datetime | None = None,
) -> SignedWebhook:
    """A webhook delivery of ``event`` signed with the endpoint's ``secret`` (``whsec_…``) as
    Stripe signs it: ``v1`` = hex HMAC-SHA256(secret, ``"<timestamp>.<payload>"``).

    ``event`` is a Stripe event (e.g. from ``FakeStripe.events()``), serialised as Stripe sends
    it (pretty-printed UTF-8 JSON), or a payload already serialised (``bytes``, or ``str``
    encoded as UTF-8) to sign as it is, byte for byte. ``timestamp`` is when Stripe signed it:
    unix seconds or an aware ``datetime`` (default: now, by the system clock, which is what a
    ``StripeWebhookVerifier`` without a ``clock`` compares with; with a ``ManualClock``, pass
    ``clock.now()``). Sign with another secret, or an old timestamp, to test refusals.
    """
    if not isinstance(secret, str) or not secret:
        raise ValueError("secret must be the endpoint's signing secret (whsec_…)")
    if isinstance(event, bytes | bytearray):
        payload = bytes(event)
    elif isinstance(event, str):
        payload = event.encode("utf-8")
    elif isinstance(event, Mapping):
        payload = stripe_json(event).encode("utf-8")
    else:
        raise TypeError(f"event must be a Stripe event dict, bytes or str, not {type(event)!r}")
    signed_at = _unix_seconds(timestamp)
    signature = hmac.new(
        secret.encode("utf-8"), f"{signed_at}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    return SignedWebhook(payload, f"t={signed_at},v1={signature}", signed_at)


def _unix_seconds(timestamp: int | datetime | None) -> int:
    if timestamp is None:
        return int(time.time())
    if isinstance(timestamp, datetime):
        if timestamp.tzinfo is None or timestamp.utcoffset() is None:
            raise ValueError("timestamp must be an aware datetime (or unix seconds)")
        return int(timestamp.timestamp())
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise TypeError(f"timestamp must be unix seconds or a datetime, not {timestamp!r}")
    return timestamp
