"""Engines, transactions and the translation of database errors into ``RefundError``s.

``sqlite_engine`` makes an SQLite engine fit for several threads and processes: WAL (readers
never block the writer), a busy timeout (writers wait for each other instead of failing), and
explicit ``BEGIN`` / ``BEGIN IMMEDIATE`` (pysqlite's own transaction handling would run reads
outside any transaction and take the write lock only at the first write).

``Database.transaction`` is the one way the adapter talks to the database: one transaction,
committed when the block ends, rolled back on any error, and no SQLAlchemy exception escapes.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, Final, Literal

from sqlalchemy import create_engine, event, exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from kanorio_refunds.adapters.sql._errors import (
    SchemaMismatch,
    StorageError,
    StorageUnavailable,
)
from kanorio_refunds.errors import ConcurrencyConflict, RefundError

__all__ = ["Database", "sqlite_engine", "translate", "translate_errors"]

#: Execution option naming the statement that opens a transaction on engines ``sqlite_engine``
#: made (``BEGIN`` for reads, ``BEGIN IMMEDIATE`` for writes).
_BEGIN_OPTION: Final = "kanorio_sqlite_begin"
# PostgreSQL: serialization_failure, deadlock_detected. The transaction was rolled back, nothing
# was written, and doing it again may well succeed: exactly a concurrency conflict (L4).
_RETRY_STATES: Final = frozenset({"40001", "40P01"})
_UNDEFINED_TABLE: Final = "42P01"
_MAX_DETAIL: Final = 200

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]


def sqlite_engine(
    path: str | Path | None = None,
    *,
    busy_timeout: float = 30.0,
    synchronous: Synchronous = "FULL",
    **engine_options: Any,
) -> Engine:
    """An SQLite engine for the SQL adapter: a database file at ``path``, or one in memory.

    File databases use WAL, so readers never block the writer; a writer waits up to
    ``busy_timeout`` seconds for another (then ``StorageUnavailable``). ``synchronous="FULL"``
    (the default) makes every committed save survive a power cut; ``"NORMAL"`` survives any
    crash of the process, not of the machine, and commits faster.

    In memory (``path=None``) there is one database per engine, shared by every thread through
    one connection (SQLAlchemy's ``StaticPool``); the adapter then runs one transaction at a time.
    ``engine_options`` go to ``sqlalchemy.create_engine``.
    """
    if isinstance(busy_timeout, bool) or not isinstance(busy_timeout, int | float):
        raise TypeError("busy_timeout must be a number of seconds")
    if busy_timeout < 0:
        raise ValueError("busy_timeout must not be negative")
    if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
    in_memory = path is None
    if path is None:
        engine = create_engine(
            "sqlite://",
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
            **engine_options,
        )
    else:
        engine = create_engine(f"sqlite:///{Path(path)}", **engine_options)
    timeout_ms = int(busy_timeout * 1000)

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Transactions are begun explicitly (on_begin), so that reads see one snapshot and a
        # save takes the write lock before its first statement.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute(f"PRAGMA synchronous = {synchronous}")
        finally:
            cursor.close()

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


def _on_begin(connection: Connection) -> None:
    connection.exec_driver_sql(connection.get_execution_options().get(_BEGIN_OPTION, "BEGIN"))


# One lock per engine whose connection is shared by every thread (in-memory SQLite): two
# transactions on one connection would interleave, so they take turns.
_shared_connection_locks: weakref.WeakKeyDictionary[Engine, threading.Lock] = (
    weakref.WeakKeyDictionary()
)
_locks_lock = threading.Lock()


def _shared_connection_lock(engine: Engine) -> threading.Lock | None:
    if not isinstance(engine.pool, StaticPool):
        return None
    with _locks_lock:
        lock = _shared_connection_locks.get(engine)
        if lock is None:
            lock = _shared_connection_locks[engine] = threading.Lock()
        return lock


class Database:
    """An engine as the adapter uses it: one transaction per operation, errors translated."""

    def __init__(self, engine: Engine) -> None:
        if not isinstance(engine, Engine):
            raise TypeError(
                f"the SQL adapter needs a sqlalchemy Engine, got {type(engine).__name__}"
            )
        if engine.dialect.name == "sqlite" and isinstance(engine.pool, SingletonThreadPool):
            # SQLAlchemy's default for "sqlite://": one in-memory database *per thread*, so a
            # second thread would see an empty database. Refuse rather than lose orders.
            raise StorageError(
                "an in-memory SQLite engine must share one connection between threads; build it "
                "with kanorio_refunds.adapters.sql.sqlite_engine() (StaticPool)"
            )
        self.engine = engine
        self.dialect = engine.dialect.name
        self._lock = _shared_connection_lock(engine)
        self._explicit_begin = event.contains(engine, "begin", _on_begin)

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises.

        ``write=True`` takes SQLite's write lock at the start (``BEGIN IMMEDIATE``) on engines
        made by ``sqlite_engine``, so a save never fails halfway for want of a lock. Reads on
        PostgreSQL run in REPEATABLE READ (one snapshot); writes keep the engine's level, as
        the compare-and-set on the version is what makes them safe.
        """
        lock: AbstractContextManager[object] = self._lock if self._lock else nullcontext()
        with lock, translate_errors(), self.engine.connect() as conn:
            if write and self._explicit_begin:
                conn.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"})
            elif not write and self.dialect == "postgresql":
                # One snapshot for all of an order's rows; a read-only transaction never
                # fails to serialize, so this costs nothing but consistency.
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn


@contextmanager
def translate_errors() -> Iterator[None]:
    """Let no SQLAlchemy or driver exception out: each becomes a ``RefundError``."""
    try:
        yield
    except exc.SQLAlchemyError as e:
        raise translate(e) from e


def translate(error: exc.SQLAlchemyError) -> RefundError:
    """The ``RefundError`` for a database error (the driver's message, clipped, never the
    statement's parameters)."""
    orig = getattr(error, "orig", None)
    state = getattr(orig, "sqlstate", None)
    detail = _detail(orig if isinstance(orig, BaseException) else error)
    if state in _RETRY_STATES:
        return ConcurrencyConflict(
            f"the database rolled back a save that ran into a concurrent one ({detail}); "
            f"reload the order and try again"
        )
    if state == _UNDEFINED_TABLE or "no such table" in detail:
        return SchemaMismatch(
            f"a kanorio_refunds table is missing ({detail}); create the schema with "
            f"create_schema(engine) or the host's Alembic migration"
        )
    unavailable = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)
    if isinstance(error, unavailable) or (
        isinstance(error, exc.DBAPIError) and error.connection_invalidated
    ):
        return StorageUnavailable(
            f"the database is unavailable or busy ({detail}); nothing was saved unless the "
            f"connection was lost while committing: read the order again, then retry"
        )
    return StorageError(f"the database refused the operation ({detail})")


def _detail(error: BaseException) -> str:
    first = (str(error).strip().splitlines() or [""])[0]
    text = f"{type(error).__name__}: {first}" if first else type(error).__name__
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"
