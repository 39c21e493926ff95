"""The tables, their documented columns, and the schema version check.

One row per order (``<prefix>orders``), one per refund (``<prefix>refunds``), one per entry of
a refund's gateway event timeline (``<prefix>refund_events``) and one per activity entry
(``<prefix>activity``), so that a save writes what changed and appends what is new instead of
rewriting an order's whole history (L7). ``<prefix>processed_events`` holds applied gateway
event ids (L5); ``<prefix>schema_version`` holds the one row that says which layout this is.

Money is an integer of minor units beside its ISO 4217 code (never a float: M1); the exchange
rate is exact decimal text; times are UTC instants. docs/persistence.md documents every column.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from typing import Any, Final

import attrs
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    inspect,
    select,
)
from sqlalchemy.engine import Connection, Engine

from kanorio_refunds.adapters.clock import SystemClock
from kanorio_refunds.adapters.sql._engine import translate_errors
from kanorio_refunds.adapters.sql._errors import InvalidStoredData, SchemaMismatch

__all__ = [
    "DEFAULT_TABLE_PREFIX",
    "SCHEMA_VERSION",
    "SqlTables",
    "check_schema",
    "create_schema",
    "define_tables",
    "metadata",
    "stamp_schema",
    "tables_for",
]

#: The prefix of every table name unless the host chooses another.
DEFAULT_TABLE_PREFIX: Final = "kanorio_"

#: The layout this release reads and writes. A database stamped with another version is refused
#: (``SchemaMismatch``) rather than read wrongly; each change of layout comes with a migration.
SCHEMA_VERSION: Final = 2

# Lower-case ASCII so the names need no quoting on any database; at most 30 characters so the
# longest index name stays within PostgreSQL's 63-character identifiers.
_PREFIX: Final = re.compile(r"[a-z][a-z0-9_]{0,29}|")


class UtcDateTime(TypeDecorator[datetime]):
    """A UTC instant: ``timestamp with time zone`` on PostgreSQL; on SQLite, text
    ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC (which sorts in time order).

    Values are checked and converted to UTC before they are bound (``_mapping._utc``); read
    back, they are aware UTC datetimes whatever the session's time zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise InvalidStoredData(f"a time column holds {value!r}, not a time")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _id() -> Text:
    return Text()


def _code() -> String:
    return String(40)


def _currency() -> String:
    return String(3)


def _minor() -> BigInteger:
    return BigInteger()


@attrs.frozen
class SqlTables:
    """The adapter's tables for one prefix, in ``metadata``."""

    prefix: str
    metadata: MetaData
    schema_version: Table
    orders: Table
    refunds: Table
    refund_events: Table
    activity: Table
    processed_events: Table

    @property
    def all(self) -> tuple[Table, ...]:
        """Every table, parents before children."""
        return (
            self.schema_version,
            self.orders,
            self.refunds,
            self.refund_events,
            self.activity,
            self.processed_events,
        )


def _check_prefix(table_prefix: str) -> str:
    if not isinstance(table_prefix, str) or not _PREFIX.fullmatch(table_prefix):
        raise ValueError(
            f"table_prefix must be empty or lower-case ASCII letters, digits and underscores "
            f"starting with a letter, at most 30 characters; got {table_prefix!r}"
        )
    return table_prefix


def define_tables(
    metadata: MetaData | None = None, *, table_prefix: str = DEFAULT_TABLE_PREFIX
) -> SqlTables:
    """Define the adapter's tables in ``metadata`` (a new ``MetaData`` by default).

    A host that keeps one ``MetaData`` for its Alembic migrations passes its own, so
    ``alembic revision --autogenerate`` sees these tables beside the host's.
    """
    p = _check_prefix(table_prefix)
    md = metadata if metadata is not None else MetaData()

    schema_version = Table(
        f"{p}schema_version",
        md,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("version", Integer, nullable=False),
        Column("stamped_at", UtcDateTime, nullable=True),
        comment="The kanorio_refunds storage layout of this database: one row, id 1.",
    )
    orders = Table(
        f"{p}orders",
        md,
        Column("id", _id(), primary_key=True),
        Column("site_id", _id(), nullable=False),
        Column("status", _code(), nullable=False),
        Column("currency", _currency(), nullable=False),
        Column("total_minor", _minor(), nullable=False),
        Column("buyer_access", Boolean, nullable=False),
        Column("version", Integer, nullable=False),
        Column("refund_count", Integer, nullable=False),
        Column("refunds_in_progress", Integer, nullable=False),
        Column("activity_count", Integer, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
        # Changes on every write; lets a repository trust what it read earlier only while the
        # stored row is still that very write (L7: the cost of a save stays flat).
        Column("write_id", String(32), nullable=False),
        Column("has_payment", Boolean, nullable=False),
        Column("payment_intent_id", _id(), nullable=True),
        Column("charge_id", _id(), nullable=True),
        Column("payment_captured_minor", _minor(), nullable=True),
        Column("payment_captured_currency", _currency(), nullable=True),
        Column("payment_stripe_fee_minor", _minor(), nullable=True),
        Column("payment_stripe_fee_currency", _currency(), nullable=True),
        Column("payment_platform_fee_minor", _minor(), nullable=True),
        Column("payment_platform_fee_currency", _currency(), nullable=True),
        Column("payment_settlement_currency", _currency(), nullable=True),
        Column("payment_amount_refunded_minor", _minor(), nullable=True),
        Column("payment_amount_refunded_currency", _currency(), nullable=True),
        # Exact decimal text ("0.912345"), never a float.
        Column("payment_exchange_rate", Text, nullable=True),
        Column("payment_disputed", Boolean, nullable=True),
        comment="One row per kanorio_refunds order; the money columns are minor units.",
    )
    Index(f"{p}orders_site_updated_ix", orders.c.site_id, orders.c.updated_at)
    Index(f"{p}orders_updated_ix", orders.c.updated_at)
    Index(f"{p}orders_payment_intent_ix", orders.c.payment_intent_id)
    Index(f"{p}orders_charge_ix", orders.c.charge_id)
    # O2: the Transactions list, newest first, per site (keyset on created_at, id), by status
    # and with refunds in progress; I2: the orders a periodic sync reads. Partial indexes stay
    # as small as the orders they list.
    Index(f"{p}orders_site_created_ix", orders.c.site_id, orders.c.created_at, orders.c.id)
    Index(
        f"{p}orders_site_status_ix",
        orders.c.site_id,
        orders.c.status,
        orders.c.created_at,
        orders.c.id,
    )
    in_progress = orders.c.refunds_in_progress > 0
    Index(
        f"{p}orders_site_progress_ix",
        orders.c.site_id,
        orders.c.created_at,
        orders.c.id,
        postgresql_where=in_progress,
        sqlite_where=in_progress,
    )
    needs_sync = (orders.c.refunds_in_progress > 0) | (orders.c.status == "pending")
    Index(
        f"{p}orders_needs_sync_ix",
        orders.c.id,
        postgresql_where=needs_sync,
        sqlite_where=needs_sync,
    )

    refunds = Table(
        f"{p}refunds",
        md,
        Column("order_id", _id(), nullable=False),
        Column("position", Integer, nullable=False),
        Column("id", _id(), nullable=False),
        # The refund's own order id when it is not the order's (never, for orders the library
        # builds): NULL otherwise.
        Column("refund_order_id", _id(), nullable=True),
        Column("amount_minor", _minor(), nullable=False),
        Column("currency", _currency(), nullable=False),
        Column("status", _code(), nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("origin", _code(), nullable=False),
        Column("reason", _code(), nullable=True),
        Column("notes", Text, nullable=False),
        Column("requested_by", _id(), nullable=True),
        Column("quote_id", _id(), nullable=True),
        Column("gateway_refund_id", _id(), nullable=True),
        Column("failure_reason", Text, nullable=True),
        Column("status_as_of", UtcDateTime, nullable=True),
        PrimaryKeyConstraint("order_id", "position", name=f"{p}refunds_pk"),
        ForeignKeyConstraint(
            ["order_id"], [orders.c.id], ondelete="CASCADE", name=f"{p}refunds_order_fk"
        ),
        comment="One row per refund of an order, in the order's refund order (position).",
    )
    Index(f"{p}refunds_id_ix", refunds.c.id)
    Index(f"{p}refunds_status_ix", refunds.c.status)
    Index(f"{p}refunds_gateway_ix", refunds.c.gateway_refund_id)

    refund_events = Table(
        f"{p}refund_events",
        md,
        Column("order_id", _id(), nullable=False),
        Column("refund_position", Integer, nullable=False),
        Column("position", Integer, nullable=False),
        Column("event_id", _id(), nullable=False),
        Column("type", Text, nullable=False),
        Column("occurred_at", UtcDateTime, nullable=False),
        Column("status", _code(), nullable=True),
        Column("applied", Boolean, nullable=False),
        PrimaryKeyConstraint(
            "order_id", "refund_position", "position", name=f"{p}refund_events_pk"
        ),
        ForeignKeyConstraint(
            ["order_id", "refund_position"],
            [refunds.c.order_id, refunds.c.position],
            ondelete="CASCADE",
            name=f"{p}refund_events_refund_fk",
        ),
        comment="A refund's gateway event timeline (F3), oldest first (position).",
    )
    activity = Table(
        f"{p}activity",
        md,
        Column("order_id", _id(), nullable=False),
        Column("position", Integer, nullable=False),
        Column("at", UtcDateTime, nullable=False),
        Column("kind", _code(), nullable=False),
        Column("message", Text, nullable=False),
        Column("actor_id", _id(), nullable=True),
        Column("refund_id", _id(), nullable=True),
        # O1: the entry's global position in the feed (1, 2, 3, …), given in the save that
        # stores it, under a lock that makes positions visible in order (docs/persistence.md).
        Column("feed_position", BigInteger, nullable=False),
        PrimaryKeyConstraint("order_id", "position", name=f"{p}activity_pk"),
        ForeignKeyConstraint(
            ["order_id"], [orders.c.id], ondelete="CASCADE", name=f"{p}activity_order_fk"
        ),
        comment="An order's append-only activity timeline (F3), oldest first (position).",
    )
    Index(f"{p}activity_at_ix", activity.c.at)
    Index(f"{p}activity_feed_ix", activity.c.feed_position, unique=True)

    processed_events = Table(
        f"{p}processed_events",
        md,
        Column("event_id", _id(), primary_key=True),
        Column("recorded_at", UtcDateTime, nullable=False),
        comment="Ids of gateway events already applied (L5).",
    )
    return SqlTables(
        prefix=p,
        metadata=md,
        schema_version=schema_version,
        orders=orders,
        refunds=refunds,
        refund_events=refund_events,
        activity=activity,
        processed_events=processed_events,
    )


_DEFAULT: Final = define_tables()

#: The tables with the default prefix, for the host's Alembic ``target_metadata``.
metadata: Final[MetaData] = _DEFAULT.metadata

_by_prefix: dict[str, SqlTables] = {DEFAULT_TABLE_PREFIX: _DEFAULT}
_by_prefix_lock = threading.Lock()


def tables_for(table_prefix: str = DEFAULT_TABLE_PREFIX) -> SqlTables:
    """The adapter's tables for ``table_prefix`` (defined once per prefix, in their own
    ``MetaData``)."""
    _check_prefix(table_prefix)
    with _by_prefix_lock:
        tables = _by_prefix.get(table_prefix)
        if tables is None:
            tables = _by_prefix[table_prefix] = define_tables(table_prefix=table_prefix)
        return tables


def create_schema(engine: Engine, *, table_prefix: str = DEFAULT_TABLE_PREFIX) -> None:
    """Create the tables that are missing and stamp the schema version: a quick start for a
    new database (hosts with migrations use ``metadata`` and ``stamp_schema`` instead).

    Idempotent. Raises ``SchemaMismatch`` if the database is stamped with another version
    (nothing is changed then). Run it once at deployment, not from several processes at once.
    """
    tables = tables_for(table_prefix)
    with translate_errors(), engine.begin() as conn:
        _refuse_other_version(conn, tables)
        tables.metadata.create_all(conn, tables=list(tables.all), checkfirst=True)
        stamp_schema(conn, table_prefix=table_prefix)


def stamp_schema(connection: Connection, *, table_prefix: str = DEFAULT_TABLE_PREFIX) -> None:
    """Record ``SCHEMA_VERSION`` in the schema-version table, in the caller's transaction.

    For a host's Alembic migration, after it created the tables::

        from kanorio_refunds.adapters.sql import stamp_schema
        stamp_schema(op.get_bind())
    """
    table = tables_for(table_prefix).schema_version
    row = connection.execute(select(table.c.version).where(table.c.id == 1)).first()
    values = {"version": SCHEMA_VERSION, "stamped_at": SystemClock().now()}
    if row is None:
        connection.execute(table.insert().values(id=1, **values))
    elif row.version != SCHEMA_VERSION:
        connection.execute(table.update().where(table.c.id == 1).values(**values))


def check_schema(bind: Engine | Connection, *, table_prefix: str = DEFAULT_TABLE_PREFIX) -> None:
    """Raise ``SchemaMismatch`` unless every table exists and the stored schema version is
    ``SCHEMA_VERSION``. Reads only."""
    tables = tables_for(table_prefix)
    with translate_errors():
        if isinstance(bind, Engine):
            with bind.connect() as conn:
                _check(conn, tables)
        else:
            _check(bind, tables)


def _check(conn: Connection, tables: SqlTables) -> None:
    inspector = inspect(conn)
    missing = [t.name for t in tables.all if not inspector.has_table(t.name)]
    if missing:
        raise SchemaMismatch(
            f"the database has no kanorio_refunds tables {', '.join(missing)} (table prefix "
            f"{tables.prefix!r}); create them with create_schema(engine) or the host's Alembic "
            f"migration (see docs/persistence.md)"
        )
    version = _stored_version(conn, tables)
    if version != SCHEMA_VERSION:
        shown = "no version" if version is None else f"version {version}"
        raise SchemaMismatch(
            f"the database's kanorio_refunds schema (prefix {tables.prefix!r}) has {shown}, "
            f"this release needs version {SCHEMA_VERSION}; migrate the database first"
        )


def _stored_version(conn: Connection, tables: SqlTables) -> int | None:
    table = tables.schema_version
    rows = conn.execute(select(table.c.id, table.c.version)).all()
    if len(rows) != 1 or rows[0].id != 1:
        return None
    version = rows[0].version
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def _refuse_other_version(conn: Connection, tables: SqlTables) -> None:
    if not inspect(conn).has_table(tables.schema_version.name):
        return
    version = _stored_version(conn, tables)
    if version is not None and version != SCHEMA_VERSION:
        raise SchemaMismatch(
            f"the database's kanorio_refunds schema (prefix {tables.prefix!r}) is version "
            f"{version}; this release creates version {SCHEMA_VERSION} and will not change a "
            f"schema of another version: migrate it instead"
        )
