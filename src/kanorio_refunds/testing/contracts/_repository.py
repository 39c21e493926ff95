"""``OrderRepositoryContract``: what the service relies on from an ``OrderRepository`` (L4, L5).

Orders come back equal to what was stored (every field, nested refunds and timelines included),
versions start at 1 and move by one per save, a save from a stale read conflicts and writes
nothing (so two processes can never both act on one version), an id is added once, and orders
are found by the payment an event names. The suite uses only the port's methods.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kanorio_refunds.domain import (
    ActivityEntry,
    ActivityKind,
    ActorId,
    ChargeId,
    Currency,
    EventId,
    GatewayRefundId,
    Money,
    Order,
    OrderId,
    OrderStatus,
    PaymentIntentId,
    PaymentRecord,
    QuoteId,
    Refund,
    RefundEventEntry,
    RefundId,
    RefundOrigin,
    RefundReason,
    RefundStatus,
    SiteId,
)
from kanorio_refunds.errors import ConcurrencyConflict, OrderAlreadyExists, OrderNotFound
from kanorio_refunds.ports import OrderRepository
from kanorio_refunds.testing import strategies as kst

_T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _usd(text: str) -> Money:
    return Money.parse(text, "USD")


def _payment(n: int = 1, *, charge_only: bool = False) -> PaymentRecord:
    return PaymentRecord(
        payment_intent_id=None if charge_only else PaymentIntentId(f"pi_{n}"),
        charge_id=ChargeId(f"ch_{n}"),
        captured=_usd("100.00"),
        stripe_fee=_usd("3.20"),
        platform_fee=_usd("1.00"),
        settlement_currency=Currency.of("USD"),
        amount_refunded=_usd("0"),
    )


def _order(n: int = 1, *, payment: PaymentRecord | None = None, version: int = 0) -> Order:
    return Order(
        id=OrderId(f"ord_{n}"),
        site_id=SiteId("shop-1"),
        total=_usd("100.00"),
        status=OrderStatus.PAID,
        payment=payment if payment is not None else _payment(n),
        version=version,
    )


def _note(order: Order, text: str) -> Order:
    return order.with_activity(ActivityEntry(_T0, ActivityKind.PAYMENT_UPDATED, text))


def _rich_order() -> Order:
    """An order using every field: cross-currency payment, refunds in several states with event
    timelines, Unicode notes, revoked buyer access, an activity timeline."""
    payment = PaymentRecord(
        payment_intent_id=PaymentIntentId("pi_rich"),
        charge_id=ChargeId("ch_rich"),
        captured=_usd("100.00"),
        stripe_fee=Money.parse("2.51", "EUR"),
        platform_fee=Money.parse("0.90", "EUR"),
        settlement_currency=Currency.of("EUR"),
        amount_refunded=_usd("12.00"),
        exchange_rate=Decimal("0.912345"),
        disputed=False,
    )
    succeeded = Refund(
        id=RefundId("rf_1"),
        order_id=OrderId("ord_rich"),
        amount=_usd("10.00"),
        status=RefundStatus.SUCCEEDED,
        created_at=_T0,
        origin=RefundOrigin.LOCAL,
        reason=RefundReason.OTHER,
        notes="Café ✓ — line one\nline two\ttabbed",
        requested_by=ActorId("owner-1"),
        quote_id=QuoteId("q_1"),
        gateway_refund_id=GatewayRefundId("re_1"),
        status_as_of=_T0 + timedelta(seconds=5),
        events=(
            RefundEventEntry(
                EventId("evt_1"), "refund.created", _T0, RefundStatus.PENDING, applied=True
            ),
            RefundEventEntry(
                EventId("evt_2"),
                "refund.updated",
                _T0 + timedelta(seconds=5),
                RefundStatus.SUCCEEDED,
                applied=True,
            ),
        ),
    )
    failed = Refund(
        id=RefundId("rf_2"),
        order_id=OrderId("ord_rich"),
        amount=_usd("5.00"),
        status=RefundStatus.FAILED,
        created_at=_T0 + timedelta(minutes=1),
        origin=RefundOrigin.EXTERNAL,
        gateway_refund_id=GatewayRefundId("re_2"),
        failure_reason="expired_or_canceled_card",
    )
    submitting = Refund(
        id=RefundId("rf_3"),
        order_id=OrderId("ord_rich"),
        amount=_usd("2.00"),
        status=RefundStatus.SUBMITTING,
        created_at=_T0 + timedelta(minutes=2),
        origin=RefundOrigin.LOCAL,
        reason=RefundReason.DUPLICATE,
        # N3's longest notes, in characters that take four bytes each in UTF-8.
        notes="🙂" * 500,
        requested_by=ActorId("admin-1"),
        quote_id=QuoteId("q_3"),
    )
    return Order(
        id=OrderId("ord_rich"),
        site_id=SiteId("shop-1"),
        total=_usd("100.00"),
        status=OrderStatus.PARTIALLY_REFUNDED,
        payment=payment,
        refunds=(succeeded, failed, submitting),
        buyer_access=False,
        activity=(
            ActivityEntry(
                _T0,
                ActivityKind.REFUND_REQUESTED,
                "owner-1 requested 10.00 USD",
                actor_id=ActorId("owner-1"),
                refund_id=RefundId("rf_1"),
            ),
            ActivityEntry(
                _T0 + timedelta(minutes=3),
                ActivityKind.BUYER_ACCESS_REVOKED,
                "admin-1 revoked buyer access",
                actor_id=ActorId("admin-1"),
            ),
        ),
    )


def _orders_with_every_enum_value() -> list[Order]:
    """One order per order status; between them, refunds in every status, origin and reason
    (and none), event entries with and without a status, applied or not, and an activity entry
    of every kind. Built from the enums, so a value added to the domain is covered at once."""
    refund_statuses = list(RefundStatus)
    reasons: list[RefundReason | None] = [*RefundReason, None]
    origins = list(RefundOrigin)
    kinds = list(ActivityKind)
    orders = []
    for n, status in enumerate(OrderStatus):
        order_id = OrderId(f"ord_enum_{n}")
        refunds = tuple(
            Refund(
                id=RefundId(f"rf_{n}_{i}"),
                order_id=order_id,
                amount=_usd("1.00"),
                status=refund_status,
                created_at=_T0 + timedelta(seconds=i),
                origin=origins[(n + i) % len(origins)],
                reason=reasons[(n + i) % len(reasons)],
                events=(
                    RefundEventEntry(
                        EventId(f"evt_{n}_{i}"),
                        "refund.updated",
                        _T0 + timedelta(seconds=i),
                        None if i % 2 else refund_status,
                        applied=i % 3 != 0,
                    ),
                ),
            )
            for i, refund_status in enumerate(refund_statuses)
        )
        activity = tuple(
            ActivityEntry(_T0 + timedelta(seconds=i), kind, f"{kind.value} on {status.value}")
            for i, kind in enumerate(kinds)
        )
        orders.append(
            Order(
                id=order_id,
                site_id=SiteId("shop-1"),
                total=_usd("100.00"),
                status=status,
                payment=None if status is OrderStatus.PENDING else _payment(100 + n),
                refunds=refunds,
                buyer_access=n % 2 == 0,
                activity=activity,
            )
        )
    return orders


# ------------------------------------------------------------------ generated orders

# Every strategy is built once, here: building them inside a draw makes Hypothesis validate
# them again on every example, which made generating (and shrinking a failure) slow.

# Text a host's order may carry: any Unicode but control characters and lone surrogates
# (which no JSON or SQL text column can hold, and which the domain never produces).
_TEXT = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=30)
# Ids as hosts and Stripe make them; drawn from numbers, so a failure shrinks fast.
_IDS = st.integers(min_value=0, max_value=10**9).map(lambda n: f"id_{n}")
# Aware UTC times with microseconds, as ``Clock.now()`` gives them (from numbers, for speed).
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MOMENTS = st.integers(min_value=0, max_value=100 * 366 * 86_400 * 10**6).map(
    lambda microseconds: _EPOCH + timedelta(microseconds=microseconds)
)
_MINOR_UNITS = st.integers(min_value=1, max_value=10**12)
_EVENTS = st.lists(
    st.builds(
        RefundEventEntry,
        _IDS.map(EventId),
        st.sampled_from(["refund.created", "refund.updated", "refund.failed", "charge.refunded"]),
        _MOMENTS,
        st.none() | st.sampled_from(RefundStatus),
        st.booleans(),
    ),
    max_size=2,
).map(tuple)
_ACTIVITY = st.lists(
    st.builds(
        ActivityEntry,
        _MOMENTS,
        st.sampled_from(ActivityKind),
        _TEXT,
        st.none() | _IDS.map(ActorId),
        st.none() | _IDS.map(RefundId),
    ),
    max_size=3,
).map(tuple)
# A refund of no order yet, in USD: ``_ORDERS`` gives it its order's id and currency.
_REFUND_DRAFTS = st.builds(
    Refund,
    id=_IDS.map(RefundId),
    order_id=st.just(OrderId("")),
    amount=_MINOR_UNITS.map(lambda minor: Money(minor, Currency.of("USD"))),
    status=st.sampled_from(RefundStatus),
    created_at=_MOMENTS,
    origin=st.sampled_from(RefundOrigin),
    reason=kst.refund_reasons(),
    # Short notes keep generation fast; the longest notes N3 allows are in ``_rich_order``.
    notes=kst.valid_notes(max_size=40),
    requested_by=st.none() | _IDS.map(ActorId),
    quote_id=st.none() | _IDS.map(QuoteId),
    gateway_refund_id=st.none() | _IDS.map(GatewayRefundId),
    failure_reason=st.none() | _TEXT,
    status_as_of=st.none() | _MOMENTS,
    events=_EVENTS,
)
_CURRENCIES = kst.currencies()
_RATES = kst.exchange_rates()
_SETTLEMENTS = st.none() | _CURRENCIES  # none: settled in the presentment currency
_PAYMENT_IDS = st.sampled_from(["both", "payment_intent", "charge"])
_BOOLEANS = st.booleans()
_ORDER_STATUSES = st.sampled_from(OrderStatus)
_VERSIONS = st.integers(min_value=0, max_value=5)
_REFUND_LISTS = st.lists(_REFUND_DRAFTS, max_size=2, unique_by=lambda r: r.id)


@st.composite
def _draw_payment(draw: st.DrawFn) -> PaymentRecord:
    """A payment, maybe settled in another currency at an exact Decimal rate, known by its
    PaymentIntent, its Charge or both (valid or not: the repository only keeps it)."""
    captured = Money(draw(_MINOR_UNITS), draw(_CURRENCIES))
    settlement = draw(_SETTLEMENTS) or captured.currency
    pi, ch, ids = draw(_IDS), draw(_IDS), draw(_PAYMENT_IDS)
    return PaymentRecord(
        payment_intent_id=PaymentIntentId(f"pi_{pi}") if ids != "charge" else None,
        charge_id=ChargeId(f"ch_{ch}") if ids != "payment_intent" else None,
        captured=captured,
        stripe_fee=Money(draw(_MINOR_UNITS), settlement),
        platform_fee=Money(draw(_MINOR_UNITS), settlement),
        settlement_currency=settlement,
        amount_refunded=Money(draw(_MINOR_UNITS), captured.currency),
        exchange_rate=draw(_RATES) if settlement != captured.currency else None,
        disputed=draw(_BOOLEANS),
    )


_PAYMENTS = st.none() | _draw_payment()


@st.composite
def _draw_order(draw: st.DrawFn) -> Order:
    record = draw(_PAYMENTS)
    total = record.captured if record is not None else Money(draw(_MINOR_UNITS), draw(_CURRENCIES))
    drafts = draw(_REFUND_LISTS)
    return Order(
        id=OrderId(""),
        site_id=SiteId(draw(_IDS)),
        total=total,
        status=draw(_ORDER_STATUSES),
        payment=record,
        refunds=tuple(
            attrs.evolve(r, amount=Money(r.amount.minor, total.currency)) for r in drafts
        ),
        buyer_access=draw(_BOOLEANS),
        activity=draw(_ACTIVITY),
        version=draw(_VERSIONS),
    )


#: Any order a host may store: any currency, a cross-currency payment (exact Decimal rate) or
#: none, refunds with event timelines, an activity timeline, Unicode text. Its id is blank:
#: ``_stored_as`` gives it one.
_ORDERS = _draw_order()


def _stored_as(order: Order, order_id: OrderId) -> Order:
    """``order`` under ``order_id``, its refunds too."""
    refunds = tuple(attrs.evolve(r, order_id=order_id) for r in order.refunds)
    return attrs.evolve(order, id=order_id, refunds=refunds)


class OrderRepositoryContract:
    """The ``OrderRepository`` port contract, as a pytest base class.

    Subclass it in a class named ``Test...`` and define ``make_repository``; pytest runs every
    ``test_*`` method below against your repository. The ``repository`` fixture is a fresh one.
    """

    def make_repository(self) -> OrderRepository:
        """A fresh, empty repository of the adapter under test (called once per test, and once
        per example in property tests)."""
        raise NotImplementedError(
            f"{type(self).__name__} must define make_repository() to run OrderRepositoryContract"
        )

    @pytest.fixture
    def repository(self) -> OrderRepository:
        """A fresh, empty repository of the adapter under test."""
        return self.make_repository()

    # -------------------------------------------------------------- add and get

    def test_get_of_an_unknown_order_is_order_not_found(self, repository: OrderRepository) -> None:
        """An id nobody added is ``OrderNotFound`` (code ``order_not_found``)."""
        with pytest.raises(OrderNotFound) as info:
            repository.get(OrderId("ord_missing"))
        assert info.value.code == "order_not_found"

    def test_add_stores_version_one_and_get_returns_an_equal_order(
        self, repository: OrderRepository
    ) -> None:
        """L4: a new order is stored at version 1 (whatever version it came with) and read back
        equal, field for field."""
        added = repository.add(_order(version=7))

        assert added.version == 1
        assert added == attrs.evolve(_order(), version=1)
        assert repository.get(OrderId("ord_1")) == added

    def test_adding_an_existing_id_is_refused_and_keeps_the_first(
        self, repository: OrderRepository
    ) -> None:
        """An id is added once; a second add is ``OrderAlreadyExists`` (code
        ``order_already_exists``) and changes nothing."""
        first = repository.add(_order())

        with pytest.raises(OrderAlreadyExists) as info:
            repository.add(_note(attrs.evolve(_rich_order(), id=first.id), "second"))

        assert info.value.code == "order_already_exists"
        assert repository.get(first.id) == first

    # -------------------------------------------------------------- round trips (F3)

    def test_every_field_round_trips(self, repository: OrderRepository) -> None:
        """F3: refunds (statuses, reasons, Unicode notes, event timelines, failure reasons),
        the cross-currency payment (exact exchange rate), buyer access and the activity timeline
        all come back equal."""
        order = _rich_order()

        added = repository.add(order)
        saved = repository.save(attrs.evolve(added, buyer_access=True), 1)

        assert added == attrs.evolve(order, version=1)
        assert repository.get(order.id) == saved
        assert saved.version == 2
        assert saved.buyer_access is True
        got = repository.get(order.id)
        assert got.payment is not None
        assert got.payment.exchange_rate == Decimal("0.912345")
        assert isinstance(got.payment.exchange_rate, Decimal)
        assert got.refunds[0].events == order.refunds[0].events
        assert got.refunds[0].notes == order.refunds[0].notes

    def test_every_enum_value_round_trips(self, repository: OrderRepository) -> None:
        """F3: every order status, refund status, origin and reason (and no reason), event
        entries with or without a status, and every activity kind come back as they went in;
        orders stored side by side keep their own refunds and timelines."""
        orders = _orders_with_every_enum_value()

        added = [repository.add(order) for order in orders]

        assert added == [attrs.evolve(order, version=1) for order in orders]
        assert [repository.get(order.id) for order in orders] == added
        statuses = {r.status for order in added for r in order.refunds}
        assert statuses == set(RefundStatus)
        assert {e.kind for order in added for e in order.activity} == set(ActivityKind)

    @settings(
        deadline=None,  # a real database may take its time; equality is what is checked
        # The same property runs once per subclass (each adapter); that is intended.
        suppress_health_check=[HealthCheck.differing_executors, HealthCheck.too_slow],
    )
    @given(number=_IDS, first=_ORDERS, second=_ORDERS)
    def test_any_order_round_trips_through_add_and_save(
        self, number: str, first: Order, second: Order
    ) -> None:
        """F3, L4: any order (any currency, a cross-currency payment with its exact Decimal rate,
        refunds with timelines, Unicode text that is not normalised) is stored by ``add`` at
        version 1 and by ``save`` at version 2, and read back equal each time."""
        repository = self.make_repository()
        order_id = OrderId(f"ord_{number}")
        order, change = _stored_as(first, order_id), _stored_as(second, order_id)

        added = repository.add(order)
        assert added == attrs.evolve(order, version=1)
        assert repository.get(order_id) == added

        saved = repository.save(change, 1)
        assert saved == attrs.evolve(change, version=2)
        assert repository.get(order_id) == saved

    # -------------------------------------------------------------- versioned saves (L4)

    def test_save_with_the_current_version_moves_it_by_one(
        self, repository: OrderRepository
    ) -> None:
        """L4: save(order, expected_version) stores expected_version + 1 and returns what it
        stored."""
        stored = repository.add(_order())

        saved = repository.save(_note(stored, "one"), stored.version)
        again = repository.save(_note(saved, "two"), saved.version)

        assert (saved.version, again.version) == (2, 3)
        assert repository.get(stored.id) == again
        assert [a.message for a in again.activity] == ["one", "two"]

    def test_save_with_a_stale_version_conflicts_and_writes_nothing(
        self, repository: OrderRepository
    ) -> None:
        """L4: a save from an out-of-date read is ``ConcurrencyConflict`` (retryable, code
        ``concurrency_conflict``) and stores nothing, not even part of the order (its refunds,
        timeline or payment); a replay of a save that already happened conflicts too (that is
        how double submits show), and so does a version from the future."""
        stored = repository.add(_order())
        changed = repository.save(_note(stored, "winner"), 1)
        rich = _rich_order()
        loser = attrs.evolve(
            rich,
            id=stored.id,
            refunds=tuple(attrs.evolve(r, order_id=stored.id) for r in rich.refunds),
        )

        with pytest.raises(ConcurrencyConflict) as info:
            repository.save(loser, 1)
        assert info.value.code == "concurrency_conflict"
        assert info.value.retryable is True
        with pytest.raises(ConcurrencyConflict):
            repository.save(_note(stored, "winner"), 1)
        with pytest.raises(ConcurrencyConflict):
            repository.save(changed, 5)

        assert repository.get(stored.id) == changed
        assert repository.find_by_payment(PaymentIntentId("pi_rich"), None) is None
        assert repository.find_by_payment(PaymentIntentId("pi_1"), None) == changed

    def test_saving_an_order_never_added_is_order_not_found(
        self, repository: OrderRepository
    ) -> None:
        """``save`` changes stored orders only; an unknown one is ``OrderNotFound`` and is not
        created."""
        with pytest.raises(OrderNotFound):
            repository.save(_order(), 0)
        with pytest.raises(OrderNotFound):
            repository.save(_order(), 1)
        with pytest.raises(OrderNotFound):
            repository.get(OrderId("ord_1"))
        assert repository.find_by_payment(PaymentIntentId("pi_1"), None) is None

    def test_concurrent_saves_of_one_version_let_exactly_one_win(
        self, repository: OrderRepository
    ) -> None:
        """L4: many threads saving from the same version: exactly one succeeds, every other one
        conflicts, and the stored order is the winner's."""
        stored = repository.add(_order())
        threads_count = 16
        barrier = threading.Barrier(threads_count)
        wins: list[Order] = []
        conflicts: list[int] = []
        lock = threading.Lock()

        def attempt(i: int) -> None:
            candidate = _note(stored, f"writer {i}")
            barrier.wait()
            try:
                result = repository.save(candidate, stored.version)
            except ConcurrencyConflict:
                with lock:
                    conflicts.append(i)
            else:
                with lock:
                    wins.append(result)

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        assert len(wins) == 1
        assert len(conflicts) == threads_count - 1
        assert repository.get(stored.id) == wins[0]
        assert wins[0].version == 2

    def test_concurrent_read_modify_save_loses_no_update(self, repository: OrderRepository) -> None:
        """L4: threads doing read, change, save (retrying on conflict) lose no update: every
        change is in the final order and the version moved once per save."""
        stored = repository.add(_order())
        per_thread, threads_count = 25, 4

        def work(name: str) -> None:
            for i in range(per_thread):
                while True:
                    current = repository.get(stored.id)
                    try:
                        repository.save(_note(current, f"{name}-{i}"), current.version)
                        break
                    except ConcurrencyConflict:
                        continue

        threads = [threading.Thread(target=work, args=(f"t{n}",)) for n in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        final = repository.get(stored.id)
        assert len(final.activity) == threads_count * per_thread
        assert len({a.message for a in final.activity}) == threads_count * per_thread
        assert final.version == 1 + threads_count * per_thread

    # -------------------------------------------------------------- lookups (L5)

    def test_find_by_payment(self, repository: OrderRepository) -> None:
        """L5: an event names a payment; the order is found by its PaymentIntent or its Charge,
        and an unknown payment finds nothing."""
        by_pi = repository.add(_order(1))
        by_charge = repository.add(_order(2, payment=_payment(2, charge_only=True)))
        repository.add(attrs.evolve(_order(3), payment=None, status=OrderStatus.PENDING))

        assert repository.find_by_payment(PaymentIntentId("pi_1"), None) == by_pi
        assert repository.find_by_payment(None, ChargeId("ch_1")) == by_pi
        assert repository.find_by_payment(PaymentIntentId("pi_1"), ChargeId("ch_1")) == by_pi
        assert repository.find_by_payment(None, ChargeId("ch_2")) == by_charge
        assert (
            repository.find_by_payment(PaymentIntentId("pi_other"), ChargeId("ch_2")) == by_charge
        )
        assert repository.find_by_payment(PaymentIntentId("pi_9"), ChargeId("ch_9")) is None
        assert repository.find_by_payment(None, None) is None

    def test_find_by_payment_sees_the_latest_version(self, repository: OrderRepository) -> None:
        """L5: lookups return the stored (latest) order, not an older copy."""
        stored = repository.add(_order())
        saved = repository.save(_note(stored, "changed"), 1)

        assert repository.find_by_payment(PaymentIntentId("pi_1"), None) == saved
        assert repository.find_by_payment(None, ChargeId("ch_1")) == saved

    def test_lookups_follow_the_payment_a_save_stores(self, repository: OrderRepository) -> None:
        """L5: an order added before it was paid is found by its payment once a save records
        it, and by its new payment only once a save replaces it."""
        pending = repository.add(attrs.evolve(_order(1), payment=None, status=OrderStatus.PENDING))
        assert repository.find_by_payment(PaymentIntentId("pi_1"), ChargeId("ch_1")) is None

        paid = repository.save(
            attrs.evolve(pending, payment=_payment(1), status=OrderStatus.PAID), 1
        )
        assert repository.find_by_payment(PaymentIntentId("pi_1"), None) == paid
        assert repository.find_by_payment(None, ChargeId("ch_1")) == paid

        moved = repository.save(attrs.evolve(paid, payment=_payment(7)), 2)
        assert repository.find_by_payment(PaymentIntentId("pi_7"), None) == moved
        assert repository.find_by_payment(None, ChargeId("ch_7")) == moved
        assert repository.find_by_payment(PaymentIntentId("pi_1"), ChargeId("ch_1")) is None
