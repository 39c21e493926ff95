"""What every command runs on: the SQL store, the Stripe gateway (real Stripe or the simulator
over loopback) and the acting person. Secrets (the API key, a database password) are read here
and never printed: ``Settings.describe`` shows the masked database address only."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from kanorio_refunds.domain import Actor, ActorId, Role, SiteId
from kanorio_refunds.errors import InvalidCsv, InvalidInput, InvalidRow

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from stripe._base_address import BaseAddresses

    from kanorio_refunds.cli._throttle import ThrottledHTTPClient
    from kanorio_refunds.service import RefundService

#: Where orders are kept unless KANORIO_DATABASE_URL or --database-url says otherwise.
DEFAULT_DATABASE: Final = "kanorio-refunds.db"

_KEY_RE: Final = re.compile(r"(?:sk|rk)_(live|test)_[A-Za-z0-9_]+")

# The command's own errors live with every other error (kanorio_refunds.errors) and are
# re-exported here for the command's modules.
__all__ = [
    "DEFAULT_DATABASE",
    "InvalidCsv",
    "InvalidInput",
    "InvalidRow",
    "Runtime",
    "Settings",
    "actor_from",
    "api_key_from_env",
    "open_engine",
    "runtime",
]


@dataclass
class Settings:
    """The command's configuration from flags and environment."""

    database_url: str = DEFAULT_DATABASE
    fake_stripe: str | None = None
    rate: float | None = None
    #: Read from STRIPE_API_KEY only; never shown.
    api_key: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (
            f"Settings(database={self.describe_database()!r}, fake_stripe={self.fake_stripe!r}, "
            f"rate={self.rate!r}, api_key={'set' if self.api_key else 'unset'})"
        )

    def describe_database(self) -> str:
        """The database address with any password masked."""
        url = self.database_url
        if "://" not in url:
            return url
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)

    def key_mode(self) -> str:
        """``test`` or ``live``: the simulator is test mode; a key says its own mode."""
        if self.fake_stripe is not None:
            return "test"
        key = self.api_key
        if not key:
            raise InvalidInput(
                "no Stripe API key: set STRIPE_API_KEY (a secret sk_… or restricted rk_… key), "
                "or use --fake-stripe URL for the simulator"
            )
        match = _KEY_RE.fullmatch(key)
        if match is None:
            raise InvalidInput(
                "STRIPE_API_KEY does not look like a secret (sk_live_…/sk_test_…) or restricted "
                "(rk_…) key"
            )
        return match.group(1)

    def effective_rate(self) -> float:
        """``--rate``, else Stripe's default limit for the key's mode (25/s test, 100/s live)."""
        from kanorio_refunds.cli._throttle import DEFAULT_RATES

        return self.rate if self.rate is not None else DEFAULT_RATES[self.key_mode()]


def actor_from(actor_id: str, role: str, sites: tuple[str, ...]) -> Actor:
    """The person the command acts as: ``role`` (owner or administrator) of each site."""
    if not actor_id.strip():
        raise InvalidInput("--actor must name the person acting (an id, not blank)")
    if not sites:
        raise InvalidInput("--site is required: the site(s) the actor owns or administers")
    return Actor(ActorId(actor_id), {SiteId(site): Role(role) for site in sites})


@dataclass
class Runtime:
    """The service and what it runs on, for one command."""

    service: RefundService
    engine: Engine
    http: ThrottledHTTPClient | None
    extras: dict[str, Any] = field(default_factory=dict)


def open_engine(settings: Settings) -> Engine:
    """The SQL engine: a path or ``sqlite:///path`` is an SQLite file (created with its schema
    when missing); any other URL (``postgresql+psycopg://…``) must hold the schema already."""
    from sqlalchemy import create_engine

    from kanorio_refunds.adapters.sql import check_schema, create_schema, sqlite_engine

    url = settings.database_url
    if "://" not in url or url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if path.is_dir():
            raise InvalidInput(f"the database path {path} is a folder")
        engine = sqlite_engine(path)
        create_schema(engine)
        return engine
    try:
        engine = create_engine(url)
    except Exception as e:
        raise InvalidInput(
            f"KANORIO_DATABASE_URL / --database-url is not a usable database URL "
            f"({settings.describe_database()}): {type(e).__name__}"
        ) from None
    check_schema(engine)
    return engine


@contextmanager
def runtime(settings: Settings, *, stripe: bool = True) -> Iterator[Runtime]:
    """Build the service on the SQL store and (with ``stripe``) the throttled Stripe gateway."""
    from kanorio_refunds.adapters.clock import SystemClock
    from kanorio_refunds.adapters.sql import SqlOrderRepository, SqlProcessedEvents
    from kanorio_refunds.service import RefundService

    http = None
    gateway: Any
    if stripe:
        gateway, http = _gateway(settings)
    else:
        gateway = _NoGateway()
    engine = open_engine(settings)
    try:
        clock = SystemClock()
        orders = SqlOrderRepository(engine, clock=clock)
        service = RefundService(
            orders=orders,
            gateway=gateway,
            clock=clock,
            processed_events=SqlProcessedEvents(engine, clock=clock),
            feed=orders,  # O1: the feed is written in the order's own transaction
            listing=orders,  # O2, I2: the Transactions list and what needs syncing
        )
        yield Runtime(service=service, engine=engine, http=http)
    finally:
        engine.dispose()


def _gateway(settings: Settings) -> tuple[Any, ThrottledHTTPClient]:
    import requests
    import stripe

    from kanorio_refunds.adapters.stripe import StripeGateway
    from kanorio_refunds.cli._throttle import RateLimiter, ThrottledHTTPClient
    from kanorio_refunds.testing.stripe_http import FAKE_API_KEY
    from kanorio_refunds.testing.stripe_server import require_loopback_url

    rate = settings.effective_rate()  # also checks the key
    session = requests.Session()
    base: BaseAddresses = {}
    if settings.fake_stripe is not None:
        try:
            base = {"api": require_loopback_url(settings.fake_stripe)}
        except ValueError as e:
            raise InvalidInput(f"--fake-stripe: {e}") from None
        session.trust_env = False  # loopback traffic never goes through a proxy
        key = FAKE_API_KEY
    else:
        assert settings.api_key is not None
        key = settings.api_key
    http = ThrottledHTTPClient(RateLimiter(rate), session=session, timeout=60)
    client = stripe.StripeClient(key, base_addresses=base, http_client=http, max_network_retries=0)
    return StripeGateway(client=client), http


class _NoGateway:
    """For commands that never call Stripe (``show``, ``feed``): any call is a bug."""

    def __getattr__(self, name: str) -> Any:
        raise InvalidInput(f"this command does not call Stripe ({name})")


def api_key_from_env() -> str | None:
    """STRIPE_API_KEY, or None."""
    value = os.environ.get("STRIPE_API_KEY")
    return value or None
