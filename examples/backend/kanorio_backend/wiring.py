"""What the pages are built on: the library's service, the webhook verifier and the quote
signer, set up once by whoever starts the app (``serve.py``, or a test)."""

from __future__ import annotations

from typing import Final, cast

import attrs
from flask import Flask, current_app

from kanorio_refunds import RefundService
from kanorio_refunds.adapters.stripe import StripeWebhookVerifier
from kanorio_refunds.signed_quotes import QuoteSigner

_EXTENSION: Final = "kanorio_backend"


@attrs.frozen
class Backend:
    """The app's dependencies. ``live``: refresh order pages from Stripe on every view (the
    help page's "real-time data from Stripe"); the refund itself always reads Stripe live."""

    service: RefundService
    verifier: StripeWebhookVerifier
    signer: QuoteSigner
    live: bool = True


def backend() -> Backend:
    """The ``Backend`` of the app handling the current request."""
    return cast(Backend, current_app.extensions[_EXTENSION])


def install(app: Flask, wired: Backend) -> None:
    """Give ``app`` its ``Backend``."""
    app.extensions[_EXTENSION] = wired
