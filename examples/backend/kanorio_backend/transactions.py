"""E-commerce → Transactions: the site's orders (``RefundService.transactions``, O2).

The library lists a site's orders only for its owner and administrators (E2); anybody else
sees its refusal in words.
"""

from __future__ import annotations

from flask import Blueprint, g, render_template, request

from kanorio_backend.users import SITES
from kanorio_backend.wiring import backend
from kanorio_refunds.errors import InvalidCursor, PermissionDenied

blueprint = Blueprint("transactions", __name__)


@blueprint.get("/")
@blueprint.get("/ecommerce")
def ecommerce() -> str:
    return render_template("ecommerce.html", site=SITES[g.user.site])


@blueprint.get("/ecommerce/transactions")
def transactions() -> tuple[str, int]:
    user = g.user
    site = SITES[user.site]
    after = request.args.get("after") or None
    try:
        page = backend().service.transactions(site.id, user.actor, after=after, limit=25)
    except PermissionDenied as e:
        return render_template("transactions.html", site=site, page=None, refused=e), 403
    except InvalidCursor as e:
        return render_template("transactions.html", site=site, page=None, refused=e), 400
    return render_template("transactions.html", site=site, page=page, refused=None), 200
