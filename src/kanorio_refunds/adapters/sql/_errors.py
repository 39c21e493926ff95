"""The SQL adapter's errors. Each is a ``RefundError`` with a stable ``code`` (never renamed).

They live here, beside the only code that raises them, until ``kanorio_refunds.errors`` lists
them too; their names and codes are already final.
"""

from __future__ import annotations

from kanorio_refunds.errors import RefundError

__all__ = ["InvalidStoredData", "SchemaMismatch", "StorageError", "StorageUnavailable"]


class SchemaMismatch(RefundError):
    """The database has no kanorio_refunds schema, or one of another version than this release
    of the library reads. Nothing was read or written: run ``create_schema`` (or the host's
    Alembic migration) for this version first."""

    code = "schema_mismatch"


class StorageUnavailable(RefundError):
    """The database could not be reached, or stayed locked or busy past the configured timeout.

    Retryable. A save either happened completely or not at all (one transaction); when the
    connection was lost while committing, which of the two is unknown until the order is read
    again.
    """

    code = "storage_unavailable"
    retryable = True


class StorageError(RefundError):
    """The database refused a value or a statement that retrying will not fix (for example a
    timestamp without a time zone, an amount beyond 64-bit integers, or text PostgreSQL cannot
    hold). Nothing was written."""

    code = "storage_error"


class InvalidStoredData(RefundError):
    """A stored row this library cannot read back exactly (an unknown status, a malformed
    exchange rate, a gap in a timeline): it was written by something else, or by hand. Nothing
    is guessed: the order is not returned."""

    code = "invalid_stored_data"
