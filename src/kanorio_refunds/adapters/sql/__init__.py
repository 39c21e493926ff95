"""The SQL adapter: orders and processed gateway events in SQLite or PostgreSQL, through
SQLAlchemy 2 Core (``pip install 'kanorio-refunds[sql]'``; PostgreSQL through psycopg 3 with
``[postgres]``).

- ``SqlOrderRepository``: ``ports.OrderRepository``. Every save is one transaction and a
  compare-and-set on the order's version, so any number of processes and app servers can share
  one database without ever refunding more than the balance (L4); a save writes what changed and
  appends what is new, so its cost does not grow with the order's history (L7).
- ``SqlProcessedEvents``: ``ports.ProcessedEvents``.
- ``metadata`` (the tables, for the host's Alembic), ``define_tables`` (the same tables in the
  host's own ``MetaData`` or with another prefix), ``create_schema`` (a quick start),
  ``stamp_schema`` (for a migration), ``check_schema``; ``SCHEMA_VERSION``.
- ``sqlite_engine``: an SQLite engine set up for several threads and processes (WAL, busy
  timeout, explicit transactions; in memory, one shared connection).
- Errors, each a ``RefundError`` with a stable code: ``SchemaMismatch`` (``schema_mismatch``),
  ``StorageUnavailable`` (``storage_unavailable``, retryable), ``StorageError``
  (``storage_error``), ``InvalidStoredData`` (``invalid_stored_data``).

Quick start::

    from kanorio_refunds.adapters.sql import (
        SqlOrderRepository, SqlProcessedEvents, create_schema, sqlite_engine,
    )
    engine = sqlite_engine("refunds.db")       # or create_engine("postgresql+psycopg://…")
    create_schema(engine)                        # once; or your Alembic migration
    orders = SqlOrderRepository(engine)
    events = SqlProcessedEvents(engine)

``import kanorio_refunds`` never imports this module (nor SQLAlchemy). docs/persistence.md
documents the tables, migrations and running on PostgreSQL.
"""

try:
    import sqlalchemy as _sqlalchemy  # noqa: F401
except ImportError as _missing:  # pragma: no cover - the extra is installed in development
    raise ImportError(
        "the SQL adapter needs SQLAlchemy 2: pip install 'kanorio-refunds[sql]' "
        "(and '[postgres]' for PostgreSQL)"
    ) from _missing

from kanorio_refunds.adapters.sql._engine import sqlite_engine
from kanorio_refunds.adapters.sql._errors import (
    InvalidStoredData,
    SchemaMismatch,
    StorageError,
    StorageUnavailable,
)
from kanorio_refunds.adapters.sql._processed_events import SqlProcessedEvents
from kanorio_refunds.adapters.sql._repository import SqlOrderRepository
from kanorio_refunds.adapters.sql._schema import (
    DEFAULT_TABLE_PREFIX,
    SCHEMA_VERSION,
    SqlTables,
    check_schema,
    create_schema,
    define_tables,
    metadata,
    stamp_schema,
    tables_for,
)

__all__ = [
    "DEFAULT_TABLE_PREFIX",
    "SCHEMA_VERSION",
    "InvalidStoredData",
    "SchemaMismatch",
    "SqlOrderRepository",
    "SqlProcessedEvents",
    "SqlTables",
    "StorageError",
    "StorageUnavailable",
    "check_schema",
    "create_schema",
    "define_tables",
    "metadata",
    "sqlite_engine",
    "stamp_schema",
    "tables_for",
]
