"""The click group and its commands. Exit codes: 0 done; 1 some rows or orders refused or
failed; 2 bad usage or input (nothing done); 3 outcomes still unknown (run ``sync`` or the same
command again)."""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, ParamSpec, TypeVar

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

if TYPE_CHECKING:
    from kanorio_refunds.cli._register import Registered
    from kanorio_refunds.domain import FeedEntry
    from kanorio_refunds.service import RefundService

P = ParamSpec("P")
R = TypeVar("R")

EXIT_REFUSED: Final = 1
EXIT_INPUT: Final = 2
EXIT_UNKNOWN: Final = 3

_INPUT_CODES: Final = frozenset({"invalid_input", "invalid_csv", "schema_mismatch"})
_SYNC_PAGE: Final = 100

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


def _no_progress() -> Progress:
    """A progress display that shows nothing (one order: its line says it all)."""
    return Progress(console=_err, disable=True)


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

    Without ORDER_IDS, every order that needs it (a refund submitting, pending or requiring
    action, or a payment not yet final: RefundService.orders_needing_sync). Exit 3 while
    outcomes remain unknown, 1 when an order could not be synced.
    """
    with runtime(_settings()) as rt:
        service = rt.service
        ids = [OrderId(o) for o in order_ids] or _orders_needing_sync(service)
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
        summary = {"orders": outcomes, "counts": counts, "named": bool(order_ids)}
        click.echo(json.dumps(summary, indent=2))
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


def _orders_needing_sync(service: RefundService) -> list[OrderId]:
    """I2, L2: every order the periodic sync must read, paged by id until a page is empty."""
    ids: list[OrderId] = []
    after: OrderId | None = None
    while page := service.orders_needing_sync(after=after, limit=_SYNC_PAGE):
        ids.extend(page)
        after = page[-1]
    return ids


def _sync_one(service: RefundService, order_id: OrderId) -> dict[str, Any]:
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


# --------------------------------------------------------------------------------- register


@cli.command()
@click.argument("order_id", required=False)
@click.option("--site", "site_id", help="The site the order belongs to (with ORDER_ID).")
@click.option(
    "--payment-intent", "payment_intent_id", metavar="PI", help="Its PaymentIntent (pi_…)."
)
@click.option(
    "--charge", "charge_id", metavar="CH", help="Its Charge (ch_…), for charge-only payments."
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Rows of order_id,site_id,payment_intent_id,charge_id instead of ORDER_ID.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the registrations as JSON.")
@_handled
def register(
    order_id: str | None,
    site_id: str | None,
    payment_intent_id: str | None,
    charge_id: str | None,
    csv_path: Path | None,
    as_json: bool,
) -> None:
    """Register orders for their Stripe payments (I1): ORDER_ID --site SITE --payment-intent
    pi_… (or --charge ch_…), or --csv FILE.

    Each payment is read from Stripe; the order is stored with its total and the status its
    payment gives (Pending, Paid, Payment Failed, Expired). Running it again is harmless
    ("already registered"); a conflicting registration (another payment, site or amount) is
    refused with order_conflict (exit 1). A CSV header that is wrong stops before anything
    (invalid_csv, exit 2); a bad row is reported with its code and the run goes on.
    """
    from kanorio_refunds.cli._register import from_arguments, read_registrations
    from kanorio_refunds.cli._register import register as register_one

    if csv_path is not None:
        if order_id is not None or site_id or payment_intent_id or charge_id:
            raise InvalidInput("give either --csv FILE or ORDER_ID with its flags, not both")
        registrations = read_registrations(csv_path)  # a wrong header stops here
    elif order_id is None:
        raise InvalidInput("give ORDER_ID --site SITE --payment-intent pi_… or --csv FILE")
    else:
        registrations = [from_arguments(order_id, site_id, payment_intent_id, charge_id)]
    with runtime(_settings()) as rt:
        results = []
        with _progress() if csv_path is not None else _no_progress() as progress:
            task = progress.add_task("register", total=len(registrations))
            for registration in registrations:
                results.append(register_one(rt.service, registration))
                progress.advance(task)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    if as_json:
        summary = {"registrations": [r.as_dict() for r in results], "counts": counts}
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
    elif csv_path is None:
        _print_registration(results[0])
    else:
        _print_registrations(results)
    if counts.get("unknown"):
        raise SystemExit(EXIT_UNKNOWN)
    if counts.get("refused"):
        raise SystemExit(EXIT_REFUSED)


def _print_registration(r: Registered) -> None:
    if r.error_code:
        click.echo(f"error [{r.error_code}]: {r.message}", err=True)
        return
    done = "registered" if r.outcome == "registered" else "already registered"
    _out.print(f"{r.order_id} {done}: site {r.site_id}, {r.payment}, {r.total}, {r.status}")


def _print_registrations(results: Sequence[Registered]) -> None:
    table = Table(title="register")
    columns = ("Row", "Order", "Site", "Payment", "Outcome", "Status", "Total", "Code", "Message")
    for name in columns:
        table.add_column(name)
    counts: dict[str, int] = {}
    for r in results:
        outcome = r.outcome.replace("_", " ")
        counts[outcome] = counts.get(outcome, 0) + 1
        table.add_row(
            str(r.row),
            r.order_id,
            r.site_id,
            r.payment,
            outcome,
            r.status,
            r.total,
            r.error_code,
            r.message,
        )
    _out.print(table)
    done = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    _out.print(f"{len(results)} rows: {done}" if results else "no rows")


# ------------------------------------------------------------------------------------- feed


@cli.command()
@click.option(
    "--after",
    "after_text",
    default="0",
    metavar="N",
    help="The cursor: entries after position N (0: from the first).",
)
@click.option(
    "--limit", "limit_text", default="100", metavar="N", help="At most N entries per read (1–1000)."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry and line.")
@click.option("--follow", is_flag=True, help="Keep reading new entries until SIGINT or SIGTERM.")
@click.option(
    "--interval",
    "interval_text",
    default="2",
    metavar="S",
    help="With --follow: seconds between reads once caught up.",
)
@_handled
def feed(after_text: str, limit_text: str, as_json: bool, follow: bool, interval_text: str) -> None:
    """Print the notification feed (O1): every order's activity entries after a cursor, oldest
    first (position, time, order, site, kind, message), as a worker emailing "refund
    succeeded", "refund failed" or "refund needs action" reads them.

    Keep the last position printed and pass it as --after next time. With --follow, new
    entries are printed as they are saved, until SIGINT or SIGTERM (exit 0). Never calls
    Stripe.
    """
    after = _int_option("--after", after_text, least=0, most=None)
    limit = _int_option("--limit", limit_text, least=1, most=1000)
    try:
        interval = float(interval_text)
    except ValueError:
        interval = -1.0
    if not 0.05 <= interval <= 3600:
        raise InvalidInput(
            f"--interval must be seconds between 0.05 and 3600, got {interval_text!r:.40}"
        )
    with runtime(_settings(), stripe=False) as rt:
        if not follow:
            entries = rt.service.feed(after=after, limit=limit)
            _print_feed(entries, as_json)
            if not as_json:
                last = entries[-1].position if entries else after
                click.echo(f"next: --after {last}", err=True)
            return
        _follow_feed(rt.service, after, limit, interval, as_json)


def _int_option(flag: str, text: str, *, least: int, most: int | None) -> int:
    try:
        value = int(text)
    except ValueError:
        value = least - 1
    if value < least or (most is not None and value > most):
        bounds = f"between {least} and {most}" if most is not None else f"at least {least}"
        raise InvalidInput(f"{flag} must be a whole number {bounds}, got {text!r:.40}")
    return value


def _follow_feed(
    service: RefundService, after: int, limit: int, interval: float, as_json: bool
) -> None:
    """Read and print pages until a signal: at once while pages come full, else every
    ``interval`` seconds. SIGINT and SIGTERM stop it between two reads (exit 0)."""
    import signal
    import threading

    stop = threading.Event()

    def stop_following(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, stop_following) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        cursor = after
        while not stop.is_set():
            entries = service.feed(after=cursor, limit=limit)
            _print_feed(entries, as_json)
            sys.stdout.flush()
            if entries:
                cursor = entries[-1].position
            if len(entries) < limit:
                stop.wait(interval)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not as_json:
        click.echo(f"next: --after {cursor}", err=True)


def _print_feed(entries: Sequence[FeedEntry], as_json: bool) -> None:
    for e in entries:
        entry = e.entry
        if as_json:
            line = {
                "position": e.position,
                "order_id": str(e.order_id),
                "site_id": str(e.site_id),
                "kind": entry.kind.value,
                "at": entry.at.isoformat(),
                "message": entry.message,
                "actor_id": None if entry.actor_id is None else str(entry.actor_id),
                "refund_id": None if entry.refund_id is None else str(entry.refund_id),
            }
            click.echo(json.dumps(line, ensure_ascii=False))
        else:
            click.echo(
                f"{e.position}\t{entry.at:%Y-%m-%d %H:%M:%S}\t{e.order_id}\t{e.site_id}\t"
                f"{entry.kind.value}\t{entry.message}"
            )


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
