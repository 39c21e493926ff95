"""``FakeStripe``: an in-memory model of the part of Stripe's API (version 2023-08-16) we use.

It is the project's single Stripe model. The in-memory payment gateway wraps it for users' tests,
and a fake HTTP backend plugged into the real ``stripe`` SDK serves Stripe's REST endpoints from
it, so both adapters are tested against the same behaviour. It therefore speaks Stripe's language:
amounts are ints in Stripe's units, currencies are lowercase strings and every object is a
Stripe-shaped JSON dict (field names and shapes of API 2023-08-16, checked against Stripe's OpenAPI
spec), handed out as a fresh copy so no caller can change the model behind its back.

What is modelled:

* succeeded PaymentIntents with one captured Charge and its ``charge`` balance transaction
  (Stripe fee, application fee, cross-currency settlement with an exchange rate);
* Connect destination charges (``transfer_data.destination``) with their transfer, reversed in
  proportion to a refund made with ``reverse_transfer``;
* ``POST /v1/refunds`` with Stripe's validation errors, idempotency keys and Connect's
  ``Stripe-Account`` (recorded, and scoping idempotency keys; objects are not partitioned);
* the asynchronous life of a refund (pending, requires_action, late failure, …);
* disputes (chargebacks and inquiries) that block refunds while open or after being lost,
  listed by ``GET /v1/disputes``; webhook events, and injected transport/server faults.

Stripe behaviour is mimicked where the library depends on it; everything else is left out on
purpose (no customers, payment methods, application-fee objects, payouts, or balance
transactions of transfers).

Where things are: this module holds the state and the behaviour; request parameter checks are
in ``_params``, the JSON shape of every object and its rendering in ``_render``, errors and
injected faults in ``_faults``, idempotency keys in ``_idempotency``, list pagination in
``_listing``, the request log in ``_requests`` and unit conversions in ``_units``.

Thread safety: every public operation runs under one lock, so two threads refunding the same
charge are serialised exactly like Stripe's per-object locking would do.

Speed: hosts' property tests run the model millions of times, so no call scans what the model
holds (refunds and disputes are indexed by charge, list pages found by bisection) and answers are
built as fresh dicts (``_render.fresh``) rather than with ``copy.deepcopy``. What the model only
keeps for later (the request log, events, idempotent answers) is stored as cheaply as exactness
allows, and built or copied when it is read (issue 10): log entries and events as tuples, the
objects of events as ``_render.kept`` copies, shared with an unexpanded refund answer.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, TypeVar

import attrs

from kanorio_refunds.domain._money import stripe_decimals
from kanorio_refunds.testing.fake_stripe import _params as params_of
from kanorio_refunds.testing.fake_stripe import _render as shapes
from kanorio_refunds.testing.fake_stripe._faults import (
    Fault,
    FaultQueue,
    StripeApiError,
    StripeConnectionFault,
    StripeTimeoutFault,
    fault_error,
    invalid,
    missing,
)
from kanorio_refunds.testing.fake_stripe._idempotency import IdempotencyKeys
from kanorio_refunds.testing.fake_stripe._listing import page
from kanorio_refunds.testing.fake_stripe._render import API_VERSION, fresh, kept, render, snapshot
from kanorio_refunds.testing.fake_stripe._requests import Call, Logged, RequestRecord, record_of
from kanorio_refunds.testing.fake_stripe._units import (
    convert,
    display,
    proportion,
    to_major,
    to_minor,
)

__all__ = [
    "API_VERSION",
    "DISPUTE_STATUSES",
    "DISPUTE_STATUSES_BLOCKING_REFUNDS",
    "FAILURE_REASONS",
    "OPERATIONS",
    "REFUND_STATUSES",
    "FakeStripe",
    "Fault",
    "RequestRecord",
    "StripeApiError",
    "StripeConnectionFault",
    "StripeTimeoutFault",
]

JsonDict = dict[str, Any]

#: The API operations of the model. Faults can be injected into each of them.
OPERATIONS: Final = frozenset(
    {
        "create_refund",
        "retrieve_payment_intent",
        "retrieve_charge",
        "retrieve_refund",
        "retrieve_balance_transaction",
        "list_refunds",
        "list_disputes",
    }
)

#: Every status a Stripe refund can have.
REFUND_STATUSES: Final = frozenset(
    {"pending", "requires_action", "succeeded", "failed", "canceled"}
)

#: Every ``dispute.status`` of API 2023-08-16 (``warning_*`` are inquiries).
DISPUTE_STATUSES: Final = frozenset(
    {
        "warning_needs_response",
        "warning_under_review",
        "warning_closed",
        "needs_response",
        "under_review",
        "won",
        "lost",
    }
)

#: Dispute statuses in which the model refuses refunds of the charge (``charge_disputed``):
#: open inquiries and chargebacks, and lost chargebacks (the money already went back to the
#: cardholder). ``won`` and ``warning_closed`` make the charge refundable again. The same rule
#: as ``_stripe_json.DISPUTE_STATUSES_BLOCKING_REFUNDS`` (a test keeps them equal).
DISPUTE_STATUSES_BLOCKING_REFUNDS: Final = DISPUTE_STATUSES - {"won", "warning_closed"}

#: Stripe's documented values of ``refund.failure_reason``.
FAILURE_REASONS: Final = frozenset(
    {
        "lost_or_stolen_card",
        "expired_or_canceled_card",
        "charge_for_pending_refund_disputed",
        "insufficient_funds",
        "declined",
        "merchant_request",
        "unknown",
    }
)

# Stripe's refund state machine. succeeded -> requires_action is a bank-transfer refund that
# needs the customer's details after all (DESIGN S3); failed and canceled are final.
_TRANSITIONS: Final[Mapping[str, frozenset[str]]] = {
    "pending": frozenset({"succeeded", "failed", "canceled", "requires_action"}),
    "requires_action": frozenset({"pending", "succeeded", "failed", "canceled"}),
    "succeeded": frozenset({"failed", "requires_action"}),
    "failed": frozenset(),
    "canceled": frozenset(),
}

# A refund may be born in these statuses (card: succeeded/pending; bank transfer: requires_action).
_INITIAL_STATUSES: Final = frozenset({"pending", "requires_action", "succeeded"})

# Stripe embeds this many of a transfer's most recent reversals in the transfer object.
_EMBEDDED_REVERSALS: Final = 10

_DEFAULT_EPOCH: Final = 1_700_000_000


_Answer = TypeVar("_Answer")

# An event as the model keeps it: ``shapes.event``'s arguments (id, type, the object as
# ``kept``, created, previous attributes, request id, idempotency key, account). Every event
# handed out is a copy, so the model builds its dict only then, for the reader (issue 10).
_Emitted = tuple[str, str, JsonDict, int, JsonDict | None, str | None, str | None, str | None]


def _event_of(emitted: _Emitted) -> JsonDict:
    """The event handed out: new dicts all the way down, as ``fresh`` of the event built when
    it was emitted would be."""
    evt_id, type_, obj, now, previous, request_id, idempotency_key, account = emitted
    return shapes.event(
        evt_id,
        type_,
        fresh(obj),
        now,
        previous=previous,
        request_id=request_id,
        idempotency_key=idempotency_key,
        account=account,
    )


def _default_clock() -> Callable[[], int]:
    return itertools.count(_DEFAULT_EPOCH).__next__


@attrs.define
class _ChargeState:
    """What the model knows about a charge beyond its JSON: the indexes that spare list calls
    a scan of every object."""

    # The charge's refunds, in creation order.
    refund_ids: list[str] = attrs.Factory(list)
    # The charge's dispute, if any (one per charge, so a list of at most one id, in the shape
    # list calls page over); whether it blocks refunds follows from its status
    # (DISPUTE_STATUSES_BLOCKING_REFUNDS).
    dispute_ids: list[str] = attrs.Factory(list)
    # The transfer of a destination charge.
    transfer_id: str | None = None
    # Changes whenever one of the charge's refunds is created or changes (``refunds_revision``).
    refunds_revision: int = 0
    # Changes whenever anything a read of the charge (or of its PaymentIntent) shows changes:
    # the charge, its refunds, its dispute, its transfer (``retrieve_payment_intent_if_revised``).
    revision: int = 0

    @property
    def dispute_id(self) -> str | None:
        return self.dispute_ids[0] if self.dispute_ids else None


@attrs.define
class _Kind:
    """The objects of one listable type in creation order, and each one's position in it."""

    order: list[str] = attrs.Factory(list)
    seq: dict[str, int] = attrs.Factory(dict)

    def add(self, object_id: str) -> None:
        self.seq[object_id] = len(self.order)
        self.order.append(object_id)


class FakeStripe:
    """In-memory, deterministic, thread-safe model of Stripe's refund-related API (2023-08-16).

    ``clock`` returns unix seconds; by default a counter starting at 1_700_000_000 that advances
    one second per call. ``default_refund_status`` is the status new refunds get ("succeeded",
    "pending" for slow card/bank refunds, or "requires_action"); it can be changed at any time.

    API operations (``create_refund``, ``retrieve_*``, ``list_refunds``, ``list_disputes``) are
    logged in ``requests``, can be made to fail with ``inject_fault`` and raise
    ``StripeApiError``, ``StripeConnectionFault`` or ``StripeTimeoutFault``. The other methods
    drive the model like Stripe's back office would (payments, async refund outcomes, disputes)
    and are never faulted.
    """

    def __init__(
        self,
        clock: Callable[[], int] | None = None,
        *,
        default_refund_status: str = "succeeded",
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock if clock is not None else _default_clock()
        self._check_initial_status(default_refund_status)
        self._default_refund_status = default_refund_status
        self._counters: dict[str, itertools.count[int]] = {}
        # Every object by id; the id prefix tells its type, which is how expansion resolves ids.
        self._objects: dict[str, JsonDict] = {}
        self._charge_state: dict[str, _ChargeState] = {}
        # Refunds and disputes in creation order (Stripe lists newest first: this reversed).
        self._kinds: dict[str, _Kind] = {"refund": _Kind(), "dispute": _Kind()}
        self._events: list[_Emitted] = []
        self._faults = FaultQueue(OPERATIONS)
        self._idempotency = IdempotencyKeys()
        self._requests: list[Logged] = []
        self._local = threading.local()
        # Revisions of refunds (``refund_revisions``): a number from this counter each time a
        # refund is created or changes, so a reader can tell "unchanged" without a copy.
        self._revisions = itertools.count(1)
        self._refund_revisions: dict[str, int] = {}
        # The model's revision (``retrieve_payment_intent_if_revised``): the last number drawn
        # from that counter, drawn again by every change to any stored object.
        self._revision = 0

    # ---------------------------------------------------------------- configuration

    @property
    def default_refund_status(self) -> str:
        """The status new refunds are created with."""
        with self._lock:
            return self._default_refund_status

    @default_refund_status.setter
    def default_refund_status(self, status: str) -> None:
        self._check_initial_status(status)
        with self._lock:
            self._default_refund_status = status

    @staticmethod
    def _check_initial_status(status: str) -> None:
        if status not in _INITIAL_STATUSES:
            raise ValueError(
                f"a new refund's status must be one of {sorted(_INITIAL_STATUSES)}, not {status!r}"
            )

    # ---------------------------------------------------------------- back office: payments

    def create_payment(
        self,
        amount: int,
        currency: str,
        *,
        stripe_fee: int,
        application_fee: int = 0,
        settlement_currency: str | None = None,
        exchange_rate: Decimal | None = None,
        metadata: Mapping[str, str] | None = None,
        destination: str | None = None,
        transfer_amount: int | None = None,
    ) -> JsonDict:
        """Record a succeeded PaymentIntent with a captured Charge; return the PaymentIntent.

        ``amount`` is in Stripe units of the presentment ``currency``. ``stripe_fee`` and
        ``application_fee`` are in Stripe units of the settlement currency (default: the same
        currency), where the charge's balance transaction lives. For a cross-currency payment,
        ``exchange_rate`` converts presentment major units into settlement major units (Stripe's
        definition of ``balance_transaction.exchange_rate``); amounts round half-even.
        ``application_fee_amount`` on the PaymentIntent and Charge is the application fee
        converted back into the presentment currency (half-even), or None without one.

        ``destination`` (a connected account, ``acct_…``) makes it a Connect destination
        charge: ``transfer_data.destination`` on both objects, and a transfer (``charge.transfer``,
        see ``transfer_of``) of ``transfer_amount`` to the account, by default the whole amount
        (Stripe then collects any application fee from the account separately). Destination
        charges are modelled in one currency; ``transfer_amount`` excludes ``application_fee``,
        as at Stripe.
        """
        currency = currency.lower()
        settlement = (settlement_currency or currency).lower()
        for code in (currency, settlement):
            stripe_decimals(code)  # refuses codes that are not ISO 4217 currencies
        for name, value in (("amount", amount), ("stripe_fee", stripe_fee)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int of Stripe units, got {value!r}")
        if isinstance(application_fee, bool) or not isinstance(application_fee, int):
            raise TypeError(f"application_fee must be an int, got {application_fee!r}")
        if amount <= 0 or stripe_fee < 0 or application_fee < 0:
            raise ValueError("amount must be positive and fees must not be negative")
        if settlement == currency:
            if exchange_rate is not None:
                raise ValueError("exchange_rate is only meaningful when settlement differs")
            rate: Decimal | None = None
            settled = amount
        else:
            if not isinstance(exchange_rate, Decimal) or not exchange_rate > 0:
                raise ValueError("a cross-currency payment needs a positive Decimal exchange_rate")
            rate = exchange_rate
            settled = convert(amount, currency, settlement, rate)
        fee = stripe_fee + application_fee
        if fee > settled:
            raise ValueError(f"fees ({fee}) exceed the settled amount ({settled})")
        self._check_destination(amount, destination, transfer_amount, rate, application_fee)
        if application_fee and rate is not None:
            app_fee_presentment: int | None = to_minor(
                to_major(application_fee, settlement) / rate, currency
            )
        else:
            app_fee_presentment = application_fee or None
        meta = dict(metadata or {})

        with self._lock:
            now = self._clock()
            pi_id, ch_id, txn_id = self._new_id("pi"), self._new_id("ch"), self._new_id("txn")
            pm_id = self._new_id("pm")
            fee_details = [shapes.fee_detail(stripe_fee, settlement, application=False)]
            if application_fee:
                fee_details.append(shapes.fee_detail(application_fee, settlement, application=True))
            self._objects[txn_id] = shapes.charge_balance_transaction(
                txn_id, ch_id, settled, settlement, rate, fee_details, now
            )
            state = _ChargeState()
            if destination is not None:
                state.transfer_id = self._new_id("tr")
                self._objects[state.transfer_id] = shapes.transfer(
                    state.transfer_id,
                    ch_id,
                    amount if transfer_amount is None else transfer_amount,
                    currency,
                    destination,
                    now,
                )
            self._objects[ch_id] = shapes.charge(
                ch_id,
                pi_id,
                txn_id,
                pm_id,
                amount,
                currency,
                app_fee_presentment,
                meta,
                now,
                destination=destination,
                transfer_amount=transfer_amount,
                transfer_id=state.transfer_id,
            )
            self._charge_state[ch_id] = state
            self._objects[pi_id] = shapes.payment_intent(
                pi_id,
                ch_id,
                pm_id,
                amount,
                currency,
                app_fee_presentment,
                meta,
                now,
                destination=destination,
                transfer_amount=transfer_amount,
            )
            state.revision = next(self._revisions)  # a new payment changes no other's reads
            created: JsonDict = fresh(self._objects[pi_id])
            return created

    @staticmethod
    def _check_destination(
        amount: int,
        destination: str | None,
        transfer_amount: int | None,
        rate: Decimal | None,
        application_fee: int,
    ) -> None:
        if destination is None:
            if transfer_amount is not None:
                raise ValueError("transfer_amount needs a destination")
            return
        if not isinstance(destination, str) or not destination.startswith("acct_"):
            raise ValueError(
                f"destination must be a connected account id (acct_…), not {destination!r}"
            )
        if rate is not None:
            raise ValueError("destination charges are modelled in one currency only")
        if transfer_amount is not None:
            if isinstance(transfer_amount, bool) or not isinstance(transfer_amount, int):
                raise TypeError(f"transfer_amount must be an int, got {transfer_amount!r}")
            if not 0 < transfer_amount <= amount:
                raise ValueError("transfer_amount must be positive and at most the amount")
            if application_fee:
                # Stripe refuses application_fee_amount together with transfer_data[amount]:
                # the platform keeps amount - transfer_amount instead.
                raise ValueError("give application_fee or transfer_amount, not both")

    # ---------------------------------------------------------------- API: reads

    def retrieve_payment_intent(
        self, id: str, expand: Sequence[str] = (), *, stripe_account: str | None = None
    ) -> JsonDict:
        """GET /v1/payment_intents/{id}; expand ``latest_charge`` and/or
        ``latest_charge.balance_transaction``."""
        return self._retrieve("payment_intent", id, expand, stripe_account)

    def retrieve_charge(
        self, id: str, expand: Sequence[str] = (), *, stripe_account: str | None = None
    ) -> JsonDict:
        """GET /v1/charges/{id}; expand ``balance_transaction``, ``payment_intent`` and/or
        ``transfer``."""
        return self._retrieve("charge", id, expand, stripe_account)

    def retrieve_refund(
        self, id: str, expand: Sequence[str] = (), *, stripe_account: str | None = None
    ) -> JsonDict:
        """GET /v1/refunds/{id}; expand ``balance_transaction``, ``charge``, ``payment_intent``,
        ``failure_balance_transaction``, ``transfer_reversal``."""
        return self._retrieve("refund", id, expand, stripe_account)

    def retrieve_balance_transaction(
        self, id: str, expand: Sequence[str] = (), *, stripe_account: str | None = None
    ) -> JsonDict:
        """GET /v1/balance_transactions/{id}; expand ``source``."""
        return self._retrieve("balance_transaction", id, expand, stripe_account)

    def _retrieve(
        self, kind: str, id: str, expand: Sequence[str], stripe_account: str | None
    ) -> JsonDict:
        """GET one object of ``kind`` (logged and faultable as ``retrieve_<kind>``)."""
        return self._call(
            f"retrieve_{kind}",
            params_of.read_params(id, expand),
            None,
            stripe_account,
            lambda call: render(
                self._get(kind, id, "id"), expand, self._objects.__getitem__, self._sublist
            ),
        )

    def list_refunds(
        self,
        *,
        charge: str | None = None,
        payment_intent: str | None = None,
        limit: int | str = 10,
        starting_after: str | None = None,
        ending_before: str | None = None,
        expand: Sequence[str] = (),
        stripe_account: str | None = None,
    ) -> JsonDict:
        """GET /v1/refunds: a Stripe list object, newest first, with cursor pagination.

        ``starting_after`` pages towards older refunds, ``ending_before`` towards newer ones
        (``has_more`` then says whether newer ones remain). ``expand`` paths start with ``data.``.
        """
        return self._list_operation(
            "refund",
            charge=charge,
            payment_intent=payment_intent,
            limit=limit,
            starting_after=starting_after,
            ending_before=ending_before,
            expand=expand,
            stripe_account=stripe_account,
        )

    def list_disputes(
        self,
        *,
        charge: str | None = None,
        payment_intent: str | None = None,
        limit: int | str = 10,
        starting_after: str | None = None,
        ending_before: str | None = None,
        expand: Sequence[str] = (),
        stripe_account: str | None = None,
    ) -> JsonDict:
        """GET /v1/disputes: a Stripe list object of disputes, newest first, filtered by
        ``charge`` and/or ``payment_intent``, with the same cursor pagination and ``data.``
        expansions as ``list_refunds``."""
        return self._list_operation(
            "dispute",
            charge=charge,
            payment_intent=payment_intent,
            limit=limit,
            starting_after=starting_after,
            ending_before=ending_before,
            expand=expand,
            stripe_account=stripe_account,
        )

    def _list_operation(
        self,
        kind: str,
        *,
        charge: str | None,
        payment_intent: str | None,
        limit: int | str,
        starting_after: str | None,
        ending_before: str | None,
        expand: Sequence[str],
        stripe_account: str | None,
    ) -> JsonDict:
        """GET /v1/{kind}s: the list call shared by refunds and disputes (logged, faultable)."""
        params: JsonDict = {
            k: v
            for k, v in (
                ("charge", charge),
                ("payment_intent", payment_intent),
                ("limit", limit),
                ("starting_after", starting_after),
                ("ending_before", ending_before),
            )
            if v is not None
        }
        if expand:
            params["expand"] = list(expand)

        def run(call: Call) -> JsonDict:
            checked = params_of.list_params(limit, starting_after, ending_before, expand)
            return self._list(kind, charge, payment_intent, checked)

        return self._call(f"list_{kind}s", params, None, stripe_account, run)

    # ---------------------------------------------------------------- API: create a refund

    def create_refund(
        self,
        params: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
        stripe_account: str | None = None,
    ) -> JsonDict:
        """POST /v1/refunds with Stripe's parameters, validation and idempotency.

        ``params``: ``payment_intent`` or ``charge`` (one required), ``amount`` (default: what
        remains refundable), ``reason``, ``metadata``, ``refund_application_fee``,
        ``reverse_transfer``, ``expand``. Ints and bools may also come form-encoded as strings.

        ``reverse_transfer`` on a destination charge reverses its transfer in proportion to the
        part of the charge refunded (half-even; a refund that leaves nothing of the charge
        refundable reverses all that remains of the transfer), recorded as the refund's
        ``transfer_reversal`` and the transfer's ``amount_reversed``, and emits
        ``transfer.reversed``. On a charge without a transfer it reverses nothing. A reversal
        stays when its refund later fails (Stripe's re-transfer is not modelled).
        ``refund_application_fee`` is checked and otherwise ignored (no application-fee objects).

        Idempotency like Stripe: the same key with the same parameters replays the first response
        (no new refund, no new event); other parameters give 400 ``idempotency_error``. Parameter
        validation errors (and unknown ids) are not stored for the key; errors raised while
        executing (``charge_disputed``, ``amount_too_large``, ``charge_already_refunded``) are,
        and are replayed. Keys are scoped by ``stripe_account``.
        """
        sent: JsonDict = snapshot(dict(params))
        return self._call(
            "create_refund",
            sent,
            idempotency_key,
            stripe_account,
            lambda call: fresh(self._create_refund(call, sent)[0]),
        )

    # ---------------------------------------------------------------- back office: refunds

    def set_refund_status(
        self, refund_id: str, status: str, *, failure_reason: str | None = None
    ) -> JsonDict:
        """Move a refund along Stripe's asynchronous life; return the updated refund.

        Allowed: pending -> succeeded | failed | canceled | requires_action; requires_action ->
        pending | succeeded | failed | canceled; succeeded -> failed (late failure) |
        requires_action (bank-transfer refund needing details). failed and canceled are final;
        anything else raises ValueError. Becoming failed or canceled gives the amount back to the
        charge (``amount_refunded`` decreases, ``refunded`` becomes false) and books a
        ``refund_failure`` balance transaction. ``failure_reason`` (Stripe's values) defaults to
        ``unknown`` for failed, is optional for canceled and refused otherwise.

        Emits ``refund.updated`` and ``charge.refund.updated`` (with ``previous_attributes``
        ``{"status": old}``) and, on failure, ``refund.failed``.
        """
        if status not in REFUND_STATUSES:
            raise ValueError(f"unknown refund status {status!r}")
        if failure_reason is not None:
            if failure_reason not in FAILURE_REASONS:
                raise ValueError(
                    f"failure_reason must be one of {sorted(FAILURE_REASONS)}, "
                    f"not {failure_reason!r}"
                )
            if status not in ("failed", "canceled"):
                raise ValueError("failure_reason only goes with failed or canceled")
        with self._lock:
            refund = self._objects.get(refund_id)
            if refund is None or refund["object"] != "refund":
                raise KeyError(f"no such refund: {refund_id!r}")
            old = refund["status"]
            if status not in _TRANSITIONS[old]:
                raise ValueError(f"illegal refund transition {old} -> {status}")
            now = self._clock()
            refund["status"] = status
            if status in ("failed", "canceled"):
                if status == "failed" or failure_reason is not None:
                    refund["failure_reason"] = failure_reason or "unknown"
                refund["failure_balance_transaction"] = self._book_refund_txn(
                    refund, now, failure=True
                )
                charge = self._objects[refund["charge"]]
                charge["amount_refunded"] -= refund["amount"]
                charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
            self._revised(refund)
            previous = {"status": old}
            # One copy for the three events: each is copied again whenever it is read.
            changed = kept(refund)
            self._emit("refund.updated", changed, now, previous=previous)
            self._emit("charge.refund.updated", changed, now, previous=previous)
            if status == "failed":
                self._emit("refund.failed", changed, now)
            updated: JsonDict = fresh(refund)
            return updated

    # ---------------------------------------------------------------- back office: disputes

    def open_dispute(
        self,
        payment_intent_id: str,
        *,
        reason: str = "general",
        amount: int | None = None,
        inquiry: bool = False,
    ) -> JsonDict:
        """Open a chargeback (status ``needs_response``) or, with ``inquiry``, an inquiry
        (``warning_needs_response``) on the payment's charge; return the dispute.

        The charge becomes ``disputed`` and refunds fail with ``charge_disputed`` while the
        dispute's status is in ``DISPUTE_STATUSES_BLOCKING_REFUNDS``. One dispute per charge.
        Emits ``charge.dispute.created``. Dispute balance transactions (withdrawn funds and
        fee) are not modelled.
        """
        with self._lock:
            charge = self._charge_of_pi(payment_intent_id)
            state = self._charge_state[charge["id"]]
            if state.dispute_id is not None:
                raise ValueError(f"charge {charge['id']} already has a dispute")
            now = self._clock()
            dp_id = self._new_id("dp")
            dispute = shapes.dispute(
                dp_id,
                charge,
                charge["amount"] if amount is None else amount,
                reason,
                now,
                status="warning_needs_response" if inquiry else "needs_response",
            )
            self._objects[dp_id] = dispute
            self._kinds["dispute"].add(dp_id)
            state.dispute_ids.append(dp_id)
            charge["disputed"] = True
            self._emit("charge.dispute.created", kept(dispute), now)
            opened: JsonDict = fresh(dispute)
            return opened

    def update_dispute(self, payment_intent_id: str) -> JsonDict:
        """Evidence was submitted: the open dispute goes under review (``needs_response`` ->
        ``under_review``, ``warning_needs_response`` -> ``warning_under_review``); refunds stay
        blocked. Emits ``charge.dispute.updated``; returns the dispute."""
        with self._lock:
            dispute = self._open_dispute_of(payment_intent_id)
            moves = {
                "needs_response": "under_review",
                "warning_needs_response": "warning_under_review",
            }
            if dispute["status"] not in moves:
                raise ValueError(f"dispute {dispute['id']} is already {dispute['status']}")
            now = self._clock()
            previous = {"status": dispute["status"]}
            dispute["status"] = moves[dispute["status"]]
            dispute["evidence_details"]["has_evidence"] = True
            dispute["evidence_details"]["submission_count"] += 1
            self._emit("charge.dispute.updated", kept(dispute), now, previous=previous)
            updated: JsonDict = fresh(dispute)
            return updated

    def close_dispute(self, payment_intent_id: str, status: str = "won") -> JsonDict:
        """Close the payment's open dispute; return the dispute. A chargeback closes as
        ``won`` or ``lost``, an inquiry as ``warning_closed``.

        As at Stripe, ``charge.disputed`` stays true. The model then allows refunds again after
        ``won`` and ``warning_closed`` and keeps refusing them (``charge_disputed``) after
        ``lost``, since the cardholder already got the money back. Emits
        ``charge.dispute.closed``.
        """
        if status not in ("won", "lost", "warning_closed"):
            raise ValueError(
                f"a dispute closes as 'won', 'lost' or 'warning_closed', not {status!r}"
            )
        with self._lock:
            dispute = self._open_dispute_of(payment_intent_id)
            inquiry = dispute["status"].startswith("warning_")
            if inquiry != (status == "warning_closed"):
                raise ValueError(
                    f"{'an inquiry' if inquiry else 'a chargeback'} cannot close as {status!r}"
                )
            now = self._clock()
            previous = {"status": dispute["status"]}
            dispute["status"] = status
            self._emit("charge.dispute.closed", kept(dispute), now, previous=previous)
            closed: JsonDict = fresh(dispute)
            return closed

    # ---------------------------------------------------------------- faults

    def inject_fault(
        self,
        fault: Fault,
        *,
        operation: str = "create_refund",
        times: int = 1,
        code: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``operation`` fail with ``fault`` (FIFO per operation).

        ``code`` is required for ``Fault.REJECT`` (a Stripe error code such as
        ``charge_disputed``) and overrides the default code of the HTTP faults.
        """
        self._faults.check(fault, operation, times, code)
        with self._lock:
            self._faults.add(fault, operation, times, code)

    def pending_faults(self, operation: str = "create_refund") -> int:
        """How many injected faults of ``operation`` have not fired yet."""
        with self._lock:
            return self._faults.pending(operation)

    # ---------------------------------------------------------------- inspection

    def events(self) -> list[JsonDict]:
        """Every event emitted so far, in emission order (copies)."""
        with self._lock:
            return [_event_of(e) for e in self._events]

    def events_since(self, n: int) -> list[JsonDict]:
        """The events emitted after the first ``n`` (use ``len(events())`` as a bookmark)."""
        if n < 0:
            raise ValueError("n must not be negative")
        with self._lock:
            return [_event_of(e) for e in self._events[n:]]

    def event_count(self) -> int:
        """How many events were emitted so far: a bookmark for ``events_since`` that copies
        nothing."""
        with self._lock:
            return len(self._events)

    @property
    def requests(self) -> list[RequestRecord]:
        """Every API call received so far, oldest first (copies)."""
        with self._lock:
            return [record_of(logged) for logged in self._requests]

    def last_request(self) -> RequestRecord | None:
        """The last API call made by the calling thread (for a transport's ``Request-Id`` and
        ``Idempotent-Replayed`` headers), or None."""
        logged: Logged | None = getattr(self._local, "last", None)
        return None if logged is None else record_of(logged)

    def refunds_of(self, payment_intent_id: str) -> list[JsonDict]:
        """All refunds of the payment, oldest first (copies; any status)."""
        with self._lock:
            charge_id = self._charge_of_pi(payment_intent_id)["id"]
            return [fresh(self._objects[r]) for r in self._charge_state[charge_id].refund_ids]

    def charge_of(self, payment_intent_id: str) -> JsonDict:
        """The payment's charge (a copy)."""
        with self._lock:
            charge: JsonDict = fresh(self._charge_of_pi(payment_intent_id))
            return charge

    def dispute_of(self, payment_intent_id: str) -> JsonDict | None:
        """The payment's dispute (a copy), or None."""
        with self._lock:
            dispute_id = self._charge_state[self._charge_of_pi(payment_intent_id)["id"]].dispute_id
            return None if dispute_id is None else fresh(self._objects[dispute_id])

    def transfer_of(self, payment_intent_id: str) -> JsonDict | None:
        """The transfer of a destination charge (a copy, with its ``amount_reversed`` and its
        most recent ``reversals``), or None for a charge without one."""
        with self._lock:
            transfer_id = self._charge_state[
                self._charge_of_pi(payment_intent_id)["id"]
            ].transfer_id
            return None if transfer_id is None else fresh(self._objects[transfer_id])

    # ---------------------------------------------------------------- for FakeStripeGateway

    # ``FakeStripeGateway`` reads every refund of a payment on each live read, as the Stripe
    # adapter does. These let it keep the refunds it read or created (parsed, immutable) and
    # skip copying and parsing the ones that did not change since (issue 10), while making
    # exactly the requests the Stripe adapter makes: each is logged and faultable like the call
    # it stands for.

    def refunds_revision(self, charge_id: str) -> int:
        """A number that changes whenever a refund of the charge is created or changes (0 for
        a charge without refunds, or no such charge). Not an API call: nothing is logged."""
        with self._lock:
            state = self._charge_state.get(charge_id)
            return 0 if state is None else state.refunds_revision

    def older_refund_ids(self, *, charge: str, starting_after: str) -> list[str]:
        """The ids of the charge's refunds older than ``starting_after``, newest first, read as
        the Stripe adapter reads them: ``GET /v1/refunds?charge=…&limit=100&starting_after=…``
        page after page (each the cursor of the one before) until ``has_more`` is false.

        Every page is a request of its own, logged and faultable and failing exactly as that
        ``list_refunds`` call (a fault on one page leaves the pages before it made); the
        answer is only the ids, which a caller that already holds the refunds needs. Reading
        the model's indexes directly, a page costs its log entry, not a copy of 100 refunds.
        """
        ids: list[str] = []
        cursor: str | None = starting_after
        while cursor is not None:
            params: JsonDict = {
                "charge": charge,
                "limit": params_of.LIST_MAX_LIMIT,
                "starting_after": cursor,
            }
            page_ids, more = self._call(
                "list_refunds",
                params,
                None,
                None,
                functools.partial(self._older_ids, charge, cursor),
            )
            ids.extend(page_ids)
            cursor = page_ids[-1] if more and page_ids else None
        return ids

    def replay_refund_pages(self, *, charge: str, cursors: Sequence[str]) -> None:
        """The page requests of ``older_refund_ids`` once more, as a reader made them on a
        payment whose read did not change since (``retrieve_payment_intent_if_revised``):
        ``GET /v1/refunds?charge=…&limit=100&starting_after=…`` for each cursor, in turn, each
        logged, faultable and failing exactly as that call (a fault on one leaves the pages
        before it made), answering nothing: the reader holds the ids they listed."""
        for cursor in cursors:
            params: JsonDict = {
                "charge": charge,
                "limit": params_of.LIST_MAX_LIMIT,
                "starting_after": cursor,
            }
            self._call(
                "list_refunds",
                params,
                None,
                None,
                functools.partial(self._page_checks, charge, cursor),
            )

    def _page_checks(self, charge: str, cursor: str, _call: Call) -> None:
        """The checks a page of ``older_refund_ids`` makes (lock held), without the page."""
        self._get("charge", charge, "charge")
        self._get("refund", cursor, "starting_after")

    def _older_ids(self, charge: str, cursor: str, _call: Call) -> tuple[list[str], bool]:
        """One page of ``older_refund_ids`` (lock held): the checks ``list_refunds`` makes for
        these parameters, then the page from the charge's index."""
        self._get("charge", charge, "charge")
        listed = self._kinds["refund"]
        after = listed.seq[self._get("refund", cursor, "starting_after")["id"]]
        return page(
            self._charge_state[charge].refund_ids, listed.seq, params_of.LIST_MAX_LIMIT, after=after
        )

    def refund_revisions(self, refund_ids: Sequence[str]) -> list[int]:
        """The revision of each refund (see ``refunds_revision``; 0 for an unknown id). Not
        an API call: nothing is logged."""
        with self._lock:
            revisions = self._refund_revisions
            return [revisions.get(i, 0) for i in refund_ids]

    def retrieve_payment_intent_if_revised(
        self, id: str, expand: Sequence[str], known_revision: int | None
    ) -> tuple[int, JsonDict | None]:
        """``retrieve_payment_intent(id, expand)`` (the same request: logged, faultable and
        failing as that call) answering the model's revision with the PaymentIntent, or with
        None instead when the model is still at ``known_revision``, the revision of an answer
        to this very ``id`` and ``expand``: nothing stored changed since, so the answer would
        be the same. The revision changes with every change to any object the model stores.
        """

        def run(call: Call) -> tuple[int, JsonDict | None]:
            intent = self._get("payment_intent", id, "id")
            # The newer of the charge's revision and the model's (objects changed behind the
            # model's back): both are drawn from one counter, so either change moves it.
            state = self._charge_state.get(intent["latest_charge"])
            revision = max(self._revision, state.revision if state is not None else 0)
            if known_revision is not None and known_revision == revision:
                return revision, None
            return revision, render(intent, expand, self._objects.__getitem__, self._sublist)

        return self._call(
            "retrieve_payment_intent", params_of.read_params(id, expand), None, None, run
        )

    def create_refund_to_read(
        self,
        params: JsonDict,
        *,
        idempotency_key: str | None = None,
        stripe_account: str | None = None,
    ) -> tuple[int | None, JsonDict]:
        """``create_refund(params, ...)`` (the same request: logged, faultable, failing and
        replayed as that call) answering the model's own copy of its answer, which the
        caller reads and never changes (it is also the event's object and the idempotency
        key's answer; ``create_refund`` hands out a copy of it), with the revision of the
        refund it shows (``refund_revisions``) when it shows the refund, unexpanded, as stored
        right after the call; None for a replay (an answer of the past) or an expansion.

        ``params`` are handed over: the model keeps them as they are (the request log's and the
        idempotency key's parameters), so the caller must build them for this call and never
        change them after (``create_refund`` takes a copy instead)."""
        sent = params
        revision: int | None = None

        def run(call: Call) -> JsonDict:
            nonlocal revision
            answer, revision = self._create_refund(call, sent)
            return answer

        answer = self._call("create_refund", sent, idempotency_key, stripe_account, run)
        return revision, answer

    def rendered_refunds(self, refund_ids: Sequence[str]) -> list[tuple[int, JsonDict]]:
        """Each refund's revision and a copy of it as ``list_refunds`` shows it (unexpanded),
        read together. Not an API call: for refunds a logged call just listed."""
        with self._lock:
            revisions = self._refund_revisions
            return [(revisions.get(i, 0), fresh(self._objects[i])) for i in refund_ids]

    # ================================================================ internals (lock held)

    def _revised(self, refund: JsonDict) -> None:
        """Record that ``refund`` was created or changed (its revision and its charge's)."""
        revision = next(self._revisions)
        self._refund_revisions[refund["id"]] = revision
        state = self._charge_state[refund["charge"]]
        state.refunds_revision = state.revision = revision

    def _touched(self, obj: JsonDict) -> None:
        """Record that ``obj`` (a charge or what belongs to one: a refund, a dispute, a
        transfer) changed: its charge's next revision; anything else is a model-wide change."""
        kind = obj.get("object")
        charge_id = (
            obj.get("id")
            if kind == "charge"
            else obj.get("source_transaction")
            if kind == "transfer"
            else obj.get("charge")
        )
        state = self._charge_state.get(charge_id) if isinstance(charge_id, str) else None
        if state is None:
            self._changed()
        else:
            state.revision = next(self._revisions)

    def _changed(self) -> int:
        """Record that a stored object changed where no charge says so (an object changed
        behind the model's back): the model's next revision, which every read sees."""
        self._revision = next(self._revisions)
        return self._revision

    def _new_id(self, prefix: str) -> str:
        counter = self._counters.get(prefix)
        if counter is None:
            counter = self._counters[prefix] = itertools.count(1)
        # ``f"{n:010d}"`` spelled with ``zfill``, a third cheaper (ids are drawn on every call).
        return prefix + "_fake" + str(next(counter)).zfill(10)

    def _call(
        self,
        operation: str,
        params: JsonDict,
        idempotency_key: str | None,
        stripe_account: str | None,
        run: Callable[[Call], _Answer],
    ) -> _Answer:
        """Run one API operation: consume an injected fault, run it, log it, translate faults.

        ``params`` is kept in the log as given: a dict the model made for this call, which
        nothing changes afterwards (records handed out copy it)."""
        with self._lock:
            call = Call(self._new_id("req"), self._clock(), idempotency_key, stripe_account)
            fault, code = self._faults.take(operation)
            status: int | None = None
            try:
                if fault is Fault.CONNECTION_ERROR:
                    raise StripeConnectionFault(operation, call.request_id)
                if fault is not None and fault is not Fault.TIMEOUT_AFTER_CREATE:
                    raise fault_error(fault, code)
                result = run(call)
                if fault is Fault.TIMEOUT_AFTER_CREATE:
                    raise StripeTimeoutFault(operation, call.request_id, fresh(result))
                status = 200
                return result
            except StripeApiError as err:
                err.request_id = call.request_id
                status = err.http_status
                raise
            finally:
                # ``params`` is the model's own (built for this call, or ``create_refund``'s
                # snapshot) and never changed, so the log keeps it as it is, uncopied.
                logged: Logged = (
                    call.request_id,
                    operation,
                    params,
                    idempotency_key,
                    stripe_account,
                    call.now,
                    fault,
                    status,
                    call.replayed,
                )
                self._requests.append(logged)
                self._local.last = logged

    def _get(self, kind: str, object_id: str, param: str) -> JsonDict:
        obj = self._objects.get(object_id) if isinstance(object_id, str) else None
        if obj is None or obj["object"] != kind:
            # Stripe's wording: "No such payment_intent: 'pi_…'", "No such charge: 'ch_…'".
            raise missing(kind, str(object_id), param)
        return obj

    def _open_dispute_of(self, payment_intent_id: str) -> JsonDict:
        charge = self._charge_of_pi(payment_intent_id)
        dispute_id = self._charge_state[charge["id"]].dispute_id
        if dispute_id is None:
            raise ValueError(f"charge {charge['id']} has no dispute")
        dispute = self._objects[dispute_id]
        if dispute["status"] in ("won", "lost", "warning_closed"):
            raise ValueError(f"dispute {dispute['id']} is already closed")
        return dispute

    def _refunds_blocked(self, charge_id: str) -> bool:
        dispute_id = self._charge_state[charge_id].dispute_id
        if dispute_id is None:
            return False
        return bool(self._objects[dispute_id]["status"] in DISPUTE_STATUSES_BLOCKING_REFUNDS)

    def _charge_of_pi(self, payment_intent_id: str) -> JsonDict:
        pi = self._objects.get(payment_intent_id)
        if pi is None or pi["object"] != "payment_intent":
            raise KeyError(f"no such payment intent: {payment_intent_id!r}")
        return self._objects[pi["latest_charge"]]

    def _list(
        self,
        kind: str,
        charge: str | None,
        payment_intent: str | None,
        checked: params_of.ListParams,
    ) -> JsonDict:
        """A list object of the ``kind`` objects of this charge / PaymentIntent (or all of
        them), newest first, one page."""
        if charge is not None:
            self._get("charge", charge, "charge")
        if payment_intent is not None:
            self._get("payment_intent", payment_intent, "payment_intent")
        listed = self._kinds[kind]
        ids = self._listed_ids(kind, charge, payment_intent)
        after = before = None
        if checked.starting_after is not None:
            after = listed.seq[self._get(kind, checked.starting_after, "starting_after")["id"]]
        elif checked.ending_before is not None:
            before = listed.seq[self._get(kind, checked.ending_before, "ending_before")["id"]]
        ids_page, has_more = page(ids, listed.seq, checked.limit, after=after, before=before)
        expand = [p.removeprefix("data.") for p in checked.expand]
        lookup = self._objects.__getitem__
        data = [render(self._objects[i], expand, lookup, self._sublist) for i in ids_page]
        return shapes.list_page(data, has_more, f"/v1/{kind}s")

    def _sublist(self, owner_id: str, field: str) -> JsonDict:
        """A charge's expanded ``refunds``: its ``SUBLIST_SIZE`` newest refunds, newest first
        (from the charge's index: the cost of the page, not of every refund held)."""
        assert field == "refunds"  # the only field of SUBLISTS
        ids = self._charge_state[owner_id].refund_ids
        ids_page, has_more = page(ids, self._kinds["refund"].seq, shapes.SUBLIST_SIZE)
        data = [fresh(self._objects[i]) for i in ids_page]
        return shapes.list_page(data, has_more, f"/v1/charges/{owner_id}/refunds")

    def _listed_ids(
        self, kind: str, charge: str | None, payment_intent: str | None
    ) -> Sequence[str]:
        """The ids a list call pages over, in creation order, from the indexes (both filters:
        the objects of that charge if it is the PaymentIntent's, else none)."""
        if charge is None and payment_intent is None:
            return self._kinds[kind].order
        charge_id = charge
        if payment_intent is not None:
            latest = self._objects[payment_intent]["latest_charge"]
            if charge_id is not None and charge_id != latest:
                return ()
            charge_id = latest
        assert charge_id is not None
        state = self._charge_state[charge_id]
        return state.refund_ids if kind == "refund" else state.dispute_ids

    def _create_refund(self, call: Call, params: JsonDict) -> tuple[JsonDict, int | None]:
        """POST /v1/refunds (``params``: the model's snapshot of them): the answer, which the
        model keeps (the idempotency key's answer and, unexpanded, the ``refund.created``
        event's object: a caller gets a ``fresh`` copy), and the refund's revision when the
        answer is the refund, unexpanded, as it is now (None for a replay or an expansion)."""
        key = call.idempotency_key
        if key is not None:
            saved = self._idempotency.find(call.stripe_account, key, "create_refund", params)
            if saved is not None:
                call.replayed = True
                return saved.replay(), None

        parsed = params_of.refund_params(params)
        charge = self._resolve_charge(parsed)
        try:
            refund, created = self._execute_refund(call, charge, parsed)
        except StripeApiError as err:
            if key is not None:
                self._idempotency.save(call.stripe_account, key, "create_refund", params, error=err)
            raise
        revision: int | None = None
        if parsed.expand:
            # May still refuse the expansion (400, not saved for the key) after the refund was
            # made, as before.
            response = render(refund, parsed.expand, self._objects.__getitem__, self._sublist)
        else:
            # Unexpanded, the answer is the refund as the event keeps it (``render`` would copy
            # the same dict again).
            response = created
            revision = self._refund_revisions[refund["id"]]
        if key is not None:
            self._idempotency.save(
                call.stripe_account, key, "create_refund", params, response=response
            )
        return response, revision

    def _resolve_charge(self, parsed: params_of.RefundParams) -> JsonDict:
        charge: JsonDict | None = None
        if parsed.payment_intent is not None:
            pi = self._get("payment_intent", parsed.payment_intent, "payment_intent")
            charge = self._objects[pi["latest_charge"]]
        if parsed.charge is not None:
            by_id = self._get("charge", parsed.charge, "charge")
            if charge is not None and by_id is not charge:
                raise invalid(
                    f"The charge '{parsed.charge}' does not belong to PaymentIntent "
                    f"'{parsed.payment_intent}'.",
                    param="charge",
                )
            charge = by_id
        assert charge is not None
        return charge

    def _execute_refund(
        self, call: Call, charge: JsonDict, parsed: params_of.RefundParams
    ) -> tuple[JsonDict, JsonDict]:
        """The part of POST /v1/refunds that runs after validation (its errors are stored):
        the stored refund, and the copy of it ``refund.created`` keeps (``kept``)."""
        ch_id = charge["id"]
        if self._refunds_blocked(ch_id):
            raise invalid(
                f"Charge {ch_id} has been charged back; cannot issue a refund.",
                code="charge_disputed",
            )
        remaining = charge["amount_captured"] - charge["amount_refunded"]
        if remaining <= 0:
            raise invalid(
                f"Charge {ch_id} has already been refunded.", code="charge_already_refunded"
            )
        amount = remaining if parsed.amount is None else parsed.amount
        if amount > remaining:
            raise invalid(
                f"Refund amount ({display(amount, charge['currency'])}) is greater than "
                f"unrefunded amount on charge ({display(remaining, charge['currency'])})",
                code="amount_too_large",
                param="amount",
            )
        re_id = self._new_id("re")
        refund = shapes.refund(
            re_id,
            charge,
            amount,
            parsed.reason,
            parsed.metadata,
            self._default_refund_status,
            call.now,
        )
        self._objects[re_id] = refund
        refund["balance_transaction"] = self._book_refund_txn(refund, call.now, failure=False)
        self._kinds["refund"].add(re_id)
        self._charge_state[ch_id].refund_ids.append(re_id)
        previous: JsonDict = {"amount_refunded": charge["amount_refunded"]}
        charge["amount_refunded"] += amount
        refunded = charge["amount_refunded"] >= charge["amount_captured"]
        if refunded != charge["refunded"]:
            previous["refunded"] = charge["refunded"]
            charge["refunded"] = refunded
        reversed_transfer = None
        if parsed.reverse_transfer:
            reversed_transfer = self._reverse_transfer(charge, refund, call.now)
        self._revised(refund)
        created = kept(refund)
        self._emit("refund.created", created, call.now, call=call)
        self._emit("charge.refunded", kept(charge), call.now, previous=previous, call=call)
        if reversed_transfer is not None:
            transfer, before = reversed_transfer
            self._emit("transfer.reversed", kept(transfer), call.now, previous=before, call=call)
        return refund, created

    def _reverse_transfer(
        self, charge: JsonDict, refund: JsonDict, now: int
    ) -> tuple[JsonDict, JsonDict] | None:
        """Reverse the charge's transfer for ``refund`` (already counted in the charge's
        ``amount_refunded``): (the transfer, its previous attributes), or None when there is
        nothing to reverse."""
        transfer_id = self._charge_state[charge["id"]].transfer_id
        if transfer_id is None:
            return None
        transfer = self._objects[transfer_id]
        left = transfer["amount"] - transfer["amount_reversed"]
        if charge["amount_refunded"] >= charge["amount_captured"]:
            # The last refund takes what rounding left, so a fully refunded charge has its
            # transfer fully reversed.
            amount = left
        else:
            amount = min(left, proportion(refund["amount"], transfer["amount"], charge["amount"]))
        if amount <= 0:
            return None
        trr_id = self._new_id("trr")
        reversal = shapes.transfer_reversal(trr_id, transfer, amount, refund["id"], now)
        self._objects[trr_id] = reversal
        refund["transfer_reversal"] = trr_id
        before: JsonDict = {"amount_reversed": transfer["amount_reversed"]}
        transfer["amount_reversed"] += amount
        if transfer["amount_reversed"] >= transfer["amount"]:
            before["reversed"] = transfer["reversed"]
            transfer["reversed"] = True
        reversals = transfer["reversals"]
        reversals["data"].insert(0, reversal)
        if len(reversals["data"]) > _EMBEDDED_REVERSALS:
            del reversals["data"][_EMBEDDED_REVERSALS:]
            reversals["has_more"] = True
        return transfer, before

    def _book_refund_txn(self, refund: JsonDict, now: int, *, failure: bool) -> str:
        """Book the refund (negative) or its failure (positive) in the settlement currency."""
        charge = self._objects[refund["charge"]]
        charge_txn = self._objects[charge["balance_transaction"]]
        rate = charge_txn["exchange_rate"]
        if rate is None:
            settled = refund["amount"]
        else:
            # The rate is stored as Stripe's JSON number; str() gives back the exact decimal.
            settled = convert(
                refund["amount"], charge["currency"], charge_txn["currency"], Decimal(str(rate))
            )
        txn_id = self._new_id("txn")
        self._objects[txn_id] = shapes.refund_balance_transaction(
            txn_id,
            refund["id"],
            settled if failure else -settled,
            charge_txn["currency"],
            rate,
            now,
            failure=failure,
        )
        return txn_id

    def _emit(
        self,
        type_: str,
        obj: JsonDict,
        now: int,
        *,
        previous: JsonDict | None = None,
        call: Call | None = None,
    ) -> None:
        """Emit an event about ``obj``: the copy of the stored object the event keeps
        (``kept``), shared with nothing that changes."""
        self._touched(obj)  # every change Stripe reports by an event is a change of the model
        evt_id = self._new_id("evt")
        emitted: _Emitted
        if call is None:
            emitted = (evt_id, type_, obj, now, previous, None, None, None)
        else:
            key, account = call.idempotency_key, call.stripe_account
            emitted = (evt_id, type_, obj, now, previous, call.request_id, key, account)
        self._events.append(emitted)
