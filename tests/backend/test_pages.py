"""Sign-in, permissions and the pages of the reference backend (Flask's test client, fakes)."""

from __future__ import annotations

import re

import pytest

from tests.backend.conftest import Shop, has_test_id, text_of


def test_signin_page_offers_the_four_demo_users(shop: Shop) -> None:
    """The sign-in page lists the owner, the administrator, staff and the other site's admin."""
    page = shop.browser().get("/signin")
    assert page.status_code == 200
    options = re.findall(r'<option value="(\w+)">([^<]+)</option>', page.text)
    assert options == [
        ("olivia", "Olivia Owner"),
        ("adam", "Adam Admin"),
        ("sam", "Sam Staff"),
        ("otto", "Otto Other"),
    ]


@pytest.mark.parametrize("path", ["/", "/ecommerce", "/ecommerce/transactions", "/orders/1001"])
def test_pages_send_the_signed_out_to_signin(shop: Shop, path: str) -> None:
    """Nothing but the sign-in page (and the webhook) answers without a signed-in user."""
    response = shop.browser().get(path)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/signin")


def test_unknown_user_is_refused_in_words(shop: Shop) -> None:
    browser = shop.browser()
    browser.get("/signin")
    response = browser.post("/signin", {"user": "mallory"})
    assert response.status_code == 422
    assert 'id="user-error"' in response.text
    assert "Choose one of the demo users" in response.text


def test_sign_out_ends_the_session(shop: Shop) -> None:
    browser = shop.browser("olivia")
    assert browser.get("/ecommerce").status_code == 200
    assert browser.post("/signout", {}).status_code == 303
    assert browser.get("/ecommerce").status_code == 302


@pytest.mark.parametrize("user", ["olivia", "adam"])
def test_owner_and_admin_see_the_sites_transactions(shop: Shop, user: str) -> None:
    """O2: the Transactions list of the site, newest first, each order linked by number."""
    browser = shop.browser(user)
    assert 'href="/ecommerce/transactions">Transactions</a>' in browser.get("/ecommerce").text
    page = browser.get("/ecommerce/transactions")
    assert page.status_code == 200
    assert re.findall(r">(#\d+)</a>", page.text) == ["#1001", "#1002", "#1003", "#1004", "#1005"]
    assert "$1,173.71" in page.text  # #1002's refundable balance: fees are not refunded


def test_staff_is_refused_the_list_in_words(shop: Shop) -> None:
    """E2, O2: the library lists a site's orders only for its owner and administrators."""
    page = shop.browser("sam").get("/ecommerce/transactions")
    assert page.status_code == 403
    assert "only they can list its transactions" in text_of(page, "permission-refused")
    assert not has_test_id(page, "transactions")


def test_other_sites_admin_lists_only_that_site(shop: Shop) -> None:
    page = shop.browser("otto").get("/ecommerce/transactions")
    assert page.status_code == 200
    assert re.findall(r">(#\d+)</a>", page.text) == ["#2001"]


def test_order_details_show_what_the_help_page_lists(shop: Shop) -> None:
    """F3: status, refundable balance and its breakdown, payment, records, activity, access."""
    page = shop.browser("olivia").get("/orders/1002")
    assert page.status_code == 200
    assert "<h1>Order #1002</h1>" in page.text
    assert text_of(page, "order-status") == "Paid"
    assert text_of(page, "refundable-balance") == "$1,173.71"
    assert text_of(page, "payment-reference") == shop.payment_of("1002")
    breakdown = text_of(page, "amount-breakdown")
    for figure in ("$1,234.50", "$36.10", "$24.69", "$1,173.71", "Initiate Refund"):
        assert figure in breakdown
    assert "No refunds." in text_of(page, "refund-records")
    assert "Order registered for Stripe payment" in text_of(page, "recent-activity")
    assert "Revoke Buyer Access" in text_of(page, "buyer-access")
    assert not has_test_id(page, "eligibility-reasons")


def test_refunded_order_shows_reasons_and_no_initiate_refund(shop: Shop) -> None:
    """E1, E3: #1005 was refunded in full: the reasons in words, no "Initiate Refund"."""
    page = shop.browser("olivia").get("/orders/1005")
    assert text_of(page, "order-status") == "Refunded"
    assert "Initiate Refund" not in page.text
    reasons = text_of(page, "eligibility-reasons")
    assert "only Paid or Partially Refunded orders can be refunded" in reasons
    assert "no refundable balance left" in reasons
    record = text_of(page, "refund-record")
    assert "$48.25" in record
    assert "Succeeded" in record
    assert "refund.created" in record  # its Stripe event timeline
    assert "Olivia Owner" in record


@pytest.mark.parametrize("user", ["sam", "otto"])
def test_who_may_not_refund_gets_the_refusal_and_its_reason_only(shop: Shop, user: str) -> None:
    """E2, P2: staff and another site's administrator are refused the order page in words;
    nothing of the order (payment, balance, refunds) is shown, and no "Initiate Refund"."""
    page = shop.browser(user).get("/orders/1001")
    assert page.status_code == 403
    assert "is not the owner or an administrator" in text_of(page, "permission-refused")
    assert "Initiate Refund is not offered" in text_of(page, "eligibility-reasons")
    assert 'data-code="not_owner_or_admin"' in page.text
    for hidden in ("refundable-balance", "payment-reference", "refund-records", "buyer-access"):
        assert not has_test_id(page, hidden)
    assert shop.payment_of("1001") not in page.text
    assert "Initiate Refund</a>" not in page.text


def test_unknown_order_is_a_404_in_words(shop: Shop) -> None:
    page = shop.browser("olivia").get("/orders/9999")
    assert page.status_code == 404
    assert 'data-code="order_not_found"' in page.text


def test_buyer_access_is_revoked_and_restored(shop: Shop) -> None:
    """F4: revoke, revoke again (idempotent), restore; recorded in the activity."""
    browser = shop.browser("olivia")
    browser.get("/orders/1001")
    for _ in range(2):
        done = browser.post("/orders/1001/buyer-access/revoke", {})
        assert done.status_code == 303
    page = browser.get("/orders/1001")
    assert "Buyer access revoked" in text_of(page, "flash")
    assert "Access revoked" in text_of(page, "buyer-access-state")
    assert "Restore Buyer Access" in page.text
    assert text_of(page, "recent-activity").count("revoked") == 1
    assert browser.post("/orders/1001/buyer-access/restore", {}).status_code == 303
    page = browser.get("/orders/1001")
    assert "can access the content" in text_of(page, "buyer-access-state")
    assert shop.service.orders.get(shop.service.orders.get("1001").id).buyer_access


def test_staff_cannot_revoke_buyer_access(shop: Shop) -> None:
    """P2: the library refuses; the page says so; nothing changes."""
    browser = shop.browser("sam")
    browser.get("/ecommerce")
    assert browser.post("/orders/1001/buyer-access/revoke", {}).status_code == 403
    olivia = shop.browser("olivia")
    assert "can access the content" in text_of(olivia.get("/orders/1001"), "buyer-access-state")


def test_pages_carry_security_headers_and_a_safe_session_cookie(shop: Shop) -> None:
    browser = shop.browser()
    page = browser.get("/signin")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_a_cursor_not_handed_out_is_refused_in_words(shop: Shop) -> None:
    """O2: the list's pages are the library's cursors; anything else is refused."""
    page = shop.browser("olivia").get("/ecommerce/transactions?after=kc1.forged")
    assert page.status_code == 400
    assert 'data-code="invalid_cursor"' in page.text


@pytest.mark.parametrize("user", [None, "olivia"])
def test_the_favicon_request_is_answered_without_a_page(shop: Shop, user: str | None) -> None:
    """Browsers ask for /favicon.ico on every page: 204, not a sign-in redirect or a 404."""
    answer = shop.browser(user).get("/favicon.ico")
    assert answer.status_code == 204
    assert answer.data == b""
