"""What can go wrong at the simulated Stripe: its HTTP errors (``StripeApiError``), the transport
failures a caller sees (``StripeConnectionFault``, ``StripeTimeoutFault``), and the faults a test
injects into the next calls of an operation (``Fault``, ``FaultQueue``).
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Mapping
from typing import Any, Final

JsonDict = dict[str, Any]


class StripeApiError(Exception):
    """An HTTP error answer of Stripe (4xx/5xx) with Stripe's error body.

    ``type`` is one of Stripe's error types (``invalid_request_error``, ``api_error``,
    ``idempotency_error``, ``card_error``); ``code`` is Stripe's error code or None (Stripe sends
    no code for, e.g., invalid enum values or metadata limits). ``request_id`` is the ``req_…`` id
    of the request that failed (the HTTP backend sends it as the ``Request-Id`` header).
    """

    def __init__(
        self,
        http_status: int,
        type: str,
        code: str | None,
        message: str,
        param: str | None = None,
        *,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.type = type
        self.code = code
        self.message = message
        self.param = param
        self.request_id = request_id

    @property
    def doc_url(self) -> str | None:
        """Stripe's documentation link for ``code`` (None without a code)."""
        if self.code is None:
            return None
        return f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"

    def to_json(self) -> JsonDict:
        """Stripe's error body: ``{"error": {...}}``; absent fields are omitted as Stripe does."""
        body: JsonDict = {"type": self.type, "message": self.message}
        if self.code is not None:
            body["code"] = self.code
            body["doc_url"] = self.doc_url
        if self.param is not None:
            body["param"] = self.param
        if self.request_id is not None:
            body["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{self.request_id}"
        return {"error": body}

    def clone(self) -> StripeApiError:
        """The same error without its request id (a replay is answered under a new request)."""
        return StripeApiError(self.http_status, self.type, self.code, self.message, self.param)

    def __repr__(self) -> str:
        return (
            f"StripeApiError(http_status={self.http_status}, type={self.type!r}, "
            f"code={self.code!r}, message={self.message!r}, param={self.param!r})"
        )


class StripeConnectionFault(Exception):
    """The request never reached Stripe (injected ``Fault.CONNECTION_ERROR``); nothing happened."""

    def __init__(self, operation: str, request_id: str) -> None:
        super().__init__(f"connection to Stripe failed during {operation}")
        self.operation = operation
        self.request_id = request_id


class StripeTimeoutFault(Exception):
    """Stripe did the work but the answer was lost (injected ``Fault.TIMEOUT_AFTER_CREATE``).

    ``result`` is a copy of the object Stripe created or returned, for tests only: the caller's
    code must behave as if it never saw it.
    """

    def __init__(self, operation: str, request_id: str, result: JsonDict | None) -> None:
        super().__init__(f"request to Stripe timed out during {operation}")
        self.operation = operation
        self.request_id = request_id
        self.result = result


class Fault(enum.Enum):
    """A failure to inject into the next call of an operation (see ``FakeStripe.inject_fault``)."""

    #: Nothing happens at Stripe; the caller gets ``StripeConnectionFault``.
    CONNECTION_ERROR = "connection_error"
    #: The operation runs (a refund IS created, events too); the caller gets ``StripeTimeoutFault``.
    TIMEOUT_AFTER_CREATE = "timeout_after_create"
    #: 429 ``rate_limit``; nothing happens.
    RATE_LIMITED = "rate_limited"
    #: 500 ``api_error``; nothing happens.
    SERVER_ERROR = "server_error"
    #: 409 ``lock_timeout``; nothing happens.
    CONFLICT = "conflict"
    #: 400 ``invalid_request_error`` with the Stripe ``code`` given at injection; nothing happens.
    REJECT = "reject"


def invalid(
    message: str, *, code: str | None = None, param: str | None = None, status: int = 400
) -> StripeApiError:
    """Stripe's ``invalid_request_error`` (400 unless told otherwise)."""
    return StripeApiError(status, "invalid_request_error", code, message, param)


def missing(kind: str, object_id: str, param: str) -> StripeApiError:
    """404 ``resource_missing`` in Stripe's wording: "No such charge: 'ch_…'"."""
    return invalid(
        f"No such {kind}: '{object_id}'", code="resource_missing", param=param, status=404
    )


# Messages Stripe gives for the codes a REJECT fault is typically used with.
_REJECT_MESSAGES: Final[Mapping[str, tuple[str, str | None]]] = {
    "charge_disputed": ("The charge has been charged back; cannot issue a refund.", None),
    "amount_too_large": (
        "Refund amount is greater than unrefunded amount on charge.",
        "amount",
    ),
    "charge_already_refunded": ("The charge has already been refunded.", None),
    "resource_missing": ("No such object.", "id"),
    "parameter_missing": ("A required parameter is missing.", None),
    "parameter_invalid_integer": ("Invalid positive integer", "amount"),
}


def fault_error(fault: Fault, code: str | None) -> StripeApiError:
    """The HTTP error an injected fault answers with (Stripe's status, type, code, message)."""
    if fault is Fault.RATE_LIMITED:
        return invalid(
            "Request rate limit exceeded. Learn more about rate limits here "
            "https://stripe.com/docs/rate-limits.",
            code=code or "rate_limit",
            status=429,
        )
    if fault is Fault.SERVER_ERROR:
        return StripeApiError(
            500, "api_error", code, "An unknown error occurred while processing your request."
        )
    if fault is Fault.CONFLICT:
        return invalid(
            "This object cannot be accessed right now because another API request or Stripe "
            "process is currently accessing it. If you see this error intermittently, retry "
            "the request.",
            code=code or "lock_timeout",
            status=409,
        )
    assert fault is Fault.REJECT
    assert code is not None
    message, param = _REJECT_MESSAGES.get(code, (f"The request was rejected ({code}).", None))
    return invalid(message, code=code, param=param)


class FaultQueue:
    """The injected faults waiting for each operation, first in first out (not thread-safe: the
    model calls it under its lock)."""

    def __init__(self, operations: frozenset[str]) -> None:
        self._operations = operations
        self._queues: dict[str, deque[tuple[Fault, str | None]]] = {}

    def check(self, fault: Fault, operation: str, times: int, code: str | None) -> None:
        """Refuse an injection that could never fire as meant (before taking the lock)."""
        if not isinstance(fault, Fault):
            raise TypeError(f"fault must be a Fault, got {fault!r}")
        if operation not in self._operations:
            raise ValueError(f"unknown operation {operation!r}; one of {sorted(self._operations)}")
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ValueError("times must be a positive int")
        if fault is Fault.REJECT and not code:
            raise ValueError("Fault.REJECT needs the Stripe error code to answer with")

    def add(self, fault: Fault, operation: str, times: int, code: str | None) -> None:
        self._queues.setdefault(operation, deque()).extend([(fault, code)] * times)

    def take(self, operation: str) -> tuple[Fault | None, str | None]:
        """The next fault of ``operation`` (consumed), or ``(None, None)``."""
        queue = self._queues.get(operation)
        return queue.popleft() if queue else (None, None)

    def pending(self, operation: str) -> int:
        return len(self._queues.get(operation, ()))
