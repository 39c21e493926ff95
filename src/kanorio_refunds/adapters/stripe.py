"""The Stripe adapter: ``ports.PaymentGateway`` on the official ``stripe`` SDK, webhook
signature verification, and Stripe's events read as ``GatewayEvent``s.

- ``StripeGateway``: reads payments and refunds and creates refunds through
  ``stripe.StripeClient`` (``client.v1.*``), pinned to ``STRIPE_API_VERSION``; translates every
  SDK error, and every answer it cannot read, into this library's errors (nothing of ``stripe``
  escapes, not even as ``__cause__`` or ``__context__``: P3).
- ``StripeWebhookVerifier``: checks a webhook's ``Stripe-Signature`` as Stripe specifies it
  (HMAC-SHA256 ``v1`` signatures of ``"<t>.<payload>"``; several secrets during a rotation; a
  300 s tolerance both ways on the same signed ``t``, measured on our ``Clock``) and reads the
  event into a ``GatewayEvent`` for ``RefundService.apply_event``. Plain HMAC: it needs no SDK.
- ``parse_event``: a Stripe event object (a ``dict`` of its JSON) as a ``GatewayEvent``, for
  hosts that receive Stripe's events another way (an event bus, EventBridge, a queue, a poll
  of ``GET /v1/events``) and have checked their origin themselves.

This is the only module of the library that imports ``stripe``, and it does so lazily: importing
it, verifying webhooks and reading events need no SDK; building a gateway does
(``pip install 'kanorio-refunds[stripe]'``).

Stripe's JSON is read by ``adapters._stripe_json``, shared with the simulator's gateway, so both
gateways agree by construction; ``tests/contract`` checks the rest on the same inputs.

API version: every request carries ``Stripe-Version: 2023-08-16`` (``STRIPE_API_VERSION``), the
version whose object shapes ``_stripe_json``, the OpenAPI subset in
``testing/stripe_openapi`` and ``FakeStripe`` are written against, whatever version the
installed SDK pins by default. See docs/integration.md ("API version") before changing it.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

from kanorio_refunds.adapters._stripe_json import (
    charge_refunds,
    created_refund,
    disputed_charge_id,
    error_from_stripe,
    latest_charge_of,
    list_page,
    no_payment_reference,
    parse_event,
    parse_payment,
    redact_secrets,
    refund_params,
    refunds_oldest_first,
    stripe_object,
    unsettled_payment,
)
from kanorio_refunds.adapters.clock import SystemClock
from kanorio_refunds.domain._events import GatewayEvent
from kanorio_refunds.domain._ids import ChargeId, PaymentIntentId
from kanorio_refunds.domain._payment import GatewayRefund, LivePayment, RefundRequest
from kanorio_refunds.errors import (
    GatewayMisconfigured,
    GatewayProtocolError,
    GatewayUnavailable,
    InvalidEvent,
    InvalidSignature,
    RefundError,
)
from kanorio_refunds.ports import Clock

if TYPE_CHECKING:
    import stripe
    from stripe.params import DisputeListParams, RefundCreateParams, RefundListParams

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "STRIPE_API_VERSION",
    "StripeGateway",
    "StripeWebhookVerifier",
    "parse_event",
]

#: The Stripe API version every request is pinned to (object shapes read by _stripe_json).
STRIPE_API_VERSION: Final = "2023-08-16"

#: How old (or how far in the future) a webhook signature's timestamp may be (P1).
DEFAULT_TOLERANCE_SECONDS: Final = 300

_INSTALL_HINT: Final = (
    "the Stripe adapter needs the Stripe SDK: pip install 'kanorio-refunds[stripe]'"
)
# Longest piece of Stripe's own text copied into our messages (an unreadable body can be big).
_MAX_DETAIL: Final = 300
_PAGE_SIZE: Final = 100
# A live read is one request (issue 10): the charge comes with its fees and its first refunds.
_INTENT_EXPANSIONS: Final = ("latest_charge.balance_transaction", "latest_charge.refunds")
_CHARGE_EXPANSIONS: Final = ("balance_transaction", "refunds")
# A bound on one listing (a million refunds or disputes of one payment): an answer that keeps
# saying "more" with fresh ids would otherwise page forever.
_MAX_PAGES: Final = 10_000
_SIGNATURE_SCHEME: Final = "v1"

T = TypeVar("T")


def _require_sdk() -> None:
    """Import ``stripe`` now, with a clear message when the optional extra is missing."""
    try:
        import stripe  # noqa: F401
    except ImportError as e:
        raise ImportError(_INSTALL_HINT) from e


class _ScrubSecrets(logging.Filter):
    """Scrubs anything shaped like a key or webhook secret from the SDK's log records (P3).

    The SDK logs on the ``stripe`` logger: Stripe's error messages at INFO, whole response
    bodies at DEBUG; an answer may echo a key or a secret, and a host that logs at INFO or
    DEBUG would write it out. The record is rewritten, never dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = redact_secrets(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, ()
        return True


def _scrub_sdk_logs() -> None:
    """Put ``_ScrubSecrets`` on the SDK's logger, once per process."""
    logger = logging.getLogger("stripe")
    if not any(isinstance(f, _ScrubSecrets) for f in logger.filters):
        logger.addFilter(_ScrubSecrets())


def _clip(text: str) -> str:
    text = redact_secrets(text.strip())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


# ---------------------------------------------------------------------------------------------
# The gateway
# ---------------------------------------------------------------------------------------------


class StripeGateway:
    """``ports.PaymentGateway`` over the official Stripe SDK (``stripe.StripeClient``).

    Give either ``api_key`` (a secret ``sk_…`` or restricted ``rk_…`` key; the gateway builds its
    own client) or ``client`` (a ``stripe.StripeClient`` you configured, e.g. with your own
    ``http_client`` or proxy). In both cases the gateway's own settings are sent as request
    options on every call, so they win over the client's:

    - ``stripe_version``: the API version (default ``STRIPE_API_VERSION``, 2023-08-16; None
      leaves the client's version, i.e. the SDK's default, which this library does not test);
    - ``stripe_account``: a Connect account (``acct_…``) to act on (``Stripe-Account``; when
      None, a given client's own account, if any, applies);
    - ``max_network_retries``: the SDK's own retries of connection errors, 409 and 5xx (creates
      are retried with the same idempotency key, so a retry never makes a second refund);
    - ``refund_application_fee``: also refund the platform's application fee (Connect);
    - ``reverse_transfer``: for Connect destination charges, also reverse the transfer to the
      connected account, in proportion to the amount refunded (otherwise the platform's balance
      alone pays the refund).

    Errors, whatever Stripe answers (every status, every body):

    - ``GatewayUnavailable``: connection errors, timeouts, 409, 429, 5xx, and answers that
      prove nothing: not JSON, an error status without an error object of Stripe's shape
      (``{"error": 5}``, an OAuth-style ``"error": "…"``), a body the SDK itself fails on;
    - ``GatewayRejected``: a definitive refusal: any other 4xx with a typed error object
      (``gateway_code``: Stripe's code when it is a plain snake_case word, else the error
      type, else ``http_<status>``; ``idempotency_error`` for idempotency errors);
    - ``GatewayMisconfigured``: 401/403, or a bad key at construction;
    - ``GatewayProtocolError``: JSON that is not the object asked for (``[]``, ``null``, ``1``,
      another object or id, a list page that says it has more but holds nothing, ``data`` not
      a list, a created refund of another amount, payment or refund id) or whose objects cannot
      be read (a missing field, a float amount, an unknown currency or status).

    For ``create_refund``, ``GatewayUnavailable`` and ``GatewayProtocolError`` both mean the
    outcome is unknown (the service keeps the refund SUBMITTING and ``sync`` resolves it).
    No ``stripe`` exception escapes, not even as ``__cause__`` or ``__context__``; messages
    quote Stripe's text scrubbed of anything shaped like a key or webhook secret, and the SDK's
    own log records on the ``stripe`` logger are scrubbed the same way. The key is never
    shown: not in ``repr``, not in errors (P3).
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        client: stripe.StripeClient | None = None,
        stripe_account: str | None = None,
        refund_application_fee: bool = False,
        reverse_transfer: bool = False,
        max_network_retries: int = 0,
        stripe_version: str | None = STRIPE_API_VERSION,
    ) -> None:
        _require_sdk()
        import stripe

        if isinstance(max_network_retries, bool) or not isinstance(max_network_retries, int):
            raise TypeError("max_network_retries must be an int")
        if max_network_retries < 0:
            raise ValueError("max_network_retries must not be negative")
        if not isinstance(refund_application_fee, bool):
            raise TypeError("refund_application_fee must be a bool")
        if not isinstance(reverse_transfer, bool):
            raise TypeError("reverse_transfer must be a bool")
        if stripe_version is not None and not _looks_like_version(stripe_version):
            raise ValueError(
                f"stripe_version must look like 2023-08-16 (optionally with a release name), "
                f"got {stripe_version!r}"
            )
        if stripe_account is not None and not (
            isinstance(stripe_account, str) and re.fullmatch(r"acct_[A-Za-z0-9]+", stripe_account)
        ):
            raise GatewayMisconfigured(
                "stripe_account must be a Stripe account id (acct_…); check the configuration"
            )
        if client is not None and api_key is not None:
            raise ValueError("give either api_key or client, not both")
        _scrub_sdk_logs()
        self._mode = "unknown"
        if client is None:
            self._mode = _check_api_key(api_key)
            assert api_key is not None
            client = stripe.StripeClient(
                api_key,
                stripe_account=stripe_account,
                stripe_version=stripe_version,
                max_network_retries=max_network_retries,
            )
        elif not isinstance(client, stripe.StripeClient):
            raise TypeError("client must be a stripe.StripeClient")
        self._client = client
        self._stripe_account = stripe_account
        self._stripe_version = stripe_version
        self._max_network_retries = max_network_retries
        self._refund_application_fee = refund_application_fee
        self._reverse_transfer = reverse_transfer

    @property
    def stripe_version(self) -> str | None:
        """The API version sent with every request (None: the client's default)."""
        return self._stripe_version

    @property
    def stripe_account(self) -> str | None:
        """The Connect account acted on, if any."""
        return self._stripe_account

    @property
    def max_network_retries(self) -> int:
        """How often the SDK retries a failed request by itself."""
        return self._max_network_retries

    @property
    def refund_application_fee(self) -> bool:
        """Whether refunds also refund the platform's application fee."""
        return self._refund_application_fee

    @property
    def reverse_transfer(self) -> bool:
        """Whether refunds of destination charges also reverse the transfer (Connect)."""
        return self._reverse_transfer

    def __repr__(self) -> str:
        # P3: the key is not kept here, and nothing derived from it but its mode is shown.
        return (
            f"StripeGateway(mode={self._mode!r}, stripe_version={self._stripe_version!r}, "
            f"stripe_account={self._stripe_account!r}, "
            f"max_network_retries={self._max_network_retries}, "
            f"refund_application_fee={self._refund_application_fee}, "
            f"reverse_transfer={self._reverse_transfer})"
        )

    # ------------------------------------------------------------------ the port

    def fetch_payment(
        self, payment_intent_id: PaymentIntentId | None, charge_id: ChargeId | None
    ) -> LivePayment:
        """The payment as Stripe has it now (B4), in one request for a payment with up to 10
        refunds: the PaymentIntent with ``latest_charge.balance_transaction`` and
        ``latest_charge.refunds`` expanded (or the Charge with its ``balance_transaction`` and
        ``refunds``, when only a charge is known). Stripe's expanded ``refunds`` holds the 10
        newest; more are listed 100 a page (``GET /v1/refunds?charge=…&starting_after=…``).
        A charge Stripe flags disputed costs one request more: its disputes (E5:
        ``GET /v1/disputes?charge=…``, see ``_stripe_json``).

        Every answer is checked to be what was asked for (the PaymentIntent or Charge of that
        id, lists of refunds and disputes of that payment); anything else is a
        ``GatewayProtocolError``, never a Python error."""
        client = self._client
        if payment_intent_id:
            pi_id = payment_intent_id
            intent = stripe_object(
                self._request(
                    lambda: client.v1.payment_intents.retrieve(
                        pi_id,
                        params={"expand": list(_INTENT_EXPANSIONS)},
                        options=self._options(),
                    )
                ),
                "payment_intent",
                object_id=pi_id,
            )
            unsettled = unsettled_payment(intent, intent.get("latest_charge"))
            if unsettled is not None:
                return unsettled  # I1, I2: nothing captured yet (or ever)
            charge = latest_charge_of(intent)
        elif charge_id:
            ch_id = charge_id
            charge = stripe_object(
                self._request(
                    lambda: client.v1.charges.retrieve(
                        ch_id, params={"expand": list(_CHARGE_EXPANSIONS)}, options=self._options()
                    )
                ),
                "charge",
                object_id=ch_id,
            )
            unsettled = unsettled_payment(None, charge)
            if unsettled is not None:
                return unsettled
        else:
            raise no_payment_reference()
        disputed_charge = disputed_charge_id(charge)
        disputes = None if disputed_charge is None else self._all_disputes(disputed_charge)
        record = parse_payment(charge, payment_intent_id, disputes)
        of_charge, first_page, has_more = charge_refunds(charge)
        refunds = list(first_page)
        if has_more:
            refunds += self._all_refunds(None, of_charge, after=first_page[-1]["id"])
        return LivePayment(record=record, refunds=refunds_oldest_first(refunds))

    def create_refund(self, request: RefundRequest) -> GatewayRefund:
        """POST /v1/refunds (L1, N4, M3): the amount in Stripe's units, Stripe's reason, our
        metadata, and the request's idempotency key as the ``Idempotency-Key`` header (a request
        option, never a parameter).

        ``GatewayUnavailable`` and ``GatewayProtocolError`` mean the outcome is unknown: send
        the same request again (same key) or reconcile; never a new key. The answer must be
        the refund asked for (its amount, payment and our refund id in its metadata), else it
        is a ``GatewayProtocolError``."""
        if not request.idempotency_key or not request.idempotency_key.strip():
            raise ValueError("a refund request needs an idempotency key (L1)")
        params = refund_params(
            request,
            refund_application_fee=self._refund_application_fee,
            reverse_transfer=self._reverse_transfer,
        )
        options = self._options(idempotency_key=request.idempotency_key)
        client = self._client
        answer = self._request(
            lambda: client.v1.refunds.create(
                params=cast("RefundCreateParams", params), options=options
            ),
            creating=request,
        )
        return created_refund(answer, request)

    def list_refunds(
        self, payment_intent_id: PaymentIntentId | None, charge_id: ChargeId | None
    ) -> tuple[GatewayRefund, ...]:
        """Every refund of the payment, oldest first (``GET /v1/refunds``, every page)."""
        if not (payment_intent_id or charge_id):
            raise no_payment_reference()
        listed = self._all_refunds(payment_intent_id, charge_id if not payment_intent_id else None)
        return refunds_oldest_first(listed)

    # ------------------------------------------------------------------ internals

    def _all_refunds(
        self,
        payment_intent_id: PaymentIntentId | None,
        charge_id: ChargeId | None,
        *,
        after: str | None = None,
    ) -> list[Mapping[str, Any]]:
        """Every refund of the payment (as Stripe's dicts, newest first), or with ``after``
        only those older than that refund (the rest of a charge's expanded ``refunds``)."""
        params: RefundListParams = {"limit": _PAGE_SIZE}
        owner: tuple[str, str]
        if payment_intent_id:
            params["payment_intent"] = payment_intent_id
            owner = ("payment_intent", payment_intent_id)
        elif charge_id:
            params["charge"] = charge_id
            owner = ("charge", charge_id)
        else:  # pragma: no cover - callers check
            raise no_payment_reference()
        client = self._client

        def page(after: str | None) -> object:
            page_params: RefundListParams = (
                params if after is None else {**params, "starting_after": after}
            )
            return client.v1.refunds.list(params=page_params, options=self._options())

        return self._every_page(page, "refund", owner, after=after)

    def _all_disputes(self, charge_id: ChargeId) -> list[Mapping[str, Any]]:
        """Every dispute of the charge (``GET /v1/disputes``, every page), as plain dicts."""
        params: DisputeListParams = {"charge": charge_id, "limit": _PAGE_SIZE}
        client = self._client

        def page(after: str | None) -> object:
            page_params: DisputeListParams = (
                params if after is None else {**params, "starting_after": after}
            )
            return client.v1.disputes.list(params=page_params, options=self._options())

        return self._every_page(page, "dispute", ("charge", charge_id))

    def _every_page(
        self,
        page: Callable[[str | None], object],
        kind: str,
        owner: tuple[str, str],
        *,
        after: str | None = None,
    ) -> list[Mapping[str, Any]]:
        """Every ``kind`` object of a Stripe list, page after page (``starting_after`` the last
        id of the previous page), each page read by ``list_page``.

        Paged here rather than by the SDK's ``auto_paging_iter``: that one crashes on a page
        that says it has more but holds nothing (``IndexError``), and it asks for the next page
        at the ``url`` the answer names. An answer that would never end (a page repeating an
        object already listed, or more than ``_MAX_PAGES`` pages) is a
        ``GatewayProtocolError``."""
        items: list[Mapping[str, Any]] = []
        seen: set[str] = set() if after is None else {after}
        for _ in range(_MAX_PAGES):
            answer = self._request(functools.partial(page, after))
            data, has_more = list_page(answer, kind, owner=owner)
            for item in data:
                item_id = item["id"]  # a string: list_page checked it
                if item_id in seen:
                    raise GatewayProtocolError(
                        f"Stripe's list of {kind}s repeats one it already listed; its pages "
                        f"would never end"
                    )
                seen.add(item_id)
            items.extend(data)
            if not has_more:
                return items
            after = data[-1]["id"]
        raise GatewayProtocolError(f"Stripe's list of {kind}s goes on past {_MAX_PAGES} pages")

    def _options(self, *, idempotency_key: str | None = None) -> stripe.RequestOptions:
        options: stripe.RequestOptions = {"max_network_retries": self._max_network_retries}
        if self._stripe_version is not None:
            options["stripe_version"] = self._stripe_version
        if self._stripe_account is not None:
            options["stripe_account"] = self._stripe_account
        if idempotency_key is not None:
            options["idempotency_key"] = idempotency_key
        return options

    def _request(self, send: Callable[[], object], *, creating: RefundRequest | None = None) -> Any:
        """Send one request through the SDK; Stripe's answer as plain JSON values (dicts,
        lists, …), whatever its shape: the caller reads it with ``_stripe_json``.

        Every failure leaves as one of our errors (``_translate``), raised outside the
        ``except`` clause so that neither ``__cause__`` nor ``__context__`` keeps the SDK's
        error: its text, body and headers are Stripe's raw answer, which may echo a key or a
        webhook secret, and ``logging.exception`` would print them (P3)."""
        import stripe

        error: RefundError
        try:
            answer = send()
            # The SDK turns a JSON object into a StripeObject; anything else ([] , null, 1)
            # comes back as is, for the readers to refuse.
            return answer.to_dict() if isinstance(answer, stripe.StripeObject) else answer
        except stripe.StripeError as e:
            try:
                error = _translate(e, creating)
            except _SDK_CHOKES as inner:  # an error object the SDK built from odd JSON
                error = _unreadable(type(inner).__name__, creating)
        except _SDK_CHOKES as e:
            error = _unreadable(type(e).__name__, creating)
        raise error


# What the SDK itself raises, besides its own errors, when it cannot make sense of an answer:
# an error body whose "error" is not an object (AttributeError), values it cannot convert, an
# answer nested too deep. Stripe did answer, but nothing in the answer can be trusted.
_SDK_CHOKES: Final = (AttributeError, TypeError, ValueError, KeyError, IndexError, RecursionError)


def _unknown_note(creating: RefundRequest | None) -> str:
    return (
        "; the refund may or may not have been created at Stripe (outcome unknown): send it "
        "again with the same idempotency key, or reconcile"
        if creating is not None
        else ""
    )


def _unreadable(what: str, creating: RefundRequest | None) -> GatewayUnavailable:
    """The error for an answer the SDK could not read: nothing proves the request failed."""
    return GatewayUnavailable(
        f"Stripe's answer could not be read (the SDK failed on it: {what})"
        f"{_unknown_note(creating)}",
        refund_id=creating.local_refund_id if creating is not None else None,
    )


def _translate(e: stripe.StripeError, creating: RefundRequest | None) -> RefundError:
    """Our error for an SDK error (see ``error_from_stripe`` for the HTTP ones). Everything
    taken from Stripe's answer is checked or scrubbed: it may be any JSON, and echo secrets."""
    import stripe

    refund_id = creating.local_refund_id if creating is not None else None
    request_id = e.request_id if isinstance(e.request_id, str) else None
    # A request id is quoted for support only when it looks like one (req_ and letters and
    # digits): then it cannot hold a secret, whatever header the answer came with.
    request_note = (
        f" [Stripe request {request_id}]"
        if request_id and _REQUEST_ID_RE.fullmatch(request_id)
        else ""
    )
    unknown_note = _unknown_note(creating)
    if isinstance(e, stripe.APIConnectionError):
        return GatewayUnavailable(
            f"could not reach Stripe, or its answer was lost (connection error or timeout)"
            f"{unknown_note}",
            refund_id=refund_id,
        )
    if isinstance(e, stripe.AuthenticationError | stripe.PermissionError):
        kind = "API key" if isinstance(e, stripe.AuthenticationError) else "permissions"
        return GatewayMisconfigured(
            f"Stripe refused our {kind} ({e.http_status or 'no request sent'}): check the API "
            f"key (secret or restricted with refund and payment read access) and the connected "
            f"account{request_note}"
        )
    # The error object is whatever JSON the answer held (an OAuth error object has no type,
    # an ``"error": {"code": [1]}`` a list for a code), so every field is read defensively.
    error = e.error
    status = e.http_status if isinstance(e.http_status, int) else None
    user_message = _text_of(e, "user_message")
    # (An OAuth-shaped error object has no type: getattr gives None.)
    readable = isinstance(getattr(error, "type", None), str)
    if not readable and status not in (401, 403):
        # Stripe's refusals always carry an error object with a type; an answer without one
        # (an HTML page of a proxy, a truncated body, an unreadable 2xx, an OAuth-shaped
        # "error": "…" string, an error object of the wrong types) proves nothing was
        # refused, so it is never taken for a definitive rejection (L3).
        return GatewayUnavailable(
            f"Stripe's answer could not be read (HTTP {status}): "
            f"{_clip(user_message or 'no details')}{request_note}{unknown_note}",
            refund_id=refund_id,
        )
    code: object = e.code if e.code is not None else getattr(error, "code", None)
    error_type: object = getattr(error, "type", None)
    if isinstance(e, stripe.IdempotencyError):
        error_type = "idempotency_error"
    if isinstance(e, stripe.RateLimitError):
        code = code or "rate_limit"
    stripe_text = _text_of(error, "message") or user_message
    translated = error_from_stripe(status, error_type, code, _clip(stripe_text) + request_note)
    if isinstance(translated, GatewayUnavailable):
        return GatewayUnavailable(translated.message + unknown_note, refund_id=refund_id)
    return translated


def _text_of(obj: object, name: str) -> str:
    """A text attribute of an SDK error (object), or "" when it is missing or not text."""
    value = getattr(obj, name, None)
    return value if isinstance(value, str) else ""


# Stripe's request ids (req_…): quoted in messages for support, when they look like one.
_REQUEST_ID_RE: Final = re.compile(r"req_[A-Za-z0-9]{1,64}")


def _check_api_key(api_key: object) -> str:
    """Refuse keys that cannot work, naming what is wrong but never the key (P3).
    Returns the key's mode: ``live`` or ``test``."""
    if not isinstance(api_key, str) or not api_key.strip():
        raise GatewayMisconfigured(
            "no Stripe API key configured: pass api_key (a secret sk_… or restricted rk_… key) "
            "or a stripe.StripeClient"
        )
    if api_key != api_key.strip() or any(c.isspace() for c in api_key):
        raise GatewayMisconfigured(
            "the Stripe API key contains whitespace (a stray newline from the environment?)"
        )
    if api_key.startswith("pk_"):
        raise GatewayMisconfigured(
            "a publishable key (pk_…) cannot read payments or create refunds: use a secret "
            "(sk_…) or restricted (rk_…) key"
        )
    match = re.match(r"(?:sk|rk)_(live|test)_", api_key)
    if match is None:
        raise GatewayMisconfigured(
            "the Stripe API key does not look like a secret (sk_live_…/sk_test_…) or "
            "restricted (rk_…) key"
        )
    return match.group(1)


def _looks_like_version(value: object) -> bool:
    return (
        isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}(\.[a-z]+)?", value) is not None
    )


# ---------------------------------------------------------------------------------------------
# Webhooks
# ---------------------------------------------------------------------------------------------


class _Secret:
    """A webhook signing secret that never shows itself (repr, str, logs, tracebacks: P3)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "_Secret('whsec_…(redacted)')"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("webhook secrets are not picklable")


class StripeWebhookVerifier:
    """Verify Stripe webhook deliveries and read them as ``GatewayEvent``s (P1, L5).

    ``secrets``: the endpoint's signing secret(s) (``whsec_…``). During a rotation, give the new
    and the old one: a delivery passes when any ``v1`` signature of its header matches any
    secret. ``tolerance_seconds`` (default 300) bounds how old — and how far in the future — the
    signed timestamp may be, measured on ``clock`` (default: the system clock).

    ``verify`` raises ``InvalidSignature`` for anything not provably from Stripe and recent, and
    ``InvalidEvent`` for a correctly signed payload that is not a readable Stripe event. Either
    way, answer 400. The secrets never appear in a repr, a message or an exception (P3).
    """

    def __init__(
        self,
        secrets: str | Sequence[str],
        *,
        tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
        clock: Clock | None = None,
    ) -> None:
        # No _require_sdk(): verification is HMAC-SHA256 from the standard library, so a host
        # that only receives webhooks (a separate endpoint service) need not install stripe.
        if isinstance(tolerance_seconds, bool) or not isinstance(tolerance_seconds, int):
            raise TypeError("tolerance_seconds must be an int")
        if tolerance_seconds <= 0:
            raise ValueError(
                "tolerance_seconds must be positive (a signature without a time limit could be "
                "replayed forever)"
            )
        values: Iterable[object] = (secrets,) if isinstance(secrets, str) else secrets
        checked = tuple(_Secret(_check_webhook_secret(value, i)) for i, value in enumerate(values))
        if not checked:
            raise GatewayMisconfigured("no webhook signing secret configured (whsec_…)")
        self._secrets = checked
        self._tolerance = tolerance_seconds
        self._clock: Clock = clock if clock is not None else SystemClock()

    @property
    def tolerance_seconds(self) -> int:
        """The accepted distance, in seconds, between the signature's timestamp and now."""
        return self._tolerance

    def __repr__(self) -> str:
        return (
            f"StripeWebhookVerifier(secrets={len(self._secrets)} configured, "
            f"tolerance_seconds={self._tolerance})"
        )

    __str__ = __repr__

    def verify(self, payload: bytes, signature_header: str | None) -> GatewayEvent:
        """The event Stripe signed, or ``InvalidSignature`` / ``InvalidEvent``.

        ``payload`` must be the raw request body, byte for byte (not re-serialised JSON);
        ``signature_header`` the ``Stripe-Signature`` header (None when absent).

        The header is read exactly as Stripe specifies it: items separated by ``,``, each split
        on its first ``=``, keys compared as they are (``" t"`` is not ``t``); exactly one ``t``
        (an integer of seconds); every ``v1`` item is a candidate signature, other schemes
        (``v0``) are ignored. A delivery passes when some ``v1`` equals
        HMAC-SHA256(secret, ``"<t>.<payload>"``) for some configured secret (constant-time
        comparison) and that same ``t`` is within the tolerance of ``clock.now()``.
        """
        if not isinstance(payload, bytes | bytearray):
            raise TypeError(
                "pass the raw request body as bytes (e.g. request.body, request.get_data(), "
                "await request.body()), not parsed or decoded text"
            )
        if signature_header is not None and not isinstance(signature_header, str):
            raise TypeError("pass the Stripe-Signature header as text (str), or None if absent")
        if signature_header is None or not signature_header.strip():
            raise InvalidSignature("the request has no Stripe-Signature header")
        if not signature_header.isascii() or len(signature_header) > 8192:
            raise InvalidSignature("the Stripe-Signature header is malformed")
        text = _utf8(bytes(payload))
        if text is None:
            raise InvalidSignature("the payload is not UTF-8 text, so Stripe did not sign it")
        timestamp, signatures = _parse_signature_header(signature_header)

        signed = f"{timestamp}.{text}".encode()
        expected = [
            hmac.new(secret.reveal().encode(), signed, hashlib.sha256).hexdigest().encode()
            for secret in self._secrets
        ]
        # Every pair is compared (no early exit), each in constant time.
        matches = [
            hmac.compare_digest(mac, signature) for mac in expected for signature in signatures
        ]
        if not any(matches):
            raise InvalidSignature(
                f"no {_SIGNATURE_SCHEME} signature in the Stripe-Signature header matches the "
                f"payload with any of the {len(self._secrets)} configured webhook secret(s)"
            )

        # The age of the very timestamp the matching signature covers (P1), both ways.
        age = self._clock.now().timestamp() - timestamp
        if age > self._tolerance:
            raise InvalidSignature(
                f"the signature is {age:.0f} s old, more than the {self._tolerance} s tolerance "
                f"(a replay, or a late delivery: Stripe redelivers with a fresh signature)"
            )
        if -age > self._tolerance:
            raise InvalidSignature(
                f"the signature is dated {-age:.0f} s in the future, more than the "
                f"{self._tolerance} s tolerance (check this server's clock)"
            )
        return _read_event(text)


def _utf8(payload: bytes) -> str | None:
    """The payload as text, or None. (Refusals are raised by the caller, outside any except
    clause: a UnicodeDecodeError as __context__ would carry the whole payload, P3.)"""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _check_webhook_secret(value: object, index: int) -> str:
    where = f"webhook secret #{index + 1}"
    if not isinstance(value, str) or not value.strip():
        raise GatewayMisconfigured(f"{where} is empty: configure the endpoint's whsec_… secret")
    if any(c.isspace() for c in value):
        raise GatewayMisconfigured(
            f"{where} contains whitespace (a stray newline from the environment?)"
        )
    if not value.startswith("whsec_"):
        raise GatewayMisconfigured(
            f"{where} does not look like a webhook signing secret (whsec_…); it is not the API key"
        )
    return value


_TIMESTAMP_RE: Final = re.compile(r"[0-9]{1,12}")


def _parse_signature_header(header: str) -> tuple[int, list[bytes]]:
    """The signed timestamp and every ``v1`` signature of a ``Stripe-Signature`` header.

    Stripe's format: ``t=<unix seconds>,v1=<hex>[,v1=<hex>…][,v0=<hex>]``. Items are split on
    ``,`` and each on its first ``=``, with nothing stripped: a key is ``t`` or ``v1`` exactly,
    or it is another scheme and ignored. ``InvalidSignature`` unless there is exactly one ``t``
    (decimal digits only) and at least one ``v1``.
    """
    timestamps: list[str] = []
    signatures: list[bytes] = []
    for item in header.split(","):
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidSignature("the Stripe-Signature header is malformed (an item without '=')")
        if key == "t":
            timestamps.append(value)
        elif key == _SIGNATURE_SCHEME:
            signatures.append(value.encode("ascii"))
    if len(timestamps) > 1:
        raise InvalidSignature(
            "the Stripe-Signature header has more than one timestamp (t=…); Stripe sends one"
        )
    if not timestamps or _TIMESTAMP_RE.fullmatch(timestamps[0]) is None:
        raise InvalidSignature("the Stripe-Signature header has no readable timestamp (t=…)")
    if not signatures:
        raise InvalidSignature(f"the Stripe-Signature header has no {_SIGNATURE_SCHEME} signature")
    return int(timestamps[0]), signatures


def _read_event(text: str) -> GatewayEvent:
    """A correctly signed payload read as an event; ``InvalidEvent`` if it is not one.

    Errors are raised outside the ``except`` clauses, chained to nothing: what they would
    chain quotes the payload (P3)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = _NOT_JSON
    if data is _NOT_JSON:
        raise InvalidEvent("the signed payload is not JSON")
    if not isinstance(data, dict) or data.get("object") != "event":
        raise InvalidEvent("the signed payload is not a Stripe event (object != 'event')")
    try:
        return parse_event(data)
    except RefundError as e:  # parse_event raises only GatewayProtocolError (its contract)
        message = e.message
    raise InvalidEvent(f"the signed Stripe event cannot be read: {message}")


_NOT_JSON: Final = object()
