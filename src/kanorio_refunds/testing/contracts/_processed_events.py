"""``ProcessedEventsContract``: what the service relies on from ``ProcessedEvents`` (L5)."""

from __future__ import annotations

from kanorio_refunds.ports import ProcessedEvents


class ProcessedEventsContract:
    """The ``ProcessedEvents`` port contract, as a pytest base class.

    Subclass it in a class named ``Test...`` and define ``make_processed_events``.
    """

    def make_processed_events(self) -> ProcessedEvents:
        """A fresh, empty store of the adapter under test (called once per test)."""
        raise NotImplementedError(
            f"{type(self).__name__} must define make_processed_events() to run "
            "ProcessedEventsContract"
        )
