"""Initiate Refund → Confirm Refund → Process Refund in the reference backend (F1, F2, F5)."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest

from tests.backend.conftest import Browser, Shop, has_test_id, text_of

_QUOTE = re.compile(r'name="quote" value="([^"]+)"')


def _confirm(browser: Browser, order: str, **fields: str) -> tuple[int, str, str | None]:
    """Post the form with "Confirm Refund"; the status, the page and the signed quote."""
    browser.get(f"/orders/{order}/refund")
    page = browser.post(f"/orders/{order}/refund", {"action": "confirm", **fields})
    found = _QUOTE.search(page.text)
    return page.status_code, page.text, found.group(1) if found else None


def _error(html: str, field: str) -> str | None:
    found = re.search(rf'role="alert" id="{field}-error"[^>]*>([^<]*)<', html)
    return found.group(1) if found else None


def test_form_has_the_help_pages_fields(shop: Shop) -> None:
    page = shop.browser("olivia").get("/orders/1001/refund")
    assert page.status_code == 200
    html = page.text
    for label in ('for="amount">Amount', 'for="reason">Reason', 'for="notes">Notes'):
        assert label in html
    assert ">Refund Full Amount</button>" in html
    assert ">Confirm Refund</button>" in html
    options = re.findall(
        r'<option value="(\w*)"[^>]*>([^<]+)</option>', html.split('id="reason"')[1]
    )
    assert [label for _value, label in options][:5] == [
        "No reason given",
        "Duplicate",
        "Fraudulent",
        "Customer Request",
        "Other",
    ]


def test_refund_full_amount_fills_in_the_refundable_balance(shop: Shop) -> None:
    """A5: without a script the button shows the form again with the balance filled in,
    keeping the reason and notes."""
    browser = shop.browser("olivia")
    browser.get("/orders/1002/refund")
    page = browser.post(
        "/orders/1002/refund", {"action": "full", "amount": "", "reason": "duplicate", "notes": "x"}
    )
    assert page.status_code == 200
    assert 'value="1173.71"' in page.text
    assert '<option value="duplicate" selected>' in page.text
    assert ">x</textarea>" in page.text
    assert 'data-full-amount="1173.71"' in page.text  # what the script fills in, in place


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"amount": "10.00", "reason": "other", "notes": "  "}, "notes", "needs notes"),
        ({"amount": "1,234.50"}, "amount", "not a plain decimal number"),
        ({"amount": ""}, "amount", "the amount is empty"),
        ({"amount": "12.345"}, "amount", "more decimal places"),
        ({"amount": "120.01"}, "amount", "$120.00"),
        ({"amount": "10.00", "reason": "bogus"}, "reason", "is not a refund reason"),
        ({"amount": "10.00", "notes": "bell\x07"}, "notes", "control"),
    ],
)
def test_errors_appear_beside_their_field(
    shop: Shop, fields: dict[str, str], field: str, words: str
) -> None:
    """N2, N3, A1, A3, N1: the library's refusal, in its words, beside the field it is about;
    what was typed is kept; nothing reaches Stripe."""
    status, html, quote = _confirm(shop.browser("olivia"), "1001", **fields)
    assert status == 422
    assert quote is None
    message = _error(html, field)
    assert message is not None, html
    assert words.lower() in message.replace("&#39;", "'").lower()
    assert f'aria-describedby="{field}-error"' in html
    assert [f for f in ("amount", "reason", "notes", "form") if _error(html, f)] == [field]
    assert f'value="{fields["amount"]}"' in html
    assert shop.stripe_refunds("1001") == []


def test_confirm_shows_the_confirmation_window_from_the_quote(shop: Shop) -> None:
    """F1: refundable before and after, resulting status, notices; nothing refunded yet."""
    browser = shop.browser("olivia")
    browser.get("/orders/1001/refund")
    page = browser.post(
        "/orders/1001/refund",
        {"action": "confirm", "amount": "20.00", "reason": "fraudulent", "notes": "Stolen card"},
    )
    assert page.status_code == 200
    assert text_of(page, "confirm-amount") == "$20.00"
    assert text_of(page, "confirm-refundable-before") == "$120.00"
    assert text_of(page, "confirm-refundable-after") == "$100.00"
    assert text_of(page, "confirm-resulting-status") == "Partially Refunded"
    assert text_of(page, "confirm-reason") == "Fraudulent"
    notices = re.findall(r'<li data-code="(\w+)">', page.text.split("confirm-notices")[1])
    assert "fraudulent_blocklist" in notices
    assert "irreversible" in notices
    assert _QUOTE.search(page.text)
    assert shop.stripe_refunds("1001") == []


def test_process_refund_refunds_once_and_shows_the_record(shop: Shop) -> None:
    """F2: the refund at Stripe, the order Partially Refunded, a flash, the record."""
    browser = shop.browser("olivia")
    _status, _html, quote = _confirm(browser, "1001", amount="20.00", notes="Kept one mug")
    assert quote is not None
    done = browser.post("/orders/1001/refund/process", {"quote": quote})
    assert done.status_code == 303
    assert done.headers["Location"].endswith("/orders/1001")
    page = browser.get("/orders/1001")
    made = shop.stripe_refunds("1001")
    assert [(r["amount"], r["status"]) for r in made] == [(2000, "succeeded")]
    assert (
        text_of(page, "flash")
        == f"Refund of $20.00 submitted to Stripe: Succeeded ({made[0]['id']})."
    )
    assert text_of(page, "order-status") == "Partially Refunded"
    assert text_of(page, "refundable-balance") == "$100.00"
    assert made[0]["id"] in text_of(page, "refund-record")
    assert "Kept one mug" in text_of(page, "refund-record")
    assert "$20.00" in text_of(page, "recent-activity")


def test_the_same_confirmation_processed_twice_makes_one_stripe_refund(shop: Shop) -> None:
    """F2: a double submit of "Process Refund" is the same quote: one refund, same answer."""
    browser = shop.browser("olivia")
    _status, _html, quote = _confirm(browser, "1001", amount="20.00")
    assert quote is not None
    first = browser.post("/orders/1001/refund/process", {"quote": quote})
    second = browser.post("/orders/1001/refund/process", {"quote": quote})
    assert first.status_code == second.status_code == 303
    assert len(shop.stripe_refunds("1001")) == 1
    page = browser.get("/orders/1001")
    assert text_of(page, "refundable-balance") == "$100.00"
    assert page.text.count('data-testid="refund-record"') == 1


def test_concurrent_double_submit_makes_one_stripe_refund(shop: Shop) -> None:
    """F2, L4: two requests with the same confirmation at once (two tabs, a double click that
    the browser sends twice): the library's idempotency per quote makes one Stripe refund."""
    browser = shop.browser("olivia")
    _status, _html, quote = _confirm(browser, "1001", amount="30.00")
    assert quote is not None
    cookie = browser.client.get_cookie("session")
    assert cookie is not None
    statuses: list[int] = []
    start = threading.Barrier(4)

    def submit() -> None:
        client = shop.app.test_client()
        client.set_cookie("session", cookie.value)
        start.wait()
        answer = client.post(
            "/orders/1001/refund/process", data={"csrf_token": browser.csrf, "quote": quote}
        )
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [303] * 4
    assert [r["amount"] for r in shop.stripe_refunds("1001")] == [3000]


def test_a_changed_confirmation_is_refused(shop: Shop) -> None:
    """F5: a quote token changed in the browser is refused in words; nothing refunded."""
    browser = shop.browser("olivia")
    _status, _html, quote = _confirm(browser, "1001", amount="20.00")
    assert quote is not None
    page = browser.post("/orders/1001/refund/process", {"quote": quote[:-4] + "AAAA"})
    assert page.status_code == 409
    assert "changed after it was signed" in (_error(page.text, "form") or "")
    assert shop.stripe_refunds("1001") == []


def test_a_confirmation_for_another_order_is_refused(shop: Shop) -> None:
    browser = shop.browser("olivia")
    _status, _html, quote = _confirm(browser, "1001", amount="20.00")
    assert quote is not None
    page = browser.post("/orders/1002/refund/process", {"quote": quote})
    assert page.status_code == 409
    assert "for order #1001, not #1002" in (_error(page.text, "form") or "")
    assert shop.stripe_refunds("1001") == shop.stripe_refunds("1002") == []


def test_another_users_confirmation_is_refused(shop: Shop) -> None:
    """P2: a quote is processed only by who confirmed it."""
    _status, _html, quote = _confirm(shop.browser("olivia"), "1001", amount="20.00")
    assert quote is not None
    adam = shop.browser("adam")
    adam.get("/orders/1001")
    page = adam.post("/orders/1001/refund/process", {"quote": quote})
    assert page.status_code == 403
    assert "confirmed by olivia" in text_of(page, "permission-refused")
    assert shop.stripe_refunds("1001") == []


def test_a_stale_confirmation_shows_the_form_again(shop: Shop) -> None:
    """F2: the order changed between Confirm and Process (another refund): StaleQuote, the
    form again with what was confirmed, nothing more refunded."""
    browser = shop.browser("olivia")
    _s, _h, first = _confirm(browser, "1001", amount="20.00")
    _s, _h, second = _confirm(browser, "1001", amount="30.00", reason="duplicate")
    assert first is not None
    assert second is not None
    assert browser.post("/orders/1001/refund/process", {"quote": first}).status_code == 303
    page = browser.post("/orders/1001/refund/process", {"quote": second})
    assert page.status_code == 409
    assert 'data-code="stale_quote"' in page.text
    assert 'value="30.00"' in page.text
    assert '<option value="duplicate" selected>' in page.text
    assert [r["amount"] for r in shop.stripe_refunds("1001")] == [2000]


def test_ineligible_order_has_no_form(shop: Shop) -> None:
    """E1, E3: the refunded #1005 has no form: back to the order, whose page says why."""
    browser = shop.browser("olivia")
    answer = browser.get("/orders/1005/refund")
    assert answer.status_code == 303
    page = browser.get("/orders/1005")
    assert "not available" in text_of(page, "flash")
    assert has_test_id(page, "eligibility-reasons")


@pytest.mark.parametrize("user", ["sam", "otto"])
def test_who_may_not_refund_cannot_confirm(shop: Shop, user: str) -> None:
    """P2: the library refuses the quote itself; the page says so."""
    browser = shop.browser(user)
    assert browser.get("/orders/1001/refund").status_code == 403
    page = browser.post("/orders/1001/refund", {"action": "confirm", "amount": "1.00"})
    assert page.status_code == 403
    assert shop.stripe_refunds("1001") == []


def test_refund_full_amount_then_refunded(shop: Shop) -> None:
    """A5: the whole balance refunded: status Refunded, no "Initiate Refund" any more."""
    browser = shop.browser("olivia")
    _s, _h, quote = _confirm(browser, "1004", amount="4.970")
    assert quote is not None
    assert browser.post("/orders/1004/refund/process", {"quote": quote}).status_code == 303
    page = browser.get("/orders/1004")
    assert text_of(page, "order-status") == "Refunded"
    assert text_of(page, "refundable-balance") == "KWD 0.000"  # a no-break space
    assert "Initiate Refund</a>" not in page.text


def test_an_expired_confirmation_is_refused(shop: Shop) -> None:
    """F5: the confirmation window is valid for the signer's ten minutes; after that, confirm
    again."""
    browser = shop.browser("olivia")
    _status, _html, quote = _confirm(browser, "1001", amount="20.00")
    assert quote is not None
    shop.clock.advance(timedelta(minutes=11))
    page = browser.post("/orders/1001/refund/process", {"quote": quote})
    assert page.status_code == 409
    assert "expired" in (_error(page.text, "form") or "")
    assert shop.stripe_refunds("1001") == []


def test_enter_in_a_field_confirms_rather_than_refunding_the_full_amount(shop: Shop) -> None:
    """A5, F1: a browser submits a form on Enter with its first submit button (HTML's implicit
    submission). That must be "Confirm Refund": were it "Refund Full Amount", Enter after typing
    20.00 would replace the amount by the whole balance."""
    html = shop.browser("olivia").get("/orders/1001/refund").text
    form = html[html.index('<form method="post" action="/orders/1001/refund"') :]
    form = form[: form.index("</form>")]
    first = re.search(r"<button[^>]*>", form)
    assert first is not None
    assert 'type="submit"' in first.group(0)
    assert 'name="action" value="confirm"' in first.group(0)


@pytest.mark.parametrize(
    ("order", "typed", "locale"),
    [("1001", "1.000", "de_DE"), ("1001", "4.820", "en_US"), ("1003", "4.000", "ja_JP")],
)
def test_more_decimals_than_the_currency_has_are_refused(
    shop: Shop, order: str, typed: str, locale: str
) -> None:
    """A1, M2: "1.000" is one thousand where "." groups thousands (de_DE); read as 1.00 USD
    it would refund a thousandth of what was meant. More decimals than the currency has, even
    zeros, are refused beside Amount; nothing is quoted or refunded."""
    browser = shop.browser("olivia")
    browser.get(f"/orders/{order}?locale={locale}")
    status, html, quote = _confirm(browser, order, amount=typed)
    assert status == 422
    assert quote is None
    message = (_error(html, "amount") or "").replace("&#39;", "'")
    assert f"'{typed}' has 3 decimal places" in message
    assert 'aria-describedby="amount-error"' in html
    assert f'value="{typed}"' in html
    assert shop.stripe_refunds(order) == []


def test_a_kwd_amount_keeps_its_three_decimals(shop: Shop) -> None:
    """M2: a three-decimal currency still takes three decimals ("Refund Full Amount" fills
    "4.970" for #1004)."""
    status, html, quote = _confirm(shop.browser("olivia"), "1004", amount="1.250")
    assert status == 200, html
    assert quote is not None


def test_notes_and_order_data_are_escaped(shop: Shop) -> None:
    """P3: what people type is text on every page, never markup (Jinja's autoescape)."""
    browser = shop.browser("olivia")
    typed = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    status, html, quote = _confirm(browser, "1001", amount="1.00", reason="other", notes=typed)
    assert status == 200
    assert quote is not None
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    browser.post("/orders/1001/refund/process", {"quote": quote})
    page = browser.get("/orders/1001").text
    assert "<script>alert(1)" not in page
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    missing = browser.get("/orders/%3Cb%3Ex%3C%2Fb%3E")
    assert missing.status_code == 404
    assert "<b>x</b>" not in missing.text


def test_a_confirmation_made_again_shows_what_was_refunded_already(shop: Shop) -> None:
    """F1, F2: Back after "Process Refund", then "Confirm Refund" again, makes a new quote (a
    second refund, if processed): its confirmation window says the order was refunded already,
    so a second refund is made knowingly."""
    browser = shop.browser("olivia")
    browser.get("/orders/1001/refund")
    form = {"action": "confirm", "amount": "20.00"}
    first = browser.post("/orders/1001/refund", form)
    assert text_of(first, "confirm-already-refunded") == "$0.00"
    quote = _QUOTE.search(first.text)
    assert quote is not None
    browser.post("/orders/1001/refund/process", {"quote": quote.group(1)})
    again = browser.post("/orders/1001/refund", form)
    assert text_of(again, "confirm-already-refunded").startswith("$20.00 (1 refund")
    assert len(shop.stripe_refunds("1001")) == 1


def test_notes_are_not_cut_by_the_browser(shop: Shop) -> None:
    """N3: over-long notes are refused in words by the library, never cut short silently by a
    maxlength in the page."""
    html = shop.browser("olivia").get("/orders/1001/refund").text
    notes = html[html.index('<textarea id="notes"') :]
    assert "maxlength" not in notes[: notes.index(">")]
