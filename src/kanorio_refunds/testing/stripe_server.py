"""The Stripe simulator served over HTTP on loopback, for other processes (and other languages).

``LoopbackStripe`` serves one ``FakeStripe`` on ``127.0.0.1``: the API paths (``/v1/...``) go
through ``testing.stripe_http.FakeStripeHTTPClient``, so requests are decoded and checked against
Stripe's OpenAPI subset (API 2023-08-16) exactly as in-process SDK traffic is, and answered with
Stripe's JSON, status codes and headers. Point the ``stripe`` SDK at ``server.url``
(``loopback_gateway(url)`` builds a ``StripeGateway`` that does) with any ``sk_test_…`` key.

The simulator's state and faults are driven over HTTP too, under ``/_sim/`` (JSON bodies and
answers; a bad request is a 400 with Stripe's error shape):

====================================  ==========================================================
``GET  /_sim/health``                 ``{"ok": true, "api_version": …}``
``POST /_sim/payments``               a succeeded payment: ``{"amount": 12000, "currency":
                                      "usd", "stripe_fee": 378, "application_fee": 240,
                                      "metadata": {…}}`` (also ``settlement_currency``,
                                      ``exchange_rate`` as a decimal string, ``destination``,
                                      ``transfer_amount``); answers the PaymentIntent
``GET  /_sim/payments/{pi}/refunds``  ``{"data": [refund, …]}``, oldest first
``POST /_sim/payments/{pi}/dispute``  open a dispute (``reason``, ``amount``, ``inquiry``)
``POST /_sim/payments/{pi}/dispute/close``  ``{"status": "won" | "lost" | "warning_closed"}``
``POST /_sim/refunds/{id}/status``    ``{"status": "succeeded", "failure_reason": null}``
``POST /_sim/faults``                 ``{"fault": "rate_limited", "operation": "create_refund",
                                      "times": 1, "code": null}`` (``Fault`` values)
``POST /_sim/rate-limit``             ``{"every": 10}``: every 10th API request is answered 429
                                      before the simulator sees it, as Stripe's rate limiter
                                      does; ``{"every": null}`` stops it
``POST /_sim/default-refund-status``  ``{"status": "pending"}``
``GET  /_sim/events?after=N``         ``{"data": [event, …], "count": total}``
``POST /_sim/clock/advance``          ``{"seconds": 3600}`` (only with an advanceable clock)
``GET  /_sim/stats``                  API requests served, and how many were rate limited
====================================  ==========================================================

``serve(host, port)`` runs one until interrupted (``kanorio-refunds fake-stripe serve``).

``WebhookForwarder`` is ``stripe listen --forward-to`` for the simulator: it reads the events
of a ``LoopbackStripe`` (``GET /_sim/events?after=N``) and POSTs each one, signed as Stripe signs
webhooks, to a webhook endpoint on loopback, in order.

Only loopback addresses are ever bound or called: anything else is a ``ValueError``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import sys
import threading
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs, urlsplit

import attrs

from kanorio_refunds.testing.fake_stripe import API_VERSION, FakeStripe, Fault, sign_webhook

if TYPE_CHECKING:
    from kanorio_refunds.adapters.stripe import StripeGateway

__all__ = [
    "DEFAULT_PORT",
    "Interrupt",
    "LoopbackClock",
    "LoopbackStripe",
    "ShiftableClock",
    "WebhookDelivery",
    "WebhookForwarder",
    "loopback_gateway",
    "require_loopback_endpoint",
    "require_loopback_host",
    "require_loopback_url",
    "serve",
]

#: The port ``serve`` listens on by default (stripe-mock's is 12111; this one is next to it).
DEFAULT_PORT: Final = 12112

_LOOPBACK: Final = "127.0.0.1"
_CLOCK_PATH: Final = "/_kanorio/clock"
_SIM: Final = "/_sim/"

#: ``interrupt(stage, operation)``: called by the server thread when a request arrives
#: (``"received"``, before the simulator sees it) and once the simulator answered
#: (``"answered"``). Return True to lose the answer: the connection closes without a reply, as
#: when the client process dies or the network fails.
Interrupt = Callable[[str, str], bool]

JsonDict = dict[str, Any]


def require_loopback_host(host: str) -> str:
    """``host`` as an IPv4 loopback address to bind (``localhost`` is ``127.0.0.1``); anything
    else (a public or LAN address, ``0.0.0.0``, a name) is a ``ValueError``."""
    if host == "localhost":
        return _LOOPBACK
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"loopback only: {host!r} is not an IPv4 loopback address") from None
    if address.version != 4 or not address.is_loopback:
        raise ValueError(f"loopback only: {host!r} is not an IPv4 loopback address (127.x.x.x)")
    return str(address)


def require_loopback_endpoint(url: str) -> str:
    """``url`` with its path (``http://127.0.0.1:8000/stripe/webhook``), if its scheme, host and
    port are those ``require_loopback_url`` accepts; anything else is a ``ValueError``."""
    base = require_loopback_url(url)
    parts = urlsplit(url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{base}{parts.path or '/'}{query}"


def require_loopback_url(url: str) -> str:
    """``url`` without a trailing slash, if it is ``http://127.x.x.x:<port>`` (or
    ``http://localhost:<port>``); anything else is a ``ValueError``."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None or parts.port is None:
        raise ValueError(f"loopback only: expected http://{_LOOPBACK}:<port>, got {url!r}")
    host = require_loopback_host(parts.hostname)
    return f"http://{host}:{parts.port}"


class ShiftableClock:
    """The time ``serve`` runs the simulator on: real UTC time plus an offset that
    ``/_sim/clock/advance`` moves forward."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta()

    def now(self) -> datetime:
        """Real time plus the offset (UTC)."""
        with self._lock:
            return datetime.now(UTC) + self._offset

    def unix_seconds(self) -> int:
        """``now()`` as unix seconds (the simulator's clock)."""
        return int(self.now().timestamp())

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward; returns the new time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()


class LoopbackStripe:
    """``FakeStripe`` served over HTTP on 127.0.0.1, for other processes' ``StripeGateway``.

    Requests go through ``testing.stripe_http.FakeStripeHTTPClient``, so they are decoded and
    checked against Stripe's OpenAPI subset exactly as in-process SDK traffic is, and answered
    by the one simulator in this process. ``url`` is the base address for the SDK
    (``loopback_gateway(url)``). ``clock`` (optional) is served at ``/_kanorio/clock`` for
    ``LoopbackClock``; ``advance_clock`` (optional) serves ``/_sim/clock/advance``.
    ``interrupt`` (see ``Interrupt``) lets a test lose an answer or kill the client at an exact
    point. ``host`` and ``port`` (0: any free port) must be loopback. Use as a context manager,
    or call ``start``/``stop``.
    """

    def __init__(
        self,
        model: FakeStripe,
        *,
        clock: Callable[[], datetime] | None = None,
        advance_clock: Callable[[float], datetime] | None = None,
        host: str = _LOOPBACK,
        port: int = 0,
        validate_responses: bool = True,
    ) -> None:
        from kanorio_refunds.testing.stripe_http import FakeStripeHTTPClient

        self.model = model
        self.transport = FakeStripeHTTPClient(model, validate_responses=validate_responses)
        self.clock = clock
        self.advance_clock = advance_clock
        self.interrupt: Interrupt | None = None
        self._limit_lock = threading.Lock()
        self._rate_limit_every: int | None = None
        self._api_requests = 0
        self._rate_limited = 0
        self._server = _Server(self, require_loopback_host(host), port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="loopback-stripe", daemon=True
        )

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LoopbackStripe:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def serve_forever(self) -> None:
        """Serve in this thread until ``stop`` is called from another (or the process ends)."""
        self._server.serve_forever()

    def __enter__(self) -> LoopbackStripe:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def set_rate_limit(self, every: int | None) -> None:
        """Answer every ``every``-th API request with Stripe's 429 (None: never)."""
        if every is not None and (isinstance(every, bool) or not isinstance(every, int)):
            raise TypeError("every must be a positive int or null")
        if every is not None and every < 1:
            raise ValueError("every must be a positive int or null")
        with self._limit_lock:
            self._rate_limit_every = every

    def stats(self) -> JsonDict:
        """``{"api_requests": n, "rate_limited": k}`` since the server started."""
        with self._limit_lock:
            return {"api_requests": self._api_requests, "rate_limited": self._rate_limited}

    def _count_and_limit(self) -> bool:
        """Count one API request; True when it is to be answered 429."""
        with self._limit_lock:
            self._api_requests += 1
            every = self._rate_limit_every
            if every is not None and self._api_requests % every == 0:
                self._rate_limited += 1
                return True
            return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: LoopbackStripe, host: str, port: int) -> None:
        super().__init__((host, port), _Handler)
        self.owner = owner

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client killed mid-request (what the crash tests and the demo do) resets its
        # connection: expected, not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_RATE_LIMITED_BODY: Final = json.dumps(
    {
        "error": {
            "type": "invalid_request_error",
            "code": "rate_limit",
            "message": "Request rate limit exceeded. Learn more about rate limits here "
            "https://stripe.com/docs/rate-limits.",
        }
    }
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        return None  # quiet: a host's test output is its own

    @property
    def _owner(self) -> LoopbackStripe:
        server = self.server
        assert isinstance(server, _Server)
        return server.owner

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        parts = urlsplit(self.path)
        owner = self._owner
        if method == "GET" and parts.path == _CLOCK_PATH and owner.clock is not None:
            self._answer(200, json.dumps({"now": owner.clock().isoformat()}), {})
            return
        if parts.path.startswith(_SIM):
            self._control(method, parts.path[len(_SIM) :], parse_qs(parts.query), body)
            return
        self._relay(method, parts.path, body)

    # ------------------------------------------------------------------ Stripe's API

    def _relay(self, method: str, path: str, body: bytes | None) -> None:
        import stripe

        owner = self._owner
        operation = f"{method} {path}"
        if owner.interrupt is not None and owner.interrupt("received", operation):
            self.close_connection = True
            return
        if owner._count_and_limit():
            self._answer(429, _RATE_LIMITED_BODY, {"Stripe-Version": API_VERSION})
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        try:
            text, status, response_headers = owner.transport.request(
                method, f"https://api.stripe.com{self.path}", headers, body
            )
        except stripe.APIConnectionError:
            # A simulated network fault (e.g. Fault.TIMEOUT_AFTER_CREATE): no answer at all.
            self.close_connection = True
            return
        except AssertionError as e:  # off-spec traffic: say so loudly to the client
            error = {"type": "invalid_request_error", "message": f"off-spec: {e}"}
            self._answer(400, json.dumps({"error": error}), {})
            return
        if owner.interrupt is not None and owner.interrupt("answered", operation):
            self.close_connection = True
            return
        self._answer(status, text, dict(response_headers))

    # ------------------------------------------------------------------ /_sim/ control

    def _control(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes | None
    ) -> None:
        try:
            data = _json_body(body)
            answer = self._route_control(method, path.strip("/").split("/"), query, data)
        except _ControlError as e:
            self._answer(e.status, _error_json(e.message), {})
            return
        except (ValueError, TypeError, KeyError) as e:
            message = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
            self._answer(400, _error_json(str(message)), {})
            return
        self._answer(200, json.dumps(answer, default=str), {})

    def _route_control(
        self, method: str, parts: list[str], query: dict[str, list[str]], data: JsonDict
    ) -> Any:
        owner = self._owner
        model = owner.model
        route = (method, *parts)
        match route:
            case ("GET", "health"):
                return {"ok": True, "api_version": API_VERSION}
            case ("GET", "stats"):
                return owner.stats()
            case ("POST", "payments"):
                return model.create_payment(**_payment_args(data))
            case ("GET", "payments", pi, "refunds"):
                return {"data": model.refunds_of(pi)}
            case ("POST", "payments", pi, "dispute"):
                return model.open_dispute(
                    pi,
                    reason=str(data.get("reason", "general")),
                    amount=_optional_int(data, "amount"),
                    inquiry=bool(data.get("inquiry", False)),
                )
            case ("POST", "payments", pi, "dispute", "close"):
                return model.close_dispute(pi, str(data.get("status", "won")))
            case ("POST", "refunds", refund_id, "status"):
                reason = data.get("failure_reason")
                return model.set_refund_status(
                    refund_id,
                    str(data["status"]),
                    failure_reason=None if reason is None else str(reason),
                )
            case ("POST", "faults"):
                fault = Fault(str(data["fault"]))
                operation = str(data.get("operation", "create_refund"))
                code = data.get("code")
                model.inject_fault(
                    fault,
                    operation=operation,
                    times=_int(data.get("times", 1), "times"),
                    code=None if code is None else str(code),
                )
                return {"pending": model.pending_faults(operation)}
            case ("POST", "rate-limit"):
                every = data.get("every")
                owner.set_rate_limit(None if every is None else _int(every, "every"))
                return {"every": every}
            case ("POST", "default-refund-status"):
                model.default_refund_status = str(data["status"])
                return {"status": model.default_refund_status}
            case ("GET", "events"):
                after = _int(int(query.get("after", ["0"])[0]), "after")
                return {"data": model.events_since(after), "count": model.event_count()}
            case ("POST", "clock", "advance"):
                if owner.advance_clock is None:
                    raise _ControlError(409, "this simulator's clock cannot be advanced")
                seconds = data.get("seconds")
                if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                    raise ValueError("seconds must be a number")
                return {"now": owner.advance_clock(float(seconds)).isoformat()}
        raise _ControlError(404, f"no such simulator control: {method} {_SIM}{'/'.join(parts)}")

    def _answer(self, status: int, text: str, headers: dict[str, str]) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        has_type = False
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
                has_type = has_type or name.lower() == "content-type"
        if not has_type:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _error_json(message: str) -> str:
    return json.dumps({"error": {"type": "invalid_request_error", "message": message}})


def _json_body(body: bytes | None) -> JsonDict:
    if not body:
        return {}
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _ControlError(400, "the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise _ControlError(400, "the body must be a JSON object")
    return data


def _int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer")
    return value


def _optional_int(data: JsonDict, name: str) -> int | None:
    value = data.get(name)
    return None if value is None else _int(value, name)


_PAYMENT_FIELDS: Final = frozenset(
    {
        "amount",
        "currency",
        "stripe_fee",
        "application_fee",
        "settlement_currency",
        "exchange_rate",
        "metadata",
        "destination",
        "transfer_amount",
    }
)


def _payment_args(data: JsonDict) -> JsonDict:
    unknown = sorted(set(data) - _PAYMENT_FIELDS)
    if unknown:
        raise ValueError(f"unknown payment fields {unknown}; known: {sorted(_PAYMENT_FIELDS)}")
    args = dict(data)
    args.setdefault("stripe_fee", 0)
    for name in ("amount", "stripe_fee", "application_fee", "transfer_amount"):
        if args.get(name) is not None:
            _int(args[name], name)
    if args.get("exchange_rate") is not None:
        try:
            args["exchange_rate"] = Decimal(str(args["exchange_rate"]))
        except InvalidOperation:
            raise ValueError("exchange_rate must be a decimal string") from None
    if "currency" not in args or "amount" not in args:
        raise ValueError("a payment needs amount (Stripe units) and currency")
    return args


# ---------------------------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------------------------


def loopback_gateway(url: str) -> StripeGateway:
    """A ``StripeGateway`` whose real ``stripe`` SDK talks to a ``LoopbackStripe`` at ``url``
    (127.0.0.1 only; proxies from the environment are ignored)."""
    import requests
    import stripe

    from kanorio_refunds.adapters.stripe import StripeGateway
    from kanorio_refunds.testing.stripe_http import FAKE_API_KEY

    base = require_loopback_url(url)
    session = requests.Session()
    session.trust_env = False  # never route loopback traffic through a configured proxy
    client = stripe.StripeClient(
        FAKE_API_KEY,
        base_addresses={"api": base},
        http_client=stripe.RequestsClient(session=session, timeout=60),
        max_network_retries=0,
    )
    return StripeGateway(client=client)


class LoopbackClock:
    """``ports.Clock`` reading the clock a ``LoopbackStripe`` serves: one time for every process
    of the demo, and the simulator's."""

    def __init__(self, url: str) -> None:
        self._url = require_loopback_url(url) + _CLOCK_PATH
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def now(self) -> datetime:
        """The shared clock's time."""
        with self._opener.open(self._url, timeout=30) as answer:
            return datetime.fromisoformat(json.load(answer)["now"])


def serve(
    host: str = _LOOPBACK,
    port: int = DEFAULT_PORT,
    *,
    default_refund_status: str = "succeeded",
    validate_responses: bool = True,
    ready: Callable[[LoopbackStripe], None] | None = None,
) -> None:
    """Serve a new simulator on ``host:port`` (loopback only) in this thread until the process
    is interrupted. ``ready(server)`` is called once it listens. Its clock is real time, which
    ``/_sim/clock/advance`` moves forward."""
    clock = ShiftableClock()
    model = FakeStripe(clock=clock.unix_seconds, default_refund_status=default_refund_status)
    server = LoopbackStripe(
        model,
        clock=clock.now,
        advance_clock=clock.advance,
        host=host,
        port=port,
        validate_responses=validate_responses,
    )
    if ready is not None:
        ready(server)
    try:
        server.serve_forever()
    finally:
        server._server.server_close()


# ---------------------------------------------------------------------------------------------
# Webhook forwarding (``stripe listen --forward-to``)
# ---------------------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is the endpoint's answer: urllib would otherwise turn a POST answered 302 or 303
    into a GET of the new address, and count whatever that page answers as the delivery."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


@attrs.frozen
class WebhookDelivery:
    """One attempt to deliver an event: the endpoint's HTTP ``status`` (None: no answer, with
    ``error`` saying why) and whether the event is now behind the forwarder (``done``: answered
    2xx, or 3xx or 4xx, which a redelivery would not change)."""

    event_id: str
    type: str
    status: int | None
    done: bool
    error: str | None = None

    @property
    def accepted(self) -> bool:
        """True when the endpoint answered 2xx."""
        return self.status is not None and 200 <= self.status < 300


class WebhookForwarder:
    """Forward a ``LoopbackStripe``'s events to a webhook endpoint, signed, in order, as
    ``stripe listen --forward-to`` does for Stripe's.

    ``stripe_url`` is the simulator's base address (``LoopbackStripe.url``); ``forward_to`` the
    endpoint (``http://127.0.0.1:8000/stripe/webhook``); ``secret`` its signing secret
    (``whsec_…``, what the endpoint's ``StripeWebhookVerifier`` holds). Each event is signed
    with ``sign_webhook`` at ``clock()`` (default: the system time; give the simulator's clock
    when it can be advanced) and POSTed as Stripe delivers it.

    An event answered 2xx is delivered; one answered 3xx or 4xx is refused for good (a bad
    signature or body does not get better) and skipped: like Stripe, the forwarder never
    follows a redirect, so a sign-in page that answers in the endpoint's place cannot swallow
    events; no answer or a 5xx leaves it, and those after it,
    for the next pass, as Stripe redelivers. ``after`` skips the first events (default 0: all).

    ``forward_pending()`` makes one pass now; ``start()`` passes every ``interval`` seconds
    in a background thread until ``stop()`` (or use it as a context manager). ``deliveries``
    keeps the latest attempts; ``on_delivery(delivery)`` is called after each one.
    """

    def __init__(
        self,
        stripe_url: str,
        forward_to: str,
        secret: str,
        *,
        interval: float = 0.2,
        after: int = 0,
        clock: Callable[[], datetime] | None = None,
        timeout: float = 30.0,
        on_delivery: Callable[[WebhookDelivery], None] | None = None,
        keep: int = 1000,
    ) -> None:
        if not isinstance(secret, str) or not secret.startswith("whsec_"):
            raise ValueError("secret must be the endpoint's webhook signing secret (whsec_…)")
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ValueError("after must be a number of events (an int >= 0)")
        if not interval > 0 or not timeout > 0:
            raise ValueError("interval and timeout must be positive numbers of seconds")
        self._events_url = require_loopback_url(stripe_url) + _SIM + "events"
        self._forward_to = require_loopback_endpoint(forward_to)
        self._secret = secret
        self._interval = float(interval)
        self._timeout = float(timeout)
        self._clock = clock
        self._on_delivery = on_delivery
        self._after = after
        self._deliveries: deque[WebhookDelivery] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # Never through a proxy from the environment: loopback traffic only; never redirected.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())

    def __repr__(self) -> str:  # the secret stays out of reprs and logs
        return f"WebhookForwarder(forward_to={self._forward_to!r}, delivered={self.delivered})"

    @property
    def forward_to(self) -> str:
        """The endpoint events are POSTed to."""
        return self._forward_to

    @property
    def delivered(self) -> int:
        """How many of the simulator's events are behind the forwarder (delivered, refused or
        skipped with ``after``)."""
        with self._lock:
            return self._after

    @property
    def deliveries(self) -> tuple[WebhookDelivery, ...]:
        """The latest delivery attempts, oldest first."""
        with self._lock:
            return tuple(self._deliveries)

    def forward_pending(self) -> list[WebhookDelivery]:
        """One pass: POST every event not yet behind the forwarder, oldest first, stopping at
        the first that gets no answer or a 5xx (it is tried again on the next pass). Returns
        this pass's attempts. Raises ``OSError`` when the simulator cannot be read."""
        with self._lock:
            attempts: list[WebhookDelivery] = []
            for event in self._fetch(self._after):
                delivery = self._post(event)
                attempts.append(delivery)
                self._deliveries.append(delivery)
                if self._on_delivery is not None:
                    self._on_delivery(delivery)
                if not delivery.done:
                    break
                self._after += 1
            return attempts

    def start(self) -> WebhookForwarder:
        """Forward in a background thread, a pass every ``interval`` seconds."""
        if self._thread is not None:
            raise RuntimeError("this forwarder was started already")
        self._thread = threading.Thread(target=self._run, name="webhook-forwarder", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop forwarding (the pass under way finishes first)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=self._timeout + 10)

    def __enter__(self) -> WebhookForwarder:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stopping.is_set():
            # The simulator gone or busy: try again on the next pass.
            with contextlib.suppress(OSError):
                self.forward_pending()
            self._stopping.wait(self._interval)

    def _fetch(self, after: int) -> list[JsonDict]:
        with self._opener.open(f"{self._events_url}?after={after}", timeout=self._timeout) as r:
            answer = json.load(r)
        events = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(events, list):
            raise OSError("the simulator's /_sim/events answer has no data list")
        return [e for e in events if isinstance(e, dict)]

    def _post(self, event: JsonDict) -> WebhookDelivery:
        event_id, event_type = str(event.get("id", "")), str(event.get("type", ""))
        signed = sign_webhook(
            event, self._secret, timestamp=self._clock() if self._clock is not None else None
        )
        request = urllib.request.Request(
            self._forward_to, data=signed.payload, headers=signed.headers, method="POST"
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as answer:
                status = int(answer.status)
        except urllib.error.HTTPError as e:
            status = int(e.code)
            e.close()
        except (OSError, ValueError) as e:  # refused, reset, timed out: no answer
            return WebhookDelivery(event_id, event_type, None, False, f"no answer: {e}")
        return WebhookDelivery(event_id, event_type, status, status < 500)
