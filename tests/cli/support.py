"""Helpers for the command's end-to-end tests: the simulator served by ``kanorio-refunds
fake-stripe serve`` in its own process, orders in an SQLite file, and the command run as a
subprocess. Only 127.0.0.1 is ever used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kanorio_refunds.adapters.sql import SqlOrderRepository, create_schema, sqlite_engine
from kanorio_refunds.domain import Money, Order, OrderId, OrderStatus, SiteId
from kanorio_refunds.testing.stripe_server import loopback_gateway

SITE = "yoga"
ACTOR = ["--actor", "maya", "--role", "owner", "--site", SITE]
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@contextmanager
def served_simulator(*extra: str) -> Iterator[str]:
    """``kanorio-refunds fake-stripe serve --port 0`` in a subprocess; yields its URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kanorio_refunds.cli",
            "fake-stripe",
            "serve",
            "--port",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("Fake Stripe listening on http://127.0.0.1:"), line
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def sim(url: str, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
    """Call the simulator's /_sim/ control API; returns the JSON answer (raises on non-2xx)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with _OPENER.open(request, timeout=30) as answer:
        return json.load(answer)


def sim_error(url: str, method: str, path: str, body: Mapping[str, Any] | None = None) -> int:
    """The HTTP status of a control call that must fail."""
    try:
        sim(url, method, path, body)
    except urllib.error.HTTPError as e:
        return e.code
    raise AssertionError("the call succeeded")


def paid_orders(
    db: Path,
    url: str,
    count: int,
    *,
    total: str = "120.00",
    prefix: str = "order",
    site: str = SITE,
) -> list[Order]:
    """``count`` PAID orders in the SQLite file ``db`` whose payments live in the served
    simulator (created over /_sim/payments, read back through the real SDK)."""
    engine = sqlite_engine(db)
    try:
        create_schema(engine)
        orders = SqlOrderRepository(engine)
        gateway = loopback_gateway(url)
        money = Money.parse(total, "USD")
        made = []
        for i in range(count):
            intent = sim(
                url,
                "POST",
                "/_sim/payments",
                {"amount": money.minor, "currency": "usd", "stripe_fee": 378},
            )
            live = gateway.fetch_payment(intent["id"], None)
            order = Order(
                id=OrderId(f"{prefix}-{i}"),
                site_id=SiteId(site),
                total=money,
                status=OrderStatus.PAID,
                payment=live.record,
            )
            made.append(orders.add(order))
        return made
    finally:
        engine.dispose()


def stored(db: Path, order_id: str) -> Order:
    """The order as the SQLite file holds it now."""
    engine = sqlite_engine(db)
    try:
        return SqlOrderRepository(engine).get(OrderId(order_id))
    finally:
        engine.dispose()


def refunds_at_stripe(url: str, order: Order) -> list[dict[str, Any]]:
    """Every refund the simulator holds for the order's payment."""
    assert order.payment is not None
    refunds: list[dict[str, Any]] = sim(
        url, "GET", f"/_sim/payments/{order.payment.payment_intent_id}/refunds"
    )["data"]
    return refunds


def command_env(db: Path, url: str | None, **extra: str) -> dict[str, str]:
    """The environment of a command run: the database and simulator, no proxy, no key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KANORIO_", "STRIPE_"))}
    env["KANORIO_DATABASE_URL"] = str(db)
    if url is not None:
        env["KANORIO_FAKE_STRIPE"] = url
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


def run_command(
    *args: str, env: Mapping[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``kanorio-refunds ARGS`` in a subprocess (``python -m kanorio_refunds.cli``)."""
    return subprocess.run(
        [sys.executable, "-m", "kanorio_refunds.cli", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
