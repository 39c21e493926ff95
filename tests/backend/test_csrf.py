"""CSRF protection: every POST form of the backend needs the session's token."""

from __future__ import annotations

import pytest

from tests.backend.conftest import Shop


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/signout", {}),
        ("/orders/1001/refund", {"action": "confirm", "amount": "1.00"}),
        ("/orders/1001/refund/process", {"quote": "kq1.x"}),
        ("/orders/1001/buyer-access/revoke", {}),
    ],
)
def test_a_post_without_the_token_is_refused(shop: Shop, path: str, fields: dict[str, str]) -> None:
    browser = shop.browser("olivia")
    browser.get("/orders/1001")
    page = browser.post(path, fields, csrf=False)
    assert page.status_code == 400
    assert 'data-code="csrf_failed"' in page.text
    assert shop.service.orders.get(shop.service.orders.get("1001").id).buyer_access


def test_another_sessions_token_is_refused(shop: Shop) -> None:
    """A token is the session's own: one read from another session does not pass."""
    olivia, adam = shop.browser("olivia"), shop.browser("adam")
    adam.get("/orders/1001")
    olivia.get("/orders/1001")
    olivia.csrf = adam.csrf
    page = olivia.post("/orders/1001/buyer-access/revoke", {})
    assert page.status_code == 400
    assert shop.service.orders.get(shop.service.orders.get("1001").id).buyer_access


def test_sign_in_needs_the_token_too(shop: Shop) -> None:
    """Login CSRF: a page elsewhere cannot sign a browser in as someone."""
    browser = shop.browser()
    page = browser.post("/signin", {"user": "olivia"}, csrf=False)
    assert page.status_code == 400
    assert browser.get("/ecommerce").status_code == 302


def test_the_token_is_not_the_same_for_two_sessions(shop: Shop) -> None:
    first, second = shop.browser("olivia"), shop.browser("olivia")
    first.get("/ecommerce")
    second.get("/ecommerce")
    assert first.csrf
    assert second.csrf
    assert first.csrf != second.csrf
