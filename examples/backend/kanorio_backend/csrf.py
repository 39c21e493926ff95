"""CSRF protection: every form carries the session's token, every POST must send it back.

The token is random per session and lives in the signed session cookie; a page of another site
cannot read it, so it cannot make the browser post a form that carries it. The Stripe webhook is
exempt: Stripe signs its requests instead (``webhook.py``).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Final

from flask import abort, render_template, request, session

FIELD: Final = "csrf_token"
_KEY: Final = "csrf"
#: Endpoints whose POSTs are not forms of this app.
EXEMPT: Final = frozenset({"webhook.stripe_webhook"})


def csrf_token() -> str:
    """The session's token (made on first use), for the hidden field of every form."""
    token = session.get(_KEY)
    if not isinstance(token, str):
        token = session[_KEY] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Before every request: refuse a POST without the session's token (400)."""
    if request.method != "POST" or request.endpoint in EXEMPT:
        return
    expected = session.get(_KEY)
    sent = request.form.get(FIELD, "")
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(
            400,
            response=(
                render_template(
                    "problem.html",
                    title="Form refused",
                    code="csrf_failed",
                    message=(
                        "This form was not sent from a page of this backend, or your session "
                        "ended since the page was shown. Go back, reload the page and try again."
                    ),
                ),
                400,
            ),
        )
