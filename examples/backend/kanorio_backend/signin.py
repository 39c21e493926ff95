"""Sign-in for the demo users: pick one, and the pages show what that person may do.

A real host has its own authentication; what matters here is only that each request knows its
user (``g.user``), and so the ``Actor`` it passes to the library.
"""

from __future__ import annotations

from typing import Final

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from kanorio_backend.users import DEMO_USERS, SITES, DemoUser, find_user

blueprint = Blueprint("signin", __name__)

_KEY: Final = "user"
#: Endpoints open without signing in.
PUBLIC: Final = frozenset(
    {"signin.signin", "signin.signin_post", "static", "favicon", "webhook.stripe_webhook"}
)


def load_user() -> DemoUser | None:
    """Before every request: ``g.user``, the signed-in user (None when nobody is)."""
    user = find_user(session.get(_KEY))
    g.user = user
    return user


def require_signin() -> Response | None:
    """Before every request: send anybody not signed in to the sign-in page."""
    if g.user is None and request.endpoint not in PUBLIC:
        return redirect(url_for("signin.signin"))
    return None


@blueprint.get("/signin")
def signin() -> str:
    return render_template("signin.html", users=DEMO_USERS, sites=SITES, error=None)


@blueprint.post("/signin")
def signin_post() -> Response | tuple[str, int]:
    user = find_user(request.form.get("user"))
    if user is None:
        error = "Choose one of the demo users."
        page = render_template("signin.html", users=DEMO_USERS, sites=SITES, error=error)
        return page, 422
    # A new session on sign-in: nothing from before (a planted session) carries over.
    session.clear()
    session[_KEY] = user.key
    return redirect(url_for("transactions.ecommerce"), 303)


@blueprint.post("/signout")
def signout() -> Response:
    session.clear()
    return redirect(url_for("signin.signin"), 303)
