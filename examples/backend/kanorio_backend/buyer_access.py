"""Revoke and Restore Buyer Access (F4): a separate order setting, never changed by a refund.

``RefundService.revoke_buyer_access`` and ``restore_buyer_access`` check the user themselves
(P2) and record the change in the order's activity; both are idempotent.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, url_for
from werkzeug.wrappers import Response

from kanorio_backend.order_page import not_found, refused
from kanorio_backend.wiring import backend
from kanorio_refunds import OrderId
from kanorio_refunds.errors import OrderNotFound, PermissionDenied

blueprint = Blueprint("buyer_access", __name__)


@blueprint.post("/orders/<order_id>/buyer-access/revoke")
def revoke(order_id: str) -> Response | tuple[str, int]:
    return _set(OrderId(order_id), granted=False)


@blueprint.post("/orders/<order_id>/buyer-access/restore")
def restore(order_id: str) -> Response | tuple[str, int]:
    return _set(OrderId(order_id), granted=True)


def _set(order_id: OrderId, *, granted: bool) -> Response | tuple[str, int]:
    service = backend().service
    try:
        if granted:
            service.restore_buyer_access(order_id, g.user.actor)
        else:
            service.revoke_buyer_access(order_id, g.user.actor)
    except OrderNotFound as e:
        return not_found(order_id, e)
    except PermissionDenied as e:
        return refused(order_id, e)
    if granted:
        flash("Buyer access restored: the buyer can access the content again.", "success")
    else:
        flash("Buyer access revoked: the buyer can no longer access the content.", "success")
    return redirect(url_for("order_page.order", order_id=order_id), 303)
