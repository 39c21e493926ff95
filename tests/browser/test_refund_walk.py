"""The help page walked in a browser: the nine steps for a partial refund, then the rest.

Expected texts are written out here (the seeded order #1001 is USD 120.00, paid, no refunds),
never computed by the code under test.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tests.browser.walk import (
    OWNER,
    expect,
    fill_refund_form,
    initiate_refund_control,
    open_order,
    open_transactions,
    order_row,
    payment_reference,
    process_refund,
    reload_until_text,
    sign_in,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.browser.backend import Backend
    from tests.browser.screenshots import Screenshots


def test_nine_steps_partial_refund_then_refund_full_amount(
    page: Page, backend: Backend, screenshots: Screenshots
) -> None:
    """F1, F2, F3, S1, A5, F4: owner refunds $20.00 of #1001 (Partially Refunded, $100.00
    left), then "Refund Full Amount" refunds the $100.00 (Refunded, no "Initiate Refund" and
    why); buyer access stays until revoked, and is restored."""
    shots = screenshots
    sign_in(page, backend, OWNER, shots)
    open_transactions(page, shots)  # step 1
    expect(order_row(page, "#1001")).to_contain_text("$120.00")  # step 2
    open_order(page, "#1001", shots)  # step 3
    expect(page.get_by_test_id("order-status")).to_have_text("Paid")
    expect(page.get_by_test_id("refundable-balance")).to_have_text("$120.00")
    expect(page.get_by_test_id("amount-breakdown")).to_contain_text("$120.00")
    expect(page.get_by_test_id("refund-record")).to_have_count(0)
    pi = payment_reference(page)

    # Steps 4 to 8: "Initiate Refund" in the amount breakdown; amount, reason, notes, "Confirm
    # Refund".
    breakdown = page.get_by_test_id("amount-breakdown")
    expect(breakdown.get_by_role("link", name="Initiate Refund")).to_be_visible()
    fill_refund_form(
        page,
        amount="20.00",
        reason="Customer Request",
        notes="Kept one of the two mugs",
        shots=shots,
        shot_name="refund-form-partial",
    )
    expect(page.get_by_test_id("confirm-amount")).to_have_text("$20.00")
    expect(page.get_by_test_id("confirm-refundable-before")).to_have_text("$120.00")
    expect(page.get_by_test_id("confirm-refundable-after")).to_have_text("$100.00")
    expect(page.get_by_test_id("confirm-resulting-status")).to_have_text("Partially Refunded")
    expect(page.get_by_test_id("confirm-reason")).to_have_text("Customer Request")
    expect(page.get_by_test_id("confirm-notices")).not_to_be_empty()
    expect(page.get_by_role("link", name="Cancel")).to_be_visible()
    shots.take(page, "confirm-partial")
    assert backend.stripe_refunds(pi) == [], "Confirm Refund must not refund at Stripe yet"

    process_refund(page)  # step 9
    shots.take(page, "order-partially-refunded")
    expect(page.get_by_test_id("order-status")).to_have_text("Partially Refunded")
    expect(page.get_by_test_id("refundable-balance")).to_have_text("$100.00")
    records = page.get_by_test_id("refund-record")
    expect(records).to_have_count(1)
    expect(records).to_contain_text("$20.00")
    expect(records).to_contain_text(re.compile(r"\bre_\w+"))
    expect(records).to_contain_text(re.compile("succeeded", re.IGNORECASE))
    expect(records).to_contain_text("Customer Request")
    expect(records).to_contain_text("Kept one of the two mugs")
    made = backend.stripe_refunds(pi)
    assert [(r["amount"], r["currency"], r["status"]) for r in made] == [(2000, "usd", "succeeded")]
    expect(records.get_by_test_id("refund-stripe-id")).to_have_text(made[0]["id"])
    # Stripe's event reaches the refund's timeline by webhook, on its own time.
    reload_until_text(page, records.get_by_test_id("refund-events"), "refund.created → Succeeded")
    activity = page.get_by_test_id("recent-activity")
    expect(activity).to_contain_text(f"Refund of $20.00 submitted to Stripe ({made[0]['id']}).")
    expect(activity).to_contain_text("Order status changed from Paid to Partially Refunded.")

    # The rest: "Refund Full Amount" fills in the refundable balance.
    initiate_refund_control(page).click()
    page.get_by_role("button", name="Refund Full Amount").click()
    expect(page.get_by_label("Amount", exact=True)).to_have_value("100.00")
    page.get_by_label("Reason", exact=True).select_option(label="Duplicate")
    shots.take(page, "refund-form-full")
    page.get_by_role("button", name="Confirm Refund").click()
    expect(page.get_by_test_id("confirm-amount")).to_have_text("$100.00")
    expect(page.get_by_test_id("confirm-refundable-before")).to_have_text("$100.00")
    expect(page.get_by_test_id("confirm-refundable-after")).to_have_text("$0.00")
    expect(page.get_by_test_id("confirm-resulting-status")).to_have_text("Refunded")
    shots.take(page, "confirm-full")
    process_refund(page)
    shots.take(page, "order-refunded")
    expect(page.get_by_test_id("order-status")).to_have_text("Refunded")
    expect(page.get_by_test_id("refundable-balance")).to_have_text("$0.00")
    expect(records).to_have_count(2)
    expect(records.filter(has_text="$100.00")).to_have_count(1)
    expect(initiate_refund_control(page)).to_have_count(0)
    expect(page.get_by_test_id("eligibility-reasons")).not_to_be_empty()
    amounts = [(r["amount"], r["status"]) for r in backend.stripe_refunds(pi)]
    assert amounts == [(2000, "succeeded"), (10000, "succeeded")]
    expect(page.get_by_test_id("recent-activity")).to_contain_text(
        "Order status changed from Partially Refunded to Refunded."
    )

    # Refunds leave buyer access alone; revoking it is its own step, and so is restoring it.
    access = page.get_by_test_id("buyer-access-state")
    expect(access).to_have_text("The buyer can access the content. Refunds do not change this.")
    page.get_by_role("button", name="Revoke Buyer Access").click()
    expect(access).to_have_text("Access revoked: the buyer can no longer access the content.")
    shots.take(page, "order-access-revoked")
    page.get_by_role("button", name="Restore Buyer Access").click()
    expect(access).to_have_text("The buyer can access the content. Refunds do not change this.")


def test_transactions_show_money_per_locale(
    page: Page, backend: Backend, screenshots: Screenshots
) -> None:
    """M3: Transactions write each currency with its own decimals (two, none, three) and the
    locale's symbols and separators, in English (United States) and, switched, in German."""
    sign_in(page, backend, OWNER)
    open_transactions(page, screenshots)
    expect(order_row(page, "#1001")).to_contain_text("$120.00")
    expect(order_row(page, "#1002")).to_contain_text("$1,234.50")
    expect(order_row(page, "#1003")).to_contain_text("¥4,820")
    expect(order_row(page, "#1004")).to_contain_text("KWD 5.120")

    page.get_by_label("Language").select_option(label="Deutsch (Deutschland)")
    page.get_by_role("button", name="Apply").click()
    expect(order_row(page, "#1002")).to_contain_text("1.234,50 $")
    screenshots.take(page, "transactions-de")
    expect(order_row(page, "#1001")).to_contain_text("120,00 $")
    expect(order_row(page, "#1003")).to_contain_text("4.820 ¥")
    expect(order_row(page, "#1004")).to_contain_text("5,120 KWD")
