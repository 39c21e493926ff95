"""The examples in examples/ run and print what they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(name: str) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, check=True
    )
    return done.stdout


def test_quickstart_refunds_part_then_the_rest() -> None:
    """F1, F2, A5: the README's tour refunds 30.00 then the 65.80 left (fees not refunded)."""
    lines = _run("quickstart.py").splitlines()
    assert lines == [
        "refundable: 95.80 USD",
        "refund: 30.00 USD SUCCEEDED → order Partially Refunded",
        "refund: 65.80 USD SUCCEEDED → order Refunded",
    ]


def test_webhook_endpoint_accepts_signed_and_refuses_forged() -> None:
    """P1, L5: a correctly signed event of an ignored type is a 200; a forged one a 400."""
    lines = _run("webhook_endpoint.py").splitlines()
    assert lines == ["(200, 'ignored')", "(400, 'invalid_signature')"]
