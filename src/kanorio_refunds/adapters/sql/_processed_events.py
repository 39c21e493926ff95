"""``SqlProcessedEvents``: ``ports.ProcessedEvents`` on SQLAlchemy Core (L5)."""

from __future__ import annotations

from sqlalchemy import exc, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Executable

from kanorio_refunds.adapters.clock import SystemClock
from kanorio_refunds.adapters.sql._engine import Database
from kanorio_refunds.adapters.sql._errors import StorageError
from kanorio_refunds.adapters.sql._mapping import utc_instant
from kanorio_refunds.adapters.sql._schema import DEFAULT_TABLE_PREFIX, check_schema, tables_for
from kanorio_refunds.domain._ids import EventId
from kanorio_refunds.ports import Clock

__all__ = ["SqlProcessedEvents"]


class SqlProcessedEvents:
    """The ids of applied gateway events, one row each in ``<prefix>processed_events``.

    ``record`` is idempotent, also when several processes record the same event at once (an
    insert that ignores an existing id). ``recorded_at`` (from ``clock``) lets a host prune ids
    older than the gateway's redelivery window. Same engine, prefix and errors as
    ``SqlOrderRepository``.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        table_prefix: str = DEFAULT_TABLE_PREFIX,
        clock: Clock | None = None,
        verify_schema: bool = True,
    ) -> None:
        self._db = Database(engine)
        self._table = tables_for(table_prefix).processed_events
        self._clock: Clock = clock if clock is not None else SystemClock()
        if verify_schema:
            check_schema(engine, table_prefix=table_prefix)

    def __repr__(self) -> str:
        return f"SqlProcessedEvents({self._db.dialect}, table={self._table.name!r})"

    def seen(self, event_id: EventId) -> bool:
        """True when ``event_id`` was recorded."""
        t = self._table
        with self._db.transaction(write=False) as conn:
            found = conn.execute(select(t.c.event_id).where(t.c.event_id == event_id)).first()
        return found is not None

    def record(self, event_id: EventId) -> None:
        """Remember ``event_id``; recording it again (from any process) is harmless."""
        if not isinstance(event_id, str):
            raise TypeError(f"an event id is text, got {type(event_id).__name__}")
        t = self._table
        values = {
            "event_id": event_id,
            "recorded_at": utc_instant(self._clock.now(), "the clock's time"),
        }
        dialect = self._db.dialect
        if dialect == "sqlite":
            statement: Executable = sqlite.insert(t).values(values).on_conflict_do_nothing()
        elif dialect == "postgresql":
            statement = postgresql.insert(t).values(values).on_conflict_do_nothing()
        else:  # pragma: no cover - the databases this adapter is tested on are above
            statement = t.insert().values(values)
        try:
            with self._db.transaction(write=True) as conn:
                conn.execute(statement)
        except StorageError as e:  # pragma: no cover - other databases only
            # Another process recorded it first; the primary key kept one row.
            if not isinstance(e.__cause__, exc.IntegrityError):
                raise
