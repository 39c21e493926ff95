"""Issue 10: the simulator's create path (``FakeStripe.create_refund`` and
``FakeStripeGateway.create_refund``) made cheaper without changing one answer.

``_scenario`` drives the model through every kind of call its answers depend on (refunds by
PaymentIntent and by charge, form-encoded parameters, expansions, idempotent replays and their
errors, Connect reversals, every injected fault, late failures, disputes, a contract-style
tampering, lists and retrieves) and logs every answer, error, request record and event as JSON.
``_GOLDEN`` is the SHA-256 of that log captured from the code before these changes (commit
8f885fc), so any change to what the simulator says fails here.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

import attrs
import pytest

from kanorio_refunds.domain._ids import PaymentIntentId
from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._payment import RefundRequest
from kanorio_refunds.domain._refund import RefundReason, RefundStatus
from kanorio_refunds.errors import RefundError
from kanorio_refunds.testing.fake_stripe import (
    FakeStripe,
    FakeStripeGateway,
    Fault,
    StripeApiError,
    StripeConnectionFault,
    StripeTimeoutFault,
)
from kanorio_refunds.testing.fake_stripe import _gateway as gateway_module

# The SHA-256 of ``_scenario``'s log as the code before the issue-10 create-path changes wrote
# it (8f885fc). Never update it to make a change pass: a new value means an answer changed.
_GOLDEN = "5e7a6fa70cc653cb34c87c21c9703a02af17b8d63fad1486273d33422426d2bf"

JsonDict = dict[str, Any]


def _tamper(model: FakeStripe, object_id: str, **fields: Any) -> None:
    """What the shipped contract's tampering does (``contracts._gateway._tamper``): change a
    stored object behind the model's back, top-level fields replaced."""
    with model._lock:
        stored = model._objects[object_id]
        stored.update(fields)
        if stored.get("object") == "refund":
            model._revised(stored)
        else:
            model._changed()


class _Log:
    """The JSON log of a scenario: every answer and every error, in order.

    With ``vandal``, every answer, error and record is changed in place right after it is
    logged, as a careless caller would: nothing the model says later may change. With
    ``fake``, the events are read after every step, to check later that no event changes."""

    def __init__(self, *, vandal: bool = False, fake: FakeStripe | None = None) -> None:
        self.entries: list[Any] = []
        self.vandal = vandal
        self.fake = fake
        self.seen_events: list[list[JsonDict]] = []

    def call(self, label: str, run: Callable[[], Any]) -> Any:
        answer = self._call(label, run)
        if self.fake is not None:
            self.seen_events.append(copy.deepcopy(self.fake.events()))
        return answer

    def _call(self, label: str, run: Callable[[], Any]) -> Any:
        try:
            answer = run()
        except StripeApiError as err:
            self.entries.append([label, "api_error", repr(err), err.request_id, err.to_json()])
            if self.vandal:
                err.message, err.code = "vandal", "vandal"
            return None
        except StripeConnectionFault as err:
            self.entries.append([label, "connection", str(err), err.operation, err.request_id])
            return None
        except StripeTimeoutFault as err:
            self.entries.append(
                [label, "timeout", str(err), err.operation, err.request_id, _plain(err.result)]
            )
            if self.vandal:
                _vandalize(err.result)
            return None
        except (ValueError, KeyError, TypeError) as err:
            self.entries.append([label, type(err).__name__, str(err)])
            return None
        self.entries.append([label, "ok", _plain(answer)])
        kept = copy.deepcopy(answer)  # what the script reads on from this answer
        if self.vandal:
            _vandalize(answer)
        return kept


def _vandalize(value: Any) -> None:
    """Change everything mutable in ``value``, all the way down, in place."""
    if attrs.has(type(value)):
        _vandalize(value.params)
    elif isinstance(value, dict):
        for key, item in list(value.items()):
            _vandalize(item)
            value[key] = "vandal"
        value["vandal"] = True
    elif isinstance(value, list):
        for item in value:
            _vandalize(item)
        value.append("vandal")
    elif isinstance(value, tuple):
        for item in value:
            _vandalize(item)


def _plain(value: Any) -> Any:
    """JSON-able: records as dicts, faults and gateway results as text."""
    if attrs.has(type(value)):
        return {k: _plain(v) for k, v in attrs.asdict(value, recurse=False).items()}
    if isinstance(value, Fault):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def _scenario(fake: FakeStripe, log: _Log | None = None) -> list[Any]:
    log = log if log is not None else _Log()
    call = log.call
    pi = fake.create_payment(10_000, "usd", stripe_fee=320, metadata={"order": "o1"})["id"]
    fx = fake.create_payment(
        20_000,
        "usd",
        stripe_fee=500,
        application_fee=100,
        settlement_currency="eur",
        exchange_rate=Decimal("0.912345"),
    )["id"]
    dest = fake.create_payment(9_999, "usd", stripe_fee=300, destination="acct_1")["id"]
    small = fake.create_payment(300, "usd", stripe_fee=10)["id"]
    ch = fake.charge_of(pi)["id"]

    params: JsonDict = {"payment_intent": pi, "amount": 1_000, "metadata": {"k": "v", "e": ""}}
    first = call("create", lambda: fake.create_refund(params, idempotency_key="k1"))
    params["amount"] = 5  # the caller's dict changes after the call: nothing recorded changes
    params["metadata"]["k"] = "changed"
    call(
        "replay",
        lambda: fake.create_refund(
            {"payment_intent": pi, "amount": "1000", "metadata": {"k": "v", "e": ""}},
            idempotency_key="k1",
        ),
    )
    call(
        "1 then True",
        lambda: fake.create_refund({"payment_intent": pi, "amount": 1}, idempotency_key="k-b"),
    )
    call(  # True == 1 in Python, but not on the wire ("true" and "1"): another request
        "True after 1",
        lambda: fake.create_refund({"payment_intent": pi, "amount": True}, idempotency_key="k-b"),
    )
    call(
        "key reused",
        lambda: fake.create_refund({"payment_intent": pi, "amount": 999}, idempotency_key="k1"),
    )
    call(
        "other account",
        lambda: fake.create_refund(
            {"payment_intent": pi, "amount": 1_000, "metadata": {"k": "v", "e": ""}},
            idempotency_key="k1",
            stripe_account="acct_9",
        ),
    )
    call(
        "form",
        lambda: fake.create_refund(
            {
                "charge": ch,
                "amount": "250",
                "reason": "duplicate",
                "refund_application_fee": "true",
                "expand": ["charge", "balance_transaction", "payment_intent"],
            },
            idempotency_key="k2",
        ),
    )
    call(
        "form replay",
        lambda: fake.create_refund(
            {
                "charge": ch,
                "amount": 250,
                "reason": "duplicate",
                "refund_application_fee": True,
                "expand": ("charge", "balance_transaction", "payment_intent"),
            },
            idempotency_key="k2",
        ),
    )
    call("events early", fake.events)
    call("events since early", lambda: fake.events_since(1))
    call("requests early", lambda: fake.requests)
    call("last request early", fake.last_request)
    call("both ids", lambda: fake.create_refund({"payment_intent": pi, "charge": ch, "amount": 1}))
    call(
        "wrong charge",
        lambda: fake.create_refund({"payment_intent": fx, "charge": ch, "amount": 1}),
    )
    call(
        "bad expand",
        lambda: fake.create_refund(
            {"payment_intent": pi, "amount": 1, "expand": ["metadata"]}, idempotency_key="k3"
        ),
    )
    call(
        "bad expand again",
        lambda: fake.create_refund(
            {"payment_intent": pi, "amount": 1, "expand": ["metadata"]}, idempotency_key="k3"
        ),
    )
    for bad in (
        {"payment_intent": pi, "amount": 1, "nope": 1},
        {"payment_intent": pi, "amount": 0},
        {"payment_intent": pi, "amount": "1.5"},
        {"payment_intent": pi, "reason": "other"},
        {"payment_intent": "", "amount": 1},
        {"amount": 1},
        {"payment_intent": "pi_missing", "amount": 1},
        {"payment_intent": pi, "metadata": {"k" * 41: "v"}},
        {"payment_intent": pi, "metadata": "x"},
        {"payment_intent": pi, "reverse_transfer": "yes"},
        {"payment_intent": pi, "expand": "charge"},
    ):
        call(f"invalid {sorted(bad)}", lambda bad=bad: fake.create_refund(bad))
    call(
        "too large",
        lambda: fake.create_refund(
            {"payment_intent": pi, "amount": 1_000_000}, idempotency_key="k4"
        ),
    )
    call(
        "too large replay",
        lambda: fake.create_refund(
            {"payment_intent": pi, "amount": "1000000"}, idempotency_key="k4"
        ),
    )
    call("fx", lambda: fake.create_refund({"payment_intent": fx, "amount": 3_333}))
    for n in range(3):
        call(
            f"dest {n}",
            lambda: fake.create_refund(
                {"payment_intent": dest, "amount": 3_333, "reverse_transfer": True},
                idempotency_key=None,
            ),
        )
    call(
        "dest rest",
        lambda: fake.create_refund({"payment_intent": dest, "reverse_transfer": "true"}),
    )
    call("dest refunded", lambda: fake.create_refund({"payment_intent": dest}))
    call("transfer", lambda: fake.transfer_of(dest))

    for fault, code in (
        (Fault.CONNECTION_ERROR, None),
        (Fault.TIMEOUT_AFTER_CREATE, None),
        (Fault.RATE_LIMITED, None),
        (Fault.SERVER_ERROR, None),
        (Fault.CONFLICT, None),
        (Fault.REJECT, "charge_disputed"),
    ):
        fake.inject_fault(fault, code=code)
        call(
            f"fault {fault.value}",
            lambda key=f"f-{fault.value}": fake.create_refund(
                {"payment_intent": small, "amount": 10}, idempotency_key=key
            ),
        )
    fake.inject_fault(Fault.TIMEOUT_AFTER_CREATE, operation="retrieve_payment_intent")
    call("read timeout", lambda: fake.retrieve_payment_intent(small, ["latest_charge"]))
    fake.inject_fault(Fault.SERVER_ERROR, operation="retrieve_payment_intent")
    call("read fault", lambda: fake.retrieve_payment_intent(small))

    fake.default_refund_status = "pending"
    pending = call(
        "pending",
        lambda: fake.create_refund({"payment_intent": small, "amount": 20}, idempotency_key="p1"),
    )
    fake.default_refund_status = "requires_action"
    action = call(
        "requires_action", lambda: fake.create_refund({"payment_intent": small, "amount": 20})
    )
    fake.default_refund_status = "succeeded"
    call("to succeeded", lambda: fake.set_refund_status(pending["id"], "succeeded"))
    call(
        "late failure",
        lambda: fake.set_refund_status(
            pending["id"], "failed", failure_reason="expired_or_canceled_card"
        ),
    )
    call(
        "pending replay after failure",
        lambda: fake.create_refund({"payment_intent": small, "amount": 20}, idempotency_key="p1"),
    )
    call("canceled", lambda: fake.set_refund_status(action["id"], "canceled"))
    call("illegal", lambda: fake.set_refund_status(action["id"], "succeeded"))
    call("fx failed", lambda: fake.set_refund_status(fake.refunds_of(fx)[0]["id"], "failed"))

    call("open dispute", lambda: fake.open_dispute(pi, amount=500))
    call(
        "blocked",
        lambda: fake.create_refund({"payment_intent": pi, "amount": 1}, idempotency_key="d1"),
    )
    call(
        "blocked replay",
        lambda: fake.create_refund({"payment_intent": pi, "amount": 1}, idempotency_key="d1"),
    )
    call("dispute updated", lambda: fake.update_dispute(pi))
    call("dispute won", lambda: fake.close_dispute(pi, "won"))
    call("after won", lambda: fake.create_refund({"payment_intent": pi, "amount": 1}))
    call("inquiry", lambda: fake.open_dispute(fx, inquiry=True))
    call("inquiry closed", lambda: fake.close_dispute(fx, "warning_closed"))

    refund_id = first["id"]
    _tamper(fake, refund_id, status="canceled", metadata={"tampered": "yes"})
    _tamper(fake, ch, amount_refunded=-5, outcome=None)
    call("tampered refund", lambda: fake.retrieve_refund(refund_id, ["charge"]))
    call(
        "replay after tampering",
        lambda: fake.create_refund(
            {"payment_intent": pi, "amount": 1_000, "metadata": {"k": "v", "e": ""}},
            idempotency_key="k1",
        ),
    )

    call("list", lambda: fake.list_refunds(payment_intent=pi, limit=2))
    call("list expanded", lambda: fake.list_refunds(charge=ch, expand=["data.charge"]))
    call("list all", lambda: fake.list_refunds(limit="3", starting_after=refund_id))
    call("list bad", lambda: fake.list_refunds(limit=101))
    call("disputes", lambda: fake.list_disputes(payment_intent=fx))
    call(
        "pi",
        lambda: fake.retrieve_payment_intent(
            pi, ["latest_charge.balance_transaction", "latest_charge.refunds"]
        ),
    )
    call("charge", lambda: fake.retrieve_charge(ch, ["transfer", "payment_intent"]))
    call(
        "txn",
        lambda: fake.retrieve_balance_transaction(
            fake.refunds_of(fx)[0]["balance_transaction"], ["source"]
        ),
    )
    call("missing", lambda: fake.retrieve_refund("re_missing"))
    call("older ids", lambda: fake.older_refund_ids(charge=ch, starting_after=refund_id))
    call(
        "if revised", lambda: fake.retrieve_payment_intent_if_revised(pi, ("latest_charge",), None)
    )

    gateway = FakeStripeGateway(fake)
    gateway_refund = call("gateway create", lambda: _gateway_create(gateway, pi, "g1", 7))
    call("gateway replay", lambda: _gateway_create(gateway, pi, "g1", 7))
    call("gateway key reused", lambda: _gateway_create(gateway, pi, "g1", 8))
    fake.inject_fault(Fault.TIMEOUT_AFTER_CREATE)
    call("gateway timeout", lambda: _gateway_create(gateway, pi, "g2", 9))
    call("gateway after timeout", lambda: _gateway_create(gateway, pi, "g2", 9))
    fake.inject_fault(Fault.CONNECTION_ERROR)
    call("gateway connection", lambda: _gateway_create(gateway, pi, "g3", 9))
    call("gateway too large", lambda: _gateway_create(gateway, pi, "g4", 10**7))
    call("gateway read", lambda: _gateway_read(gateway, pi))
    call("gateway create 2", lambda: _gateway_create(gateway, pi, "g5", 11))
    call("gateway read 2", lambda: _gateway_read(gateway, pi))
    assert gateway_refund is not None

    call("refunds_of", lambda: fake.refunds_of(pi))
    call("charge_of", lambda: fake.charge_of(pi))
    call("dispute_of", lambda: fake.dispute_of(pi))
    call("transfer_of", lambda: fake.transfer_of(dest))
    call("events", fake.events)
    call("events_since", lambda: fake.events_since(40))
    call("requests", lambda: fake.requests)
    call("last request", fake.last_request)
    return log.entries


def _request(pi: str, key: str, cents: int) -> RefundRequest:
    return RefundRequest(
        payment_intent_id=PaymentIntentId(pi),
        charge_id=None,
        amount=Money.from_minor(cents, "USD"),
        reason=None,
        idempotency_key=key,
        metadata={"kanorio_order_id": "o1"},
    )


def _gateway_create(gateway: FakeStripeGateway, pi: str, key: str, cents: int) -> str:
    """The refund's id, or the error's type (the log is the model's: domain wording may move)."""
    try:
        return str(gateway.create_refund(_request(pi, key, cents)).id)
    except RefundError as err:
        return type(err).__name__


def _gateway_read(gateway: FakeStripeGateway, pi: str) -> list[tuple[str, str]]:
    live = gateway.fetch_payment(PaymentIntentId(pi), None)
    return [(str(r.id), r.status.value) for r in live.refunds]


def _digest(entries: list[Any]) -> str:
    text = json.dumps(entries, sort_keys=True, ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


# ----------------------------------------------------------------------------- answers as before


def test_answers_request_log_and_events_are_as_before() -> None:
    """Issue 10: every answer, error, request record and event of the scenario is what the code
    before the create-path changes gave (its SHA-256, ``_GOLDEN``)."""
    assert _digest(_scenario(FakeStripe())) == _GOLDEN


def test_a_caller_changing_what_it_got_changes_nothing_the_model_says() -> None:
    """Issue 10: answers, errors, timeouts' results, events and request records are the
    caller's own: changing each of them in place, all the way down, right after getting it
    changes no later answer (the model shares nothing it keeps with what it hands out)."""
    fake = FakeStripe()
    log = _Log(vandal=True)
    entries = _scenario(fake, log)
    assert _digest(entries) == _GOLDEN


def test_a_later_change_never_shows_in_an_earlier_event() -> None:
    """Issue 10: an event keeps its object as it was when it was emitted, whatever happens to
    the stored object later (refunds failing, charges refunded again, disputes moving,
    transfers reversed, the contract's tampering): the events read after each step of the
    scenario are the start of the events read at its end."""
    fake = FakeStripe()
    log = _Log(fake=fake)
    _scenario(fake, log)
    final = fake.events()
    assert len(final) > 40
    for seen in log.seen_events:
        assert final[: len(seen)] == seen


# ----------------------------------------------------------------------- the gateway's create


class _Proxy:
    """The model behind a stand-in, which makes the gateway take its plain path
    (``FakeStripe.create_refund``, then ``parse_refund`` of its answer)."""

    def __init__(self, stripe: FakeStripe) -> None:
        self._stripe = stripe

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stripe, name)


def _outcome(run: Callable[[], Any]) -> Any:
    try:
        return run()
    except RefundError as err:
        return f"{type(err).__name__}: {err}"


def test_the_gateway_creates_as_the_plain_path_does() -> None:
    """L1, issue 10: the gateway's create on the model itself (``create_refund_to_read``)
    answers what ``parse_refund`` of ``FakeStripe.create_refund``'s answer gives, error for
    error, with the same requests logged and the same events, replays and faults included."""
    models = FakeStripe(), FakeStripe()
    pis = [m.create_payment(10_000, "usd", stripe_fee=320)["id"] for m in models]
    assert pis[0] == pis[1]
    pi = pis[0]
    ours = FakeStripeGateway(models[0])
    plain = FakeStripeGateway(cast(FakeStripe, _Proxy(models[1])))
    steps: list[tuple[Fault | None, RefundRequest]] = [
        (None, _request(pi, "a", 100)),
        (None, _request(pi, "a", 100)),  # replay
        (None, _request(pi, "a", 200)),  # the key with other parameters
        (None, _request(pi, "b", 10**6)),  # too large: saved for the key
        (None, _request(pi, "b", 10**6)),
        (Fault.TIMEOUT_AFTER_CREATE, _request(pi, "c", 300)),
        (None, _request(pi, "c", 300)),
        (Fault.CONNECTION_ERROR, _request(pi, "d", 400)),
        (Fault.SERVER_ERROR, _request(pi, "d", 400)),
        (None, _request(pi, "d", 400)),
        (None, attrs.evolve(_request(pi, "e", 500), reason=RefundReason.DUPLICATE)),
    ]
    for fault, request in steps:
        if fault is not None:
            for model in models:
                model.inject_fault(fault)
        got = _outcome(lambda request=request: ours.create_refund(request))
        want = _outcome(lambda request=request: plain.create_refund(request))
        assert got == want
    charge = models[0].charge_of(pi)["id"]
    by_charge = attrs.evolve(_request(pi, "f", 600), payment_intent_id=None, charge_id=charge)
    assert ours.create_refund(by_charge) == plain.create_refund(by_charge)
    assert models[0].requests == models[1].requests
    assert models[0].events() == models[1].events()
    assert ours.fetch_payment(PaymentIntentId(pi), None) == plain.fetch_payment(
        PaymentIntentId(pi), None
    )


class _Counts:
    """How many refunds the gateway parses and the model renders for it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.parsed: list[str] = []
        self.rendered: list[str] = []
        real_parse = gateway_module.parse_refund
        real_rendered = FakeStripe.rendered_refunds

        def parse(obj: Any) -> Any:
            self.parsed.append(obj["id"])
            return real_parse(obj)

        def rendered(stripe: FakeStripe, ids: Any) -> Any:
            self.rendered.extend(ids)
            return real_rendered(stripe, ids)

        monkeypatch.setattr(gateway_module, "parse_refund", parse)
        monkeypatch.setattr(FakeStripe, "rendered_refunds", rendered)


def _paid() -> tuple[FakeStripe, FakeStripeGateway, PaymentIntentId]:
    model = FakeStripe()
    pi = PaymentIntentId(model.create_payment(10_000, "usd", stripe_fee=320)["id"])
    return model, FakeStripeGateway(model), pi


def test_a_refund_the_gateway_created_is_not_read_again_until_it_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """B4, issue 10: the refund the gateway just created is kept as it parsed it, at the
    revision of the state it was answered in, so the next live read neither renders nor parses
    it; once it changes at Stripe (a late failure) the next read reads it again. Every read
    equals a plain read."""
    model, gateway, pi = _paid()
    counts = _Counts(monkeypatch)
    gateway.fetch_payment(pi, None)
    created = gateway.create_refund(_request(pi, "k", 100))
    assert counts.parsed == [created.id]
    live = gateway.fetch_payment(pi, None)
    assert counts.parsed == [created.id]
    assert counts.rendered == []
    assert live.refunds == (created,)
    plain = FakeStripeGateway(cast(FakeStripe, _Proxy(model)))
    assert live == plain.fetch_payment(pi, None)

    model.set_refund_status(created.id, "failed")
    counts.parsed.clear()
    live = gateway.fetch_payment(pi, None)
    assert counts.rendered == [created.id]
    assert counts.parsed == [created.id]
    assert [r.status for r in live.refunds] == [RefundStatus.FAILED]
    assert live == plain.fetch_payment(pi, None)


def test_a_replayed_answer_is_never_kept_as_the_refund_now(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """L1, S3, issue 10: a retry with the same key replays the first answer (the refund as it
    was when created); the refund has failed since, so that answer is not kept as its present
    state: the next read says FAILED. Expanded answers and timeouts keep nothing either."""
    model, gateway, pi = _paid()
    first = gateway.create_refund(_request(pi, "k", 100))
    model.set_refund_status(first.id, "failed")
    counts = _Counts(monkeypatch)
    replayed = gateway.create_refund(_request(pi, "k", 100))
    assert replayed == first
    assert replayed.status is RefundStatus.SUCCEEDED
    statuses = [r.status for r in gateway.fetch_payment(pi, None).refunds]
    assert statuses == [RefundStatus.FAILED]
    assert counts.rendered == [first.id]

    model.inject_fault(Fault.TIMEOUT_AFTER_CREATE)
    with pytest.raises(RefundError):
        gateway.create_refund(_request(pi, "t", 100))
    counts.rendered.clear()
    assert len(gateway.fetch_payment(pi, None).refunds) == 2
    assert len(counts.rendered) == 1  # the refund made behind the timeout, read once


def test_create_refund_to_read_names_the_revision_of_what_it_answers() -> None:
    """Issue 10: ``create_refund_to_read`` answers ``create_refund``'s answer with the
    refund's revision (``refund_revisions``) when it shows the refund as stored, and None for
    an expansion or a replay; its answer is the model's, equal to the copy handed out."""
    model, _, pi = _paid()
    revision, answer = model.create_refund_to_read({"payment_intent": pi, "amount": 1})
    assert revision == model.refund_revisions([answer["id"]])[0] != 0
    assert answer == model.retrieve_refund(answer["id"])
    expanded = {"payment_intent": pi, "amount": 1, "expand": ["charge"]}
    revision, answer = model.create_refund_to_read(expanded, idempotency_key="x")
    assert revision is None
    assert answer["charge"]["object"] == "charge"
    again = model.create_refund_to_read(dict(expanded), idempotency_key="x")
    assert again == (None, answer)
    first = model.create_refund_to_read({"payment_intent": pi, "amount": 2}, idempotency_key="y")
    assert first[0] is not None
    assert (
        model.create_refund_to_read({"payment_intent": pi, "amount": 2}, idempotency_key="y")[0]
        is None
    )


def test_a_slow_create_never_replaces_a_newer_read_of_its_refund(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """L6, issue 10: thread A creates a refund and parses the answer slowly; meanwhile the
    refund fails at Stripe and another read parses it FAILED. A's older parse is not kept over
    the newer one, and every later read says FAILED."""
    model, gateway, pi = _paid()
    gateway.fetch_payment(pi, None)
    a_parsing, go_a = threading.Event(), threading.Event()
    real_parse = gateway_module.parse_refund

    def parse(obj: Any) -> Any:
        if threading.current_thread().name == "A":
            a_parsing.set()
            go_a.wait(5)
        return real_parse(obj)

    monkeypatch.setattr(gateway_module, "parse_refund", parse)
    a = threading.Thread(target=lambda: gateway.create_refund(_request(pi, "k", 100)), name="A")
    a.start()
    assert a_parsing.wait(5)
    (refund,) = model.refunds_of(pi)
    model.set_refund_status(refund["id"], "failed")
    assert [r.status for r in gateway.fetch_payment(pi, None).refunds] == [RefundStatus.FAILED]
    newer = gateway._parsed[refund["id"]]
    go_a.set()
    a.join(10)
    assert gateway._parsed[refund["id"]] is newer
    model.create_refund({"payment_intent": pi, "amount": 1})  # the charge's refunds change
    for _ in range(2):
        statuses = {r.id: r.status for r in gateway.fetch_payment(pi, None).refunds}
        assert statuses[refund["id"]] is RefundStatus.FAILED
