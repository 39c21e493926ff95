"""Benchmark (``make bench``): ``kanorio-refunds refund --csv`` against the simulator served
over HTTP in its own process, with 429s injected (every 20th Stripe request), sustains at
least 90 % of the configured request rate, refunding every row exactly once.

The rate counted is Stripe requests that were answered (not 429) per second of the run, as the
command's own summary reports them; it is printed with the configured rate and their ratio.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from tests.cli.support import (
    ACTOR,
    command_env,
    paid_orders,
    refunds_at_stripe,
    run_command,
    served_simulator,
    sim,
)

ROWS = 80


@pytest.mark.parametrize("rate", [25.0])  # Stripe's test-mode limit, the default
def test_bulk_refund_sustains_the_configured_rate(
    benchmark: BenchmarkFixture, tmp_path: Path, rate: float
) -> None:
    with served_simulator() as url:
        db = tmp_path / "orders.db"
        orders = paid_orders(db, url, ROWS)
        rows = tmp_path / "rows.csv"
        rows.write_text(
            "order_id,amount,reason,notes\n" + "".join(f"order-{i},10.00,,\n" for i in range(ROWS))
        )
        sim(url, "POST", "/_sim/rate-limit", {"every": 20})
        summaries = []

        def run() -> None:
            done = run_command(
                "--rate",
                str(rate),
                "refund",
                "--csv",
                str(rows),
                *ACTOR,
                "--json",
                env=command_env(db, url),
                timeout=600,
            )
            assert done.returncode == 0, done.stderr
            summaries.append(json.loads(done.stdout))

        benchmark.pedantic(run, rounds=1, iterations=1)
        summary = summaries[0]
        answered = summary["stripe_requests"] - summary["rate_limited_retried"]
        achieved = answered / summary["elapsed_seconds"]
        ratio = achieved / rate
        print(
            f"\nrate configured {rate:.0f}/s, sustained {achieved:.1f}/s answered "
            f"({summary['stripe_requests']} sent, {summary['rate_limited_retried']} answered 429 "
            f"and retried) in {summary['elapsed_seconds']:.1f}s: ratio {ratio:.1%}"
        )
        assert summary["counts"] == {"refunded": ROWS}
        assert [len(refunds_at_stripe(url, o)) for o in orders] == [1] * ROWS  # 0 lost, 0 dup
        assert summary["rate_limited_retried"] > 0
        assert ratio >= 0.9
