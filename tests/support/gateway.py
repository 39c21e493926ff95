"""``FaultyGateway``: the one fault-injecting ``PaymentGateway`` of the tests.

It wraps ``FakeStripeGateway`` (the simulator-backed gateway of the testing kit) and makes *our*
calls fail as a hostile network and Stripe can: the simulator's own faults (``Fault``: connection
errors, timeouts after the work was done, 409, 429, 5xx, rejections), answers the simulator has no
fault for (``Answer``: an unreadable answer after Stripe did the work, a 401, an idempotency
error), on the first call of an operation or on a *later page* of the refund listing. The process
around it is mortal (``crash_before`` / ``crash_after``), and one-shot hooks run before and after
``create_refund`` and before ``fetch_payment``, to put another process's work in between.

Faults fire on our calls only: they are armed here and handed to the simulator just before our
call, so a refund made in the Stripe dashboard never consumes one.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from typing import Any

from kanorio_refunds.domain._ids import ChargeId, PaymentIntentId
from kanorio_refunds.domain._payment import GatewayRefund, LivePayment, RefundRequest
from kanorio_refunds.ports import PaymentGateway
from kanorio_refunds.testing.fake_stripe import FakeStripe, FakeStripeGateway, Fault, StripeApiError

JsonDict = dict[str, Any]

#: Where a fault can be armed: a refund creation, a payment read (the PaymentIntent or the
#: Charge), or the refund listing's second or later page (the first page is read fine).
OPERATIONS = ("create", "read", "page")


class Crash(Exception):
    """The host process died mid-call (deliberately not a ``RefundError``)."""


class Answer(enum.Enum):
    """Answers the simulator has no ``Fault`` for."""

    #: Stripe does the work; the answer cannot be read (protocol error: outcome unknown).
    UNREADABLE = "unreadable"
    #: 401 ``authentication_error`` (a revoked key): nothing happens at Stripe.
    UNAUTHORIZED = "unauthorized"
    #: 400 ``idempotency_error`` (the key was used with other parameters): nothing happens.
    IDEMPOTENCY_ERROR = "idempotency_error"


def _answer_error(answer: Answer) -> StripeApiError:
    if answer is Answer.UNAUTHORIZED:
        return StripeApiError(
            401, "authentication_error", None, "Invalid API Key provided: sk_test_****1234"
        )
    return StripeApiError(
        400,
        "idempotency_error",
        None,
        "Keys for idempotent requests can only be used with the same parameters they were "
        "first used with.",
    )


class _OurStripe:
    """The simulator as our gateway sees it: every call goes to ``stripe``, except that faults
    armed on the ``FaultyGateway`` fire on the matching call."""

    def __init__(self, stripe: FakeStripe, owner: FaultyGateway) -> None:
        self._stripe = stripe
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stripe, name)

    def _answered(self, operation: str, stripe_operation: str, call: Callable[[], JsonDict]) -> Any:
        fault, code = self._owner.take(operation)
        if isinstance(fault, Fault):
            self._stripe.inject_fault(fault, operation=stripe_operation, code=code)
        elif fault in (Answer.UNAUTHORIZED, Answer.IDEMPOTENCY_ERROR):
            raise _answer_error(fault)
        answer = call()
        if fault is Answer.UNREADABLE:
            return _mangled(answer)
        return answer

    def create_refund(self, params: JsonDict, **options: Any) -> Any:
        return self._answered(
            "create", "create_refund", lambda: self._stripe.create_refund(params, **options)
        )

    def retrieve_payment_intent(self, *args: Any, **kwargs: Any) -> Any:
        return self._answered(
            "read",
            "retrieve_payment_intent",
            lambda: self._stripe.retrieve_payment_intent(*args, **kwargs),
        )

    def retrieve_charge(self, *args: Any, **kwargs: Any) -> Any:
        return self._answered(
            "read", "retrieve_charge", lambda: self._stripe.retrieve_charge(*args, **kwargs)
        )

    def list_refunds(self, **kwargs: Any) -> Any:
        if kwargs.get("starting_after") is None:
            return self._stripe.list_refunds(**kwargs)
        return self._answered("page", "list_refunds", lambda: self._stripe.list_refunds(**kwargs))


def _mangled(answer: JsonDict) -> JsonDict:
    """Stripe's answer with its fields lost (a truncated body): only the type and id survive;
    a list page keeps its shape but its entries lose their fields."""
    if answer.get("object") == "list":
        return {**answer, "data": [{"object": e.get("object")} for e in answer["data"]] or [{}]}
    return {"object": answer.get("object"), "id": answer.get("id")}


class FaultyGateway:
    """``PaymentGateway`` over ``FakeStripeGateway`` with a hostile network and a mortal process.

    ``inner`` is the gateway forwarded to: by default a ``FakeStripeGateway`` over ``stripe``;
    give another ``FaultyGateway`` to spy on one process's calls only. ``created`` lists every
    ``create_refund`` request, in order.
    """

    def __init__(self, stripe: FakeStripe, *, inner: PaymentGateway | None = None) -> None:
        self.stripe = stripe
        our_stripe: Any = _OurStripe(stripe, self)
        self.inner: PaymentGateway = inner if inner is not None else FakeStripeGateway(our_stripe)
        self._lock = threading.Lock()
        self._faults: dict[str, list[tuple[Fault | Answer, str | None]]] = {
            op: [] for op in OPERATIONS
        }
        self.crash_before = 0
        self.crash_after = 0
        self.before_create: list[Callable[[], object]] = []
        self.after_create: list[Callable[[], object]] = []
        self.before_fetch: list[Callable[[], object]] = []
        self.created: list[RefundRequest] = []

    def arm_fault(self, operation: str, fault: Fault | Answer, code: str | None = None) -> None:
        """Fail our next ``operation`` (one of ``OPERATIONS``) with ``fault`` (``code``: the
        Stripe code of a ``Fault.REJECT``)."""
        if operation not in OPERATIONS:
            raise ValueError(f"operation must be one of {OPERATIONS}, not {operation!r}")
        with self._lock:
            self._faults[operation].append((fault, code))

    def take(self, operation: str) -> tuple[Fault | Answer | None, str | None]:
        """The next fault armed for ``operation`` (consumed), or ``(None, None)``."""
        with self._lock:
            queue = self._faults[operation]
            return queue.pop(0) if queue else (None, None)

    def armed(self) -> int:
        """How many faults have not fired yet."""
        with self._lock:
            return sum(len(q) for q in self._faults.values())

    def calm(self) -> None:
        """No more faults, crashes or interleavings."""
        with self._lock:
            for queue in self._faults.values():
                queue.clear()
            self.crash_before = self.crash_after = 0
            self.before_create.clear()
            self.after_create.clear()
            self.before_fetch.clear()

    def _run(self, hooks: list[Callable[[], object]]) -> None:
        while True:
            with self._lock:
                if not hooks:
                    return
                hook = hooks.pop(0)
            hook()

    def fetch_payment(
        self, payment_intent_id: PaymentIntentId | None, charge_id: ChargeId | None
    ) -> LivePayment:
        self._run(self.before_fetch)
        return self.inner.fetch_payment(payment_intent_id, charge_id)

    def create_refund(self, request: RefundRequest) -> GatewayRefund:
        with self._lock:
            self.created.append(request)
        self._run(self.before_create)
        with self._lock:
            crash_before, self.crash_before = self.crash_before, max(0, self.crash_before - 1)
        if crash_before:
            raise Crash("the process died before calling Stripe")
        try:
            answer = self.inner.create_refund(request)
        finally:
            self._run(self.after_create)
        with self._lock:
            crash_after, self.crash_after = self.crash_after, max(0, self.crash_after - 1)
        if crash_after:
            raise Crash("the process died before reading Stripe's answer")
        return answer
