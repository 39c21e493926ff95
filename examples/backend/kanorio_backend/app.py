"""The Flask app: ``create_app(backend)`` wires the pages, sign-in, CSRF protection, the locale
and the Stripe webhook endpoint onto the library's service.

The session cookie is signed with a secret made when the app is created (never printed or
logged): restarting the app signs everybody out, which is what a demo wants.
"""

from __future__ import annotations

import secrets

from flask import Flask, g, render_template
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from kanorio_backend import labels, locales
from kanorio_backend.buyer_access import blueprint as buyer_access
from kanorio_backend.csrf import FIELD, check_csrf, csrf_token
from kanorio_backend.order_page import blueprint as order_page
from kanorio_backend.refund_form import blueprint as refund_form
from kanorio_backend.signin import blueprint as signin
from kanorio_backend.signin import load_user, require_signin
from kanorio_backend.transactions import blueprint as transactions
from kanorio_backend.users import SITES
from kanorio_backend.webhook import blueprint as webhook
from kanorio_backend.wiring import Backend, install
from kanorio_refunds import RefundError

#: Far more than any form or Stripe event of this app; a bigger body is refused (413).
MAX_BODY_BYTES = 256 * 1024


def create_app(wired: Backend) -> Flask:
    """The backend's Flask app on ``wired`` (the service, verifier and quote signer)."""
    app = Flask(__name__)
    app.secret_key = secrets.token_bytes(32)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        TEMPLATES_AUTO_RELOAD=False,
    )
    install(app, wired)
    for blueprint in (signin, transactions, order_page, refund_form, buyer_access, webhook):
        app.register_blueprint(blueprint)

    @app.before_request
    def before() -> Response | None:
        user = load_user()
        g.locale = locales.choose_locale(user.locale if user else None)
        check_csrf()
        return require_signin()

    app.jinja_env.filters.update(
        money=locales.money,
        when=labels.when,
        reason_label=labels.reason_label,
        refund_status=labels.refund_status_label,
        sentence=labels.sentence,
        localized=locales.localized,
        person=labels.person,
    )
    app.jinja_env.globals.update(
        csrf_token=csrf_token,
        csrf_field=FIELD,
        offered_locales=locales.OFFERED,
        reasons=labels.REASONS,
        sites=SITES,
    )

    @app.get("/favicon.ico")
    def favicon() -> tuple[str, int]:
        # Browsers ask for it on every page: no icon, and no sign-in redirect or 404 page either.
        return "", 204

    @app.after_request
    def headers(response: Response) -> Response:
        # Scripts and styles from this app only; forms post to it only; never framed.
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    @app.errorhandler(RefundError)
    def refund_error(error: RefundError) -> tuple[str, int]:
        # Whatever a page did not expect: its code and a generic sentence (a message might name
        # internals; none holds a secret, P3, but a page is no place for them).
        app.logger.error("unexpected %s: %s", error.code, error.message)
        page = render_template(
            "problem.html",
            title="Something went wrong",
            code=error.code,
            message="The backend could not complete this request. Try again in a moment.",
        )
        return page, 500

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        if error.response is not None:
            response: ResponseReturnValue = error.response
            return response
        page = render_template(
            "problem.html",
            title=error.name,
            code=str(error.code),
            message=error.description or error.name,
        )
        return page, error.code or 500

    return app
