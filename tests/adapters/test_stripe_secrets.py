"""Issue 9, item 3 — P3 through exception chains: a translated error keeps nothing of the SDK's
error (not as ``__cause__``, not as ``__context__``), so an API key or a webhook secret that
Stripe's answer echoes never reaches a formatted traceback, a repr, a message or a log line.

Every answer below echoes both secrets; the gateway's own client holds a live-looking key.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import pytest
import stripe

from kanorio_refunds.errors import GatewayUnavailable, RefundError
from kanorio_refunds.testing.fake_stripe import FakeStripe
from kanorio_refunds.testing.stripe_http import FakeStripeHTTPClient, load_fixtures

from .stripe_world import (
    API_KEY,
    CREATE_REFUND,
    SECRETS,
    WEBHOOK_SECRET,
    chain_of,
    everything_about,
    gateway,
    intent_of,
    paid_order,
    request_for,
)

ECHO = f"Invalid request: {API_KEY} and {WEBHOOK_SECRET} are not accepted here"


def _error_body(type_: str, code: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {
        "type": type_,
        "message": ECHO,
        "param": API_KEY,
        "doc_url": f"https://stripe.com/docs/{WEBHOOK_SECRET}",
        "request_log_url": f"https://dashboard.stripe.com/logs?key={API_KEY}",
    }
    if code is not None:
        error["code"] = code
    return {"error": error}


_REFUND = load_fixtures()["refund"]

#: (status, body) answers, each echoing both secrets somewhere.
ANSWERS: dict[str, tuple[int, Any]] = {
    "400 invalid request": (400, _error_body("invalid_request_error", "parameter_invalid")),
    "400 code is the key": (400, _error_body("invalid_request_error", API_KEY)),
    "400 idempotency": (400, _error_body("idempotency_error")),
    "402 card error": (402, _error_body("card_error", "card_declined")),
    "404 missing": (404, _error_body("invalid_request_error", "resource_missing")),
    "409 conflict": (409, _error_body("idempotency_error", "idempotency_key_in_use")),
    "429 rate limit": (429, _error_body("invalid_request_error", "rate_limit")),
    "500 api error": (500, _error_body("api_error")),
    "502 proxy page": (502, f"<html>Bad gateway {ECHO}</html>"),
    "503 unreadable": (503, f"{{not json {ECHO}"),
    "200 not JSON": (200, f"<html>{ECHO}</html>"),
    "200 an array": (200, json.dumps([API_KEY, WEBHOOK_SECRET])),
    "200 error object": (200, _error_body("api_error")),
    "200 another object": (200, {"object": API_KEY, "id": WEBHOOK_SECRET}),
    "200 a refund in a secret currency": (
        200,
        {**_REFUND, "currency": API_KEY, "metadata": {"note": WEBHOOK_SECRET}},
    ),
    "200 a refund with a secret status": (200, {**_REFUND, "status": WEBHOOK_SECRET}),
    "200 a list page echoing": (
        200,
        {"object": "list", "data": [{"object": API_KEY}], "has_more": WEBHOOK_SECRET},
    ),
    "400 error a string": (400, {"error": ECHO}),
    "400 error a number": (400, {"error": 5, "message": ECHO}),
}

#: The headers of every answer echo the key too (a Request-Id that is not one is never quoted).
HEADERS = {"Request-Id": API_KEY, "Stripe-Should-Retry": "false"}


class _EchoingConnectionFailure(FakeStripeHTTPClient):
    """A transport whose every request fails as a connection error whose text echoes both
    secrets (as a proxy's error page or a misconfigured URL would)."""

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        raise stripe.APIConnectionError(  # type: ignore[no-untyped-call]
            f"Unexpected error communicating with Stripe: {ECHO}", should_retry=False
        )


def _assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text
        # Not even the part after the prefix (a key quoted without it, or cut).
        assert secret.split("_", 2)[-1] not in text


def _whole_story(error: BaseException) -> str:
    """Everything a log line could print of ``error``: the formatted traceback (chains
    included), str, repr, attributes and args."""
    return everything_about(error)


def _assert_no_sdk_error_reachable(error: BaseException) -> None:
    """Nothing of the SDK's error survives: not in the chain, not as a local variable of a
    frame in the traceback (error trackers capture those)."""
    assert not any(isinstance(e, stripe.StripeError) for e in chain_of(error))
    for frame, _ in traceback.walk_tb(error.__traceback__):
        assert not any(isinstance(v, stripe.StripeError) for v in frame.f_locals.values())


def _calls(model: FakeStripe, gateway_: Any) -> dict[str, Callable[[], object]]:
    order = paid_order(model)
    assert order.payment is not None
    charge = order.payment.charge_id
    return {
        "fetch by intent": lambda: gateway_.fetch_payment(intent_of(order), None),
        "fetch by charge": lambda: gateway_.fetch_payment(None, charge),
        "list refunds": lambda: gateway_.list_refunds(intent_of(order), None),
        "create": lambda: gateway_.create_refund(request_for(order)),
    }


@pytest.mark.parametrize("call", ["fetch by intent", "fetch by charge", "list refunds", "create"])
@pytest.mark.parametrize("case", sorted(ANSWERS))
def test_no_secret_in_any_translated_error_or_its_traceback(
    model: FakeStripe, transports: list[FakeStripeHTTPClient], case: str, call: str
) -> None:
    """P3 (issue 9 item 3): for 400, 402, 404, 409, 429, 5xx and unreadable answers echoing an
    API key and a webhook secret, the error is one of ours with no __cause__ and no
    __context__ (and no frame of its traceback keeps the SDK's error), and neither secret
    appears in its formatted traceback, repr, message or attributes."""
    status, body = ANSWERS[case]
    stripe_gateway, transport = gateway(model, transports)
    act = _calls(model, stripe_gateway)[call]
    transport.inject_http_response(status, body, times=10, headers=HEADERS)

    with pytest.raises(RefundError) as info:
        act()

    error = info.value
    assert chain_of(error) == [error]
    _assert_no_sdk_error_reachable(error)
    _assert_no_secret(_whole_story(error))


@pytest.mark.parametrize("call", ["fetch by intent", "fetch by charge", "list refunds", "create"])
def test_no_secret_from_a_connection_error(
    model: FakeStripe, transports: list[FakeStripeHTTPClient], call: str
) -> None:
    """P3 (issue 9 item 3), L2: a connection error whose text echoes both secrets becomes
    GatewayUnavailable that chains nothing and shows neither."""
    stripe_gateway, _ = gateway(model, transports, http_client=_EchoingConnectionFailure(model))
    act = _calls(model, stripe_gateway)[call]

    with pytest.raises(GatewayUnavailable) as info:
        act()

    assert chain_of(info.value) == [info.value]
    _assert_no_sdk_error_reachable(info.value)
    _assert_no_secret(_whole_story(info.value))


def test_logging_exception_of_a_translated_error_shows_no_secret(
    model: FakeStripe,
    transports: list[FakeStripeHTTPClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """P3: ``logging.exception`` in a host's handler (the issue's leak) prints no secret; nor
    do the SDK's own log lines (it logs Stripe's error message at INFO and the response body
    at DEBUG on the ``stripe`` logger), which the gateway scrubs."""
    caplog.set_level(logging.DEBUG)
    stripe_gateway, transport = gateway(model, transports)
    act = _calls(model, stripe_gateway)["create"]
    for status, body in (ANSWERS["402 card error"], ANSWERS["500 api error"]):
        transport.inject_http_response(status, body, headers=HEADERS)
        try:
            act()
        except RefundError:
            logging.getLogger("host").exception("refund failed")

    assert "refund failed" in caplog.text
    assert any(r.name == "stripe" for r in caplog.records)  # the SDK did log
    _assert_no_secret(caplog.text)
    _assert_no_secret("\n".join(r.getMessage() for r in caplog.records))


def test_the_gateway_and_its_settings_show_no_key(
    model: FakeStripe, transports: list[FakeStripeHTTPClient]
) -> None:
    """P3: the gateway's repr shows no key, even with a client holding a live one."""
    stripe_gateway, _ = gateway(model, transports, api_key=API_KEY)
    _assert_no_secret(repr(stripe_gateway) + str(stripe_gateway))


def test_a_secret_in_a_created_refunds_fields_stays_out_of_the_outcome_unknown_error(
    model: FakeStripe, transports: list[FakeStripeHTTPClient]
) -> None:
    """P3, L2: an answer to our create that quotes a secret where an amount is expected is
    an unknown outcome whose message says what was wrong, without the secret."""
    stripe_gateway, transport = gateway(model, transports)
    order = paid_order(model)
    transport.inject_http_response(200, {**_REFUND, "amount": API_KEY}, operation=CREATE_REFUND)

    with pytest.raises(RefundError) as info:
        stripe_gateway.create_refund(request_for(order))

    assert "not an integer amount" in info.value.message
    assert "[redacted]" in info.value.message
    _assert_no_secret(_whole_story(info.value))
