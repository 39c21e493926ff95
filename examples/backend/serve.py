"""Start the reference backend: one command, one SQLite file, the Stripe simulator on loopback.

    .venv/bin/python examples/backend/serve.py --port 8000 --database var/shop.sqlite

What runs, all in this process and on 127.0.0.1 only:

- the Stripe simulator served over HTTP (``LoopbackStripe``), which the app reaches through
  the real ``stripe`` SDK and ``StripeGateway`` (``loopback_gateway``) as it would Stripe;
- the orders in the SQLite file (``SqlOrderRepository``, ``SqlProcessedEvents``), created and
  seeded with the demo data (``kanorio_backend.seed``);
- the Flask app (``kanorio_backend.create_app``) on a threaded WSGI server;
- a ``WebhookForwarder`` POSTing the simulator's events, signed with a secret made at start, to
  the app's webhook endpoint (POST /stripe/webhook), like ``stripe listen --forward-to``.

When ready it prints two lines (``backend: http://127.0.0.1:PORT`` and ``stripe:
http://127.0.0.1:SPORT``); it runs until SIGTERM or SIGINT and then exits 0. The secrets (the
session's, the quote signer's, the webhook's) are made at start and never printed.

The simulator keeps its state in memory only, so a database from an earlier run names payments
this one never made: an existing ``--database`` is refused unless ``--reset`` says to start it
over (``make serve`` does).
"""

from __future__ import annotations

import argparse
import faulthandler
import secrets
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from kanorio_refunds.testing.stripe_server import require_loopback_host

if TYPE_CHECKING:
    from kanorio_refunds.testing.stripe_server import WebhookDelivery

DEFAULT_PORT: Final = 8000
WEBHOOK_PATH: Final = "/stripe/webhook"
#: The first bytes of every SQLite 3 database file.
_SQLITE_HEADER: Final = b"SQLite format 3\x00"


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="serve.py", description="Kanorio's refund pages on kanorio_refunds (loopback only)."
    )
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address (127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0: any free port")
    parser.add_argument("--stripe-port", type=int, default=0, help="the simulator's (0: any)")
    parser.add_argument("--database", type=Path, default=Path("var/shop.sqlite"))
    parser.add_argument(
        "--reset", action="store_true", help="start an existing database over (deletes it)"
    )
    return parser.parse_args(argv)


def _fresh_database(path: Path, *, reset: bool) -> str | None:
    """Make ``path`` a place for a new database; the reason it cannot be, or None."""
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    if path.exists() and not reset:
        return (
            f"{path} exists: it holds orders whose payments were in an earlier run's simulator, "
            f"which kept them in memory only. Pass --reset to start it over, or give a new "
            f"--database."
        )
    if path.exists() and not path.is_file():
        return f"{path} is not a file"
    if path.exists() and not _is_sqlite_or_empty(path):
        # --reset deletes the file: never one that is not a database (a mistyped path).
        return f"{path} is not an SQLite database, so --reset does not delete it"
    for file in files:
        file.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return None


def _is_sqlite_or_empty(path: Path) -> bool:
    with path.open("rb") as file:
        head = file.read(len(_SQLITE_HEADER))
    return head in (b"", _SQLITE_HEADER)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the backend until SIGTERM or SIGINT; the process exit code."""
    args = _arguments(argv)
    try:
        host = require_loopback_host(args.host)
    except ValueError as e:
        print(f"serve.py: {e}", file=sys.stderr)
        return 2
    problem = _fresh_database(args.database, reset=args.reset)
    if problem is not None:
        print(f"serve.py: {problem}", file=sys.stderr)
        return 2

    return _serve(host, args.port, args.stripe_port, args.database)


def _serve(host: str, port: int, stripe_port: int, database: Path) -> int:
    # Imported once the arguments are checked, so that a refusal is immediate.
    from kanorio_backend import Backend, create_app
    from kanorio_backend.seed import seed
    from werkzeug.serving import make_server

    from kanorio_refunds import RefundService
    from kanorio_refunds.adapters.sql import (
        SqlOrderRepository,
        SqlProcessedEvents,
        create_schema,
        sqlite_engine,
    )
    from kanorio_refunds.adapters.stripe import StripeWebhookVerifier
    from kanorio_refunds.signed_quotes import QuoteSigner
    from kanorio_refunds.testing.fake_stripe import FakeStripe
    from kanorio_refunds.testing.stripe_server import (
        LoopbackStripe,
        ShiftableClock,
        WebhookForwarder,
        loopback_gateway,
    )

    # SIGTERM and SIGINT are blocked in every thread (the threads started below inherit the
    # mask) and taken by the main thread with sigwait once everything runs. With a Python
    # handler, the kernel may deliver the signal to one of the server's threads: the handler
    # then waits for the main thread to run bytecode, and the main thread, blocked in an
    # Event.wait() without a timeout, never does (seen in CI as a stop that never came).
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)

    # One clock for the simulator, the service, the webhook signatures and their verifier.
    clock = ShiftableClock()
    model = FakeStripe(clock=clock.unix_seconds)
    stripe = LoopbackStripe(
        model, clock=clock.now, advance_clock=clock.advance, host=host, port=stripe_port
    ).start()
    engine = sqlite_engine(database)
    try:
        create_schema(engine)
        orders = SqlOrderRepository(engine, clock=clock)
        service = RefundService(
            orders=orders,
            gateway=loopback_gateway(stripe.url),  # the real SDK and StripeGateway
            clock=clock,
            processed_events=SqlProcessedEvents(engine, clock=clock),
        )
        seed(model, service)
        webhook_secret = "whsec_" + secrets.token_urlsafe(32)
        app = create_app(
            Backend(
                service=service,
                verifier=StripeWebhookVerifier(webhook_secret, clock=clock),
                signer=QuoteSigner(secrets.token_bytes(32), clock=clock),
            )
        )
        server = make_server(host, port, app, threaded=True)
        serving = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="backend", daemon=True
        )
        serving.start()
        backend_url = f"http://{host}:{server.server_port}"
        forwarder = WebhookForwarder(
            stripe.url,
            backend_url + WEBHOOK_PATH,
            webhook_secret,
            clock=clock.now,
            on_delivery=_report_refusal,
        ).start()
        print(f"backend: {backend_url}", flush=True)
        print(f"stripe: {stripe.url}", flush=True)
        signal.sigwait(stop_signals)
        # A stop takes a second or two. Should one ever hang, every thread's stack goes to
        # stderr after 15 s, where the tests show it; the dump thread ends with the process.
        faulthandler.dump_traceback_later(15, exit=False)
        forwarder.stop()
        server.shutdown()
        serving.join(timeout=10)
    finally:
        stripe.stop()
        engine.dispose()
    return 0


def _report_refusal(delivery: WebhookDelivery) -> None:
    """Say on stderr when the app did not accept a forwarded event (never the secret)."""
    if not delivery.accepted:
        answer = delivery.status if delivery.status is not None else delivery.error
        print(f"webhook {delivery.type} {delivery.event_id}: {answer}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
