"""``StripeGateway`` specifics beyond the port contract (tests/contract): lazy import, what goes
on the wire (API version, idempotency header, Connect account, retries), error translation of
every SDK error class, secrecy of the key (P3), and Stripe's example objects through
``adapters._stripe_json``. No network: ``kanorio_refunds.testing.stripe_http`` serves
``FakeStripe``. Malformed answers, secrets in tracebacks, the verifier without the SDK and the
fuzz properties are in ``tests/adapters``.
"""

from __future__ import annotations

import contextlib
import copy
import subprocess
import sys
import textwrap
import traceback
from collections.abc import Callable
from typing import Any

import pytest
import stripe
from hypothesis import given, settings
from hypothesis import strategies as st

from kanorio_refunds.adapters._stripe_json import (
    dispute_blocks_refunds,
    disputed_charge_id,
    latest_charge_of,
    parse_event,
    parse_payment,
    parse_refund,
    redact_secrets,
    refunds_oldest_first,
)
from kanorio_refunds.adapters.stripe import STRIPE_API_VERSION, StripeGateway
from kanorio_refunds.domain._events import EventKind
from kanorio_refunds.domain._ids import PaymentIntentId
from kanorio_refunds.domain._money import Currency, Money
from kanorio_refunds.domain._order import Order
from kanorio_refunds.domain._payment import RefundRequest
from kanorio_refunds.domain._refund import RefundStatus
from kanorio_refunds.errors import (
    GatewayMisconfigured,
    GatewayProtocolError,
    GatewayRejected,
    GatewayUnavailable,
    OrderNotFound,
    RefundError,
)
from kanorio_refunds.testing.fake_stripe import FakeStripe, Fault, stripe_paid_order
from kanorio_refunds.testing.stripe_http import (
    FAKE_API_KEY,
    FakeStripeHTTPClient,
    load_fixtures,
    make_client,
    transport_of,
    validate_object,
)

from .stripe_world import request_for

SECRET_KEY = "sk_test_51KanorioSecretKeyThatMustNeverBeShown0123456789"


def _gateway(
    model: FakeStripe,
    transports: list[FakeStripeHTTPClient],
    *,
    client_retries: int = 0,
    **options: Any,
) -> tuple[StripeGateway, FakeStripeHTTPClient]:
    client = make_client(model, max_network_retries=client_retries)
    transports.append(transport_of(client))
    return StripeGateway(client=client, **options), transport_of(client)


def _order(model: FakeStripe, total: str = "100.00") -> Order:
    return stripe_paid_order(
        model,
        order_id="ord_1",
        site_id="shop-1",
        total=Money.parse(total, "USD"),
        stripe_fee=Money.parse("3.20", "USD"),
    )


def _pi(order: Order) -> PaymentIntentId:
    assert order.payment is not None
    assert order.payment.payment_intent_id is not None
    return order.payment.payment_intent_id


def _everything_about(error: BaseException) -> str:
    return "\n".join([str(error), repr(error), *traceback.format_exception(error)])


# ---------------------------------------------------------------------------------------------
# import isolation
# ---------------------------------------------------------------------------------------------


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_importing_the_library_never_imports_stripe() -> None:
    """`import kanorio_refunds` (and its adapters package, the in-memory adapters, even the
    Stripe adapter module) does not import the SDK; building a gateway does."""
    result = _run(
        """
        import sys
        import kanorio_refunds
        import kanorio_refunds.adapters
        import kanorio_refunds.adapters.memory
        import kanorio_refunds.adapters._stripe_json
        assert "stripe" not in sys.modules, "the library imported stripe"
        from kanorio_refunds.adapters.stripe import StripeGateway, StripeWebhookVerifier
        assert "stripe" not in sys.modules, "the adapter module imported stripe eagerly"
        StripeGateway("sk_test_123")
        assert "stripe" in sys.modules
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_without_the_sdk_the_module_imports_and_a_gateway_explains() -> None:
    """Without the `stripe` extra, the adapter module still imports and constructing a gateway
    raises ImportError telling how to install it (the webhook verifier needs no SDK:
    tests/adapters/test_stripe_without_sdk.py)."""
    result = _run(
        """
        import sys
        sys.modules["stripe"] = None  # as if the SDK were not installed
        from kanorio_refunds.adapters.stripe import StripeGateway
        try:
            StripeGateway("sk_test_123")
        except ImportError as e:
            assert "kanorio-refunds[stripe]" in str(e), str(e)
        else:
            raise AssertionError("built without the SDK")
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# ---------------------------------------------------------------------------------------------
# construction and secrecy
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_key", "match"),
    [
        (None, "no Stripe API key"),
        ("", "no Stripe API key"),
        (SECRET_KEY + "\n", "whitespace"),
        ("pk_test_51KanorioPublishableKey", "publishable"),
        ("not-a-key-at-all-" + SECRET_KEY[8:], "does not look like"),
    ],
)
def test_unusable_keys_are_refused_without_showing_them(api_key: str | None, match: str) -> None:
    """P3: a key that cannot work is refused at construction, naming what is wrong and never
    the key itself."""
    with pytest.raises(GatewayMisconfigured, match=match) as info:
        StripeGateway(api_key)
    if api_key:
        assert api_key.strip() not in _everything_about(info.value)
        assert SECRET_KEY[8:] not in _everything_about(info.value)


def test_repr_never_shows_the_key() -> None:
    """P3: the gateway's repr and str show its settings and mode, never the key."""
    live = StripeGateway("rk_live_51KanorioRestrictedKey0000", stripe_account="acct_123")
    test = StripeGateway(SECRET_KEY, max_network_retries=2, refund_application_fee=True)

    assert "rk_live_51KanorioRestrictedKey0000" not in repr(live) + str(live)
    assert SECRET_KEY not in repr(test) + str(test)
    assert SECRET_KEY[8:20] not in repr(test)
    assert repr(live) == (
        "StripeGateway(mode='live', stripe_version='2023-08-16', stripe_account='acct_123', "
        "max_network_retries=0, refund_application_fee=False, reverse_transfer=False)"
    )
    assert "mode='test'" in repr(test)
    assert "max_network_retries=2" in repr(test)
    assert "refund_application_fee=True" in repr(test)
    assert SECRET_KEY not in repr(vars(test))


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"max_network_retries": -1}, ValueError),
        ({"max_network_retries": True}, TypeError),
        ({"stripe_version": "latest"}, ValueError),
        ({"stripe_account": "user_123"}, GatewayMisconfigured),
        ({"refund_application_fee": "yes"}, TypeError),
        ({"reverse_transfer": 1}, TypeError),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, Any], error: type[Exception]) -> None:
    """Settings are checked when the gateway is built, not on the first refund."""
    with pytest.raises(error):
        StripeGateway(SECRET_KEY, **kwargs)


def test_key_or_client_not_both(model: FakeStripe) -> None:
    """Either the gateway builds its client from a key, or it is given one."""
    with pytest.raises(ValueError, match="not both"):
        StripeGateway(SECRET_KEY, client=make_client(model))
    with pytest.raises(TypeError):
        StripeGateway(client=object())  # type: ignore[arg-type]


def test_settings_are_readable(model: FakeStripe) -> None:
    """The effective settings are exposed for logging and health checks (never the key)."""
    gateway = StripeGateway(
        client=make_client(model),
        stripe_account="acct_1",
        max_network_retries=3,
        refund_application_fee=True,
        reverse_transfer=True,
    )
    assert gateway.stripe_version == STRIPE_API_VERSION == "2023-08-16"
    assert gateway.stripe_account == "acct_1"
    assert gateway.max_network_retries == 3
    assert gateway.refund_application_fee is True
    assert gateway.reverse_transfer is True
    assert "reverse_transfer=True" in repr(gateway)


# ---------------------------------------------------------------------------------------------
# the wire
# ---------------------------------------------------------------------------------------------


def test_what_goes_on_the_wire(model: FakeStripe, transports: list[FakeStripeHTTPClient]) -> None:
    """L1, N4: the PaymentIntent is read with latest_charge.balance_transaction and
    latest_charge.refunds expanded (one request: issue 10), and the refund POST carries exactly
    Stripe's parameters with our idempotency key as the Idempotency-Key header; every request
    pins API 2023-08-16."""
    gateway, transport = _gateway(model, transports)
    order = _order(model)

    gateway.fetch_payment(_pi(order), None)
    gateway.create_refund(request_for(order))

    read, create = transport.requests
    assert (read.operation, read.params) == (
        "GET /v1/payment_intents/{intent}",
        {"expand": ["latest_charge.balance_transaction", "latest_charge.refunds"]},
    )
    assert create.operation == "POST /v1/refunds"
    assert create.params == {
        "payment_intent": _pi(order),
        "amount": 1000,
        "reason": "requested_by_customer",
        "metadata": {
            "kanorio_order_id": "ord_1",
            "kanorio_refund_id": "rf_1",
            "kanorio_reason": "customer_request",
            "kanorio_notes": "notes",
        },
    }
    assert create.idempotency_key == "kanorio-refund-rf_1"
    assert "idempotency" not in create.raw
    assert {r.stripe_version for r in transport.requests} == {"2023-08-16"}
    assert {r.stripe_account for r in transport.requests} == {None}


@pytest.mark.parametrize(
    ("options", "sent"),
    [
        ({}, {}),
        ({"reverse_transfer": True}, {"reverse_transfer": True}),
        ({"refund_application_fee": True}, {"refund_application_fee": True}),
        (
            {"reverse_transfer": True, "refund_application_fee": True},
            {"reverse_transfer": True, "refund_application_fee": True},
        ),
    ],
)
def test_connect_refund_options_are_sent_only_when_set(
    model: FakeStripe,
    transports: list[FakeStripeHTTPClient],
    options: dict[str, bool],
    sent: dict[str, bool],
) -> None:
    """Connect destination charges (issue 9, 5b): ``reverse_transfer=true`` and
    ``refund_application_fee=true`` go on POST /v1/refunds exactly when the gateway is built
    with them; a platform without Connect sends neither (Stripe's defaults apply)."""
    gateway, transport = _gateway(model, transports, **options)
    order = _order(model)

    gateway.create_refund(request_for(order))

    (create,) = transport.requests_to("POST /v1/refunds")
    connect = {
        k: v
        for k, v in create.params.items()
        if k in ("reverse_transfer", "refund_application_fee")
    }
    assert connect == sent


def test_charge_only_payments_read_the_charge(
    model: FakeStripe, transports: list[FakeStripeHTTPClient]
) -> None:
    """B4: with only a Charge id, the Charge is read with its balance_transaction and refunds
    expanded, in one request."""
    gateway, transport = _gateway(model, transports)
    order = _order(model)
    assert order.payment is not None

    snapshot = gateway.fetch_payment(None, order.payment.charge_id)

    (read,) = transport.requests
    assert read.operation == "GET /v1/charges/{charge}"
    assert read.params == {"expand": ["balance_transaction", "refunds"]}
    assert snapshot.record == order.payment


def test_disputes_are_listed_for_a_disputed_charge_with_the_gateways_options(
    model: FakeStripe, transports: list[FakeStripeHTTPClient]
) -> None:
    """E5: for a charge Stripe flags disputed, GET /v1/disputes?charge=…&limit=100 is read
    (after the payment, which brought its refunds), with the gateway's version and account."""
    gateway, transport = _gateway(model, transports, stripe_account="acct_1Kanorio")
    order = _order(model)
    assert order.payment is not None
    model.open_dispute(_pi(order))
    model.close_dispute(_pi(order), "won")

    snapshot = gateway.fetch_payment(_pi(order), None)

    assert snapshot.record.disputed is False
    assert [r.operation for r in transport.requests] == [
        "GET /v1/payment_intents/{intent}",
        "GET /v1/disputes",
    ]
    disputes = transport.requests[1]
    assert disputes.params == {"charge": order.payment.charge_id, "limit": 100}
    assert (disputes.stripe_version, disputes.stripe_account) == ("2023-08-16", "acct_1Kanorio")


def test_connect_account_is_sent_on_every_request_and_page(
    model: FakeStripe, transports: list[FakeStripeHTTPClient]
) -> None:
    """With a Connect account, every request (auto-paged listings too) carries Stripe-Account,
    and idempotency keys are scoped to that account."""
    gateway, transport = _gateway(model, transports, stripe_account="acct_1Kanorio")
    order = _order(model, "500.00")
    for i in range(101):
        model.create_refund({"payment_intent": _pi(order), "amount": 1}, idempotency_key=f"k{i}")

    gateway.create_refund(request_for(order))
    snapshot = gateway.fetch_payment(_pi(order), None)

    assert len(snapshot.refunds) == 102
    # 10 come with the payment, the other 92 on one page.
    assert len(transport.requests_to("GET /v1/refunds")) == 1
    assert {r.stripe_account for r in transport.requests} == {"acct_1Kanorio"}
    assert model.requests[-1].stripe_account == "acct_1Kanorio"


def test_api_version_can_be_changed_or_left_to_the_sdk(
    model: FakeStripe, transports: list[FakeStripeHTTPClient]
) -> None:
    """The pin is a setting: another version is sent as given; None sends the SDK's default
    (untested by this library's fixtures, so not the default)."""
    other, other_wire = _gateway(model, transports, stripe_version="2024-06-20")
    sdk, sdk_wire = _gateway(model, transports, stripe_version=None)
    order = _order(model)

    other.fetch_payment(_pi(order), None)
    sdk.fetch_payment(_pi(order), None)

    assert {r.stripe_version for r in other_wire.requests} == {"2024-06-20"}
    assert {r.stripe_version for r in sdk_wire.requests} == {stripe.api_version}


def test_sdk_retries_reuse_the_idempotency_key(
    model: FakeStripe, transports: list[FakeStripeHTTPClient]
) -> None:
    """L1, L2: with network retries on, a connection error is retried by the SDK with the same
    Idempotency-Key, and exactly one refund exists."""
    gateway, transport = _gateway(model, transports, max_network_retries=2)
    order = _order(model)
    model.inject_fault(Fault.CONNECTION_ERROR)

    refund = gateway.create_refund(request_for(order))

    posts = transport.requests_to("POST /v1/refunds")
    assert [p.outcome for p in posts] == ["connection_error", "200"]
    assert {p.idempotency_key for p in posts} == {"kanorio-refund-rf_1"}
    assert [r["id"] for r in model.refunds_of(_pi(order))] == [refund.id]
    assert len(transport.retry_delays) == 1


def test_a_retried_timeout_replays_the_created_refund(
    model: FakeStripe, transports: list[FakeStripeHTTPClient]
) -> None:
    """L2: Stripe created the refund but the answer was lost; the SDK's retry with the same key
    gets Stripe's replay of that refund, never a second refund."""
    gateway, transport = _gateway(model, transports, max_network_retries=1)
    order = _order(model)
    model.inject_fault(Fault.TIMEOUT_AFTER_CREATE)

    refund = gateway.create_refund(request_for(order))

    assert [p.outcome for p in transport.requests_to("POST /v1/refunds")] == ["timeout", "200"]
    assert model.requests[-1].idempotent_replayed is True
    assert [r["id"] for r in model.refunds_of(_pi(order))] == [refund.id]


def test_retries_give_up_as_unavailable(
    model: FakeStripe, transports: list[FakeStripeHTTPClient]
) -> None:
    """L2: when every attempt fails the gateway reports GatewayUnavailable after
    1 + max_network_retries attempts, all with the same key."""
    gateway, transport = _gateway(model, transports, max_network_retries=2)
    order = _order(model)
    model.inject_fault(Fault.SERVER_ERROR, times=3)

    with pytest.raises(GatewayUnavailable):
        gateway.create_refund(request_for(order))

    posts = transport.requests_to("POST /v1/refunds")
    assert [p.outcome for p in posts] == ["500", "500", "500"]
    assert {p.idempotency_key for p in posts} == {"kanorio-refund-rf_1"}
    assert model.refunds_of(_pi(order)) == []


def test_the_gateways_retry_setting_wins_over_the_clients(
    model: FakeStripe, transports: list[FakeStripeHTTPClient]
) -> None:
    """Settings are request options: a client configured with retries is used with the
    gateway's own max_network_retries (0 by default)."""
    gateway, transport = _gateway(model, transports, client_retries=3)
    order = _order(model)
    model.inject_fault(Fault.SERVER_ERROR)

    with pytest.raises(GatewayUnavailable):
        gateway.create_refund(request_for(order))

    assert len(transport.requests_to("POST /v1/refunds")) == 1


def test_a_request_without_idempotency_key_is_never_sent(
    model: FakeStripe, transports: list[FakeStripeHTTPClient]
) -> None:
    """L1: without our key the SDK would invent a random one, losing replay safety."""
    gateway, transport = _gateway(model, transports)
    order = _order(model)
    keyless = RefundRequest(
        payment_intent_id=_pi(order),
        charge_id=None,
        amount=Money.parse("1.00", "USD"),
        reason=None,
        idempotency_key=" ",
        metadata={},
    )

    with pytest.raises(ValueError, match="idempotency key"):
        gateway.create_refund(keyless)
    assert transport.requests == []


def test_listing_needs_a_payment(model: FakeStripe, transports: list[FakeStripeHTTPClient]) -> None:
    """Listing with no payment id would list every refund of the account: refused."""
    gateway, transport = _gateway(model, transports)
    with pytest.raises(OrderNotFound):
        gateway.list_refunds(None, None)
    assert transport.requests == []


# ---------------------------------------------------------------------------------------------
# error translation
# ---------------------------------------------------------------------------------------------


def _error(type_: str, code: str | None = None, message: str = "Stripe says no.") -> Any:
    body: dict[str, Any] = {"type": type_, "message": message}
    if code is not None:
        body["code"] = code
    return {"error": body}


# (status, body, our error class, gateway_code for GatewayRejected)
ERROR_CASES: dict[str, tuple[int, Any, type[RefundError], str | None]] = {
    "401 bad key": (
        401,
        _error("invalid_request_error", None, f"Invalid API Key provided: {SECRET_KEY}"),
        GatewayMisconfigured,
        None,
    ),
    "401 masked key": (
        401,
        _error("invalid_request_error", None, "Invalid API Key provided: sk_test_****6789"),
        GatewayMisconfigured,
        None,
    ),
    "403 permission": (
        403,
        _error("invalid_request_error", "secret_key_required", "The provided key ... lacks"),
        GatewayMisconfigured,
        None,
    ),
    "401 without body": (401, "Unauthorized", GatewayMisconfigured, None),
    "400 idempotency": (400, _error("idempotency_error"), GatewayRejected, "idempotency_error"),
    "409 key in use": (
        409,
        _error("idempotency_error", "idempotency_key_in_use"),
        GatewayUnavailable,
        None,
    ),
    "409 lock timeout": (
        409,
        _error("invalid_request_error", "lock_timeout"),
        GatewayUnavailable,
        None,
    ),
    "402 card error": (
        402,
        _error("card_error", "card_declined"),
        GatewayRejected,
        "card_declined",
    ),
    "404 missing": (
        404,
        _error("invalid_request_error", "resource_missing", "No such payment_intent: 'pi_x'"),
        GatewayRejected,
        "resource_missing",
    ),
    "400 charge disputed": (
        400,
        _error("invalid_request_error", "charge_disputed"),
        GatewayRejected,
        "charge_disputed",
    ),
    "400 without code": (
        400,
        _error("invalid_request_error", None, "Invalid reason"),
        GatewayRejected,
        "invalid_request_error",
    ),
    "400 rate_limit code": (
        400,
        _error("invalid_request_error", "rate_limit"),
        GatewayUnavailable,
        None,
    ),
    "429": (429, _error("invalid_request_error", "rate_limit"), GatewayUnavailable, None),
    "500": (500, _error("api_error"), GatewayUnavailable, None),
    "503 html": (503, "<html>Service Unavailable</html>", GatewayUnavailable, None),
    "502 no error object": (502, {"message": "bad gateway"}, GatewayUnavailable, None),
    "418 no error object": (418, {"weird": True}, GatewayUnavailable, None),
    "408 proxy timeout": (408, "Request Timeout", GatewayUnavailable, None),
    "200 unreadable": (200, "{not json", GatewayUnavailable, None),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
@pytest.mark.parametrize("call", ["fetch", "create"])
def test_every_sdk_error_becomes_ours(
    model: FakeStripe, transports: list[FakeStripeHTTPClient], case: str, call: str
) -> None:
    """L2, L3, P3: each Stripe answer maps to GatewayUnavailable (retryable; outcome unknown for
    creates), GatewayRejected (Stripe's code, read from e.error.code when e.code is None) or
    GatewayMisconfigured (no key in it). No stripe exception escapes, and none is kept as
    __cause__ or __context__: its text and body are Stripe's raw answer (P3)."""
    status, body, expected, gateway_code = ERROR_CASES[case]
    gateway, transport = _gateway(model, transports)
    order = _order(model)
    transport.inject_http_response(status, body)

    def act() -> object:
        if call == "fetch":
            return gateway.fetch_payment(_pi(order), None)
        return gateway.create_refund(request_for(order))

    with pytest.raises(RefundError) as info:
        act()

    error = info.value
    assert type(error) is expected
    assert not isinstance(error, stripe.StripeError)
    text = _everything_about(error)
    assert SECRET_KEY not in text
    assert SECRET_KEY[-20:] not in text
    assert error.__cause__ is None
    assert error.__context__ is None  # not even the implicit chain keeps Stripe's error (P3)
    if isinstance(error, GatewayRejected):
        assert error.gateway_code == gateway_code
    if isinstance(error, GatewayMisconfigured):
        assert "check the API key" in error.message
    if isinstance(error, GatewayUnavailable):
        assert error.retryable is True
        if call == "create":
            assert "outcome unknown" in error.message
            assert error.refund_id == "rf_1"
    assert model.refunds_of(_pi(order)) == []  # the injected answer replaced Stripe's


def test_connection_errors_on_create_are_unknown_outcomes(
    model: FakeStripe, transports: list[FakeStripeHTTPClient]
) -> None:
    """L2, P3: a connection error on create says the outcome is unknown and names our refund;
    the SDK's error is not chained."""
    gateway, _ = _gateway(model, transports)
    order = _order(model)
    model.inject_fault(Fault.TIMEOUT_AFTER_CREATE)

    with pytest.raises(GatewayUnavailable) as info:
        gateway.create_refund(request_for(order))

    assert "outcome unknown" in info.value.message
    assert info.value.refund_id == "rf_1"
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


@pytest.mark.parametrize(("status", "body"), [(200, "<html>oops</html>"), (500, "{}")])
def test_a_mangled_answer_after_stripe_acted_is_unknown_not_rejected(
    model: FakeStripe, transports: list[FakeStripeHTTPClient], status: int, body: str
) -> None:
    """L2: Stripe created the refund but its answer came back unreadable (a proxy, a cut
    connection): GatewayUnavailable, never a rejection that would release the reservation;
    sending the same request again returns the created refund."""
    gateway, transport = _gateway(model, transports)
    order = _order(model)
    transport.inject_http_response(status, body, operation="POST /v1/refunds", after_model=True)

    with pytest.raises(GatewayUnavailable):
        gateway.create_refund(request_for(order))
    created = model.refunds_of(_pi(order))
    again = gateway.create_refund(request_for(order))

    assert len(created) == 1
    assert again.id == created[0]["id"]
    assert len(model.refunds_of(_pi(order))) == 1


def test_a_real_authentication_failure_hides_the_key(model: FakeStripe) -> None:
    """P3: with a gateway built from a key, a 401 whose message echoes that key surfaces as
    GatewayMisconfigured with no trace of the key anywhere in the exception chain."""
    transport = FakeStripeHTTPClient(model)
    client = stripe.StripeClient(SECRET_KEY, http_client=transport)
    gateway = StripeGateway(client=client)
    order = _order(model)
    transport.inject_http_response(
        401, _error("invalid_request_error", None, f"Invalid API Key provided: {SECRET_KEY}")
    )

    with pytest.raises(GatewayMisconfigured) as info:
        gateway.fetch_payment(_pi(order), None)

    assert SECRET_KEY not in _everything_about(info.value)
    assert SECRET_KEY not in repr(gateway)
    transport.assert_no_violations()


def test_redaction_catches_keys_and_webhook_secrets() -> None:
    """P3: Stripe text copied into our messages is scrubbed of anything shaped like a key."""
    text = f"key {SECRET_KEY}, masked sk_live_****1234, rk_test_abc, whsec_abc123=, fine"
    assert redact_secrets(text) == (
        "key [redacted], masked [redacted], [redacted], [redacted], fine"
    )


# ---------------------------------------------------------------------------------------------
# Stripe's example objects (testing/stripe_openapi/fixtures.json, API 2023-08-16)
# ---------------------------------------------------------------------------------------------


def test_stripe_example_objects_match_the_subset() -> None:
    """The examples are Stripe's own shapes of API 2023-08-16."""
    fixtures = load_fixtures()
    for name in ("refund", "charge", "payment_intent", "balance_transaction", "dispute", "event"):
        validate_object(fixtures[name], name)


def test_stripe_example_refund_and_list_parse() -> None:
    """Stripe's example refund and refund list read through adapters._stripe_json."""
    fixtures = load_fixtures()

    refund = parse_refund(fixtures["refund"])
    listed = refunds_oldest_first(fixtures["list"]["data"])

    assert refund.id == "re_1NnmX5GPxmnHQRkJzG1txqB9"
    assert refund.amount == Money.from_minor(100, "USD")
    assert refund.status is RefundStatus.SUCCEEDED
    assert refund.charge_id == "ch_1NnlpSGPxmnHQRkJcYsK19E8"
    assert refund.payment_intent_id is None
    assert refund.reason is None
    assert refund.local_refund_id is None  # not ours: it would be imported as external
    assert listed == (refund,)


def test_stripe_example_charge_parses_with_its_balance_transaction() -> None:
    """Stripe's example charge, with the example balance transaction expanded into it, reads
    as a payment record (the example is uncaptured, so nothing is refundable)."""
    fixtures = load_fixtures()
    charge = {**fixtures["charge"], "balance_transaction": fixtures["balance_transaction"]}

    record = parse_payment(charge, None)

    assert record.charge_id == "ch_1NnlpSGPxmnHQRkJcYsK19E8"
    assert record.payment_intent_id is None
    assert record.captured == Money.zero("USD")
    assert record.stripe_fee == Money.zero("USD")
    assert record.settlement_currency == Currency.of("USD")
    assert record.exchange_rate is None
    assert record.disputed is False


def test_stripe_example_payment_intent_without_charge_is_unavailable() -> None:
    """Stripe's example PaymentIntent has no charge yet: nothing to refund now."""
    with pytest.raises(GatewayUnavailable, match="no charge yet"):
        latest_charge_of(load_fixtures()["payment_intent"])


def test_stripe_example_event_is_ignored() -> None:
    """Stripe's example event (plan.created) is read and ignored."""
    event = parse_event(load_fixtures()["event"])
    assert event.kind is EventKind.IGNORED
    assert event.id == "evt_1NnmXEGPxmnHQRkJO3bak93X"


def test_stripe_example_dispute_decides_disputed() -> None:
    """E5: Stripe's example dispute (an open inquiry) blocks refunds of its charge; the same
    dispute won or closed does not, lost does."""
    fixtures = load_fixtures()
    dispute = fixtures["dispute"]
    charge = {
        **fixtures["charge"],
        "disputed": True,
        "balance_transaction": fixtures["balance_transaction"],
    }
    assert disputed_charge_id(charge) == dispute["charge"]
    assert dispute_blocks_refunds(dispute) is True
    assert parse_payment(charge, None, [dispute]).disputed is True
    for status, blocked in [("won", False), ("warning_closed", False), ("lost", True)]:
        assert parse_payment(charge, None, [{**dispute, "status": status}]).disputed is blocked
    # A charge flagged disputed whose disputes are not known (or none is found) stays disputed.
    assert parse_payment(charge, None).disputed is True
    assert parse_payment(charge, None, []).disputed is True
    # Several disputes: blocked while any blocks.
    won = {**dispute, "status": "won"}
    assert parse_payment(charge, None, [won, dispute]).disputed is True
    assert parse_payment(charge, None, [won, won]).disputed is False
    # A charge never disputed lists nothing and ignores what it is given.
    assert disputed_charge_id(fixtures["charge"]) is None
    undisputed = {**charge, "disputed": False}
    assert parse_payment(undisputed, None, [dispute]).disputed is False


# ---------------------------------------------------------------------------------------------
# unreadable Stripe data: GatewayProtocolError, whatever went wrong
# ---------------------------------------------------------------------------------------------


def _charge(**changes: Any) -> dict[str, Any]:
    model = FakeStripe()
    pi = model.create_payment(10_000, "usd", stripe_fee=320, application_fee=100)
    charge: dict[str, Any] = model.retrieve_charge(
        pi["latest_charge"], expand=["balance_transaction"]
    )
    charge.update(changes)
    return charge


def _with_txn(**changes: Any) -> dict[str, Any]:
    charge = _charge()
    charge["balance_transaction"].update(changes)
    return charge


def _refund(**changes: Any) -> dict[str, Any]:
    refund = dict(load_fixtures()["refund"])
    refund.update(changes)
    return refund


def _without(obj: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != key}


_DISPUTE = load_fixtures()["dispute"]
_DISPUTED_CHARGE = _charge(disputed=True)

MALFORMED: dict[str, Callable[[], object]] = {
    # charges (parse_payment)
    "unknown currency": lambda: parse_payment(_charge(currency="xxx"), None),
    "currency not a string": lambda: parse_payment(_charge(currency=840), None),
    "no currency": lambda: parse_payment(_without(_charge(), "currency"), None),
    "float amount_captured": lambda: parse_payment(_charge(amount_captured=100.5), None),
    "string amount_captured": lambda: parse_payment(_charge(amount_captured="100"), None),
    "bool amount_refunded": lambda: parse_payment(_charge(amount_refunded=True), None),
    "negative amount_refunded": lambda: parse_payment(_charge(amount_refunded=-1), None),
    "fraction of our unit": lambda: parse_payment(_charge(currency="isk", amount_captured=1), None),
    "unexpanded balance transaction": lambda: parse_payment(
        _charge(balance_transaction="txn_1"), None
    ),
    "unknown settlement currency": lambda: parse_payment(_with_txn(currency="abc"), None),
    "fee_details not a list": lambda: parse_payment(_with_txn(fee_details="lots"), None),
    "fee detail not an object": lambda: parse_payment(_with_txn(fee_details=[7]), None),
    "float fee": lambda: parse_payment(
        _with_txn(fee_details=[{"amount": 1.5, "currency": "usd", "type": "stripe_fee"}]), None
    ),
    "fee without currency": lambda: parse_payment(
        _with_txn(fee_details=[{"amount": 1, "type": "stripe_fee"}]), None
    ),
    "exchange rate text": lambda: parse_payment(_with_txn(exchange_rate="1.1"), None),
    "exchange rate negative": lambda: parse_payment(_with_txn(exchange_rate=-1.1), None),
    "payment_intent a number": lambda: parse_payment(_charge(payment_intent=5), None),
    "disputed not a boolean": lambda: parse_payment(_charge(disputed="yes"), None),
    "charge not an object": lambda: parse_payment(["not", "a", "charge"], None),  # type: ignore[arg-type]
    # disputes
    "dispute with an unknown status": lambda: parse_payment(
        _DISPUTED_CHARGE, None, [{**_DISPUTE, "status": "prevented"}]
    ),
    "dispute status not a string": lambda: parse_payment(
        _DISPUTED_CHARGE, None, [{**_DISPUTE, "status": ["won"]}]
    ),
    "a refund in the dispute listing": lambda: parse_payment(
        _DISPUTED_CHARGE, None, [load_fixtures()["refund"]]
    ),
    "disputes not a list": lambda: parse_payment(_DISPUTED_CHARGE, None, 5),  # type: ignore[arg-type]
    "disputed charge without id": lambda: disputed_charge_id(_without(_DISPUTED_CHARGE, "id")),
    # refunds
    "refund in an unknown currency": lambda: parse_refund(_refund(currency="xxx")),
    "float refund amount": lambda: parse_refund(_refund(amount=100.0)),
    "refund without amount": lambda: parse_refund(_without(_refund(), "amount")),
    "refund without id": lambda: parse_refund(_without(_refund(), "id")),
    "refund id a number": lambda: parse_refund(_refund(id=12)),
    "refund with an unknown status": lambda: parse_refund(_refund(status="teleported")),
    "refund status a list": lambda: parse_refund(_refund(status=["succeeded"])),
    "refund created a string": lambda: parse_refund(_refund(created="yesterday")),
    "refund created out of range": lambda: parse_refund(_refund(created=10**20)),
    "refund metadata a list": lambda: parse_refund(_refund(metadata=["a"])),
    "failure_reason a number": lambda: parse_refund(_refund(failure_reason=3)),
    "refund charge a number": lambda: parse_refund(_refund(charge=3)),
    "listing of non-objects": lambda: refunds_oldest_first([1, 2]),  # type: ignore[list-item]
    "listing not iterable": lambda: refunds_oldest_first(5),  # type: ignore[arg-type]
    # payment intents and events
    "PaymentIntent not an object": lambda: latest_charge_of("pi_1"),  # type: ignore[arg-type]
    "event without data": lambda: parse_event(_without(load_fixtures()["event"], "data")),
    "event with a float created": lambda: parse_event({**load_fixtures()["event"], "created": 1.5}),
    "refund event with a bad refund": lambda: parse_event(
        {
            **load_fixtures()["event"],
            "type": "refund.updated",
            "data": {"object": _refund(currency="???")},
        }
    ),
    "charge event with a bad charge": lambda: parse_event(
        {
            **load_fixtures()["event"],
            "type": "charge.refunded",
            "data": {"object": {"object": "charge", "id": "ch_1", "payment_intent": 5}},
        }
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_stripe_objects_are_protocol_errors(case: str) -> None:
    """Port contract: whatever is wrong with Stripe's data (unknown currency, float amount,
    missing field, wrong type), the readers raise only GatewayProtocolError."""
    with pytest.raises(GatewayProtocolError) as info:
        MALFORMED[case]()
    assert info.value.code == "gateway_protocol_error"
    assert len(info.value.message) < 400


def test_protocol_errors_name_the_original_but_keep_no_chain() -> None:
    """P3: the original error's type (InvalidAmount, UnknownCurrency, KeyError, …) is named in
    the message; it is neither __cause__ nor __context__, as its text quotes Stripe's data
    unscrubbed."""
    with pytest.raises(GatewayProtocolError, match="UnknownCurrency") as unknown:
        parse_refund(_refund(currency="xxx"))
    with pytest.raises(GatewayProtocolError, match="InvalidAmount") as fraction:
        parse_payment(_charge(currency="isk", amount_captured=1), None)
    for error in (unknown.value, fraction.value):
        assert error.__cause__ is None
        assert error.__context__ is None


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True)
    | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)


def _mutate(obj: Any, data: st.DataObject) -> Any:
    """``obj`` with one value somewhere inside replaced by arbitrary JSON (or a key dropped)."""
    obj = copy.deepcopy(obj)
    node = obj
    while True:
        if not isinstance(node, dict) or not node:
            return obj
        key = data.draw(st.sampled_from(sorted(node)))
        if isinstance(node[key], dict) and data.draw(st.booleans()):
            node = node[key]
            continue
        if data.draw(st.booleans()):
            del node[key]
        else:
            node[key] = data.draw(_json)
        return obj


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_mangled_object_is_read_or_a_protocol_error(data: st.DataObject) -> None:
    """Port contract, fuzzed: mangling any field of a real charge (with its balance
    transaction and disputes), refund or event never raises anything but
    GatewayProtocolError."""
    model = FakeStripe()
    pi = model.create_payment(10_000, "usd", stripe_fee=320)
    refund = model.create_refund({"payment_intent": pi["id"], "amount": 100})
    model.open_dispute(pi["id"])
    charge = model.retrieve_charge(pi["latest_charge"], expand=["balance_transaction"])
    disputes = model.list_disputes(charge=charge["id"])["data"]
    event = model.events()[-1]
    calls: list[Callable[[], object]] = [
        lambda: parse_payment(_mutate(charge, data), pi["id"], disputes),
        lambda: parse_payment(charge, pi["id"], [_mutate(disputes[0], data)]),
        lambda: disputed_charge_id(_mutate(charge, data)),
        lambda: parse_refund(_mutate(refund, data)),
        lambda: refunds_oldest_first([refund, _mutate(refund, data)]),
        lambda: parse_event(_mutate(event, data)),
    ]
    with contextlib.suppress(GatewayProtocolError):
        data.draw(st.sampled_from(calls))()


def test_an_unreadable_object_from_the_wire_is_a_protocol_error(
    model: FakeStripe, transports: list[FakeStripeHTTPClient]
) -> None:
    """Port contract, over the SDK: a PaymentIntent whose charge has a float amount (Stripe
    never sends one; here a proxy did) is GatewayProtocolError, not InvalidAmount."""
    gateway, transport = _gateway(model, transports)
    order = _order(model)
    intent = model.retrieve_payment_intent(_pi(order), expand=["latest_charge.balance_transaction"])
    intent["latest_charge"]["amount_captured"] = 10_000.0
    transport.inject_http_response(
        200, intent, operation="GET /v1/payment_intents/{intent}", times=2
    )
    listing = model.list_refunds()
    listing["data"] = [_refund(currency="xxx")]
    transport.inject_http_response(200, listing, operation="GET /v1/refunds")

    with pytest.raises(GatewayProtocolError, match="not an integer amount"):
        gateway.fetch_payment(_pi(order), None)
    with pytest.raises(GatewayProtocolError, match="UnknownCurrency"):
        gateway.list_refunds(_pi(order), None)


def test_fake_api_key_of_the_backend_is_a_test_key() -> None:
    """The backend's dummy key would be refused by no check of ours (a test-mode secret key)."""
    assert repr(StripeGateway(FAKE_API_KEY)).startswith("StripeGateway(mode='test'")
