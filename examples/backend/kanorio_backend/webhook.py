"""The Stripe webhook endpoint, POST /stripe/webhook (P1, L5; docs/integration.md §4).

The raw body and the ``Stripe-Signature`` header go to the library's
``StripeWebhookVerifier``; the event it returns goes to ``RefundService.apply_event``. Not
signed by Stripe (or not an event): 400 with the error's code. Applied or deliberately not
(duplicate, stale, ignored, unknown order): 200. Stripe could not be read, or the order was
being saved by someone else: 503, and Stripe (or the forwarder) delivers it again; applying is
idempotent. Any other error of the library (Stripe refused the read, answered something
unreadable, the key is wrong): logged with its code, 500 with the code in JSON, never an HTML
page; Stripe delivers it again too, and alerts when it keeps failing. No sign-in and no CSRF
token: the signature is the proof.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from werkzeug.wrappers import Response

from kanorio_backend.wiring import backend
from kanorio_refunds import EventEffect, RefundError
from kanorio_refunds.errors import (
    ConcurrencyConflict,
    GatewayUnavailable,
    InvalidEvent,
    InvalidSignature,
)

blueprint = Blueprint("webhook", __name__)

#: Retryable failures: the delivery is answered 503 and comes again.
_RETRY = (GatewayUnavailable, ConcurrencyConflict)


@blueprint.post("/stripe/webhook")
def stripe_webhook() -> tuple[Response, int]:
    wired = backend()
    try:
        event = wired.verifier.verify(request.get_data(), request.headers.get("Stripe-Signature"))
    except (InvalidSignature, InvalidEvent) as e:
        # The message says what was wrong with the delivery; it never holds a secret (P3).
        current_app.logger.warning("refused Stripe webhook (%s): %s", e.code, e.message)
        return jsonify(code=e.code, message=e.message), 400
    try:
        outcome = wired.service.apply_event(event)
    except _RETRY as e:
        return jsonify(code=e.code, message="try again later"), 503
    except RefundError as e:
        current_app.logger.error(
            "Stripe event %s not applied (%s): %s", event.id, e.code, e.message
        )
        return jsonify(code=e.code, message="not applied; see the backend's log"), 500
    if outcome.effect is EventEffect.UNCONFIRMED:
        # L6: a signed event named a refund Stripe's own data does not show: nothing changed,
        # but someone should look (docs/integration.md §4).
        current_app.logger.warning("unconfirmed Stripe event %s: %s", event.id, outcome.message)
    return jsonify(result=outcome.effect.value, order_id=outcome.order_id, event_id=event.id), 200
