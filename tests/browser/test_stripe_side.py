"""What Stripe sees and says: one refund for a double click, and a late failure by webhook.

Stripe's side is read from the simulator (``GET /_sim/payments/{pi}/refunds``) and moved
through it (``POST /_sim/refunds/{id}/status``); serve.py sends the simulator's events to the
app's webhook endpoint, signed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.browser.walk import (
    OWNER,
    expect,
    fill_refund_form,
    initiate_refund_control,
    open_order,
    open_transactions,
    payment_reference,
    process_refund,
    reload_until_text,
    sign_in,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

    from tests.browser.backend import Backend
    from tests.browser.screenshots import Screenshots


def test_double_click_on_process_refund_makes_one_stripe_refund(
    page: Page, backend: Backend, screenshots: Screenshots
) -> None:
    """F2, L1: "Process Refund" clicked twice in a row sends the signed quote twice; Stripe
    makes one refund and the order records one."""
    sign_in(page, backend, OWNER)
    open_transactions(page)
    open_order(page, "#1001")
    pi = payment_reference(page)
    fill_refund_form(page, amount="20.00", reason="Duplicate")
    expect(page.get_by_test_id("confirm-amount")).to_have_text("$20.00")
    screenshots.take(page, "confirm")

    # A double click as the server sees it on a real network: the first click's form reaches
    # the server, which makes the refund, but its answer is still on its way when the second
    # click sends the form again. (Chromium drops a first submission the network has not yet
    # taken, so an instant double click on loopback reaches the server once.)
    submissions: list[Route] = []

    def hold(route: Route) -> None:
        submissions.append(route)

    page.route("**/refund/process", hold)
    button = page.get_by_role("button", name="Process Refund")
    box = button.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(x, y)
    _pump_until(page, lambda: len(submissions) == 1)
    submissions[0].fetch(max_redirects=0)  # the server makes the refund; the browser never hears
    page.mouse.click(x, y)
    _pump_until(page, lambda: len(submissions) == 2)
    submissions[1].continue_()
    page.unroute_all(behavior="ignoreErrors")  # the first answer stays unheard
    flashes = page.get_by_test_id("flash")
    expect(flashes.first).to_contain_text("Refund of $20.00 submitted to Stripe: Succeeded")
    screenshots.take(page, "order-after-double-click")

    assert len(submissions) == 2, "both clicks' forms reach the server"
    assert submissions[0].request.post_data == submissions[1].request.post_data
    expect(page.get_by_test_id("order-status")).to_have_text("Partially Refunded")
    expect(page.get_by_test_id("refundable-balance")).to_have_text("$100.00")
    expect(page.get_by_test_id("refund-record")).to_have_count(1)
    made = backend.stripe_refunds(pi)
    assert [r["amount"] for r in made] == [2000]
    # Both answers said the same (the unheard one left its message in the session): shown once.
    expect(flashes).to_have_text(
        [f"Refund of $20.00 submitted to Stripe: Succeeded ({made[0]['id']})."]
    )


def test_late_failure_by_webhook_shows_after_reload(
    page: Page, backend: Backend, screenshots: Screenshots
) -> None:
    """L6, S1, S2, S3: after $20.00 and then the remaining $100.00 (Refunded), Stripe fails the
    $100.00 refund late; its signed webhook reaches the app, and a reload shows the failure in
    the refund's timeline, the order back to Partially Refunded with $100.00 refundable."""
    sign_in(page, backend, OWNER)
    open_transactions(page)
    open_order(page, "#1001")
    pi = payment_reference(page)
    fill_refund_form(page, amount="20.00", reason="Customer Request")
    process_refund(page)
    fill_refund_form(page, amount=None, reason=None)
    expect(page.get_by_test_id("confirm-amount")).to_have_text("$100.00")
    process_refund(page)
    expect(page.get_by_test_id("order-status")).to_have_text("Refunded")
    screenshots.take(page, "order-refunded")

    made = backend.stripe_refunds(pi)
    assert [(r["amount"], r["status"]) for r in made] == [(2000, "succeeded"), (10000, "succeeded")]
    last = made[-1]["id"]
    backend.fail_refund_late(last, "expired_or_canceled_card")

    # The webhook arrives on its own time: reload until the refund's Stripe event timeline
    # shows the failure.
    failed = page.get_by_test_id("refund-record").filter(has_text=last)
    reload_until_text(
        page, failed.get_by_test_id("refund-events"), re.compile(r"refund\.\w+ → Failed")
    )
    screenshots.take(page, "order-after-late-failure")
    expect(failed.get_by_test_id("refund-status")).to_have_text("Failed")
    expect(failed.get_by_test_id("refund-failure")).to_have_text("expired_or_canceled_card")
    expect(page.get_by_test_id("order-status")).to_have_text("Partially Refunded")
    expect(page.get_by_test_id("refundable-balance")).to_have_text("$100.00")
    activity = page.get_by_test_id("recent-activity")
    expect(activity).to_contain_text("Refund of $100.00 failed (expired_or_canceled_card).")
    expect(activity).to_contain_text("Order status changed from Refunded to Partially Refunded.")
    expect(initiate_refund_control(page)).to_be_visible()


def _pump_until(page: Page, condition: Callable[[], bool]) -> None:
    """Let Playwright deliver its events (route handlers run then) until ``condition``."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the browser did not send the form"
        page.wait_for_timeout(20)
