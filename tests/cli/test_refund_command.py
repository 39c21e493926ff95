"""``kanorio-refunds refund --csv``, end to end in subprocesses against the simulator served
in its own process: results, refusals with their codes, dry runs, resume without a duplicate
(including after SIGKILL), 429s backed off, and E2 for every row."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kanorio_refunds.domain import Money, RefundStatus
from tests.cli.support import (
    ACTOR,
    command_env,
    paid_orders,
    refunds_at_stripe,
    run_command,
    served_simulator,
    sim,
    stored,
)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with served_simulator() as served:
        yield served


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _results(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


ROWS = (
    "order_id,amount,reason,notes\n"
    "order-0,40.00,customer_request,Missed classes\n"
    "order-1,full,other,\n"  # N2: notes required for Other
    "order-2,12.3x,,\n"  # unparseable amount
    "order-404,5.00,,\n"  # unknown order
    "order-3,500.00,duplicate,\n"  # over the balance
    "order-4,full,other,Course cancelled\n"
)


def test_bulk_refund_reports_every_row_and_goes_on(url: str, tmp_path: Path) -> None:
    """A3, N2, M2: good rows are refunded, each bad row is reported with its code and the run
    goes on; the results file says so; exit 1 because rows were refused."""
    db = tmp_path / "orders.db"
    orders = paid_orders(db, url, 5)
    rows = _csv(tmp_path / "rows.csv", ROWS)
    done = run_command(
        "--rate", "500", "refund", "--csv", str(rows), *ACTOR, "--json", env=command_env(db, url)
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    summary = json.loads(done.stdout)
    by_row = {r["row"]: r for r in summary["results"]}
    assert by_row[1]["outcome"] == "refunded"
    assert by_row[1]["status"] == "SUCCEEDED"
    assert by_row[2]["error_code"] == "notes_required"
    assert by_row[3]["error_code"] == "invalid_amount"
    assert by_row[4]["error_code"] == "order_not_found"
    assert by_row[5]["error_code"] == "amount_exceeds_refundable"
    assert by_row[6]["outcome"] == "refunded"
    assert summary["counts"] == {"refunded": 2, "refused": 4}
    results = _results(tmp_path / "rows.csv.results.csv")
    assert [r["error_code"] for r in results] == [
        "",
        "notes_required",
        "invalid_amount",
        "order_not_found",
        "amount_exceeds_refundable",
        "",
    ]
    assert results[0]["stripe_refund_id"].startswith("re_")
    assert [len(refunds_at_stripe(url, o)) for o in orders] == [1, 0, 0, 0, 1]
    # The same file again refunds nothing more (the refused rows are quoted again and refused).
    again = run_command(
        "--rate", "500", "refund", "--csv", str(rows), *ACTOR, "--json", env=command_env(db, url)
    )
    assert again.returncode == 1
    assert json.loads(again.stdout)["counts"] == {"refunded": 2, "refused": 4}
    assert [len(refunds_at_stripe(url, o)) for o in orders] == [1, 0, 0, 0, 1]


def test_dry_run_quotes_every_row_and_refunds_nothing(url: str, tmp_path: Path) -> None:
    """F1: --dry-run prints what each row would do, with each refusal's code; no refund."""
    db = tmp_path / "orders.db"
    orders = paid_orders(db, url, 5)
    rows = _csv(tmp_path / "rows.csv", ROWS)
    done = run_command(
        "--rate", "500", "refund", "--csv", str(rows), *ACTOR, "--dry-run", env=command_env(db, url)
    )
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert "would_refund" in out
    assert "PARTIALLY_REFUNDED" in out
    for code in (
        "notes_required",
        "invalid_amount",
        "order_not_found",
        "amount_exceeds_refundable",
    ):
        assert code in out
    assert all(refunds_at_stripe(url, o) == [] for o in orders)
    assert not (tmp_path / "rows.csv.results.csv").exists()


def test_a_wrong_header_stops_before_any_refund(url: str, tmp_path: Path) -> None:
    """A file whose header is wrong stops with invalid_csv (exit 2), nothing refunded."""
    db = tmp_path / "orders.db"
    orders = paid_orders(db, url, 1)
    rows = _csv(tmp_path / "rows.csv", "order,amount\norder-0,full\n")
    done = run_command("refund", "--csv", str(rows), *ACTOR, env=command_env(db, url))
    assert done.returncode == 2
    assert done.stderr.startswith("error [invalid_csv]:")
    assert "Traceback" not in done.stderr
    assert refunds_at_stripe(url, orders[0]) == []


def test_every_row_is_refunded_by_an_owner_or_admin_of_its_site(url: str, tmp_path: Path) -> None:
    """E2, P2: an actor of another site is refused on every row (permission_denied)."""
    db = tmp_path / "orders.db"
    orders = paid_orders(db, url, 2)
    rows = _csv(tmp_path / "rows.csv", "order_id,amount\norder-0,full\norder-1,1.00\n")
    outsider = ["--actor", "leo", "--role", "administrator", "--site", "other-site"]
    done = run_command("refund", "--csv", str(rows), *outsider, "--json", env=command_env(db, url))
    assert done.returncode == 1
    codes = [r["error_code"] for r in json.loads(done.stdout)["results"]]
    assert codes == ["permission_denied", "permission_denied"]
    assert all(refunds_at_stripe(url, o) == [] for o in orders)
    staff = run_command(
        "refund",
        "--csv",
        str(rows),
        "--actor",
        "x",
        "--role",
        "staff",
        "--site",
        "yoga",
        env=command_env(db, url),
    )
    assert staff.returncode == 2  # click refuses the role: only owner or administrator


def test_429s_are_backed_off_with_nothing_lost_or_duplicated(url: str, tmp_path: Path) -> None:
    """L1, L2: with every 7th Stripe request answered 429, every row is refunded exactly once
    (0 lost, 0 duplicated) and the retries are counted."""
    db = tmp_path / "orders.db"
    orders = paid_orders(db, url, 20)
    rows = _csv(
        tmp_path / "rows.csv",
        "order_id,amount,reason,notes\n" + "".join(f"order-{i},10.00,,\n" for i in range(20)),
    )
    sim(url, "POST", "/_sim/rate-limit", {"every": 7})
    try:
        done = run_command(
            "--rate",
            "400",
            "refund",
            "--csv",
            str(rows),
            *ACTOR,
            "--json",
            env=command_env(db, url),
        )
    finally:
        sim(url, "POST", "/_sim/rate-limit", {"every": None})
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["counts"] == {"refunded": 20}
    assert summary["rate_limited_retried"] > 0
    assert [len(refunds_at_stripe(url, o)) for o in orders] == [1] * 20
    assert all(r["amount"] == 1000 for o in orders for r in refunds_at_stripe(url, o))


def test_killed_midway_and_run_again_refunds_each_row_once(url: str, tmp_path: Path) -> None:
    """L1, L2, L7: a run SIGKILLed mid-file (its last refund possibly made at Stripe, not yet
    recorded) and the same file run again: every row refunded exactly once."""
    db = tmp_path / "orders.db"
    count = 30
    orders = paid_orders(db, url, count)
    rows = _csv(
        tmp_path / "rows.csv",
        "order_id,amount,reason,notes\n" + "".join(f"order-{i},full,,\n" for i in range(count)),
    )
    journal = tmp_path / "rows.csv.results.csv.journal"
    args = [
        sys.executable,
        "-m",
        "kanorio_refunds.cli",
        "--rate",
        "60",
        "refund",
        "--csv",
        str(rows),
        *ACTOR,
    ]
    victim = subprocess.Popen(
        args, env=command_env(db, url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count('"quoted"') >= 8:
            break
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    made_before = sum(len(refunds_at_stripe(url, o)) for o in orders)
    assert 0 < made_before < count
    done = run_command(
        "--rate", "500", "refund", "--csv", str(rows), *ACTOR, "--json", env=command_env(db, url)
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["counts"] == {"refunded": count}
    assert [len(refunds_at_stripe(url, o)) for o in orders] == [1] * count
    for order in orders:
        after = stored(db, str(order.id))
        assert [r.status for r in after.refunds] == [RefundStatus.SUCCEEDED]
        assert after.refunds[0].amount == Money.parse("116.22", "USD")
