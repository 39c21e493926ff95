"""The help page's steps as a user takes them in the browser, by role, label and test id.

Names come from the reference backend's pages (examples/backend/templates): the sign-in page's
"User" select, the "E-commerce" and "Transactions" links, orders linked by number ("#1001"),
the refund form's "Amount", "Reason" and "Notes", and the confirmation window's test ids.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any, Final

from tests.browser.backend import Backend
from tests.browser.screenshots import Screenshots

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page, expect
else:

    def expect(actual: Any, message: str | None = None) -> Any:
        """Playwright's ``expect``, imported when first used: without Playwright the
        ``browser`` fixture skips (a failure under CI) before any test gets here."""
        from playwright.sync_api import expect as playwright_expect

        return playwright_expect(actual, message)


OWNER: Final = "Olivia Owner"
ADMIN: Final = "Adam Admin"
STAFF: Final = "Sam Staff"
OTHER_SITE_ADMIN: Final = "Otto Other"

#: How long a reload loop waits for a webhook's effect to show.
WEBHOOK_TIMEOUT_S: Final = 30.0


def sign_in(page: Page, backend: Backend, user: str, shots: Screenshots | None = None) -> None:
    """Sign in on /signin as one of the demo users."""
    page.goto(f"{backend.url}/signin")
    page.get_by_label("User").select_option(label=user)
    if shots is not None:
        shots.take(page, "sign-in")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def sign_out(page: Page) -> None:
    """Sign out of the backend."""
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def open_transactions(page: Page, shots: Screenshots | None = None) -> None:
    """Step 1: "E-commerce → Transactions"."""
    # The main menu's link (pages' breadcrumbs link to E-commerce too, later in the page).
    page.get_by_role("link", name="E-commerce", exact=True).first.click()
    if shots is not None:
        shots.take(page, "e-commerce")
    page.get_by_role("link", name="Transactions", exact=True).click()
    expect(page.get_by_role("table")).to_be_visible()
    if shots is not None:
        shots.take(page, "transactions")


def order_row(page: Page, number: str) -> Locator:
    """Step 2: the Transactions row of order ``number`` (e.g. "#1001")."""
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=number, exact=True))


def open_order(page: Page, number: str, shots: Screenshots | None = None) -> None:
    """Steps 2 and 3: locate the order on Transactions and open its details."""
    order_row(page, number).get_by_role("link", name=number, exact=True).click()
    expect(page.get_by_role("heading", name=f"Order {number}")).to_be_visible()
    if shots is not None:
        shots.take(page, f"order-{number.lstrip('#')}")


def initiate_refund_control(page: Page) -> Locator:
    """The "Initiate Refund" link or button (shown only when a refund is allowed)."""
    return page.get_by_role("link", name="Initiate Refund").or_(
        page.get_by_role("button", name="Initiate Refund")
    )


def fill_refund_form(
    page: Page,
    *,
    amount: str | None,
    reason: str | None,
    notes: str = "",
    shots: Screenshots | None = None,
    shot_name: str = "refund-form",
) -> None:
    """Steps 4 to 8: open the form, enter the amount (None: "Refund Full Amount"), select the
    reason (None: leave it unselected), write the notes, and click "Confirm Refund"."""
    initiate_refund_control(page).click()
    amount_field = page.get_by_label("Amount", exact=True)
    expect(amount_field).to_be_visible()
    if amount is None:
        page.get_by_role("button", name="Refund Full Amount").click()
    else:
        amount_field.fill(amount)
    if reason is not None:
        page.get_by_label("Reason", exact=True).select_option(label=reason)
    page.get_by_label("Notes", exact=True).fill(notes)
    if shots is not None:
        shots.take(page, shot_name)
    page.get_by_role("button", name="Confirm Refund").click()


def process_refund(page: Page) -> None:
    """Step 9: "Process Refund" in the confirmation window; back on the order with a message."""
    page.get_by_role("button", name="Process Refund").click()
    expect(page.get_by_test_id("flash")).to_be_visible()


def payment_reference(page: Page) -> str:
    """The order's Stripe PaymentIntent id, as the order details show it."""
    reference = page.get_by_test_id("payment-reference")
    expect(reference).to_have_text(re.compile(r"pi_\w+"))
    found = re.search(r"pi_\w+", reference.inner_text())
    assert found is not None
    return found.group(0)


def reload_until_text(page: Page, locator: Locator, text: str | re.Pattern[str]) -> None:
    """Reload the page until ``locator`` contains ``text`` (a webhook arrives on its own time);
    fails with Playwright's message after ``WEBHOOK_TIMEOUT_S``."""
    deadline = time.monotonic() + WEBHOOK_TIMEOUT_S
    while True:
        page.reload()
        try:
            expect(locator).to_contain_text(text, timeout=1_000)
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
        else:
            return
