"""``ProcessedEventsContract``: what the service relies on from ``ProcessedEvents`` (L5).

Gateways deliver events at least once, and sometimes the same event twice at the same moment:
an event id is unseen until recorded and seen afterwards, recording is idempotent (also when
two deliveries record it at once), and ids are compared exactly.
"""

from __future__ import annotations

import threading

import pytest

from kanorio_refunds.domain import EventId
from kanorio_refunds.ports import ProcessedEvents


class ProcessedEventsContract:
    """The ``ProcessedEvents`` port contract, as a pytest base class.

    Subclass it in a class named ``Test...`` and define ``make_processed_events``; pytest runs
    every ``test_*`` method below against your store. The ``processed_events`` fixture is a
    fresh one.
    """

    def make_processed_events(self) -> ProcessedEvents:
        """A fresh, empty store of the adapter under test (called once per test)."""
        raise NotImplementedError(
            f"{type(self).__name__} must define make_processed_events() to run "
            "ProcessedEventsContract"
        )

    @pytest.fixture
    def processed_events(self) -> ProcessedEvents:
        """A fresh, empty store of the adapter under test."""
        return self.make_processed_events()

    def test_an_event_is_unseen_until_recorded(self, processed_events: ProcessedEvents) -> None:
        """L5: a fresh store has seen nothing; once an id is recorded it is seen, and looking
        does not record it."""
        assert processed_events.seen(EventId("evt_1")) is False
        assert processed_events.seen(EventId("evt_1")) is False

        processed_events.record(EventId("evt_1"))

        assert processed_events.seen(EventId("evt_1")) is True

    def test_recording_twice_is_harmless(self, processed_events: ProcessedEvents) -> None:
        """L5: recording an id again (a redelivery) raises nothing and the id stays seen."""
        processed_events.record(EventId("evt_1"))
        processed_events.record(EventId("evt_1"))

        assert processed_events.seen(EventId("evt_1")) is True
        assert processed_events.seen(EventId("evt_2")) is False

    def test_ids_are_kept_distinct(self, processed_events: ProcessedEvents) -> None:
        """L5: recording one id marks no other, however alike: prefixes, extensions and other
        letter cases are other events (Stripe's ids are case-sensitive)."""
        processed_events.record(EventId("evt_1AbC"))

        assert processed_events.seen(EventId("evt_1AbC")) is True
        for other in ("evt_1", "evt_1AbCd", "evt_1abc", "EVT_1ABC", "evt_1AbC ", "evt_%"):
            assert processed_events.seen(EventId(other)) is False, other

    def test_many_ids_are_remembered(self, processed_events: ProcessedEvents) -> None:
        """L5: every recorded id is seen, none of the others."""
        recorded = [EventId(f"evt_{n:04d}") for n in range(0, 200, 2)]
        for event_id in recorded:
            processed_events.record(event_id)

        assert all(processed_events.seen(e) for e in recorded)
        assert not any(processed_events.seen(EventId(f"evt_{n:04d}")) for n in range(1, 200, 2))

    def test_concurrent_records_of_one_id_all_succeed(
        self, processed_events: ProcessedEvents
    ) -> None:
        """L5: two deliveries of one event recorded at the same moment (two webhook workers)
        both succeed: recording is idempotent under a race too (no unique-key error escapes)."""
        threads_count = 8
        barrier = threading.Barrier(threads_count)
        errors: list[Exception] = []
        lock = threading.Lock()

        def record() -> None:
            barrier.wait()
            try:
                processed_events.record(EventId("evt_race"))
            except Exception as error:  # reported below, with the failing assertion
                with lock:
                    errors.append(error)

        threads = [threading.Thread(target=record) for _ in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        assert errors == []
        assert processed_events.seen(EventId("evt_race")) is True
