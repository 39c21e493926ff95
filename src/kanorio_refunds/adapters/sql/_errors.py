"""The SQL adapter's errors. Each is a ``RefundError`` with a stable ``code`` (never renamed).

Defined in ``kanorio_refunds.errors`` with every other error; re-exported here for the adapter.
"""

from __future__ import annotations

from kanorio_refunds.errors import (
    InvalidStoredData,
    SchemaMismatch,
    StorageError,
    StorageUnavailable,
)

__all__ = ["InvalidStoredData", "SchemaMismatch", "StorageError", "StorageUnavailable"]
