"""``kanorio-refunds sync``, ``show``, ``demo``, ``--help`` and secrets, end to end in
subprocesses against the simulator served in its own process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kanorio_refunds.domain import RefundStatus
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

SECRET_KEY = "sk_live_SENTINELsecretKEY0123456789"
SECRET_PASSWORD = "SENTINELpassw0rd"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with served_simulator() as served:
        yield served


def test_sync_resolves_an_unknown_outcome_with_one_refund(url: str, tmp_path: Path) -> None:
    """L2: Stripe made the refund but the answer was lost: refund exits 3 (unknown), sync
    resolves it to SUCCEEDED with exactly one Stripe refund and exits 0; --json summary."""
    db = tmp_path / "orders.db"
    (order,) = paid_orders(db, url, 1)
    rows = tmp_path / "rows.csv"
    rows.write_text("order_id,amount\norder-0,25.00\n")
    sim(url, "POST", "/_sim/faults", {"fault": "timeout_after_create"})
    env = command_env(db, url)
    lost = run_command("refund", "--csv", str(rows), *ACTOR, env=env)
    assert lost.returncode == 3, lost.stderr
    assert [r.status for r in stored(db, "order-0").refunds] == [RefundStatus.SUBMITTING]
    synced = run_command("sync", "order-0", "--json", env=env)
    assert synced.returncode == 0, synced.stderr
    summary = json.loads(synced.stdout)
    assert summary["counts"] == {"synced": 1}
    assert summary["orders"][0]["status"] == "PARTIALLY_REFUNDED"
    assert [r.status for r in stored(db, "order-0").refunds] == [RefundStatus.SUCCEEDED]
    assert len(refunds_at_stripe(url, order)) == 1
    table = run_command("sync", "order-0", env=env)
    assert table.returncode == 0
    assert "synced" in table.stdout


def test_sync_exits_3_while_stripe_cannot_be_reached(url: str, tmp_path: Path) -> None:
    """L2: a sync that cannot read Stripe reports the order unknown and exits 3."""
    db = tmp_path / "orders.db"
    paid_orders(db, url, 1)
    sim(
        url,
        "POST",
        "/_sim/faults",
        {"fault": "server_error", "operation": "retrieve_payment_intent"},
    )
    done = run_command("sync", "order-0", "--json", env=command_env(db, url))
    assert done.returncode == 3
    assert json.loads(done.stdout)["orders"][0]["error_code"] == "gateway_unavailable"
    missing = run_command("sync", "order-404", "--json", env=command_env(db, url))
    assert missing.returncode == 1
    assert json.loads(missing.stdout)["orders"][0]["error_code"] == "order_not_found"


def test_show_prints_the_order_as_a_table_or_json(url: str, tmp_path: Path) -> None:
    """F3, E2: the owner sees the order details (table or to_dict JSON); another site's admin
    is refused with permission_denied."""
    db = tmp_path / "orders.db"
    paid_orders(db, url, 1)
    env = command_env(db, url)
    table = run_command("show", "order-0", *ACTOR, env=env)
    assert table.returncode == 0, table.stderr
    assert "Refundable" in table.stdout
    assert "116.22 USD" in table.stdout
    as_json = run_command("show", "order-0", *ACTOR, "--json", env=env)
    data = json.loads(as_json.stdout)
    assert data["object"] == "order_details"
    assert data["refundable"]["amount"] == "116.22"
    outsider = run_command("show", "order-0", "--actor", "leo", "--site", "other", env=env)
    assert outsider.returncode == 1
    assert outsider.stderr.startswith("error [permission_denied]:")
    assert "Traceback" not in outsider.stderr


def test_no_secret_is_ever_printed(url: str, tmp_path: Path) -> None:
    """P3: the API key and a database password appear in no output, help or error."""
    db = tmp_path / "orders.db"
    paid_orders(db, url, 1)
    env = command_env(db, url, STRIPE_API_KEY=SECRET_KEY)
    bad_db = f"postgresql+psycopg://kanorio:{SECRET_PASSWORD}@127.0.0.1:9/refunds"
    runs = [
        run_command("--help", env=env),
        run_command("refund", "--help", env=env),
        run_command("show", "order-0", *ACTOR, "--json", env=env),
        run_command("show", "order-0", *ACTOR, "--live", env=env),
        run_command("--database-url", bad_db, "show", "order-0", *ACTOR, env=env),
        run_command(
            "show", "order-0", *ACTOR, env=command_env(db, None, STRIPE_API_KEY="pk_" + SECRET_KEY)
        ),
        run_command(
            "show",
            "order-0",
            *ACTOR,
            "--live",
            env=command_env(db, None, STRIPE_API_KEY=SECRET_KEY + " \n"),
        ),
    ]
    for done in runs:
        assert SECRET_KEY not in done.stdout + done.stderr
        assert SECRET_PASSWORD not in done.stdout + done.stderr
        assert "Traceback" not in done.stderr
    assert runs[4].returncode != 0
    assert runs[6].stderr.startswith("error [invalid_input]: STRIPE_API_KEY")


def test_every_command_has_help() -> None:
    """--help for each command, exit 0."""
    for args in (
        [],
        ["show"],
        ["sync"],
        ["refund"],
        ["register"],
        ["feed"],
        ["demo"],
        ["fake-stripe"],
        ["fake-stripe", "serve"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "kanorio_refunds.cli", *args, "--help"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, (args, done.stderr)
        assert "Usage: kanorio-refunds" in done.stdout


def test_importing_the_library_loads_no_cli_library() -> None:
    """``import kanorio_refunds`` stays light: no click, rich, stripe or SQLAlchemy."""
    code = (
        "import sys, kanorio_refunds;"
        "print(sorted(m for m in ('click','rich','stripe','sqlalchemy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_demo_is_a_command_too(tmp_path: Path) -> None:
    """``kanorio-refunds demo`` is the same walkthrough (tests/test_demo.py runs it); it
    refuses to overwrite an existing file, like ``python -m kanorio_refunds demo``."""
    taken = tmp_path / "taken.db"
    taken.write_text("not a database")
    done = subprocess.run(
        [sys.executable, "-m", "kanorio_refunds.cli", "demo", "--db", str(taken)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "exists" in done.stderr
    assert taken.read_text() == "not a database"
