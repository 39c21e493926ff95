"""The click group and its commands. Exit codes: 0 done; 1 some rows or orders refused or
failed; 2 bad usage or input (nothing done); 3 outcomes still unknown (run ``sync`` or the same
command again)."""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Final, ParamSpec, TypeVar

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from kanorio_refunds.cli._runtime import (
    DEFAULT_DATABASE,
    InvalidInput,
    Settings,
    actor_from,
    api_key_from_env,
    runtime,
)
from kanorio_refunds.domain import OrderId
from kanorio_refunds.errors import GatewayUnavailable, RefundError

P = ParamSpec("P")
R = TypeVar("R")

EXIT_REFUSED: Final = 1
EXIT_INPUT: Final = 2
EXIT_UNKNOWN: Final = 3

_INPUT_CODES: Final = frozenset({"invalid_input", "invalid_csv", "schema_mismatch"})

_err = Console(stderr=True, highlight=False)
_out = Console(highlight=False, soft_wrap=True)


def _handled(command: Callable[P, R]) -> Callable[P, R]:
    """Every ``RefundError`` ends as one line ``error [code]: message`` and an exit code."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except RefundError as e:
            click.echo(f"error [{e.code}]: {e.message}", err=True)
            raise SystemExit(EXIT_INPUT if e.code in _INPUT_CODES else EXIT_REFUSED) from None

    return wrapper


def _actor_options(command: Callable[P, R]) -> Callable[P, R]:
    command = click.option(
        "--site",
        "sites",
        multiple=True,
        required=True,
        help="A site the actor owns or administers (repeatable). E2 is checked per order.",
    )(command)
    command = click.option(
        "--role",
        type=click.Choice(["owner", "administrator"]),
        default="administrator",
        show_default=True,
        help="The actor's role on those sites.",
    )(command)
    return click.option(
        "--actor",
        "actor_id",
        required=True,
        envvar="KANORIO_ACTOR",
        help="Who is acting (recorded on every refund). Env: KANORIO_ACTOR.",
    )(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database-url",
    envvar="KANORIO_DATABASE_URL",
    default=DEFAULT_DATABASE,
    show_default=True,
    help="An SQLite file path, sqlite:///PATH, or postgresql+psycopg://… "
    "Env: KANORIO_DATABASE_URL.",
)
@click.option(
    "--fake-stripe",
    metavar="URL",
    envvar="KANORIO_FAKE_STRIPE",
    help="Use the Stripe simulator served at this loopback URL (fake-stripe serve) instead of "
    "Stripe. Env: KANORIO_FAKE_STRIPE.",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0.1),
    envvar="KANORIO_STRIPE_RATE",
    help="Stripe requests per second at most (default: 25 with a test key, 100 with a live "
    "key). Env: KANORIO_STRIPE_RATE.",
)
@click.version_option(package_name="kanorio-refunds")
@click.pass_context
def cli(ctx: click.Context, database_url: str, fake_stripe: str | None, rate: float | None) -> None:
    """Refund Stripe payments of Kanorio orders: sync, bulk refunds, register, feed, show.

    The Stripe key comes from STRIPE_API_KEY only (never a flag, never printed).
    """
    ctx.obj = Settings(
        database_url=database_url, fake_stripe=fake_stripe, rate=rate, api_key=api_key_from_env()
    )


def _settings() -> Settings:
    settings = click.get_current_context().find_object(Settings)
    assert settings is not None
    return settings


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=_err,
        transient=False,
    )


# ------------------------------------------------------------------------------------- show


@cli.command()
@click.argument("order_id")
@_actor_options
@click.option("--json", "as_json", is_flag=True, help="Print the order details as JSON.")
@click.option("--live", is_flag=True, help="Refresh from Stripe first.")
@_handled
def show(
    order_id: str, actor_id: str, role: str, sites: tuple[str, ...], as_json: bool, live: bool
) -> None:
    """Show one order: status, balance, refunds and recent activity (E2: owner or admin)."""
    actor = actor_from(actor_id, role, sites)
    with runtime(_settings(), stripe=live) as rt:
        details = rt.service.order_details(OrderId(order_id), actor, live=live)
    if as_json:
        from kanorio_refunds.serialization import to_dict

        click.echo(json.dumps(to_dict(details), indent=2, ensure_ascii=False))
        return
    order = details.order
    summary = Table(title=f"Order {order.id}", show_header=False)
    summary.add_row("Site", str(order.site_id))
    summary.add_row("Status", details.status.label)
    summary.add_row("Total", str(order.total))
    if details.breakdown is not None:
        b = details.breakdown
        summary.add_row("Captured", str(b.captured))
        summary.add_row("Stripe fee", str(b.stripe_fee))
        summary.add_row("Platform fee", str(b.platform_fee))
        summary.add_row("Net received", str(b.net_received))
        summary.add_row("Reserved", str(b.reserved))
    summary.add_row("Refundable", str(details.refundable))
    summary.add_row("Initiate Refund", "shown" if details.eligibility.allowed else "hidden")
    for reason in details.eligibility.reasons:
        summary.add_row("", f"{reason.rule} {reason.code}")
    summary.add_row("Buyer access", "yes" if details.buyer_access else "no")
    _out.print(summary)
    if details.refunds:
        refunds = Table(title="Refunds")
        for name in ("Refund", "Amount", "Status", "Created", "Reason", "Stripe", "Failure"):
            refunds.add_column(name)
        for r in details.refunds:
            refunds.add_row(
                str(r.id),
                str(r.amount),
                r.status.name,
                f"{r.created_at:%Y-%m-%d %H:%M:%S}",
                r.reason.name if r.reason else "",
                str(r.gateway_refund_id or ""),
                r.failure_reason or "",
            )
        _out.print(refunds)
    if details.recent_activity:
        activity = Table(title="Recent activity (newest first)")
        activity.add_column("At")
        activity.add_column("What")
        for entry in details.recent_activity:
            activity.add_row(f"{entry.at:%Y-%m-%d %H:%M:%S}", entry.message)
        _out.print(activity)


# ------------------------------------------------------------------------------------- sync


@cli.command()
@click.argument("order_ids", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@_handled
def sync(order_ids: tuple[str, ...], as_json: bool) -> None:
    """Reconcile orders with Stripe and resume refunds still submitting (L2).

    Without ORDER_IDS, every order that needs it. Exit 3 while outcomes remain unknown.
    """
    with runtime(_settings()) as rt:
        service = rt.service
        ids = [OrderId(o) for o in order_ids] or list(_orders_needing_sync(service))
        outcomes: list[dict[str, Any]] = []
        with _progress() as progress:
            task = progress.add_task("sync", total=len(ids))
            for order_id in ids:
                outcomes.append(_sync_one(service, order_id))
                progress.advance(task)
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o["outcome"]] = counts.get(o["outcome"], 0) + 1
    if as_json:
        click.echo(json.dumps({"orders": outcomes, "counts": counts}, indent=2))
    else:
        table = Table(title="sync")
        for name in ("Order", "Outcome", "Status", "Submitting", "Error"):
            table.add_column(name)
        for o in outcomes:
            table.add_row(
                o["order_id"], o["outcome"], o["status"], str(o["submitting"]), o["error_code"]
            )
        _out.print(table)
        _out.print(", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "nothing to sync")
    if counts.get("unknown"):
        raise SystemExit(EXIT_UNKNOWN)
    if counts.get("error"):
        raise SystemExit(EXIT_REFUSED)


def _orders_needing_sync(service: Any) -> Iterable[OrderId]:
    listing = getattr(service, "orders_needing_sync", None)
    if listing is None:
        raise InvalidInput(
            "this version cannot list the orders that need a sync: name them (sync ORDER_ID …)"
        )
    after = None
    while True:
        page: Sequence[OrderId] = listing(after=after, limit=100)
        yield from page
        if len(page) < 100:
            return
        after = page[-1]


def _sync_one(service: Any, order_id: OrderId) -> dict[str, Any]:
    from kanorio_refunds.domain import RefundStatus

    result: dict[str, Any] = {
        "order_id": str(order_id),
        "outcome": "synced",
        "status": "",
        "submitting": 0,
        "error_code": "",
        "message": "",
    }
    try:
        order = service.sync(order_id)
    except GatewayUnavailable as e:
        result.update(outcome="unknown", error_code=e.code, message=e.message)
        try:
            order = service.orders.get(order_id)
        except RefundError:
            return result
    except RefundError as e:
        result.update(outcome="error", error_code=e.code, message=e.message)
        return result
    submitting = sum(1 for r in order.refunds if r.status is RefundStatus.SUBMITTING)
    result.update(status=order.status.name, submitting=submitting)
    if submitting and result["outcome"] == "synced":
        result["outcome"] = "unknown"
    return result


# ----------------------------------------------------------------------------------- refund


@cli.command()
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Rows of order_id,amount,reason,notes (amount: a decimal in the order's currency, or "
    "'full').",
)
@_actor_options
@click.option("--dry-run", is_flag=True, help="Quote every row and say what would happen.")
@click.option(
    "--results",
    "results_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The results file (default: FILE.results.csv); its journal is RESULTS.journal.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 32),
    default=4,
    show_default=True,
    help="Orders refunded at once (rows of one order always run one after another, in order).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary (and rows) as JSON.")
@_handled
def refund(
    csv_path: Path,
    actor_id: str,
    role: str,
    sites: tuple[str, ...],
    dry_run: bool,
    results_path: Path | None,
    workers: int,
    as_json: bool,
) -> None:
    """Refund many orders from a CSV file, at most once per row, however often it is run.

    Each row is quoted and processed as --actor (who must own or administer the order's site:
    E2). A bad row is reported with its error code and the run goes on. Re-running the same
    file resumes: rows already done are skipped and a row interrupted mid-refund is finished
    with its journaled quote, never refunded twice.
    """
    from kanorio_refunds.cli._bulk import (
        BulkRun,
        Journal,
        outcome_counts,
        read_rows,
        write_results,
    )

    actor = actor_from(actor_id, role, sites)
    rows = read_rows(csv_path)  # a wrong header stops here, before any Stripe call
    settings = _settings()
    results_path = results_path or csv_path.with_name(csv_path.name + ".results.csv")
    journal_path = results_path.with_name(results_path.name + ".journal")
    with runtime(settings) as rt:
        started = time.monotonic()  # the run itself: after the store and gateway are set up
        if dry_run:
            run = BulkRun(rt.service, actor, None)
            _run_rows(run, rows, "dry run", workers)
        else:
            with Journal(journal_path) as journal:
                run = BulkRun(rt.service, actor, journal)
                try:
                    _run_rows(run, rows, "refunds", workers)
                finally:
                    write_results(results_path, run.results)
        elapsed = time.monotonic() - started
        http = rt.http
        sent = http.stats.sent if http else 0
        limited = http.stats.rate_limited if http else 0
    counts = outcome_counts(run.results)
    summary = {
        "rows": len(rows),
        "counts": counts,
        "dry_run": dry_run,
        "elapsed_seconds": round(elapsed, 3),
        "stripe_requests": sent,
        "rate_limited_retried": limited,
        "rate_configured": settings.effective_rate(),
        "rate_achieved": round(sent / elapsed, 2) if elapsed > 0 else 0.0,
        "results_file": None if dry_run else str(results_path),
    }
    if as_json:
        summary["results"] = [r.as_dict() for r in run.results]
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        _print_results(run.results, dry_run)
        _out.print(
            f"{len(rows)} rows: "
            + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
            + f"; {sent} Stripe requests in {elapsed:.1f}s ({limited} answered 429 and retried)"
        )
        if not dry_run:
            _out.print(f"Results: {results_path}")
    if counts.get("unknown"):
        raise SystemExit(EXIT_UNKNOWN)
    if counts.get("refused") or counts.get("failed"):
        raise SystemExit(EXIT_REFUSED)


def _run_rows(run: Any, rows: Sequence[Any], label: str, workers: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from kanorio_refunds.cli._bulk import by_order

    with _progress() as progress:
        task = progress.add_task(label, total=len(rows))

        def run_group(group: Sequence[Any]) -> None:
            for row in group:
                run.run_row(row)
                progress.advance(task)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in [pool.submit(run_group, g) for g in by_order(list(rows))]:
                future.result()


def _print_results(results: Sequence[Any], dry_run: bool) -> None:
    table = Table(title="dry run: what would happen" if dry_run else "refunds")
    for name in ("Row", "Order", "Amount", "Outcome", "Refund", "Status", "Code", "Message"):
        table.add_column(name)
    for r in results:
        table.add_row(
            str(r.row),
            r.order_id,
            r.amount,
            r.outcome,
            r.refund_id,
            r.status,
            r.error_code,
            r.message,
        )
    _out.print(table)


# -------------------------------------------------------------------------------- fake-stripe


@cli.group("fake-stripe")
def fake_stripe() -> None:
    """The Stripe simulator (kanorio_refunds.testing.fake_stripe) as an HTTP server."""


@fake_stripe.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="A loopback address only.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=12112, show_default=True, help="0: any."
)
@click.option(
    "--refund-status",
    type=click.Choice(["succeeded", "pending", "requires_action"]),
    default="succeeded",
    show_default=True,
    help="The status new refunds get.",
)
@_handled
def serve(host: str, port: int, refund_status: str) -> None:
    """Serve the simulator on loopback: Stripe's API under /v1/ (for the stripe SDK and
    StripeGateway), its state and faults under /_sim/ (see docs/cli.md)."""
    from kanorio_refunds.testing.stripe_server import require_loopback_host
    from kanorio_refunds.testing.stripe_server import serve as serve_simulator

    try:
        host = require_loopback_host(host)
    except ValueError as e:
        raise InvalidInput(f"--host: {e}") from None

    def ready(server: Any) -> None:
        click.echo(f"Fake Stripe listening on {server.url}")
        sys.stdout.flush()

    try:
        serve_simulator(host, port, default_refund_status=refund_status, ready=ready)
    except KeyboardInterrupt:
        pass
    except OSError as e:
        raise InvalidInput(f"cannot listen on {host}:{port}: {e.strerror}") from None


# --------------------------------------------------------------------------------------- demo


@cli.command()
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the orders in a new SQLite file at this path (default: a temporary one).",
)
def demo(db: Path | None) -> None:
    """Walk through the help page's refund processing, stored in SQLite."""
    from kanorio_refunds._demo import run

    if db is not None and db.exists():
        click.echo(f"{db} exists; give the demo a new file to write", err=True)
        raise SystemExit(EXIT_INPUT)
    raise SystemExit(run(db=db))


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: run the command, return its exit code."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="kanorio-refunds")
    except SystemExit as e:
        code = e.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
