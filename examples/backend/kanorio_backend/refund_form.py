"""Initiate Refund → Confirm Refund → Process Refund (help page steps 4–9; F1, F2, F5).

- "Initiate Refund" opens the form: amount, "Refund Full Amount", reason, notes.
- "Confirm Refund" asks the library for a quote (``RefundService.quote``: everything checked on
  live Stripe data) and shows its confirmation window: the refundable balance before and after,
  the resulting status and the notices. The quote travels to the browser and back as a
  ``QuoteSigner`` token in the form, so the server keeps nothing between the two clicks and
  never trusts a quote it did not sign.
- "Process Refund" opens the token and calls ``RefundService.process``. The library makes at
  most one refund per quote (the refund id and Stripe's idempotency key derive from it), so a
  double click, a resubmitted form or a second tab all get the same refund: this page makes no
  attempt of its own to guess.

Errors are the library's, in its words, beside the field they concern (``fields.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from kanorio_backend.fields import Field, field_of
from kanorio_backend.labels import refund_status_label, sentence
from kanorio_backend.locales import localized, money
from kanorio_backend.order_page import load_details, not_found, refused
from kanorio_backend.wiring import backend
from kanorio_refunds import (
    Money,
    OrderDetails,
    OrderId,
    RefundError,
    RefundQuote,
    RefundReason,
    RefundStatus,
)
from kanorio_refunds.errors import (
    ConcurrencyConflict,
    GatewayRejected,
    GatewayUnavailable,
    InvalidAmount,
    InvalidQuote,
    NotEligible,
    OrderNotFound,
    PermissionDenied,
    StaleQuote,
)

blueprint = Blueprint("refund_form", __name__)

Page = Response | tuple[str, int]


@attrs.frozen
class FormValues:
    """What the form holds, as typed (shown again beside its errors)."""

    amount: str = ""
    reason: str = ""
    notes: str = ""

    @classmethod
    def posted(cls) -> FormValues:
        form = request.form
        return cls(form.get("amount", "").strip(), form.get("reason", ""), form.get("notes", ""))

    @classmethod
    def of_quote(cls, quote: RefundQuote) -> FormValues:
        reason = quote.reason.value if quote.reason is not None else ""
        return cls(quote.amount.amount_text(), reason, quote.notes)


@blueprint.get("/orders/<order_id>/refund")
def initiate(order_id: str) -> Page:
    return _with_details(
        OrderId(order_id), lambda details, warning: _form(details, FormValues(), warning=warning)
    )


@blueprint.post("/orders/<order_id>/refund")
def confirm(order_id: str) -> Page:
    values = FormValues.posted()
    if request.form.get("action") == "full":
        # "Refund Full Amount": the field gets the refundable balance, nothing is checked yet.
        return _with_details(
            OrderId(order_id),
            lambda details, warning: _form(
                details,
                attrs.evolve(values, amount=details.refundable.amount_text()),
                warning=warning,
            ),
        )
    return _with_details(
        OrderId(order_id), lambda details, _warning: _quote(details, values), live=False
    )


@blueprint.post("/orders/<order_id>/refund/process")
def process(order_id: str) -> Page:
    return _with_details(OrderId(order_id), lambda details, _warning: _process(details), live=False)


def _with_details(
    order_id: OrderId, page: Callable[[OrderDetails, str | None], Page], *, live: bool = True
) -> Page:
    """``page(details, warning)`` for the order (``warning``: Stripe did not answer, the
    details are the stored ones), or the page saying why there is none."""
    wired = backend()
    warning: str | None = None
    try:
        if live:
            details, warning = load_details(order_id)
        else:
            details = wired.service.order_details(order_id, g.user.actor)
    except OrderNotFound as e:
        return not_found(order_id, e)
    except PermissionDenied as e:
        return refused(order_id, e)
    return page(details, warning)


def _form(
    details: OrderDetails,
    values: FormValues,
    errors: dict[Field, RefundError] | None = None,
    status: int = 200,
    *,
    warning: str | None = None,
) -> Page:
    if not details.eligibility.allowed and not errors:
        flash("Initiate Refund is not available for this order; the reasons are shown.", "error")
        return _to_order(details.order.id)
    page = render_template(
        "refund_form.html", details=details, values=values, errors=errors or {}, warning=warning
    )
    return page, status


def _quote(details: OrderDetails, values: FormValues) -> Page:
    """ "Confirm Refund": the library's quote in the confirmation window, or the form again
    with each error beside its field."""
    wired, order = backend(), details.order
    errors: dict[Field, RefundError] = {}
    amount: Money | None = None
    reason: RefundReason | None = None
    try:
        amount = Money.parse(values.amount, order.currency)
        _require_currency_decimals(values.amount, details)
    except RefundError as e:
        amount = None
        errors[field_of(e)] = e
    try:
        reason = RefundReason.parse(values.reason)
    except RefundError as e:
        errors[field_of(e)] = e
    if amount is not None and not errors:
        try:
            quote = wired.service.quote(order.id, g.user.actor, amount, reason, values.notes)
        except PermissionDenied as e:
            return refused(order.id, e)
        except RefundError as e:
            errors[field_of(e)] = e
        else:
            token = wired.signer.sign(quote)
            minutes = int(wired.signer.ttl.total_seconds() // 60)
            page = render_template(
                "confirm.html", details=details, quote=quote, token=token, ttl_minutes=minutes
            )
            return page, 200
    # Shown as the library now has it (the quote's live read saved any change it found).
    fresh = wired.service.order_details(order.id, g.user.actor)
    return _form(fresh, values, errors, 422)


def _require_currency_decimals(typed: str, details: OrderDetails) -> None:
    """Refuse more decimals than the order's currency has, even zeros: ``Money.parse`` reads
    "1.000" as USD 1.00, but in de_DE (and wherever "." groups thousands) it is one thousand.
    Refused, nobody is refunded an amount a thousand times smaller than they meant."""
    currency = details.order.currency
    _whole, point, fraction = typed.strip().partition(".")
    if point and len(fraction) > currency.exponent:
        raise InvalidAmount(
            f"'{typed.strip()}' has {len(fraction)} decimal places, but {currency.code} has "
            f"{currency.exponent}: type the amount without thousands separators and with at "
            f"most {currency.exponent} decimals, such as '{details.refundable.amount_text()}'"
        )


def _process(details: OrderDetails) -> Page:
    """ "Process Refund": the signed quote executed by the library, at most once."""
    wired, order_id = backend(), details.order.id
    try:
        quote = wired.signer.open(request.form.get("quote", ""))
        if quote.order_id != order_id:
            raise InvalidQuote(
                f"this confirmation is for order #{quote.order_id}, not #{order_id}; confirm "
                f"the refund again"
            )
    except InvalidQuote as e:
        # 409 for every invalid_quote, as docs/integration.md maps it ("Errors → HTTP").
        return _form(details, FormValues(), {"form": e}, 409)
    try:
        refund = wired.service.process(quote, g.user.actor)
    except PermissionDenied as e:
        return refused(order_id, e)
    except (StaleQuote, ConcurrencyConflict, InvalidQuote) as e:
        fresh = wired.service.order_details(order_id, g.user.actor)
        return _form(fresh, FormValues.of_quote(quote), {"form": e}, 409)
    except NotEligible as e:
        flash(sentence(e.message), "error")
        return _to_order(order_id)
    except GatewayRejected as e:
        # The library's message says "Stripe refused the refund of <amount>: <Stripe's words>".
        flash(
            f"{sentence(localized(e.message))} Stripe's code: {e.gateway_code}. The refund is "
            f"recorded as failed; nothing was refunded.",
            "error",
        )
        return _to_order(order_id)
    except GatewayUnavailable as e:
        if e.refund_id is None:
            # Stripe could not even be read: nothing was recorded, nothing sent (L1 not reached).
            flash(
                "Stripe did not answer, so nothing was sent and no refund is recorded. Try "
                "Process Refund again in a moment: the same confirmation makes at most one "
                "refund.",
                "warning",
            )
        else:
            flash(
                "Stripe did not answer. The outcome is unknown: the refund is recorded, its "
                "amount held, and it is reconciled with Stripe automatically. Do not refund "
                "again.",
                "warning",
            )
        return _to_order(order_id)
    except RefundError as e:
        fresh = wired.service.order_details(order_id, g.user.actor)
        return _form(fresh, FormValues.of_quote(quote), {field_of(e): e}, 422)
    if refund.status is RefundStatus.FAILED:
        # The same confirmation again after Stripe refused it: that refusal, not a new attempt.
        why = (refund.failure_reason or "no reason was given").rstrip(".")
        flash(
            f"Stripe refused this refund of {money(refund.amount)}: {why}. Nothing was "
            f"refunded; confirm the refund again to retry.",
            "error",
        )
        return _to_order(order_id)
    stripe_id = refund.gateway_refund_id or "no Stripe id yet"
    flash(
        f"Refund of {money(refund.amount)} submitted to Stripe: "
        f"{refund_status_label(refund.status)} ({stripe_id}).",
        "success",
    )
    return _to_order(order_id)


def _to_order(order_id: OrderId) -> Response:
    return redirect(url_for("order_page.order", order_id=order_id), 303)
