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

Dashboard refunds respect the same cap (a seller refunding more than they received in the
dashboard is outside what this library can prevent); everything else is arbitrary.
"""

from __future__ import annotations

import contextlib
import copy
import sys
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from kanorio_refunds import FULL, EventEffect, Money, Order, RefundError, RefundQuote, RefundStatus
from kanorio_refunds.adapters._stripe_json import parse_refund
from kanorio_refunds.adapters.stripe import parse_event
from kanorio_refunds.domain import RefundOrigin
from kanorio_refunds.domain._balance import FeePolicy, refundable_balance
from kanorio_refunds.domain._money import from_stripe_amount, stripe_step, to_stripe_amount
from kanorio_refunds.domain._payment import METADATA_REFUND_ID
from kanorio_refunds.domain._status import derive_order_status
from kanorio_refunds.testing.fake_stripe import Fault
from tests.support.gateway import Crash
from tests.support.world import ORDER_ID, OWNER, JsonDict, World

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
_REJECT_CODES = ("charge_disputed", "amount_too_large", "parameter_invalid_integer")
_FAILURE_REASONS = ("declined", "expired_or_canceled_card", "lost_or_stolen_card", None)
_REASONS = (None, "duplicate", "fraudulent", "customer_request")


class GatewayTruth(RuleBasedStateMachine):
    """Two host processes refunding one order through a hostile Stripe."""

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
    ) -> None:
        total = Money.from_minor(total_units, currency)
        # Fees are in the settlement currency; a USD order may settle in EUR (B3).
        rate = Decimal("0.9137") if settles_in_eur and currency == "USD" else None
        settlement = "EUR" if rate is not None else currency
        fee = Money.from_minor(total_units * fee_percent // 100 * 9 // 10, settlement)
        platform_fee = Money.from_minor(total_units // 100 if platform else 0, settlement)
        self.world = World.with_order(
            total=total,
            stripe_fee=fee,
            platform_fee=platform_fee,
            services=2,
            default_refund_status=default_status,
            fee_policy=policy,
            exchange_rate=rate,
        )
        self.currency = currency
        self.policy = policy
        order = self.world.order()
        assert order.payment is not None
        self.captured = order.payment.captured
        # The cap: net received (NET_OF_FEES) or the captured amount (GROSS), B1, B5.
        self.net = refundable_balance(order.payment, (), policy).net_received
        # A payment of no order, to see events for unknown orders.
        self.stray_pi: str = self.world.stripe.create_payment(
            10**6, currency.lower(), stripe_fee=0
        )["id"]
        self.quotes: list[RefundQuote] = []
        self.inbox: list[JsonDict] = []  # events emitted and not yet delivered (or redelivered)
        self.seen_events = 0
        self.forgeries = 0
        self.last: Order = order

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
        gateway = self.world.stripe_refunds()
        at_stripe = {r["metadata"].get(METADATA_REFUND_ID) for r in gateway}
        reserving: int = sum(r["amount"] for r in gateway if r["status"] in _RESERVING_AT_STRIPE)
        unsent = sum(
            to_stripe_amount(r.amount)
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
        charge = world.stripe.charge_of(world.pi())
        assert charge["amount_refunded"] <= charge["amount_captured"]
        # The cap (B1, L1, L4): no refund reserves money that is not there.
        net = to_stripe_amount(self.net)
        assert self._reserved_in_truth() <= net, (self._reserved_in_truth(), net)
        ours = sum(
            to_stripe_amount(r.amount)
            for r in order.refunds
            if r.reserves and r.origin is RefundOrigin.LOCAL
        )
        assert ours <= net, (ours, net)
        # Never two gateway refunds for one local refund, never one gateway refund twice here.
        by_local: dict[str, list[str]] = {}
        for r in world.stripe_refunds():
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
        refundable = refundable_balance(payment, order.refunds, self.policy).refundable
        assert order.status == derive_order_status(order.status, order.refunds, refundable)
        # F3: activity is append-only; versions only grow.
        assert order.activity[: len(self.last.activity)] == self.last.activity
        assert order.version >= self.last.version
        for refund in order.refunds:
            before = self.last.find_refund(refund.id)
            if before is not None:
                assert refund.events[: len(before.events)] == before.events
        assert {r.id for r in self.last.refunds} <= {r.id for r in order.refunds}
        self.last = order

    @invariant()
    def invariants_hold(self) -> None:
        if hasattr(self, "world"):
            self._check()

    # ---------------------------------------------------------------- refunding

    @rule(
        data=st.data(),
        service=st.integers(0, 1),
        full=st.integers(0, 3),
        reason=st.sampled_from(_REASONS),
    )
    def quote(self, data: st.DataObject, service: int, full: int, reason: str | None) -> None:
        amount: Any = FULL
        if full:
            amount = self._money(data.draw(st.integers(1, to_stripe_amount(self.captured))))
        try:
            quote = self.world.services[service].quote(ORDER_ID, OWNER, amount, reason)
        except RefundError:
            return
        self.quotes.append(quote)

    @precondition(lambda self: bool(self.quotes))
    @rule(data=st.data(), service=st.integers(0, 1))
    def process(self, data: st.DataObject, service: int) -> None:
        """Process any quote so far: fresh, stale, or already processed (F2, L4)."""
        quote = data.draw(st.sampled_from(self.quotes))
        self._process(quote, OWNER, service)

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
        service=st.integers(0, 1),
        fraction=st.sampled_from((None, 1, 2, 3, 5, 10)),
        reason=st.sampled_from(_REASONS),
    )
    def refund_now(self, service: int, fraction: int | None, reason: str | None) -> None:
        """Confirm and process at once: FULL, or a part of the balance (mostly, so that the
        order keeps a balance for more refunds)."""
        self._refund_now(service, fraction, reason)

    def _refund_now(self, service: int, fraction: int | None, reason: str | None) -> None:
        svc = self.world.services[service]
        try:
            amount: Any = FULL
            if fraction is not None:
                refundable = svc.eligibility(ORDER_ID, OWNER).refundable
                step = stripe_step(refundable.currency)
                units = refundable.minor // (fraction + 1) // step * step
                amount = self._money(max(units, step))
            quote = svc.quote(ORDER_ID, OWNER, amount, reason)
        except RefundError:
            return
        self.quotes.append(quote)
        self._process(quote, OWNER, service)

    @rule(data=st.data(), stray=st.booleans())
    def dashboard_refund(self, data: st.DataObject, stray: bool) -> None:
        """B4: a refund made in the Stripe dashboard, within what the seller received."""
        if stray:
            self.world.stripe.create_refund({"payment_intent": self.stray_pi, "amount": 1})
            return
        room = to_stripe_amount(self.net) - self._reserved_in_truth()
        charge = self.world.stripe.charge_of(self.world.pi())
        room = min(room, charge["amount_captured"] - charge["amount_refunded"])
        if room <= 0 or self.world.stripe.dispute_of(self.world.pi()) is not None:
            return
        units = data.draw(st.sampled_from((room, 1, max(1, room // 2))))
        params: dict[str, Any] = {"payment_intent": self.world.pi(), "amount": units}
        if data.draw(st.booleans()):
            params["reason"] = "requested_by_customer"
            params["metadata"] = {"note": "refunded by phone"}
        self.world.stripe.create_refund(params)

    # ---------------------------------------------------------------- Stripe's own life

    @precondition(
        lambda self: any(
            r["status"] in _STRIPE_MOVES for r in self.world.stripe.refunds_of(self.world.pi())
        )
    )
    @rule(data=st.data())
    def stripe_moves_a_refund(self, data: st.DataObject) -> None:
        """Asynchronous outcomes, including late failures (succeeded → failed)."""
        movable = [r for r in self.world.stripe_refunds() if r["status"] in _STRIPE_MOVES]
        refund = data.draw(st.sampled_from(movable))
        status = data.draw(st.sampled_from(_STRIPE_MOVES[refund["status"]]))
        reason = None
        if status == "failed":
            reason = data.draw(st.sampled_from(_FAILURE_REASONS))
        self.world.stripe.set_refund_status(refund["id"], status, failure_reason=reason)

    @rule(lost=st.booleans(), dice=st.integers(0, 7))
    def dispute(self, lost: bool, dice: int) -> None:
        """Open the payment's dispute (rarely: while open, and for good once lost, it blocks
        refunds), or close it (won: refundable again; lost: never)."""
        if dice:
            return
        dispute = self.world.stripe.dispute_of(self.world.pi())
        if dispute is None:
            self.world.stripe.open_dispute(self.world.pi())
        elif dispute["status"] not in ("won", "lost"):
            self.world.stripe.close_dispute(self.world.pi(), "lost" if lost else "won")

    @rule(seconds=st.sampled_from((1, 5, 60, 3600)))
    def time_passes(self, seconds: int) -> None:
        self.world.clock.advance(timedelta(seconds=seconds))

    # ---------------------------------------------------------------- the network and the host

    @rule(
        fault=st.sampled_from(_CREATE_FAULTS),
        code=st.sampled_from(_REJECT_CODES),
        read=st.booleans(),
    )
    def network_fault(self, fault: Fault, code: str, read: bool) -> None:
        """Our next Stripe call fails (a read, or a refund creation)."""
        if read:
            if fault in _READ_FAULTS:
                self.world.gateway.arm_fault("read", fault)
            return
        self.world.gateway.arm_fault("create", fault, code if fault is Fault.REJECT else None)

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
        service=st.integers(0, 1),
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
                succeeded = [r for r in self.world.stripe_refunds() if r["status"] == "succeeded"]
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

    @rule(data=st.data(), service=st.integers(0, 1), twice=st.booleans())
    def deliver_one(self, data: st.DataObject, service: int, twice: bool) -> None:
        """Deliver any undelivered event (out of order), possibly twice (L5)."""
        self._pull()
        if not self.inbox:
            return
        event = self.inbox.pop(data.draw(st.integers(0, len(self.inbox) - 1)))
        self._deliver(event, service)
        if twice:
            self._deliver(event, data.draw(st.integers(0, 1)))

    @rule(
        data=st.data(),
        service=st.integers(0, 1),
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
            and e["data"]["object"].get("payment_intent") == self.world.pi()
        ]
        if not refund_events:
            return
        self.forgeries += 1
        forged = copy.deepcopy(data.draw(st.sampled_from(refund_events)))
        forged["id"] = f"{forged['id']}_forged_{self.forgeries}"
        obj = forged["data"]["object"]
        obj["amount"] = data.draw(st.integers(1, 2 * to_stripe_amount(self.captured)))
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
        return {r["id"] for r in self.world.stripe_refunds()}

    @rule(data=st.data())
    def drop_one(self, data: st.DataObject) -> None:
        """An event is lost for good."""
        self._pull()
        if self.inbox:
            self.inbox.pop(data.draw(st.integers(0, len(self.inbox) - 1)))

    @rule(service=st.integers(0, 1), newest_first=st.booleans())
    def deliver_all(self, service: int, newest_first: bool) -> None:
        self._pull()
        inbox, self.inbox = self.inbox, []
        for event in reversed(inbox) if newest_first else inbox:
            self._deliver(event, service)

    @rule(service=st.integers(0, 1))
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

    def _assert_matches_stripe(self, order: Order) -> None:
        gateway = self.world.stripe_refunds()
        local = {r.gateway_refund_id: r for r in order.refunds if r.gateway_refund_id}
        assert not [r for r in order.refunds if r.status is RefundStatus.SUBMITTING]
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
        # Refunds we recorded without a Stripe id were never sent, so they cannot hold money.
        assert all(not r.reserves for r in order.refunds if r.gateway_refund_id is None), (
            order.refunds
        )
        # B1/B2 from Stripe alone.
        charge = self.world.stripe.charge_of(self.world.pi())
        reserving = sum(r["amount"] for r in gateway if r["status"] in _RESERVING_AT_STRIPE)
        step = stripe_step(self.captured.currency)
        units = min(
            to_stripe_amount(self.net) - reserving,
            charge["amount_captured"] - charge["amount_refunded"],
        )
        units = max(units, 0)
        expected = from_stripe_amount(units - units % step, self.captured.currency)
        assert order.payment is not None
        actual = refundable_balance(order.payment, order.refunds, self.policy).refundable
        assert actual == expected, (actual, expected)
        assert order.payment.amount_refunded == from_stripe_amount(
            charge["amount_refunded"], self.captured.currency
        )


TestGatewayTruth = GatewayTruth.TestCase
