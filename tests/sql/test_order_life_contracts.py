"""O1, O2, I2: the shipped feed and listing contract suites, unchanged, on SQLite in memory,
on an SQLite file and on a real PostgreSQL server."""

from __future__ import annotations

from kanorio_refunds.ports import ActivityFeed, OrderListing, OrderRepository
from kanorio_refunds.testing.contracts import ActivityFeedContract, OrderListingContract
from tests.sql.test_contracts import _OnStore


class _Feed(_OnStore, ActivityFeedContract):
    def make_stores(self) -> tuple[OrderRepository, ActivityFeed]:
        repository = self.fresh().repository()
        return repository, repository


class _Listing(_OnStore, OrderListingContract):
    def make_stores(self) -> tuple[OrderRepository, OrderListing]:
        repository = self.fresh().repository()
        return repository, repository


class TestSqliteMemoryFeed(_Feed):
    kind = "memory"


class TestSqliteFileFeed(_Feed):
    kind = "file"


class TestPostgresFeed(_Feed):
    kind = "postgres"


class TestSqliteMemoryListing(_Listing):
    kind = "memory"


class TestSqliteFileListing(_Listing):
    kind = "file"


class TestPostgresListing(_Listing):
    kind = "postgres"
