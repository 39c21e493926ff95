"""Test databases for the SQL adapter, and how another process opens the same one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from kanorio_refunds.adapters.sql import (
    SqlOrderRepository,
    SqlProcessedEvents,
    create_schema,
    sqlite_engine,
    tables_for,
)
from kanorio_refunds.ports import Clock


@dataclass
class Store:
    """One test database: an engine, the tables' prefix, and a URL a subprocess can open."""

    name: str
    engine: Engine
    prefix: str
    url: str
    owns_engine: bool = True

    def clear(self) -> None:
        """Empty every table (children first), so the next repository starts fresh."""
        tables = tables_for(self.prefix)
        with self.engine.begin() as conn:
            for table in reversed(tables.all):
                if table is not tables.schema_version:
                    conn.execute(table.delete())

    def repository(
        self, *, clock: Clock | None = None, cache_size: int = 1024
    ) -> SqlOrderRepository:
        """A new repository (empty cache) on this database."""
        return SqlOrderRepository(
            self.engine, table_prefix=self.prefix, clock=clock, cache_size=cache_size
        )

    def processed_events(self) -> SqlProcessedEvents:
        """A new processed-events store on this database."""
        return SqlProcessedEvents(self.engine, table_prefix=self.prefix)

    def dispose(self) -> None:
        """Close the engine's connections (when this store made the engine)."""
        if self.owns_engine:
            self.engine.dispose()


def open_engine(url: str) -> Engine:
    """The engine a (sub)process opens for ``url``: ``sqlite_engine`` for an SQLite file (WAL,
    busy timeout), a plain engine otherwise."""
    if url.startswith("sqlite:///"):
        return sqlite_engine(url.removeprefix("sqlite:///"))
    return create_engine(url, pool_pre_ping=True)


def memory_store() -> Store:
    """A fresh in-memory SQLite database (one shared connection)."""
    engine = sqlite_engine()
    create_schema(engine)
    return Store("sqlite-memory", engine, "kanorio_", "")


def file_store(path: Path, *, synchronous: str = "FULL") -> Store:
    """A fresh SQLite database file at ``path`` (WAL)."""
    engine = sqlite_engine(path, synchronous=synchronous)  # type: ignore[arg-type]
    create_schema(engine)
    return Store("sqlite-file", engine, "kanorio_", f"sqlite:///{path}")


def postgres_store(engine: Engine, prefix: str) -> Store:
    """The session's PostgreSQL tables, emptied."""
    store = Store(
        "postgres",
        engine,
        prefix,
        engine.url.render_as_string(hide_password=False),
        owns_engine=False,
    )
    store.clear()
    return store
