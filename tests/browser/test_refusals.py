"""What the pages refuse: "Other" without notes, and refunds by those who may not make them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.browser.walk import (
    OTHER_SITE_ADMIN,
    OWNER,
    STAFF,
    expect,
    fill_refund_form,
    initiate_refund_control,
    open_order,
    open_transactions,
    order_row,
    payment_reference,
    sign_in,
    sign_out,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.browser.backend import Backend
    from tests.browser.screenshots import Screenshots


def test_other_without_notes_is_refused_beside_notes(
    page: Page, backend: Backend, screenshots: Screenshots
) -> None:
    """N2: reason "Other" with blank notes is refused in the page, in words beside Notes; no
    confirmation window, nothing sent to Stripe, the order unchanged."""
    sign_in(page, backend, OWNER)
    open_transactions(page)
    open_order(page, "#1001", screenshots)
    order_url = page.url
    pi = payment_reference(page)
    fill_refund_form(page, amount="10.00", reason="Other", notes="   ", shots=screenshots)

    error = page.locator("#notes-error")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("role", "alert")
    expect(error).to_have_text(
        "The reason Other needs notes explaining the refund; add notes or choose another reason."
    )
    # Beside Notes: the Notes field is described by the error (what a screen reader reads
    # with the field), and the other fields carry none.
    notes = page.get_by_label("Notes", exact=True)
    expect(notes).to_have_accessible_description(re.compile("^The reason Other needs notes"))
    expect(notes.locator("xpath=..").locator("#notes-error")).to_have_count(1)
    expect(page.locator("#amount-error")).to_have_count(0)
    expect(page.get_by_role("button", name="Process Refund")).to_have_count(0)
    # What was typed is kept, so the user only adds the notes.
    expect(page.get_by_label("Amount", exact=True)).to_have_value("10.00")
    screenshots.take(page, "notes-required")
    assert backend.stripe_refunds(pi) == []

    page.goto(order_url)
    expect(page.get_by_test_id("order-status")).to_have_text("Paid")
    expect(page.get_by_test_id("refundable-balance")).to_have_text("$120.00")
    expect(page.get_by_test_id("refund-record")).to_have_count(0)


def test_staff_sees_no_initiate_refund_and_why(
    page: Page, backend: Backend, screenshots: Screenshots
) -> None:
    """E2, O2: a staff member is not offered "Initiate Refund". The library shows a site's
    orders only to its owner and administrators, so Transactions and the order's address are
    refused in words (403), the order page naming the reason the refund is not his, with no
    balance, payment or refunds."""
    sign_in(page, backend, STAFF)
    page.get_by_role("link", name="E-commerce", exact=True).first.click()
    response = _response_of(page, lambda: page.get_by_role("link", name="Transactions").click())
    assert response == 403
    expect(page.get_by_test_id("permission-refused")).not_to_be_empty()
    expect(page.get_by_role("link", name="#1001", exact=True)).to_have_count(0)
    screenshots.take(page, "transactions-refused")

    response = _response_of(page, lambda: page.goto(f"{backend.url}/orders/1001"))
    assert response == 403
    screenshots.take(page, "order-refused")
    expect(page.get_by_role("heading", name="Order #1001")).to_be_visible()
    expect(page.get_by_role("alert")).not_to_be_empty()
    expect(initiate_refund_control(page)).to_have_count(0)
    reasons = page.get_by_test_id("eligibility-reasons")
    expect(reasons).to_contain_text(
        "Only the owner or an administrator of site kanorio-demo can refund its orders."
    )
    for hidden in ("refundable-balance", "payment-reference", "refund-records", "buyer-access"):
        expect(page.get_by_test_id(hidden)).to_have_count(0)
    expect(page.get_by_role("button", name="Revoke Buyer Access")).to_have_count(0)


def test_administrator_of_another_site_cannot_open_the_order(
    page: Page, backend: Backend, screenshots: Screenshots
) -> None:
    """E2, P2: an administrator of "Other Shop" does not see #1001 among the transactions,
    and its address (taken from the owner's session) is refused in words, showing nothing of
    the order's payment, balance or refunds."""
    sign_in(page, backend, OWNER)
    open_transactions(page)
    open_order(page, "#1001")
    order_url = page.url
    pi = payment_reference(page)
    sign_out(page)

    sign_in(page, backend, OTHER_SITE_ADMIN)
    open_transactions(page, screenshots)
    expect(order_row(page, "#2001")).to_be_visible()
    expect(page.get_by_role("link", name="#1001", exact=True)).to_have_count(0)
    assert _response_of(page, lambda: page.goto(order_url)) == 403
    screenshots.take(page, "order-refused")
    expect(page.get_by_role("alert")).not_to_be_empty()  # the refusal, in words
    expect(page.get_by_test_id("payment-reference")).to_have_count(0)
    expect(page.get_by_test_id("refundable-balance")).to_have_count(0)
    expect(page.get_by_test_id("refund-records")).to_have_count(0)
    expect(page.get_by_text(pi)).to_have_count(0)
    expect(initiate_refund_control(page)).to_have_count(0)


def _response_of(page: Page, action: Callable[[], object]) -> int:
    """The HTTP status of the page ``action`` navigates to."""
    with page.expect_navigation() as navigation:
        action()
    response = navigation.value
    assert response is not None
    return response.status
