"""``InMemoryProcessedEvents`` runs the shipped ``ProcessedEventsContract`` (L5), the suite a host
runs on its own store (docs/usage.md)."""

from __future__ import annotations

from kanorio_refunds.adapters.memory import InMemoryProcessedEvents
from kanorio_refunds.ports import ProcessedEvents
from kanorio_refunds.testing.contracts import ProcessedEventsContract


class TestInMemoryProcessedEvents(ProcessedEventsContract):
    """The in-memory store keeps every promise of the ``ProcessedEvents`` port."""

    def make_processed_events(self) -> ProcessedEvents:
        """A fresh, empty ``InMemoryProcessedEvents``."""
        return InMemoryProcessedEvents()
