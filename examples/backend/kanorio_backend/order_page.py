"""The order details page: amount breakdown, refundable balance, refund records with their
Stripe event timeline, recent activity and buyer access (``RefundService.order_details``, F3).

"Initiate Refund" shows only when the library's eligibility allows it (E1–E5); otherwise the
page lists the reasons in words. People the library does not show the order to (staff, other
sites' administrators) get its refusal, and the reasons "Initiate Refund" is not theirs.
"""

from __future__ import annotations

from flask import Blueprint, g, render_template

from kanorio_backend.wiring import backend
from kanorio_refunds import OrderDetails, OrderId
from kanorio_refunds.errors import GatewayUnavailable, OrderNotFound, PermissionDenied

blueprint = Blueprint("order_page", __name__)


def load_details(order_id: OrderId) -> tuple[OrderDetails, str | None]:
    """The order's details, from live Stripe data when it answers; else from stored data, with
    a warning saying so. Raises ``OrderNotFound``, ``PermissionDenied``."""
    wired = backend()
    try:
        return wired.service.order_details(order_id, g.user.actor, live=wired.live), None
    except GatewayUnavailable:
        stored = wired.service.order_details(order_id, g.user.actor, live=False)
        warning = (
            "Stripe did not answer, so this page shows the order as last stored; the "
            "refundable balance may be out of date."
        )
        return stored, warning


@blueprint.get("/orders/<order_id>")
def order(order_id: str) -> tuple[str, int]:
    return render_order(OrderId(order_id))


def render_order(order_id: OrderId, status: int = 200) -> tuple[str, int]:
    """The order page (or the refusal to show it) with the HTTP status to answer."""
    try:
        details, warning = load_details(order_id)
    except OrderNotFound as e:
        return not_found(order_id, e)
    except PermissionDenied as e:
        return refused(order_id, e)
    return render_template("order.html", details=details, warning=warning), status


def not_found(order_id: OrderId, error: OrderNotFound) -> tuple[str, int]:
    """The 404 page for an order id the library does not know."""
    page = render_template(
        "problem.html", title=f"Order #{order_id}", code=error.code, message=error.message
    )
    return page, 404


def refused(order_id: OrderId, error: PermissionDenied) -> tuple[str, int]:
    """The 403 page: why the order is not shown, and why "Initiate Refund" is not offered
    (the library's eligibility, which it answers from stored data for such a user)."""
    eligibility = backend().service.eligibility(order_id, g.user.actor)
    page = render_template(
        "order_refused.html", order_id=order_id, error=error, eligibility=eligibility
    )
    return page, 403
