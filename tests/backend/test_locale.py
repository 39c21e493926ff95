"""Money per locale on the pages (kanorio_refunds.display through the ``|money`` filter)."""

from __future__ import annotations

from tests.backend.conftest import Shop, text_of


def test_amounts_follow_the_locale_picked_and_it_is_kept(shop: Shop) -> None:
    browser = shop.browser("olivia")
    assert text_of(browser.get("/orders/1002"), "refundable-balance") == "$1,173.71"
    assert text_of(browser.get("/orders/1002?locale=de_DE"), "refundable-balance") == "1.173,71 $"
    # Kept in the session for the next pages.
    assert text_of(browser.get("/orders/1003"), "refundable-balance") == "4.646 ¥"
    assert text_of(browser.get("/orders/1004"), "order-total") == "5,120 KWD"
    assert text_of(browser.get("/orders/1003?locale=ja_JP"), "order-total") == "￥4,820"


def test_a_locale_not_offered_is_ignored(shop: Shop) -> None:
    browser = shop.browser("olivia")
    page = browser.get("/orders/1001?locale=xx_YY")
    assert page.status_code == 200
    assert text_of(page, "refundable-balance") == "$120.00"
    assert text_of(browser.get("/orders/1001?locale=de_AT"), "refundable-balance") == "$120.00"


def test_each_user_has_a_locale_of_their_own(shop: Shop) -> None:
    """Otto's is de_DE: his list shows EUR 75.00 as Germans write it."""
    page = shop.browser("otto").get("/ecommerce/transactions")
    assert "75,00\u00a0€" in page.text


def test_activity_lines_show_amounts_in_the_locale(shop: Shop) -> None:
    """The library's sentences say "48.25 USD"; the page shows it as every other amount."""
    browser = shop.browser("olivia")
    activity = text_of(browser.get("/orders/1005?locale=de_DE"), "recent-activity")
    assert "48,25 $" in activity
    assert "48.25 USD" not in activity
