"""An in-process Stripe HTTP backend for the real ``stripe`` SDK, served by ``FakeStripe``.

``FakeStripeHTTPClient`` is a ``stripe.HTTPClient``: plug it into ``stripe.StripeClient`` (or use
``make_client``) and every SDK call is decoded like Stripe's API would (form / query encoding),
checked against Stripe's OpenAPI subset in ``testing/stripe_openapi/subset.json`` (an unknown
path or parameter, a wrong type or an invalid enum value raises ``AssertionError``: Stripe would
refuse it, so the adapter must never send it), routed to the ``FakeStripe`` model and answered with
Stripe's JSON body, status code and headers. No network, no sleeping.

Model outcomes on the wire:

* ``StripeApiError`` -> its HTTP status and ``{"error": {...}}`` body (the SDK raises
  ``InvalidRequestError``, ``RateLimitError``, ``APIError`` ... with ``.error.code`` set);
* ``StripeConnectionFault`` / ``StripeTimeoutFault`` -> ``stripe.APIConnectionError`` raised by
  the transport with ``should_retry=True``, exactly like the SDK's ``RequestsClient`` does for
  ``requests`` ``ConnectionError`` / ``ReadTimeout`` (the timeout happens after the side effect).

Every HTTP attempt (including the SDK's own retries) is recorded in ``requests`` as a
``RecordedRequest`` with its decoded parameters and headers (``Authorization`` redacted).

See docs/dev/stripe-sdk-notes.md for the SDK facts this relies on.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Awaitable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Final
from urllib.parse import parse_qsl, unquote_plus, urlsplit

import stripe

from kanorio_refunds.testing.fake_stripe import (
    FakeStripe,
    StripeApiError,
    StripeConnectionFault,
    StripeTimeoutFault,
)
from kanorio_refunds.testing.fake_stripe._render import stripe_json as dumps_stripe_json

__all__ = [
    "DATA_DIR",
    "FAKE_API_KEY",
    "FakeStripeHTTPClient",
    "RecordedRequest",
    "dumps_stripe_json",
    "load_fixtures",
    "load_subset",
    "make_client",
    "parse_stripe_params",
    "schema_problems",
    "transport_of",
    "validate_object",
]

JsonDict = dict[str, Any]

DATA_DIR: Final = Path(__file__).resolve().parent / "stripe_openapi"

#: A syntactically valid test-mode key that no Stripe account has.
FAKE_API_KEY: Final = "sk_test_fake_kanorio_0000000000000000"

_REDACTED: Final = "Bearer sk_test_…(redacted)"


# ---------------------------------------------------------------------------------------------
# The OpenAPI subset
# ---------------------------------------------------------------------------------------------


@cache
def load_subset() -> JsonDict:
    """``subset.json``: ``schemas`` and ``operations`` of Stripe's API 2023-08-16 (read once)."""
    data: JsonDict = json.loads((DATA_DIR / "subset.json").read_text(encoding="utf-8"))
    return data


@cache
def load_fixtures() -> JsonDict:
    """Stripe's example objects by name: refund, charge, payment_intent, balance_transaction,
    dispute, event, list (read once; treat as read-only)."""
    data: JsonDict = json.loads((DATA_DIR / "fixtures.json").read_text(encoding="utf-8"))
    resources: JsonDict = data["resources"]
    return resources


def _resolve(schema: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any] | None]:
    """For a ``$ref`` schema: (name, the referenced schema or None if not in the subset)."""
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return None, schema
    name = ref.rsplit("/", 1)[-1]
    target: Mapping[str, Any] | None = load_subset()["schemas"].get(name)
    return name, target


def _type_ok(value: Any, schema: Mapping[str, Any], *, deep: bool, path: str) -> list[str]:
    """Problems of ``value`` against a property schema (simple types; objects shallowly)."""
    if value is None:
        return [] if schema.get("nullable") else [f"{path}: null but not nullable"]
    if "$ref" in schema:
        name, target = _resolve(schema)
        if not isinstance(value, dict):
            return [f"{path}: expected an object ({name}), got {type(value).__name__}"]
        if deep and target is not None and not target.get("x-stub") and "x-resourceId" in target:
            # An expanded resource of the subset (charge inside a payment_intent, ...).
            return schema_problems(value, target, path=path, deep=deep)
        return []
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            branches: Sequence[Mapping[str, Any]] = schema[combinator]
            results = [_type_ok(value, b, deep=deep, path=path) for b in branches]
            if any(not r for r in results):
                return []
            return [f"{path}: matches none of {combinator}: " + "; ".join(r[0] for r in results)]
    kind = schema.get("type")
    problems: list[str] = []
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path}: expected string, got {type(value).__name__} {value!r}"]
        enum = schema.get("enum")
        if enum is not None and value not in enum and not schema.get("x-stripeBypassValidation"):
            problems.append(f"{path}: {value!r} not one of {enum}")
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{path}: expected integer, got {type(value).__name__} {value!r}"]
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            return [f"{path}: expected number, got {type(value).__name__} {value!r}"]
    elif kind == "boolean":
        if not isinstance(value, bool):
            return [f"{path}: expected boolean, got {type(value).__name__} {value!r}"]
    elif kind == "array":
        if not isinstance(value, list):
            return [f"{path}: expected array, got {type(value).__name__}"]
        items = schema.get("items")
        if isinstance(items, Mapping):
            for i, item in enumerate(value):
                problems += _type_ok(item, items, deep=deep, path=f"{path}[{i}]")
    elif kind == "object":
        if not isinstance(value, dict):
            return [f"{path}: expected object, got {type(value).__name__}"]
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping) and "properties" not in schema:
            for key, item in value.items():
                problems += _type_ok(item, extra, deep=deep, path=f"{path}.{key}")
    return problems


def schema_problems(
    obj: Any, schema: Mapping[str, Any] | str, *, path: str = "$", deep: bool = True
) -> list[str]:
    """Everything about ``obj`` that contradicts ``schema`` (a subset schema name or a schema).

    Checks: it is an object; its keys are a subset of the schema's properties; required keys are
    present; each value has the property's simple type (string/integer/number/boolean/array/
    object, nullability, enums unless Stripe marks them open, ``anyOf`` of id-or-object for
    expandable fields). With ``deep``, expanded resources of the subset (e.g. a charge inside a
    payment_intent, refunds inside a list) are checked the same way; other nested objects only
    for being objects.
    """
    resolved: Mapping[str, Any] | None
    if isinstance(schema, str):
        schemas: Mapping[str, Any] = load_subset()["schemas"]
        if schema not in schemas:
            raise KeyError(f"no schema {schema!r} in subset.json")
        path = schema if path == "$" else path
        resolved = schemas[schema]
    else:
        _, resolved = _resolve(schema)
    if resolved is None:
        return []
    schema = resolved
    if not isinstance(obj, dict):
        return [f"{path}: expected an object, got {type(obj).__name__}"]
    properties: Mapping[str, Any] = schema.get("properties", {})
    problems = [f"{path}: unknown key {key!r}" for key in obj if key not in properties]
    problems += [
        f"{path}: required key {key!r} missing"
        for key in schema.get("required", ())
        if key not in obj
    ]
    for key, value in obj.items():
        if key in properties:
            problems += _type_ok(value, properties[key], deep=deep, path=f"{path}.{key}")
    return problems


def validate_object(obj: Any, schema: Mapping[str, Any] | str, *, deep: bool = True) -> None:
    """Raise ``AssertionError`` listing every ``schema_problems`` of ``obj``."""
    problems = schema_problems(obj, schema, deep=deep)
    if problems:
        raise AssertionError("not Stripe's shape:\n  " + "\n  ".join(problems))


# ---------------------------------------------------------------------------------------------
# Wire format
# ---------------------------------------------------------------------------------------------

_KEY_RE: Final = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SUBKEY_RE: Final = re.compile(r"\[([^\[\]]*)\]")
_INT_RE: Final = re.compile(r"^-?[0-9]+$")
_NUMBER_RE: Final = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def _parse_form_tree(text: str) -> JsonDict:
    """``a=1&metadata[k]=v&expand[0]=x&expand[]=y`` -> nested dicts of strings.

    Bracket parts become dict keys; ``[]`` takes the next free index. Whether a level is an array
    or an object is decided later against the schema (``metadata[0]`` is an object key).
    """
    tree: JsonDict = {}
    for raw_key, value in parse_qsl(text, keep_blank_values=True, strict_parsing=False):
        match = _KEY_RE.match(raw_key)
        if match is None:
            raise AssertionError(f"malformed parameter name {raw_key!r}")
        parts = [match.group(1), *_SUBKEY_RE.findall(match.group(2))]
        node = tree
        for i, part in enumerate(parts):
            key = str(len(node)) if part == "" else part
            last = i == len(parts) - 1
            if last:
                if key in node:
                    raise AssertionError(f"parameter {raw_key!r} sent twice")
                node[key] = value
            else:
                child = node.setdefault(key, {})
                if not isinstance(child, dict):
                    raise AssertionError(f"parameter {raw_key!r} is both a value and a hash")
                node = child
    return tree


def _coerce(value: Any, schema: Mapping[str, Any], path: str) -> Any:
    """Turn the decoded strings into Stripe's types per ``schema``; ``AssertionError`` if Stripe
    would refuse the value (wrong type, enum, length, unknown nested key)."""
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            errors: list[str] = []
            for branch in schema[combinator]:
                try:
                    return _coerce(value, branch, path)
                except AssertionError as err:
                    errors.append(str(err))
            raise AssertionError(f"{path}: matches no alternative ({'; '.join(errors)})")
    kind = schema.get("type")
    if kind == "string":
        if not isinstance(value, str):
            raise AssertionError(f"{path}: expected a string, got a hash/array")
        enum = schema.get("enum")
        if enum is not None and value not in enum:
            raise AssertionError(f"{path}: {value!r} is not one of {enum}")
        max_length = schema.get("maxLength")
        if isinstance(max_length, int) and len(value) > max_length:
            raise AssertionError(f"{path}: longer than {max_length} characters")
        return value
    if kind == "integer":
        if not isinstance(value, str) or not _INT_RE.match(value):
            raise AssertionError(f"{path}: expected an integer, got {value!r}")
        return int(value)
    if kind == "number":
        if not isinstance(value, str) or not _NUMBER_RE.match(value):
            raise AssertionError(f"{path}: expected a number, got {value!r}")
        return Decimal(value)
    if kind == "boolean":
        if value not in ("true", "false"):
            raise AssertionError(f"{path}: expected true/false, got {value!r}")
        return value == "true"
    if kind == "array":
        if not isinstance(value, dict) or sorted(value, key=_index) != [
            str(i) for i in range(len(value))
        ]:
            raise AssertionError(f"{path}: expected an array (k[0]=..&k[1]=..), got {value!r}")
        items: Mapping[str, Any] = schema.get("items", {})
        return [_coerce(value[str(i)], items, f"{path}[{i}]") for i in range(len(value))]
    if kind == "object":
        if not isinstance(value, dict):
            raise AssertionError(f"{path}: expected a hash ({path}[key]=...), got {value!r}")
        properties: Mapping[str, Any] = schema.get("properties", {})
        extra = schema.get("additionalProperties", "properties" not in schema)
        out: JsonDict = {}
        for key, item in value.items():
            if key in properties:
                out[key] = _coerce(item, properties[key], f"{path}[{key}]")
            elif isinstance(extra, Mapping):
                out[key] = _coerce(item, extra, f"{path}[{key}]")
            elif extra is True:
                out[key] = item
            else:
                raise AssertionError(f"{path}: unknown key {key!r}")
        return out
    return value


def _index(key: str) -> int:
    return int(key) if key.isdigit() else -1


def parse_stripe_params(text: str, allowed: Mapping[str, Any], *, where: str) -> JsonDict:
    """Decode a query string / form body and type it against ``allowed`` (name -> schema).

    Raises ``AssertionError`` for a parameter Stripe does not accept on this operation.
    """
    tree = _parse_form_tree(text)
    out: JsonDict = {}
    for name, value in tree.items():
        if name not in allowed:
            raise AssertionError(
                f"{where}: parameter {name!r} is not in Stripe's API "
                f"(accepted: {', '.join(sorted(allowed)) or 'none'})"
            )
        out[name] = _coerce(value, allowed[name], name)
    return out


class _Headers(Mapping[str, str]):
    """Case-insensitive response headers (the SDK reads both ``Request-Id`` and ``request-id``)."""

    def __init__(self, items: Mapping[str, str]) -> None:
        self._items = {k.lower(): (k, v) for k, v in items.items()}

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"_Headers({dict(self.items())!r})"


# ---------------------------------------------------------------------------------------------
# Routing
# ---------------------------------------------------------------------------------------------

# (method, path regex, operation key in subset.json); literal paths before templated ones.
_ROUTES: Final = (
    ("GET", re.compile(r"^/v1/refunds$"), "GET /v1/refunds"),
    ("POST", re.compile(r"^/v1/refunds$"), "POST /v1/refunds"),
    ("GET", re.compile(r"^/v1/refunds/(?P<refund>[^/]+)$"), "GET /v1/refunds/{refund}"),
    (
        "GET",
        re.compile(r"^/v1/payment_intents/(?P<intent>[^/]+)$"),
        "GET /v1/payment_intents/{intent}",
    ),
    ("GET", re.compile(r"^/v1/charges/(?P<charge>[^/]+)$"), "GET /v1/charges/{charge}"),
    ("GET", re.compile(r"^/v1/disputes$"), "GET /v1/disputes"),
    (
        "GET",
        re.compile(r"^/v1/balance_transactions/(?P<id>[^/]+)$"),
        "GET /v1/balance_transactions/{id}",
    ),
)


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP attempt the SDK made, as the fake Stripe received it.

    ``params`` are decoded and typed (``{"amount": 500, "metadata": {"order_id": "o1"},
    "expand": ["charge"]}``); ``raw`` is the query string or form body as sent. ``outcome`` is the
    HTTP status as a string (``"200"``, ``"400"``), ``"connection_error"``, ``"timeout"`` or
    ``"rejected_by_schema"`` (the request was not valid Stripe API; an AssertionError was raised),
    ``"injected <status>"`` (answered by ``inject_http_response`` without the model)
    or ``"not_modelled"`` (valid at Stripe, but FakeStripe does not model it: NotImplementedError).
    """

    method: str
    path: str
    operation: str | None
    path_params: Mapping[str, str]
    params: Mapping[str, Any]
    raw: str
    headers: Mapping[str, str]
    outcome: str
    model_request_id: str | None = None

    @property
    def idempotency_key(self) -> str | None:
        return self.header("Idempotency-Key")

    @property
    def stripe_account(self) -> str | None:
        return self.header("Stripe-Account")

    @property
    def stripe_version(self) -> str | None:
        return self.header("Stripe-Version")

    def header(self, name: str) -> str | None:
        """A request header, case-insensitively."""
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)


@dataclass
class _Injection:
    headers: Mapping[str, str]
    operation: str | None
    remaining: int


@dataclass
class _ResponseInjection:
    status: int
    body: str
    headers: Mapping[str, str]
    operation: str | None
    remaining: int
    after_model: bool


@dataclass
class _State:
    requests: list[RecordedRequest] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    retry_delays: list[float] = field(default_factory=list)
    header_injections: list[_Injection] = field(default_factory=list)
    response_injections: list[_ResponseInjection] = field(default_factory=list)
    request_seq: int = 0


class FakeStripeHTTPClient(stripe.HTTPClient):
    """A ``stripe.HTTPClient`` that serves Stripe's API from a ``FakeStripe`` model in-process.

    Attributes for assertions: ``requests`` (every attempt, oldest first), ``violations``
    (messages of every AssertionError raised for invalid requests or off-spec responses, kept
    even if the adapter swallowed the exception), ``retry_delays`` (the back-off the SDK asked
    for; it never actually sleeps). ``validate_responses`` (default True) checks every body the
    model returns against subset.json.
    """

    name: ClassVar[str] = "kanorio_fake_stripe"

    def __init__(self, model: FakeStripe, *, validate_responses: bool = True) -> None:
        super().__init__()
        self.model = model
        self.validate_responses = validate_responses
        self._lock = threading.Lock()
        self._state = _State()

    # ------------------------------------------------------------------ inspection

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._state.requests)

    @property
    def violations(self) -> list[str]:
        with self._lock:
            return list(self._state.violations)

    @property
    def retry_delays(self) -> list[float]:
        with self._lock:
            return list(self._state.retry_delays)

    def requests_to(self, operation: str) -> list[RecordedRequest]:
        """The attempts of one operation, e.g. ``"POST /v1/refunds"``."""
        return [r for r in self.requests if r.operation == operation]

    def assert_no_violations(self) -> None:
        """Fail if any request was off-spec, even if the code under test caught the error."""
        violations = self.violations
        if violations:
            raise AssertionError("off-spec Stripe traffic:\n  " + "\n  ".join(violations))

    def inject_response_headers(
        self, headers: Mapping[str, str], *, operation: str | None = None, times: int = 1
    ) -> None:
        """Add ``headers`` to the next ``times`` responses (of ``operation``, if given), e.g.
        ``{"Stripe-Should-Retry": "true"}`` to make the SDK retry a 429."""
        with self._lock:
            self._state.header_injections.append(_Injection(dict(headers), operation, times))

    def inject_http_response(
        self,
        status: int,
        body: Mapping[str, Any] | str,
        *,
        operation: str | None = None,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        after_model: bool = False,
    ) -> None:
        """Answer the next ``times`` valid requests (of ``operation``, if given) with ``status``
        and ``body`` (a JSON object, or raw text for unreadable answers) instead of the model's.

        For what ``FakeStripe`` does not model: 401/403 (a bad key), 402, idempotency errors
        of other statuses, unreadable bodies. By default the model is not called, so nothing
        happens at "Stripe"; with ``after_model=True`` the model runs first (a refund IS
        created) and its answer is then replaced, like a proxy mangling a response. Requests
        are still checked against the OpenAPI subset; the injected body is not.
        """
        text = body if isinstance(body, str) else json.dumps(body)
        with self._lock:
            self._state.response_injections.append(
                _ResponseInjection(status, text, dict(headers or {}), operation, times, after_model)
            )

    def _take_response_injection(self, operation: str) -> _ResponseInjection | None:
        with self._lock:
            for injection in self._state.response_injections:
                if injection.remaining > 0 and injection.operation in (None, operation):
                    injection.remaining -= 1
                    self._state.response_injections = [
                        i for i in self._state.response_injections if i.remaining > 0
                    ]
                    return injection
            return None

    # ------------------------------------------------------------------ stripe.HTTPClient

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        return self._serve(method, url, headers or {}, post_data)

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        body, status, response_headers = self._serve(method, url, headers, post_data)
        return body.encode("utf-8"), status, response_headers

    def sleep_async(self, secs: float) -> Awaitable[None]:
        return _no_sleep()

    def close(self) -> None:
        return None

    async def close_async(self) -> None:
        return None

    def _sleep_time_seconds(self, num_retries: int) -> float:
        # The SDK sleeps this long between retries (time.sleep / sleep_async); record the delay
        # it wanted and answer 0 so tests stay fast. (Private SDK hook, see the SDK notes.)
        with self._lock:
            self._state.retry_delays.append(super()._sleep_time_seconds(num_retries))
        return 0.0

    # ------------------------------------------------------------------ serving

    def _serve(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any
    ) -> tuple[str, int, Mapping[str, str]]:
        method = method.upper()
        parts = urlsplit(url)
        path, query = parts.path, parts.query
        safe_headers = {
            k: (_REDACTED if k.lower() == "authorization" else v) for k, v in headers.items()
        }
        raw = query if method == "GET" else _text(post_data)
        operation: str | None = None
        path_params: dict[str, str] = {}
        params: JsonDict = {}

        def record(outcome: str, model_request_id: str | None, violation: str | None) -> None:
            self._record(
                RecordedRequest(
                    method=method,
                    path=path,
                    operation=operation,
                    path_params=path_params,
                    params=params,
                    raw=raw,
                    headers=safe_headers,
                    outcome=outcome,
                    model_request_id=model_request_id,
                ),
                violation=violation,
            )

        try:
            if parts.netloc != "api.stripe.com" or parts.scheme != "https":
                raise AssertionError(f"request to {parts.scheme}://{parts.netloc}, not Stripe")
            operation, path_params = _route(method, path)
            spec = load_subset()["operations"][operation]
            if method == "GET":
                if post_data:
                    raise AssertionError(f"{operation}: a GET with a body")
                query_schemas = {n: p["schema"] for n, p in spec["query_params"].items()}
                params = parse_stripe_params(query, query_schemas, where=operation)
            else:
                if query:
                    raise AssertionError(f"{operation}: a POST with a query string {query!r}")
                content_type = _header(headers, "Content-Type")
                if content_type != "application/x-www-form-urlencoded":
                    raise AssertionError(f"{operation}: Content-Type {content_type!r}")
                params = parse_stripe_params(raw, spec["form_params"], where=operation)
            if not (_header(headers, "Authorization") or "").startswith("Bearer sk_"):
                raise AssertionError("no secret-key Authorization header")
        except AssertionError as err:
            record("rejected_by_schema", None, str(err))
            raise

        injected = self._take_response_injection(operation)
        if injected is not None and not injected.after_model:
            record(f"injected {injected.status}", None, None)
            return injected.body, injected.status, self._injected_headers(injected)

        try:
            status, body, model_request_id = self._call_model(
                operation, path_params, params, headers
            )
        except (StripeConnectionFault, StripeTimeoutFault) as fault:
            timeout = isinstance(fault, StripeTimeoutFault)
            record("timeout" if timeout else "connection_error", fault.request_id, None)
            raise _connection_error(timeout=timeout) from None
        except NotImplementedError:
            record("not_modelled", None, None)
            raise

        text = dumps_stripe_json(body)
        problems: list[str] = []
        if self.validate_responses:
            reparsed = json.loads(text)
            if 200 <= status < 300:
                problems = schema_problems(reparsed, spec["response"], path=operation)
            else:
                problems = schema_problems(reparsed, "error", path=f"{operation} (error)")
                problems += schema_problems(
                    reparsed.get("error"), "api_errors", path=f"{operation} (error).error"
                )
        record(str(status), model_request_id, "\n  ".join(problems) if problems else None)
        if problems:
            raise AssertionError("FakeStripe answered off-spec:\n  " + "\n  ".join(problems))
        if injected is not None:
            return injected.body, injected.status, self._injected_headers(injected)
        return text, status, self._response_headers(operation, headers, model_request_id)

    def _injected_headers(self, injected: _ResponseInjection) -> _Headers:
        with self._lock:
            self._state.request_seq += 1
            seq = self._state.request_seq
        return _Headers(
            {
                "Content-Type": "application/json",
                "Request-Id": f"req_injected{seq:08d}",
                **injected.headers,
            }
        )

    def _call_model(
        self,
        operation: str,
        path_params: Mapping[str, str],
        params: JsonDict,
        headers: Mapping[str, str],
    ) -> tuple[int, JsonDict, str | None]:
        """(status, body, model request id) of the model's answer; faults propagate."""
        model = self.model
        account = _header(headers, "Stripe-Account")
        expand = tuple(params.get("expand", ()))
        unsupported = {
            "GET /v1/payment_intents/{intent}": ("client_secret",),
            "GET /v1/refunds": ("created",),
            "GET /v1/disputes": ("created",),
        }.get(operation, ())
        for name in unsupported:
            if name in params:
                raise NotImplementedError(f"FakeStripe does not model {name!r} on {operation}")
        try:
            if operation == "POST /v1/refunds":
                body = model.create_refund(
                    params,
                    idempotency_key=_header(headers, "Idempotency-Key"),
                    stripe_account=account,
                )
            elif operation in ("GET /v1/refunds", "GET /v1/disputes"):
                pagination = {
                    k: params[k]
                    for k in (
                        "charge",
                        "payment_intent",
                        "limit",
                        "starting_after",
                        "ending_before",
                    )
                    if k in params
                }
                listing = (
                    model.list_refunds if operation == "GET /v1/refunds" else model.list_disputes
                )
                body = listing(**pagination, expand=expand, stripe_account=account)
            elif operation == "GET /v1/refunds/{refund}":
                body = model.retrieve_refund(path_params["refund"], expand, stripe_account=account)
            elif operation == "GET /v1/payment_intents/{intent}":
                body = model.retrieve_payment_intent(
                    path_params["intent"], expand, stripe_account=account
                )
            elif operation == "GET /v1/charges/{charge}":
                body = model.retrieve_charge(path_params["charge"], expand, stripe_account=account)
            elif operation == "GET /v1/balance_transactions/{id}":
                body = model.retrieve_balance_transaction(
                    path_params["id"], expand, stripe_account=account
                )
            else:  # pragma: no cover - _ROUTES and this dispatch are kept in step
                raise AssertionError(f"no handler for {operation}")
        except StripeApiError as err:
            return err.http_status, err.to_json(), err.request_id
        last = model.last_request()
        return 200, body, last.request_id if last is not None else None

    def _response_headers(
        self, operation: str, request_headers: Mapping[str, str], model_request_id: str | None
    ) -> _Headers:
        with self._lock:
            self._state.request_seq += 1
            seq = self._state.request_seq
            extra: dict[str, str] = {}
            for injection in self._state.header_injections:
                if injection.remaining > 0 and injection.operation in (None, operation):
                    extra.update(injection.headers)
                    injection.remaining -= 1
            self._state.header_injections = [
                i for i in self._state.header_injections if i.remaining > 0
            ]
        out = {
            "Content-Type": "application/json",
            "Request-Id": model_request_id or f"req_fakehttp{seq:08d}",
        }
        version = _header(request_headers, "Stripe-Version")
        if version:
            out["Stripe-Version"] = version
        key = _header(request_headers, "Idempotency-Key")
        if key and operation.startswith("POST "):
            out["Idempotency-Key"] = key
            last = self.model.last_request()
            if last is not None and last.idempotent_replayed:
                out["Idempotent-Replayed"] = "true"
        out.update(extra)
        return _Headers(out)

    def _record(self, request: RecordedRequest, *, violation: str | None = None) -> None:
        with self._lock:
            self._state.requests.append(request)
            if violation:
                self._state.violations.append(f"{request.method} {request.path}: {violation}")


async def _no_sleep() -> None:
    return None


def _text(post_data: Any) -> str:
    if post_data is None:
        return ""
    if isinstance(post_data, bytes | bytearray):
        return bytes(post_data).decode("utf-8")
    if isinstance(post_data, str):
        return post_data
    raise AssertionError(f"unexpected request body type {type(post_data).__name__}")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def _route(method: str, path: str) -> tuple[str, dict[str, str]]:
    for route_method, pattern, operation in _ROUTES:
        match = pattern.match(path)
        if match is not None and route_method == method:
            return operation, {k: unquote_plus(v) for k, v in match.groupdict().items()}
    raise AssertionError(
        f"{method} {path} is not an operation of the Stripe subset "
        f"({', '.join(op for _, _, op in _ROUTES)})"
    )


def _connection_error(*, timeout: bool) -> stripe.APIConnectionError:
    """What ``stripe.RequestsClient`` raises for a ``requests`` ReadTimeout / ConnectionError."""
    cause = (
        "ReadTimeout: HTTPSConnectionPool(host='api.stripe.com', port=443): Read timed out. "
        "(read timeout=80)"
        if timeout
        else "ConnectionError: HTTPSConnectionPool(host='api.stripe.com', port=443): Max retries "
        "exceeded (Caused by NewConnectionError: Failed to establish a new connection)"
    )
    return stripe.APIConnectionError(  # type: ignore[no-untyped-call]
        "Unexpected error communicating with Stripe.  If this problem persists,\n"
        f"let us know at support@stripe.com.\n\n(Network error: {cause})",
        should_retry=True,
    )


# ---------------------------------------------------------------------------------------------
# Wiring
# ---------------------------------------------------------------------------------------------


def make_client(
    model: FakeStripe,
    *,
    max_network_retries: int = 0,
    stripe_account: str | None = None,
    stripe_version: str | None = None,
    validate_responses: bool = True,
) -> stripe.StripeClient:
    """A real ``stripe.StripeClient`` talking to ``model`` through ``FakeStripeHTTPClient``.

    Uses the dummy key ``FAKE_API_KEY``; retries never sleep. Get the transport (recorded
    requests, violations) with ``transport_of(client)``.
    """
    return stripe.StripeClient(
        FAKE_API_KEY,
        http_client=FakeStripeHTTPClient(model, validate_responses=validate_responses),
        max_network_retries=max_network_retries,
        stripe_account=stripe_account,
        stripe_version=stripe_version,
    )


def transport_of(client: stripe.StripeClient) -> FakeStripeHTTPClient:
    """The ``FakeStripeHTTPClient`` behind a client made by ``make_client``."""
    transport = client._requestor._client
    if not isinstance(transport, FakeStripeHTTPClient):
        raise TypeError("this StripeClient does not use FakeStripeHTTPClient")
    return transport
