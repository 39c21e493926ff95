"""The reference backend: Kanorio's refund pages on ``kanorio_refunds`` (examples/backend).

``create_app(Backend(service, verifier, signer))`` is the Flask app; ``serve.py`` starts it on
SQLite with the Stripe simulator served over loopback, through the real ``StripeGateway``.
"""

from kanorio_backend.app import create_app
from kanorio_backend.wiring import Backend

__all__ = ["Backend", "create_app"]
