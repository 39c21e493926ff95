"""``kanorio-refunds register``, ``feed`` and ``sync`` without order ids, end to end in
subprocesses against the simulator served in its own process (issue 13 on issue 12's use
cases)."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kanorio_refunds.domain import OrderStatus, RefundStatus
from kanorio_refunds.errors import OrderNotFound
from tests.cli.support import (
    ACTOR,
    SITE,
    command_env,
    paid_orders,
    run_command,
    served_simulator,
    sim,
    stored,
)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with served_simulator() as served:
        yield served


def _payment(url: str, amount: int = 12000) -> dict[str, Any]:
    """A succeeded PaymentIntent in the simulator (no order for it yet)."""
    intent: dict[str, Any] = sim(
        url, "POST", "/_sim/payments", {"amount": amount, "currency": "usd", "stripe_fee": 378}
    )
    return intent


def _served_requests(url: str) -> int:
    stats: dict[str, int] = sim(url, "GET", "/_sim/stats")
    return stats["api_requests"]


# ------------------------------------------------------------------------------- register


def test_register_by_arguments_is_idempotent_and_refuses_a_conflict(
    url: str, tmp_path: Path
) -> None:
    """I1: the order is stored from its Stripe payment (total, status Paid); the same
    registration again says "already registered" (exit 0); another site for it is refused
    with order_conflict (exit 1), a missing payment id is invalid_input (exit 2), an unknown
    payment Stripe's gateway_rejected; never a traceback."""
    db = tmp_path / "orders.db"
    env = command_env(db, url)
    intent = _payment(url)
    first = run_command(
        "register", "o-1", "--site", SITE, "--payment-intent", intent["id"], env=env
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"o-1 registered: site {SITE}, {intent['id']}, 120.00 USD, Paid")
    order = stored(db, "o-1")
    assert order.status is OrderStatus.PAID
    assert str(order.total) == "120.00 USD"
    assert order.payment is not None
    assert order.payment.payment_intent_id == intent["id"]

    again = run_command(
        "register", "o-1", "--site", SITE, "--payment-intent", intent["id"], "--json", env=env
    )
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["counts"] == {"already_registered": 1}
    assert summary["registrations"][0]["status"] == "Paid"
    assert stored(db, "o-1").version == order.version  # nothing changed

    conflict = run_command(
        "register", "o-1", "--site", "other", "--payment-intent", intent["id"], env=env
    )
    assert conflict.returncode == 1
    assert conflict.stderr.startswith("error [order_conflict]: order o-1 cannot be registered")
    stolen = run_command(
        "register", "o-2", "--site", SITE, "--charge", intent["latest_charge"], env=env
    )
    assert stolen.returncode == 1
    assert "error [order_conflict]:" in stolen.stderr
    assert "already belongs to order o-1" in stolen.stderr

    no_payment = run_command("register", "o-3", "--site", SITE, env=env)
    assert no_payment.returncode == 2
    assert no_payment.stderr.startswith("error [invalid_input]: give the order's payment")
    unknown = run_command("register", "o-3", "--site", SITE, "--payment-intent", "pi_nope", env=env)
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("error [gateway_rejected]:")
    both = run_command("register", "o-3", "--csv", str(tmp_path / "x.csv"), env=env)
    assert both.returncode == 2
    assert both.stderr.startswith("error [invalid_input]:")
    for done in (first, again, conflict, stolen, no_payment, unknown, both):
        assert "Traceback" not in done.stderr
    with pytest.raises(OrderNotFound):
        stored(db, "o-3")


def test_register_csv_reports_bad_rows_and_goes_on(url: str, tmp_path: Path) -> None:
    """I1: each row is registered or refused with its code (invalid_row for a row that cannot
    be read, order_conflict, invalid_payment_record without a payment id) and the run goes on
    (exit 1); running the file again registers nothing twice."""
    db = tmp_path / "orders.db"
    env = command_env(db, url)
    a, b = _payment(url), _payment(url, 5000)
    rows = tmp_path / "orders.csv"
    rows.write_text(
        "order_id,site_id,payment_intent_id,charge_id\n"
        f"c-1,{SITE},{a['id']},\n"
        f"c-2,,{b['id']},\n"  # no site
        f"c-3,{SITE},{b['id']}\n"  # a field short
        f"c-4,{SITE},{a['id']},\n"  # a's payment belongs to c-1
        f"c-5,{SITE},,\n"  # no payment
        f"c-6,{SITE},,{b['latest_charge']}\n"  # charge id only
    )
    done = run_command("register", "--csv", str(rows), "--json", env=env)
    assert done.returncode == 1, done.stderr
    summary = json.loads(done.stdout)
    by_order = {r["order_id"]: (r["outcome"], r["error_code"]) for r in summary["registrations"]}
    assert by_order == {
        "c-1": ("registered", ""),
        "c-2": ("refused", "invalid_row"),
        "c-3": ("refused", "invalid_row"),
        "c-4": ("refused", "order_conflict"),
        "c-5": ("refused", "invalid_payment_record"),
        "c-6": ("registered", ""),
    }
    assert [r["row"] for r in summary["registrations"]] == [1, 2, 3, 4, 5, 6]
    assert str(stored(db, "c-6").total) == "50.00 USD"

    again = run_command("register", "--csv", str(rows), env=env)
    assert again.returncode == 1
    assert "6 rows: 2 already registered, 4 refused" in again.stdout
    assert "invalid_row" in again.stdout
    assert "Traceback" not in again.stderr


def test_register_csv_with_a_wrong_header_stops_before_anything(url: str, tmp_path: Path) -> None:
    """I1: a header with an unknown or missing column is invalid_csv (exit 2) before Stripe is
    called or the database is opened."""
    db = tmp_path / "orders.db"
    env = command_env(db, url)
    intent = _payment(url)
    before = _served_requests(url)
    for header in ("order_id,site,payment_intent_id", "order_id,site_id", ""):
        rows = tmp_path / "orders.csv"
        rows.write_text(f"{header}\nw-1,{SITE},{intent['id']}\n" if header else "")
        done = run_command("register", "--csv", str(rows), env=env)
        assert done.returncode == 2, (header, done.stderr)
        assert done.stderr.startswith("error [invalid_csv]:")
        assert "Traceback" not in done.stderr
    assert _served_requests(url) == before
    assert not db.exists()


# ----------------------------------------------------------------------------------- feed


def test_feed_prints_the_entries_after_a_cursor(url: str, tmp_path: Path) -> None:
    """O1: every order's activity entries in position order (position, order, site, kind,
    message), after --after, at most --limit; a refund shows "refund succeeded" entries;
    bad cursors are invalid_input."""
    db = tmp_path / "orders.db"
    env = command_env(db, url)
    for name in ("f-1", "f-2"):
        intent = _payment(url)
        assert (
            run_command(
                "register", name, "--site", SITE, "--payment-intent", intent["id"], env=env
            ).returncode
            == 0
        )
    rows = tmp_path / "rows.csv"
    rows.write_text("order_id,amount\nf-1,25.00\n")
    assert run_command("refund", "--csv", str(rows), *ACTOR, env=env).returncode == 0

    everything = run_command("feed", "--json", env=env)
    assert everything.returncode == 0, everything.stderr
    entries = [json.loads(line) for line in everything.stdout.splitlines()]
    positions = [e["position"] for e in entries]
    assert positions == list(range(1, len(entries) + 1))
    assert [e["order_id"] for e in entries[:2]] == ["f-1", "f-2"]
    assert entries[0]["kind"] == "payment_updated"
    assert entries[0]["message"].startswith("Order registered for Stripe payment")
    assert {e["site_id"] for e in entries} == {SITE}
    assert "refund_succeeded" in {e["kind"] for e in entries if e["order_id"] == "f-1"}

    page = run_command("feed", "--after", "1", "--limit", "1", "--json", env=env)
    assert [json.loads(line)["position"] for line in page.stdout.splitlines()] == [2]
    text = run_command("feed", "--after", "1", "--limit", "1", env=env)
    assert text.returncode == 0
    assert text.stdout.split("\t")[0] == "2"
    assert "\tf-2\t" in text.stdout
    assert "\tpayment_updated\t" in text.stdout
    assert text.stderr.strip().endswith("next: --after 2")
    caught_up = run_command("feed", "--after", str(len(entries)), env=env)
    assert caught_up.returncode == 0
    assert caught_up.stdout == ""

    for bad in (["--after", "-1"], ["--limit", "0"], ["--limit", "many"], ["--interval", "0"]):
        refused = run_command("feed", *bad, env=env)
        assert refused.returncode == 2, bad
        assert refused.stderr.startswith("error [invalid_input]:"), refused.stderr
        assert "Traceback" not in refused.stderr


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_feed_follow_prints_new_entries_until_a_signal(
    url: str, tmp_path: Path, stop: signal.Signals
) -> None:
    """O1: --follow prints the entries there are, then each new one as it is saved, and stops
    on SIGINT or SIGTERM with exit 0 (the test bounds it with timeouts)."""
    db = tmp_path / "orders.db"
    env = command_env(db, url)
    intent = _payment(url)
    assert (
        run_command(
            "register", "g-1", "--site", SITE, "--payment-intent", intent["id"], env=env
        ).returncode
        == 0
    )
    follower = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kanorio_refunds.cli",
            "feed",
            "--follow",
            "--json",
            "--interval",
            "0.1",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert follower.stdout is not None
        for line in follower.stdout:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        first = json.loads(lines.get(timeout=30))
        assert (first["position"], first["order_id"]) == (1, "g-1")
        later = _payment(url)
        assert (
            run_command(
                "register", "g-2", "--site", SITE, "--payment-intent", later["id"], env=env
            ).returncode
            == 0
        )
        second = json.loads(lines.get(timeout=30))
        assert (second["position"], second["order_id"]) == (2, "g-2")
        follower.send_signal(stop)
        assert follower.wait(timeout=30) == 0
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    reader.join(timeout=10)
    assert follower.stderr is not None
    assert "Traceback" not in follower.stderr.read()


# ----------------------------------------------------------------------------------- sync


def test_sync_without_ids_syncs_every_order_that_needs_it(url: str, tmp_path: Path) -> None:
    """I2, L2: with no ids, sync reads exactly the orders needing it (a refund submitting or
    pending), resolves the lost answer to one refund, and once all is final has nothing to
    sync; a paid order without refunds in progress is never read."""
    db = tmp_path / "orders.db"
    env = command_env(db, url)
    paid_orders(db, url, 3, prefix="s")
    lost = tmp_path / "lost.csv"
    lost.write_text("order_id,amount\ns-0,10.00\n")
    sim(url, "POST", "/_sim/faults", {"fault": "timeout_after_create"})
    assert run_command("refund", "--csv", str(lost), *ACTOR, env=env).returncode == 3
    later = tmp_path / "later.csv"
    later.write_text("order_id,amount\ns-1,20.00\n")
    sim(url, "POST", "/_sim/default-refund-status", {"status": "pending"})
    try:
        assert run_command("refund", "--csv", str(later), *ACTOR, env=env).returncode == 0
    finally:
        sim(url, "POST", "/_sim/default-refund-status", {"status": "succeeded"})

    first = run_command("sync", "--json", env=env)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert [o["order_id"] for o in summary["orders"]] == ["s-0", "s-1"]
    assert summary["counts"] == {"synced": 2}
    assert summary["named"] is False
    assert [r.status for r in stored(db, "s-0").refunds] == [RefundStatus.SUCCEEDED]
    (pending,) = stored(db, "s-1").refunds
    assert pending.status is RefundStatus.PENDING
    assert "sync" in first.stderr  # the progress bar

    sim(url, "POST", f"/_sim/refunds/{pending.gateway_refund_id}/status", {"status": "succeeded"})
    second = run_command("sync", env=env)
    assert second.returncode == 0, second.stderr
    assert "s-1" in second.stdout
    assert "s-0" not in second.stdout
    assert "1 synced" in second.stdout
    assert [r.status for r in stored(db, "s-1").refunds] == [RefundStatus.SUCCEEDED]

    nothing = run_command("sync", env=env)
    assert nothing.returncode == 0
    assert "nothing to sync" in nothing.stdout
    assert json.loads(run_command("sync", "--json", env=env).stdout)["orders"] == []


def test_sync_without_ids_exits_3_while_outcomes_stay_unknown(url: str, tmp_path: Path) -> None:
    """L2: a refund still submitting whose order Stripe cannot be read for stays unknown:
    exit 3 and the order listed with gateway_unavailable."""
    db = tmp_path / "orders.db"
    env = command_env(db, url)
    paid_orders(db, url, 2, prefix="u")
    rows = tmp_path / "rows.csv"
    rows.write_text("order_id,amount\nu-1,10.00\n")
    sim(url, "POST", "/_sim/faults", {"fault": "timeout_after_create"})
    assert run_command("refund", "--csv", str(rows), *ACTOR, env=env).returncode == 3
    sim(
        url,
        "POST",
        "/_sim/faults",
        {"fault": "server_error", "operation": "retrieve_payment_intent"},
    )
    done = run_command("sync", "--json", env=env)
    assert done.returncode == 3, done.stderr
    (order,) = json.loads(done.stdout)["orders"]
    assert (order["order_id"], order["outcome"]) == ("u-1", "unknown")
    assert order["error_code"] == "gateway_unavailable"
    assert run_command("sync", env=env).returncode == 0  # the fault was one call: resolved now


def test_new_commands_have_help() -> None:
    """--help for register and feed says how to call them."""
    for command, words in (("register", "--payment-intent"), ("feed", "--follow")):
        done = subprocess.run(
            [sys.executable, "-m", "kanorio_refunds.cli", command, "--help"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        assert f"Usage: kanorio-refunds {command}" in done.stdout
        assert words in done.stdout
