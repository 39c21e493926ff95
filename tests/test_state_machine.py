"""L2, L5, B4, S1, S3, F3: the local record converges on Stripe's truth whatever Stripe and the
network do — a Hypothesis ``RuleBasedStateMachine`` over ``RefundService`` with in-memory adapters.

One order (USD or JPY; with or without fees; settling in its own currency or, for USD, in EUR;
NET_OF_FEES or GROSS) and random sequences of: quotes (random amounts and FULL, random
reasons); processes (also of stale and duplicate quotes, by either of two host processes sharing
the orders); refunds made in the Stripe dashboard (also on a payment of no order); faults on our
next Stripe call (connection error, timeout after create, 5xx, 429, 409, rejections); crashes
before and after the gateway call; another process interleaved around a ``create_refund`` or
just before a versioned save (its sync, its webhook deliveries, its own refund); asynchronous
refund changes at Stripe (pending → succeeded/failed/canceled/requires_action, succeeded →
failed late); disputes; webhook deliveries duplicated, reordered and dropped; signed events that
contradict Stripe (another amount, a refund id Stripe does not hold: L6); syncs.

After every step (and inside every interleaving):

* the money reserved never exceeds the cap: Stripe's reserving refunds plus our written-ahead
  refunds Stripe does not hold yet ≤ net received (NET_OF_FEES; captured under GROSS), our own
  reserving refunds ≤ that cap, and Stripe's ``amount_refunded`` ≤ captured;
* the order's record of Stripe's ``amount_refunded`` counts exactly the refunds it knows Stripe
  counts (pending, requires_action, succeeded);
* Stripe never holds two refunds for one local refund id, and no Stripe refund is recorded
  twice locally;
* the order status is the one derived from its amounts (S1);
* the activity timeline only grows (F3), and the version never goes back.

At the end, after a final sync with a calm network: every Stripe refund appears exactly once
locally with the same amount and status, no refund is still SUBMITTING, the refundable balance
equals the one computed from Stripe alone, a second sync changes nothing, and delivering every
event still undelivered (oldest last) does not move anything (a stale event never moves a
refund backwards).

Also (issue 9 item 6): three host processes, and a rule that runs all of them at once on real
threads against the shared repository and Stripe; Stripe's clock ahead of or behind ours; orders
known by their charge only (no PaymentIntent); more than 100 refunds on one payment (Stripe's list
pages, and faults on a later page); unreadable answers, 401 and idempotency errors; the owner and
administrators refunding, while staff, buyers, anonymous actors and other sites' administrators
are refused and change nothing (E2, P2); inquiry disputes (``warning_*``). In a run where no
event is lost, the end first delivers every webhook (in order, with a calm network) and checks,
with NO sync, that every Stripe refund is recorded once with Stripe's amount and status and the
balance is Stripe's; only then the final sync runs.

Expected figures are written out here (net received from the set-up figures, S1 from amounts),
not computed with the code under test. USD and JPY amounts are in Stripe's units as they are.

Dashboard refunds respect the same cap (a seller refunding more than they received in the
dashboard is outside what this library can prevent); everything else is arbitrary.
"""

from __future__ import annotations

import contextlib
import copy
import math
import sys
import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from kanorio_refunds import (
    FULL,
    EventEffect,
    Money,
    Order,
    OrderStatus,
    RefundError,
    RefundQuote,
    RefundStatus,
)
from kanorio_refunds.adapters._stripe_json import parse_refund
from kanorio_refunds.adapters.stripe import parse_event
from kanorio_refunds.domain import RefundOrigin
from kanorio_refunds.domain._balance import FeePolicy
from kanorio_refunds.domain._payment import METADATA_REFUND_ID
from kanorio_refunds.errors import NotEligible, PermissionDenied
from kanorio_refunds.testing.fake_stripe import Fault, stripe_paid_order
from tests.support.gateway import Answer, Crash
from tests.support.world import ADMIN, NOT_ALLOWED, ORDER_ID, OWNER, SITE, JsonDict, World

_RESERVING_AT_STRIPE = frozenset({"pending", "requires_action", "succeeded"})
_STRIPE_MOVES: dict[str, tuple[str, ...]] = {
    "pending": ("succeeded", "failed", "canceled", "requires_action"),
    "requires_action": ("pending", "succeeded", "failed", "canceled"),
    "succeeded": ("failed", "requires_action"),
}
_CREATE_FAULTS = (
    Fault.CONNECTION_ERROR,
    Fault.TIMEOUT_AFTER_CREATE,
    Fault.SERVER_ERROR,
    Fault.RATE_LIMITED,
    Fault.CONFLICT,
    Fault.REJECT,
)
_READ_FAULTS = (
    Fault.CONNECTION_ERROR,
    Fault.TIMEOUT_AFTER_CREATE,
    Fault.SERVER_ERROR,
    Fault.RATE_LIMITED,
)
_ANSWERS = (Answer.UNREADABLE, Answer.UNAUTHORIZED, Answer.IDEMPOTENCY_ERROR)
_ACTORS = (OWNER, ADMIN)
_SERVICES = 3
_REJECT_CODES = ("charge_disputed", "amount_too_large", "parameter_invalid_integer")
_FAILURE_REASONS = ("declined", "expired_or_canceled_card", "lost_or_stolen_card", None)
_RESERVING = frozenset(
    {
        RefundStatus.SUBMITTING,
        RefundStatus.PENDING,
        RefundStatus.REQUIRES_ACTION,
        RefundStatus.SUCCEEDED,
    }
)
_S3: dict[RefundStatus, frozenset[RefundStatus]] = {
    RefundStatus.SUBMITTING: frozenset(RefundStatus) - {RefundStatus.SUBMITTING},
    RefundStatus.PENDING: frozenset(
        {
            RefundStatus.SUCCEEDED,
            RefundStatus.FAILED,
            RefundStatus.CANCELED,
            RefundStatus.REQUIRES_ACTION,
        }
    ),
    RefundStatus.REQUIRES_ACTION: frozenset(
        {RefundStatus.PENDING, RefundStatus.SUCCEEDED, RefundStatus.FAILED, RefundStatus.CANCELED}
    ),
    RefundStatus.SUCCEEDED: frozenset({RefundStatus.FAILED, RefundStatus.REQUIRES_ACTION}),
    RefundStatus.FAILED: frozenset(),
    RefundStatus.CANCELED: frozenset(),
}


def _s3_reachable(status: RefundStatus) -> frozenset[RefundStatus]:
    """Every status S3 allows a refund in ``status`` to reach, in one move or several."""
    seen: set[RefundStatus] = set()
    todo = list(_S3[status])
    while todo:
        nxt = todo.pop()
        if nxt not in seen:
            seen.add(nxt)
            todo.extend(_S3[nxt])
    return frozenset(seen)


_REASONS = (None, "duplicate", "fraudulent", "customer_request")


class GatewayTruth(RuleBasedStateMachine):
    """Three host processes refunding one order through a hostile Stripe."""

    world: World
    CURRENCIES: ClassVar[tuple[str, ...]] = ("USD", "JPY")

    # ---------------------------------------------------------------- set-up

    @initialize(
        currency=st.sampled_from(CURRENCIES),
        total_units=st.integers(min_value=100, max_value=50_000),
        fee_percent=st.integers(min_value=0, max_value=10),
        platform=st.booleans(),
        default_status=st.sampled_from(("succeeded", "succeeded", "pending", "requires_action")),
        policy=st.sampled_from((FeePolicy.NET_OF_FEES, FeePolicy.NET_OF_FEES, FeePolicy.GROSS)),
        settles_in_eur=st.booleans(),
        stripe_offset=st.sampled_from((0, 0, 3, -3, 600, -600)),
        charge_only=st.booleans(),
        lossless=st.booleans(),
        jobs=st.lists(
            st.sampled_from(("refund", "full", "sync", "deliver", "quote")), min_size=3, max_size=4
        ),
    )
    def start(
        self,
        currency: str,
        total_units: int,
        fee_percent: int,
        platform: bool,
        default_status: str,
        policy: FeePolicy,
        settles_in_eur: bool,
        stripe_offset: int,
        charge_only: bool,
        lossless: bool,
        jobs: list[str],
    ) -> None:
        total = Money.from_minor(total_units, currency)
        # Fees are in the settlement currency; a USD order may settle in EUR (B3).
        rate = Decimal("0.9137") if settles_in_eur and currency == "USD" else None
        settlement = "EUR" if rate is not None else currency
        fee = Money.from_minor(total_units * fee_percent // 100 * 9 // 10, settlement)
        platform_fee = Money.from_minor(total_units // 100 if platform else 0, settlement)
        self.world = World(
            services=_SERVICES,
            default_refund_status=default_status,
            fee_policy=policy,
            stripe_offset=timedelta(seconds=stripe_offset),
        )
        order = stripe_paid_order(
            self.world.stripe,
            order_id=ORDER_ID,
            site_id=SITE,
            total=total,
            stripe_fee=fee,
            platform_fee=platform_fee,
            exchange_rate=rate,
        )
        assert order.payment is not None
        assert order.payment.payment_intent_id is not None
        self.pi: str = order.payment.payment_intent_id
        if charge_only:  # a payment made with the Charges API: the order knows no PaymentIntent
            order = attrs.evolve(order, payment=attrs.evolve(order.payment, payment_intent_id=None))
        self.world.orders.add(order)
        self.currency = currency
        self.policy = policy
        self.captured = total
        # The cap, from the set-up figures (B1, B3, B5): each fee converted to the order
        # currency at the payment's rate, rounded up so that the balance is never overstated.
        fees = 0
        for settled in (fee.minor, platform_fee.minor):
            fees += math.ceil(Decimal(settled) / rate) if rate is not None else settled
        self.net = total if policy is FeePolicy.GROSS else self._money(total_units - fees)
        # Every event is delivered in the end (none dropped): webhooks alone must converge.
        self.lossless = lossless
        self.many_done = False
        # What the processes do at once on real threads at the end (see ``teardown``).
        self.jobs = jobs
        # A payment of no order, to see events for unknown orders.
        self.stray_pi: str = self.world.stripe.create_payment(
            10**6, currency.lower(), stripe_fee=0
        )["id"]
        self.quotes: list[RefundQuote] = []
        self.inbox: list[JsonDict] = []  # events emitted and not yet delivered (or redelivered)
        self.seen_events = 0
        self.forgeries = 0
        self.last: Order = self.world.order()

    # ---------------------------------------------------------------- helpers

    def _pull(self) -> None:
        """Stripe's new events join the webhook inbox (Stripe keeps them until answered 2xx)."""
        events = self.world.stripe.events_since(self.seen_events)
        self.seen_events += len(events)
        self.inbox.extend(events)

    def _money(self, units: int) -> Money:
        return Money.from_minor(units, self.currency)

    def _reserved_in_truth(self) -> int:
        """Stripe's reserving refunds plus our written-ahead ones Stripe does not hold (minor)."""
        gateway = self.world.stripe.refunds_of(self.pi)
        at_stripe = {r["metadata"].get(METADATA_REFUND_ID) for r in gateway}
        reserving: int = sum(r["amount"] for r in gateway if r["status"] in _RESERVING_AT_STRIPE)
        unsent = sum(
            r.amount.minor
            for r in self.world.order().refunds
            if r.status is RefundStatus.SUBMITTING and r.id not in at_stripe
        )
        return reserving + unsent

    def _deliver(self, event: JsonDict, service: int) -> None:
        try:
            outcome = self.world.services[service].apply_event(parse_event(event))
        except RefundError:
            # Only reading live data can fail (charge and dispute events): the endpoint answers
            # 5xx and Stripe delivers the event again later.
            self.inbox.append(event)
            return
        assert outcome.event_id == event["id"]
        if event["data"]["object"].get("payment_intent") == self.stray_pi:
            assert outcome.effect is EventEffect.UNKNOWN_ORDER, outcome

    def _check(self) -> None:
        """The invariants, callable mid-operation too (from interleaving hooks)."""
        world = self.world
        order = world.order()
        payment = order.payment
        assert payment is not None
        charge = world.stripe.charge_of(self.pi)
        assert charge["amount_refunded"] <= charge["amount_captured"]
        # The cap (B1, L1, L4): no refund reserves money that is not there.
        net = self.net.minor
        assert self._reserved_in_truth() <= net, (self._reserved_in_truth(), net)
        ours = sum(
            r.amount.minor for r in order.refunds if r.reserves and r.origin is RefundOrigin.LOCAL
        )
        assert ours <= net, (ours, net)
        # Never two gateway refunds for one local refund, never one gateway refund twice here.
        by_local: dict[str, list[str]] = {}
        for r in world.stripe.refunds_of(self.pi):
            local_id = r["metadata"].get(METADATA_REFUND_ID)
            if local_id is not None:
                by_local.setdefault(local_id, []).append(r["id"])
        assert all(len(ids) == 1 for ids in by_local.values()), by_local
        gateway_ids = [r.gateway_refund_id for r in order.refunds if r.gateway_refund_id]
        assert len(gateway_ids) == len(set(gateway_ids)), gateway_ids
        assert len({r.id for r in order.refunds}) == len(order.refunds)
        # B2: Stripe's amount_refunded as we know it counts exactly the refunds we know Stripe
        # counts (a live read sets it, webhooks and answers move it along).
        counted = sum(
            r.amount.minor
            for r in order.refunds
            if r.reserves and r.status is not RefundStatus.SUBMITTING
        )
        assert payment.amount_refunded.minor == counted, (
            payment.amount_refunded,
            counted,
        )
        # S1: the status is derived from the amounts.
        assert order.status is self._s1_status(order), (order.status, order.refunds)
        # S3: a refund's status only moves along Stripe's refund state machine (several moves
        # at once when a read finds Stripe further along: succeeded → requires_action → pending).
        for refund in order.refunds:
            before = self.last.find_refund(refund.id)
            if before is not None and before.status is not refund.status:
                assert refund.status in _s3_reachable(before.status), (before.status, refund.status)
        # F3: activity is append-only; versions only grow.
        assert order.activity[: len(self.last.activity)] == self.last.activity
        assert order.version >= self.last.version
        for refund in order.refunds:
            before = self.last.find_refund(refund.id)
            if before is not None:
                assert refund.events[: len(before.events)] == before.events
        assert {r.id for r in self.last.refunds} <= {r.id for r in order.refunds}
        self.last = order

    def _refundable_units(self, order: Order) -> int:
        """B1, B2 written out: min(net − reserved, captured − Stripe's amount_refunded) ≥ 0."""
        assert order.payment is not None
        reserved = sum(r.amount.minor for r in order.refunds if r.status in _RESERVING)
        left = self.captured.minor - order.payment.amount_refunded.minor
        return max(0, min(self.net.minor - reserved, left))

    def _s1_status(self, order: Order) -> OrderStatus:
        if not any(r.status in _RESERVING for r in order.refunds):
            return OrderStatus.PAID
        if self._refundable_units(order) == 0:
            return OrderStatus.REFUNDED
        return OrderStatus.PARTIALLY_REFUNDED

    @invariant()
    def invariants_hold(self) -> None:
        if hasattr(self, "world"):
            self._check()

    # ---------------------------------------------------------------- refunding

    @rule(
        data=st.data(),
        service=st.integers(0, _SERVICES - 1),
        full=st.integers(0, 3),
        reason=st.sampled_from(_REASONS),
        actor=st.sampled_from(_ACTORS),
    )
    def quote(
        self, data: st.DataObject, service: int, full: int, reason: str | None, actor: Any
    ) -> None:
        amount: Any = FULL
        if full:
            amount = self._money(data.draw(st.integers(1, self.captured.minor)))
        try:
            quote = self.world.services[service].quote(ORDER_ID, actor, amount, reason)
        except RefundError:
            return
        self.quotes.append(quote)

    @precondition(lambda self: bool(self.quotes))
    @rule(data=st.data(), service=st.integers(0, _SERVICES - 1), actor=st.sampled_from(_ACTORS))
    def process(self, data: st.DataObject, service: int, actor: Any) -> None:
        """Process any quote so far: fresh, stale, or already processed (F2, L4), by the actor
        who confirmed it or by another allowed one (who is refused)."""
        quote = data.draw(st.sampled_from(self.quotes))
        self._process(quote, actor, service)

    def _process(self, quote: RefundQuote, actor: Any, service: int) -> None:
        before = {r.id: r for r in self.world.order().refunds}
        try:
            refund = self.world.services[service].process(quote, actor)
        except (RefundError, Crash):
            return
        # The quote's refund (the same one for the same quote twice; see
        # test_a_refund_stripe_makes_after_refusing_an_attempt_is_recorded for the one case
        # where it is recorded under another id).
        assert refund.quote_id == quote.id
        if quote.refund_id in before and refund.id != quote.refund_id:
            assert before[quote.refund_id].gateway_refund_id is None

    @rule(
        service=st.integers(0, _SERVICES - 1),
        fraction=st.sampled_from((None, 1, 2, 3, 5, 10)),
        reason=st.sampled_from(_REASONS),
        actor=st.sampled_from(_ACTORS),
    )
    def refund_now(
        self, service: int, fraction: int | None, reason: str | None, actor: Any
    ) -> None:
        """Confirm and process at once: FULL, or a part of the balance (mostly, so that the
        order keeps a balance for more refunds)."""
        self._refund_now(service, fraction, reason, actor)

    def _refund_now(
        self, service: int, fraction: int | None, reason: str | None, actor: Any = OWNER
    ) -> None:
        svc = self.world.services[service]
        try:
            amount: Any = FULL
            if fraction is not None:
                refundable = svc.eligibility(ORDER_ID, actor).refundable
                amount = self._money(max(refundable.minor // (fraction + 1), 1))
            quote = svc.quote(ORDER_ID, actor, amount, reason)
        except RefundError:
            return
        self.quotes.append(quote)
        self._process(quote, actor, service)

    @rule(
        data=st.data(),
        actor=st.sampled_from(NOT_ALLOWED),
        use_case=st.sampled_from(("eligibility", "quote", "process", "revoke", "restore")),
    )
    def refused_actor(self, data: st.DataObject, actor: Any, use_case: str) -> None:
        """E2, P2: staff, buyers, anonymous actors and other sites' administrators are refused
        and change nothing, not even by a read of Stripe."""
        before = self.world.order()
        requests = len(self.world.stripe.requests)
        svc = self.world.services[data.draw(st.integers(0, _SERVICES - 1))]
        if use_case == "eligibility":
            eligibility = svc.eligibility(ORDER_ID, actor)
            assert not eligibility.allowed
            assert "not_owner_or_admin" in eligibility.codes, eligibility
        else:
            calls = {
                "quote": lambda: svc.quote(ORDER_ID, actor, FULL),
                "revoke": lambda: svc.revoke_buyer_access(ORDER_ID, actor),
                "restore": lambda: svc.restore_buyer_access(ORDER_ID, actor),
            }
            if self.quotes:
                quote = data.draw(st.sampled_from(self.quotes))
                calls["process"] = lambda: svc.process(quote, actor)
            call = calls.get(use_case, calls["quote"])
            try:
                call()
            except (PermissionDenied, NotEligible):
                pass
            else:
                raise AssertionError(f"{actor} was allowed to {use_case}")
        assert self.world.order() == before
        assert len(self.world.stripe.requests) == requests

    @precondition(lambda self: not self.many_done)
    @rule(dice=st.integers(0, 7), extra=st.integers(1, 5))
    def many_small_refunds(self, dice: int, extra: int) -> None:
        """More than 100 refunds on one payment (Stripe lists them 100 a page): 100 + ``extra``
        refunds of one unit each made in the Stripe dashboard, within the cap."""
        if dice:
            return
        count = 100 + extra
        if self._room() < count or self.world.stripe.dispute_of(self.pi) is not None:
            return
        self.many_done = True
        for _ in range(count):
            self.world.stripe.create_refund({"payment_intent": self.pi, "amount": 1})

    def _room(self) -> int:
        room = self.net.minor - self._reserved_in_truth()
        charge = self.world.stripe.charge_of(self.pi)
        return min(room, charge["amount_captured"] - charge["amount_refunded"])

    def _threads(self, jobs: list[str]) -> None:
        """L4, L2, L5 on real threads: 3+ processes at once (one per job, round-robin over the
        services) against the shared repository and Stripe; the repository pauses before each
        read and save so that they interleave between read and save."""
        gateway, orders = self.world.gateway, self.world.orders
        parked = (
            list(gateway.before_create),
            list(gateway.after_create),
            list(orders.before_save),
        )
        gateway.before_create.clear()
        gateway.after_create.clear()
        orders.before_save.clear()
        self._pull()
        inbox, self.inbox = self.inbox, []
        lock = threading.Lock()
        escaped: list[BaseException] = []
        redeliver: list[JsonDict] = []

        def run(job: str, n: int) -> None:
            svc = self.world.services[n % _SERVICES]
            actor = _ACTORS[n % 2]
            try:
                if job in ("refund", "full"):
                    amount: Any = FULL
                    if job == "refund":
                        refundable = svc.eligibility(ORDER_ID, actor).refundable
                        amount = self._money(max(refundable.minor // 3, 1))
                    quote = svc.quote(ORDER_ID, actor, amount)
                    with lock:
                        self.quotes.append(quote)
                    svc.process(quote, actor)
                elif job == "quote" and self.quotes:
                    svc.process(self.quotes[n % len(self.quotes)], actor)
                elif job == "sync":
                    svc.sync(ORDER_ID)
                else:
                    for event in inbox[n % 2 :: 2]:
                        try:
                            svc.apply_event(parse_event(event))
                        except RefundError:
                            with lock:
                                redeliver.append(event)
            except (RefundError, Crash):
                pass
            except BaseException as e:  # anything else escaping is a bug
                with lock:
                    escaped.append(e)

        orders.pause = 0.0002
        try:
            workers = [threading.Thread(target=run, args=(job, n)) for n, job in enumerate(jobs)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
        finally:
            orders.pause = 0.0
            gateway.before_create.extend(parked[0])
            gateway.after_create.extend(parked[1])
            orders.before_save.extend(parked[2])
        if "deliver" not in jobs:
            redeliver.extend(inbox)
        self.inbox.extend(redeliver)
        assert not escaped, escaped

    @rule(data=st.data(), stray=st.booleans())
    def dashboard_refund(self, data: st.DataObject, stray: bool) -> None:
        """B4: a refund made in the Stripe dashboard, within what the seller received."""
        if stray:
            self.world.stripe.create_refund({"payment_intent": self.stray_pi, "amount": 1})
            return
        room = self._room()
        if room <= 0 or self.world.stripe.dispute_of(self.pi) is not None:
            return
        units = data.draw(st.sampled_from((room, 1, max(1, room // 2))))
        params: dict[str, Any] = {"payment_intent": self.pi, "amount": units}
        if data.draw(st.booleans()):
            params["reason"] = "requested_by_customer"
            params["metadata"] = {"note": "refunded by phone"}
        self.world.stripe.create_refund(params)

    # ---------------------------------------------------------------- Stripe's own life

    @precondition(
        lambda self: any(
            r["status"] in _STRIPE_MOVES for r in self.world.stripe.refunds_of(self.pi)
        )
    )
    @rule(data=st.data())
    def stripe_moves_a_refund(self, data: st.DataObject) -> None:
        """Asynchronous outcomes, including late failures (succeeded → failed)."""
        movable = [r for r in self.world.stripe.refunds_of(self.pi) if r["status"] in _STRIPE_MOVES]
        refund = data.draw(st.sampled_from(movable))
        status = data.draw(st.sampled_from(_STRIPE_MOVES[refund["status"]]))
        reason = None
        if status == "failed":
            reason = data.draw(st.sampled_from(_FAILURE_REASONS))
        self.world.stripe.set_refund_status(refund["id"], status, failure_reason=reason)

    @rule(lost=st.booleans(), dice=st.integers(0, 7), inquiry=st.booleans())
    def dispute(self, lost: bool, dice: int, inquiry: bool) -> None:
        """E5: open the payment's dispute (rarely: while open, and for good once lost, it blocks
        refunds), a chargeback or an inquiry (``warning_needs_response``), or close it
        (chargeback won: refundable again; lost: never; inquiry: ``warning_closed``)."""
        if dice:
            return
        dispute = self.world.stripe.dispute_of(self.pi)
        if dispute is None:
            self.world.stripe.open_dispute(self.pi, inquiry=inquiry)
        elif dispute["status"].startswith("warning_") and dispute["status"] != "warning_closed":
            self.world.stripe.close_dispute(self.pi, "warning_closed")
        elif dispute["status"] not in ("won", "lost", "warning_closed"):
            self.world.stripe.close_dispute(self.pi, "lost" if lost else "won")

    @rule(seconds=st.sampled_from((1, 5, 60, 3600)))
    def time_passes(self, seconds: int) -> None:
        self.world.clock.advance(timedelta(seconds=seconds))

    # ---------------------------------------------------------------- the network and the host

    @rule(
        fault=st.sampled_from(_CREATE_FAULTS + _ANSWERS),
        code=st.sampled_from(_REJECT_CODES),
        operation=st.sampled_from(("create", "create", "read", "page")),
    )
    def network_fault(self, fault: Fault | Answer, code: str, operation: str) -> None:
        """Our next Stripe call fails: a refund creation, a payment read, or the second or a
        later page of the refund listing; with a network fault, a 4xx/5xx, an unreadable
        answer (after Stripe did the work), a 401 or an idempotency error."""
        if operation != "create" and fault in _CREATE_FAULTS and fault not in _READ_FAULTS:
            return
        self.world.gateway.arm_fault(operation, fault, code if fault is Fault.REJECT else None)

    @rule(after=st.booleans())
    def crash(self, after: bool) -> None:
        """The process dies at its next refund creation: before calling Stripe (the refund is
        written ahead, Stripe knows nothing) or after (Stripe made it, the answer is lost)."""
        if after:
            self.world.gateway.crash_after += 1
        else:
            self.world.gateway.crash_before += 1

    @rule(
        when=st.sampled_from(("before_create", "after_create", "before_save")),
        action=st.sampled_from(("sync", "deliver", "refund", "late_failure")),
        service=st.integers(0, _SERVICES - 1),
    )
    def interleave(self, when: str, action: str, service: int) -> None:
        """Something happens while a process is inside ``create_refund`` or about to save an
        order it read: another process syncs the order, receives the webhooks or refunds half
        the balance; or Stripe fails a refund."""

        def hook() -> None:
            self._check()
            if action == "refund":
                self._refund_now(service, 1, None)
            elif action == "sync":
                with contextlib.suppress(RefundError, Crash):
                    self.world.services[service].sync(ORDER_ID)
            elif action == "deliver":
                self._pull()
                inbox, self.inbox = self.inbox, []
                for event in inbox:
                    self._deliver(event, service)
            else:
                succeeded = [
                    r for r in self.world.stripe.refunds_of(self.pi) if r["status"] == "succeeded"
                ]
                if succeeded:
                    self.world.stripe.set_refund_status(succeeded[-1]["id"], "failed")
            self._check()

        hooks = {
            "before_create": self.world.gateway.before_create,
            "after_create": self.world.gateway.after_create,
            "before_save": self.world.orders.before_save,
        }[when]
        hooks.append(hook)

    # ---------------------------------------------------------------- webhooks and sync

    @rule(data=st.data(), service=st.integers(0, _SERVICES - 1), twice=st.booleans())
    def deliver_one(self, data: st.DataObject, service: int, twice: bool) -> None:
        """Deliver any undelivered event (out of order), possibly twice (L5)."""
        self._pull()
        if not self.inbox:
            return
        event = self.inbox.pop(data.draw(st.integers(0, len(self.inbox) - 1)))
        self._deliver(event, service)
        if twice:
            self._deliver(event, data.draw(st.integers(0, _SERVICES - 1)))

    @rule(
        data=st.data(),
        service=st.integers(0, _SERVICES - 1),
        unknown=st.booleans(),
        keep_metadata=st.booleans(),
    )
    def forged_event(
        self, data: st.DataObject, service: int, unknown: bool, keep_metadata: bool
    ) -> None:
        """L6: a validly signed refund event that contradicts Stripe: another amount for the
        refund it names, or (``unknown``) a refund id Stripe does not hold, possibly still
        carrying our metadata. It may prompt a read of Stripe; it never changes an amount, never
        creates a refund, and never ties a refund of ours to a Stripe refund that does not
        exist (the final sync must still find Stripe's truth)."""
        refund_events = [
            e
            for e in self.world.stripe.events_since(0)
            if e["data"]["object"].get("object") == "refund"
            and e["data"]["object"].get("payment_intent") == self.pi
        ]
        if not refund_events:
            return
        self.forgeries += 1
        forged = copy.deepcopy(data.draw(st.sampled_from(refund_events)))
        forged["id"] = f"{forged['id']}_forged_{self.forgeries}"
        obj = forged["data"]["object"]
        obj["amount"] = data.draw(st.integers(1, 2 * self.captured.minor))
        if unknown:
            obj["id"] = f"re_forged_{self.forgeries}"
            if not keep_metadata:
                obj["metadata"] = {}
        before = {r.id: r.amount for r in self.world.order().refunds}
        self._deliver(forged, service)
        order = self.world.order()
        assert {r.id: r.amount for r in order.refunds if r.id in before} == before
        # New refunds come only from Stripe's own data, or from our own quotes (an interleaved
        # process may refund meanwhile: see ``interleave``).
        stripe_ids = self._stripe_ids()
        assert not [
            r
            for r in order.refunds
            if r.id not in before and r.quote_id is None and r.gateway_refund_id not in stripe_ids
        ]
        assert not [r for r in order.refunds if (r.gateway_refund_id or "").startswith("re_forged")]

    def _stripe_ids(self) -> set[str]:
        return {r["id"] for r in self.world.stripe.refunds_of(self.pi)}

    @precondition(lambda self: not self.lossless)
    @rule(data=st.data())
    def drop_one(self, data: st.DataObject) -> None:
        """An event is lost for good."""
        self._pull()
        if self.inbox:
            self.inbox.pop(data.draw(st.integers(0, len(self.inbox) - 1)))

    @rule(service=st.integers(0, _SERVICES - 1), newest_first=st.booleans())
    def deliver_all(self, service: int, newest_first: bool) -> None:
        self._pull()
        inbox, self.inbox = self.inbox, []
        for event in reversed(inbox) if newest_first else inbox:
            self._deliver(event, service)

    @rule(service=st.integers(0, _SERVICES - 1))
    def sync(self, service: int) -> None:
        with contextlib.suppress(RefundError, Crash):
            self.world.services[service].sync(ORDER_ID)

    # ---------------------------------------------------------------- the end

    def teardown(self) -> None:
        if not hasattr(self, "world") or sys.exc_info()[0] is not None:
            return  # a step failed: let Hypothesis report that, not a follow-up
        self.world.gateway.calm()
        self.world.orders.before_save.clear()
        self._check()
        # Threads are not replayable, so they run here, after the last rule (Hypothesis needs a
        # deterministic sequence of rules), with the invariants checked afterwards.
        self._threads(self.jobs)
        self._check()
        if self.lossless:
            self._converge_by_webhooks()
        service = self.world.service
        synced = service.sync(ORDER_ID)
        self._check()
        self._assert_matches_stripe(synced)
        assert service.sync(ORDER_ID).version == synced.version, "a second sync changed things"
        # Every event still undelivered, oldest last: nothing may move (L5).
        self._pull()
        for event in reversed(self.inbox):
            self._deliver(event, 1)
        self._check()
        self._assert_matches_stripe(self.world.order())

    def _converge_by_webhooks(self) -> None:
        """L5, L6, B4: every webhook delivered (oldest first, redelivered until answered 2xx,
        with a calm network) and NO sync: each refund Stripe holds is recorded once with its
        amount and status; the refunds still SUBMITTING are exactly those Stripe never made
        (only a sync resumes them); the balance is Stripe's minus those."""
        for _ in range(5):
            self._pull()
            inbox, self.inbox = self.inbox, []
            for event in inbox:
                self._deliver(event, 0)
        assert not self.inbox, "events still refused with a calm network"
        order = self.world.order()
        self._check()
        at_stripe = {
            r["metadata"].get(METADATA_REFUND_ID) for r in self.world.stripe.refunds_of(self.pi)
        }
        unsent = [
            r for r in order.refunds if r.status is RefundStatus.SUBMITTING and r.id in at_stripe
        ]
        assert not unsent, f"Stripe holds these, the webhooks did not resolve them: {unsent}"
        self._assert_matches_stripe(order, webhooks_only=True)

    def _assert_matches_stripe(self, order: Order, *, webhooks_only: bool = False) -> None:
        gateway = self.world.stripe.refunds_of(self.pi)
        local = {r.gateway_refund_id: r for r in order.refunds if r.gateway_refund_id}
        submitting = [r for r in order.refunds if r.status is RefundStatus.SUBMITTING]
        assert webhooks_only or not submitting, submitting
        for raw in gateway:
            theirs = parse_refund(raw)
            mine = local.pop(theirs.id, None)
            assert mine is not None, f"Stripe refund {theirs.id} is not recorded"
            assert (mine.amount, mine.status) == (theirs.amount, theirs.status), (mine, theirs)
            if theirs.local_refund_id is not None and mine.id != theirs.local_refund_id:
                # Only when an attempt was refused and a retry with the same key went through.
                refused = order.refund(theirs.local_refund_id)
                assert refused.status is RefundStatus.FAILED, refused
                assert refused.gateway_refund_id is None, refused
            if theirs.status is RefundStatus.FAILED:
                assert mine.failure_reason == theirs.failure_reason
        assert not local, f"recorded but not at Stripe: {local}"
        # Refunds we recorded without a Stripe id were never sent, so they hold no money
        # (but the ones still SUBMITTING, which only a sync resumes).
        assert all(
            not r.reserves
            for r in order.refunds
            if r.gateway_refund_id is None and r.status is not RefundStatus.SUBMITTING
        ), order.refunds
        # B1/B2 from Stripe alone (and our unsent SUBMITTING refunds).
        charge = self.world.stripe.charge_of(self.pi)
        reserving = sum(r["amount"] for r in gateway if r["status"] in _RESERVING_AT_STRIPE)
        reserving += sum(r.amount.minor for r in submitting)
        units = max(
            0,
            min(
                self.net.minor - reserving,
                charge["amount_captured"] - charge["amount_refunded"],
            ),
        )
        assert order.payment is not None
        assert self._refundable_units(order) == units, (self._refundable_units(order), units)
        assert self.world.service.eligibility(ORDER_ID, OWNER).refundable == self._money(units)
        if not webhooks_only:
            assert order.payment.amount_refunded.minor == charge["amount_refunded"]


TestGatewayTruth = GatewayTruth.TestCase
