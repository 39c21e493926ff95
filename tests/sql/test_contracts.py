"""L4, L5, L7: the shipped port contract suites, unchanged, on SQLite in memory, on an SQLite
file and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest

from kanorio_refunds.ports import OrderRepository, ProcessedEvents
from kanorio_refunds.testing.contracts import OrderRepositoryContract, ProcessedEventsContract
from tests.sql.support import Store, file_store, memory_store, postgres_store


class _OnStore:
    """One database per test class; each ``make_*`` empties it and returns a new adapter
    (with an empty cache), which is a fresh, empty store as the contracts ask."""

    kind: ClassVar[str]
    store: ClassVar[Store]

    @pytest.fixture(autouse=True, scope="class")
    @classmethod
    def _database(
        cls, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[None]:
        # Class-scoped: Hypothesis refuses function-scoped fixtures around property tests.
        if cls.kind == "memory":
            store = memory_store()
        elif cls.kind == "file":
            store = file_store(tmp_path_factory.mktemp("sql") / "orders.db", synchronous="NORMAL")
        else:
            store = postgres_store(
                request.getfixturevalue("pg_engine"), request.getfixturevalue("pg_prefix")
            )
        cls.store = store
        yield
        store.dispose()

    def fresh(self) -> Store:
        store = type(self).store
        store.clear()
        return store


class TestSqliteMemoryRepository(_OnStore, OrderRepositoryContract):
    kind = "memory"

    def make_repository(self) -> OrderRepository:
        return self.fresh().repository()


class TestSqliteFileRepository(_OnStore, OrderRepositoryContract):
    kind = "file"

    def make_repository(self) -> OrderRepository:
        return self.fresh().repository()


class TestPostgresRepository(_OnStore, OrderRepositoryContract):
    kind = "postgres"

    def make_repository(self) -> OrderRepository:
        return self.fresh().repository()


class TestSqliteMemoryProcessedEvents(_OnStore, ProcessedEventsContract):
    kind = "memory"

    def make_processed_events(self) -> ProcessedEvents:
        return self.fresh().processed_events()


class TestSqliteFileProcessedEvents(_OnStore, ProcessedEventsContract):
    kind = "file"

    def make_processed_events(self) -> ProcessedEvents:
        return self.fresh().processed_events()


class TestPostgresProcessedEvents(_OnStore, ProcessedEventsContract):
    kind = "postgres"

    def make_processed_events(self) -> ProcessedEvents:
        return self.fresh().processed_events()
