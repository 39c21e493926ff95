"""The main job (``make demo``) tells the help page's whole story, and its numbers are right."""

from __future__ import annotations

import io
import subprocess
import sys

from kanorio_refunds.__main__ import main
from kanorio_refunds._demo import run


def _demo_text() -> str:
    out = io.StringIO()
    assert run(out) == 0
    return out.getvalue()


def test_demo_walks_through_the_help_page() -> None:
    """F1–F4: the walkthrough shows each step of the help page with the right amounts."""
    text = _demo_text()
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
    # The lost answer is recovered without a second refund.
    assert "After sync: SUCCEEDED" in text
    assert text.count("Refunds at Stripe for this payment: 1") == 2


def test_demo_is_deterministic() -> None:
    """The demo runs on a manual clock and counters: two runs print the same text."""
    assert _demo_text() == _demo_text()


def test_module_entry_point_runs_the_demo() -> None:
    """``python -m kanorio_refunds demo`` is the main job; other arguments print usage."""
    assert main(["help"]) == 2
    done = subprocess.run(
        [sys.executable, "-m", "kanorio_refunds", "demo"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Refund Full Amount" in done.stdout
