"""The main job (``make demo``) tells the help page's whole story on an SQLite file, from the
order's intake from its Stripe payment to the notifications a worker sends; its numbers are
right, and its crash chapter is a real one: an app server process is killed after writing
ahead, and a new process's sync resolves the refund with exactly one Stripe refund."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from kanorio_refunds.__main__ import main
from kanorio_refunds._demo import run
from kanorio_refunds.adapters.sql import SqlOrderRepository, sqlite_engine
from kanorio_refunds.domain import OrderId, OrderStatus, RefundStatus


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the in-process run keeps its SQLite file."""
    return tmp_path_factory.mktemp("demo") / "demo.db"


@pytest.fixture(scope="module")
def demo_text(demo_db: Path) -> str:
    """One in-process run of the walkthrough, kept in ``demo_db`` (it starts two app server
    processes itself)."""
    out = io.StringIO()
    assert run(out, db=demo_db) == 0
    return out.getvalue()


def test_demo_walks_through_the_help_page(demo_text: str) -> None:
    """F1–F4: the walkthrough shows each step of the help page with the right amounts."""
    text = demo_text
    # A paid order with fees and its net refundable balance.
    assert "status Paid" in text
    assert "net 113.82 USD" in text
    assert "Initiate Refund shown: yes" in text
    # The partial refund, then the remainder, with the resulting statuses.
    assert "Refundable 113.82 USD → 73.82 USD after this refund" in text
    assert "status Partially Refunded" in text
    assert "Refund 73.82 USD, reason Other" in text
    assert "status Refunded" in text
    assert "Clicking Process Refund again returns the same refund: True" in text
    # The Stripe event timeline, the ineligible attempt and buyer access.
    assert "refund.updated   → SUCCEEDED" in text
    assert "E1 status_not_refundable" in text
    assert "E2 not_owner_or_admin" in text
    assert "Refused: permission_denied" in text
    assert "Buyer access after:  False" in text


def test_demo_registers_its_order_from_the_stripe_payment(demo_text: str) -> None:
    """I1: the walkthrough's order is not built by hand: it is registered from its Stripe
    PaymentIntent with register_order (total and status read from Stripe), idempotently."""
    intake = demo_text.split("0. Intake")[1].split("1. E-commerce")[0]
    assert "register_order(order-1042, sunrise-yoga, payment_intent_id=pi_fake" in intake
    assert "Registered from Stripe: total 120.00 USD, status Paid" in intake
    assert "Registering it again returns the same order: True" in intake


def test_demo_notification_worker_reads_the_feed(demo_text: str) -> None:
    """O1: a notification worker reads service.feed after its cursor: the registration, then
    each refund succeeding (at increasing positions), and keeps the last position it read."""
    text = demo_text
    assert "Notification worker: feed after position 0: 1 new entries" in text
    assert "#1 email buyer and owner of order-1042: payment received" in text
    lines = text.splitlines()
    succeeded = [i for i, line in enumerate(lines) if line.endswith(": refund succeeded")]
    assert len(succeeded) == 2
    assert [lines[i + 1].strip() for i in succeeded] == [
        "Refund of 40.00 USD succeeded",
        "Refund of 73.82 USD succeeded",
    ]
    positions = [int(lines[i].split()[0].lstrip("#")) for i in succeeded]
    assert 1 < positions[0] < positions[1]
    assert f"Notification worker: feed after position 1: {positions[1] - 1} new entries" in text
    assert f"The worker keeps its cursor: {positions[1]}" in text


def test_demo_crash_chapter_is_a_real_restart(demo_text: str) -> None:
    """L1, L2, L7: app server 1 (a process) writes the refund ahead and is killed by SIGKILL
    once Stripe made it; the stored record is SUBMITTING with its amount held; app server 2 (a
    new process) syncs it to SUCCEEDED, and Stripe holds one refund for each payment."""
    text = demo_text
    assert "[app server 1] Confirm Refund: 3000 JPY, refundable after it 4712 JPY" in text
    assert "killed (SIGKILL) before it heard the answer: True" in text
    assert "Record: SUBMITTING, balance held: 4712 JPY" in text
    assert "[app server 2] After sync: SUCCEEDED" in text
    assert "order Partially Refunded" in text
    assert text.count("Refunds at Stripe for this payment: 1") == 2


def test_demo_shares_one_clock_between_stripe_and_every_process(demo_text: str) -> None:
    """Issue 8 item 7: the simulator, the service and the app server processes read one clock,
    so the timelines are in order and minutes apart, not years (the clock starts at 09:00)."""
    crash = demo_text.split("8. The app server dies")[1]
    times = [line.split()[0] for line in crash.splitlines() if line.startswith("    09:")]
    assert len(times) == 3
    assert times == sorted(times, reverse=True)  # newest first, one clock
    assert all(t.startswith("09:0") for t in times)


def test_module_entry_point_runs_the_same_demo(demo_text: str, demo_db: Path) -> None:
    """``python -m kanorio_refunds demo`` is the main job, on a temporary SQLite file by
    default; it runs on counters and a manual clock, so a second run, in another process,
    prints exactly the same walkthrough."""
    done = subprocess.run(
        [sys.executable, "-m", "kanorio_refunds", "demo"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    first, rest = done.stdout.split("\n", 1)
    assert first == "Orders are stored in SQLite: a temporary file (--db PATH keeps one)"
    assert demo_text == f"Orders are stored in SQLite: {demo_db}\n{rest}"


def test_demo_keeps_its_orders_in_the_sqlite_file_it_is_given(
    demo_text: str, demo_db: Path
) -> None:
    """L7: ``--db PATH`` keeps the walkthrough's SQLite file; read back by a new repository,
    order-1042 is refunded and order-1043 holds the one refund the restart resolved."""
    engine = sqlite_engine(demo_db)
    try:
        orders = SqlOrderRepository(engine)
        first = orders.get(OrderId("order-1042"))
        second = orders.get(OrderId("order-1043"))
    finally:
        engine.dispose()
    assert first.status is OrderStatus.REFUNDED
    assert [r.status for r in first.refunds] == [RefundStatus.SUCCEEDED] * 2
    assert [r.status for r in second.refunds] == [RefundStatus.SUCCEEDED]
    assert second.refunds[0].gateway_refund_id is not None


def test_entry_point_refuses_other_arguments_and_an_existing_file(tmp_path: Path) -> None:
    """Anything but ``demo [--db NEW_PATH]`` prints usage and exits 2, writing nothing."""
    existing = tmp_path / "taken.db"
    existing.write_text("not a database")
    assert main(["help"]) == 2
    assert main(["demo", "--keep"]) == 2
    assert main(["demo", "--db", str(existing)]) == 2
    assert existing.read_text() == "not a database"
