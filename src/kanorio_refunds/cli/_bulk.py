"""``refund --csv``: bulk refunds that never refund a row twice, however often the file is run
and wherever a run was killed.

Each row has a stable key: a digest of its order id, amount, reason and notes, plus which
occurrence of that content it is in the file (so moving rows or inserting new ones never makes
an old row new). A journal (JSON lines, next to the results file) holds, per key, the quote the
row was confirmed with, written and fsynced *before* the quote is processed. A re-run:

- skips rows whose outcome is known (a refund record, or a definitive refusal after processing);
- processes a journaled quote again instead of quoting anew: the service executes one quote at
  most once (F2) and resends a refund still submitting with the same idempotency key (L2), so a
  run killed between the journal line and Stripe's answer resumes with exactly one refund;
- quotes again only rows that never reached processing (refused while quoting), or whose
  journaled quote the service found stale *without* any refund of it on the order (StaleQuote
  comes from the check before the write-ahead, so nothing of that quote exists anywhere).

Only one run may use a journal at a time (an exclusive lock on it).
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import json
import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

from kanorio_refunds.cli._csv import header_problems, open_table
from kanorio_refunds.domain import FULL, Actor, FullAmount, Money, OrderId, RefundQuote
from kanorio_refunds.errors import (
    GatewayRejected,
    GatewayUnavailable,
    InvalidCsv,
    InvalidInput,
    InvalidRow,
    RefundError,
    StaleQuote,
)
from kanorio_refunds.service import RefundService

REQUIRED_COLUMNS: Final = ("order_id", "amount")
OPTIONAL_COLUMNS: Final = ("reason", "notes")
RESULT_COLUMNS: Final = (
    "row",
    "order_id",
    "amount",
    "outcome",
    "refund_id",
    "stripe_refund_id",
    "status",
    "error_code",
    "message",
)

# Outcomes.
DONE: Final = "refunded"  # a refund record exists (any status but submitting)
UNKNOWN: Final = "unknown"  # submitted, Stripe's answer not known yet: a re-run resumes it
REFUSED: Final = "refused"  # refused before anything was sent: a re-run tries it again
FAILED: Final = "failed"  # Stripe refused the refund definitively (L3): final
WOULD: Final = "would_refund"  # --dry-run


@dataclass(frozen=True)
class Row:
    """One data row of the CSV (``number`` counts data rows from 1)."""

    number: int
    key: str
    order_id: str
    amount: str
    reason: str
    notes: str
    problem: str | None = None


@dataclass
class Result:
    """What happened to one row (a line of the results file)."""

    row: int
    order_id: str
    amount: str
    outcome: str
    refund_id: str = ""
    stripe_refund_id: str = ""
    status: str = ""
    error_code: str = ""
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The results file's columns."""
        return {name: getattr(self, name) for name in RESULT_COLUMNS}


def read_rows(path: Path) -> list[Row]:
    """Every data row of ``path``; a header that is not ``order_id,amount[,reason][,notes]``
    (in any order) is ``InvalidCsv`` before anything is done."""
    names, reader = open_table(path, expected="order_id,amount,reason,notes")
    missing, unknown, duplicated = header_problems(
        names, required=REQUIRED_COLUMNS, known=set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    )
    if unknown or missing or duplicated:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown {', '.join(repr(n) for n in unknown)}")
        if duplicated:
            problems.append(f"repeated {', '.join(duplicated)}")
        raise InvalidCsv(
            f"{path}: the header must be order_id,amount[,reason][,notes] ({'; '.join(problems)});"
            f" nothing was refunded"
        )
    rows: list[Row] = []
    seen: Counter[str] = Counter()
    for number, fields in enumerate(reader, start=1):
        if not any(f.strip() for f in fields):
            continue
        problem = None
        if len(fields) != len(names):
            problem = f"{len(fields)} fields, the header has {len(names)}"
        values = dict(zip(names, fields, strict=False))
        order_id = values.get("order_id", "").strip()
        if problem is None and not order_id:
            problem = "the order id is empty"
        amount = values.get("amount", "").strip()
        reason = values.get("reason", "").strip()
        notes = values.get("notes", "")
        content = json.dumps([order_id, amount.lower(), reason.lower(), notes, fields])
        digest = hashlib.sha256(content.encode("utf-8")).hexdigest()[:24]
        seen[digest] += 1
        key = f"{digest}#{seen[digest]}"
        rows.append(Row(number, key, order_id, amount, reason, notes, problem))
    return rows


class Journal:
    """The run's memory: JSON lines, each flushed and fsynced before the step it announces."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.quotes: dict[str, dict[str, Any]] = {}
        self.final: dict[str, dict[str, Any]] = {}
        self._file: IO[str] | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> Journal:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise InvalidInput(f"another run is using {self.path}; wait for it to finish") from None
        self._file.seek(0)
        for line in self._file.read().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill: its step never started
            self._load(entry)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._file is not None:
            self._file.close()

    def _load(self, entry: dict[str, Any]) -> None:
        key = entry.get("key")
        if not isinstance(key, str):
            return
        state = entry.get("state")
        if state == "quoted":
            self.quotes[key] = entry
            self.final.pop(key, None)
        elif state == "stale":
            if self.quotes.get(key, {}).get("quote_id") == entry.get("quote_id"):
                self.quotes.pop(key, None)
        elif state == "final":
            self.final[key] = entry

    def write(self, entry: dict[str, Any]) -> None:
        """Append ``entry`` durably (flush and fsync) and remember it."""
        assert self._file is not None
        with self._lock:
            self._file.write(json.dumps(entry, sort_keys=True) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
            self._load(entry)


@dataclass
class BulkRun:
    """Refund every row of a CSV file as ``actor``."""

    service: RefundService
    actor: Actor
    journal: Journal | None
    results: list[Result] = field(default_factory=list)

    def run_row(self, row: Row) -> Result:
        """Quote and process one row (or resume it); never raises a ``RefundError``."""
        result = self._run_row(row)
        self.results.append(result)
        return result

    def _run_row(self, row: Row) -> Result:
        base = Result(row.number, row.order_id, row.amount, REFUSED)
        if row.problem is not None:
            return _refusal(base, InvalidRow(row.problem))
        journal = self.journal
        if journal is not None and row.key in journal.final:
            entry = journal.final[row.key]
            return Result(**{k: entry.get(k, "") for k in RESULT_COLUMNS} | {"row": row.number})
        saved = journal.quotes.get(row.key) if journal is not None else None
        for _ in range(2):
            if saved is None:
                try:
                    quote = self._quote(row)
                except RefundError as e:
                    return _refusal(base, e)
                if journal is None:
                    return _would(base, quote)
                saved = {
                    "key": row.key,
                    "row": row.number,
                    "state": "quoted",
                    "quote_id": str(quote.id),
                    "quote": _quote_dict(quote),
                }
                journal.write(saved)  # before processing: a re-run resumes this very quote
            else:
                quote = _quote_from(saved["quote"])
            assert journal is not None
            try:
                refund = self.service.process(quote, self.actor)
            except StaleQuote:
                order = self.service.orders.get(quote.order_id)
                if order.refund_for_quote(quote.id) is not None:  # pragma: no cover - defensive
                    return _refusal(base, StaleQuote("the row's refund exists but changed"))
                # Refused before the write-ahead: nothing of this quote exists. Quote again.
                journal.write({"key": row.key, "state": "stale", "quote_id": str(quote.id)})
                saved = None
                continue
            except GatewayUnavailable as e:
                result = _refusal(base, e)
                result.outcome = UNKNOWN
                result.refund_id = e.refund_id or ""
                result.status = "SUBMITTING" if e.refund_id else ""
                return result
            except GatewayRejected as e:
                result = _refusal(base, e)
                result.outcome = FAILED
                result.refund_id = e.refund_id or ""
                result.status = "FAILED"
                result.message = f"{e.gateway_code}: {e.message}"
                self._finish(row, result)
                return result
            except RefundError as e:
                return _refusal(base, e)
            result = Result(
                row.number,
                row.order_id,
                row.amount,
                DONE,
                refund_id=str(refund.id),
                stripe_refund_id=str(refund.gateway_refund_id or ""),
                status=refund.status.name,
            )
            self._finish(row, result)
            return result
        return _refusal(base, StaleQuote("the order kept changing while this row was quoted"))

    def _quote(self, row: Row) -> RefundQuote:
        order = self.service.orders.get(OrderId(row.order_id))
        amount: Money | FullAmount = (
            FULL if row.amount.lower() == "full" else Money.parse(row.amount, order.total.currency)
        )
        return self.service.quote(
            order.id,
            self.actor,
            amount,
            reason=row.reason or None,
            notes=row.notes,
        )

    def _finish(self, row: Row, result: Result) -> None:
        if self.journal is not None:
            self.journal.write({"key": row.key, "state": "final", **result.as_dict()})


def _quote_dict(quote: RefundQuote) -> dict[str, Any]:
    from kanorio_refunds.serialization import to_dict

    return dict(to_dict(quote))


def _quote_from(data: Any) -> RefundQuote:
    from kanorio_refunds.serialization import from_dict

    return from_dict(RefundQuote, data)


def _refusal(base: Result, error: RefundError) -> Result:
    base.outcome = REFUSED
    base.error_code = error.code
    base.message = error.message
    return base


def _would(base: Result, quote: RefundQuote) -> Result:
    base.outcome = WOULD
    base.amount = str(quote.amount)
    base.status = quote.resulting_status.name
    base.message = f"refundable {quote.refundable_before} → {quote.refundable_after}"
    return base


def write_results(path: Path, results: list[Result]) -> None:
    """The results file (CSV), replaced atomically."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=RESULT_COLUMNS)
        writer.writeheader()
        for result in sorted(results, key=lambda r: r.row):
            writer.writerow(result.as_dict())
    partial.replace(path)


def outcome_counts(results: list[Result]) -> dict[str, int]:
    """How many rows ended in each outcome."""
    return dict(Counter(r.outcome for r in results))


def by_order(rows: list[Row]) -> list[list[Row]]:
    """The rows grouped by order id, each group in file order: groups may run concurrently
    (different orders), the rows of one order never do (each sees the one before it)."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.order_id, []).append(row)
    return list(groups.values())
