"""App server processes for the multi-process tests: a ``RefundService`` of their own on the
shared SQL database, whose ``StripeGateway`` (the real ``stripe`` SDK) talks over 127.0.0.1 to
the one Stripe simulator the test process serves
(``kanorio_refunds.testing.stripe_server.LoopbackStripe``).

As a command (``python -m tests.sql._worker COMMAND ...``), for the kill tests:

- ``refund DB PREFIX STRIPE ORDER AMOUNT CURRENCY``: quote and process one refund;
- ``refunds DB PREFIX STRIPE ORDER AMOUNT CURRENCY``: keep refunding until none is left;
- ``sync DB PREFIX STRIPE ORDER``: sync the order.

Each prints one JSON line per step (flushed, so a killed process has said how far it got).
``race_worker`` is the body of the processes of the race test (multiprocessing, spawn).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from kanorio_refunds.adapters.clock import SystemClock
from kanorio_refunds.adapters.sql import SqlOrderRepository, SqlProcessedEvents
from kanorio_refunds.domain import Actor, ActorId, Money, OrderId, RefundQuote, Role, SiteId
from kanorio_refunds.errors import RefundError
from kanorio_refunds.service import RefundService
from kanorio_refunds.testing.stripe_server import loopback_gateway
from tests.sql.support import open_engine

SITE = SiteId("shop")
OWNER = Actor(ActorId("owner"), {SITE: Role.OWNER})


def make_service(db_url: str, prefix: str, stripe_url: str) -> RefundService:
    """This process's own service: its own engine, repository and gateway."""
    engine = open_engine(db_url)
    return RefundService(
        orders=SqlOrderRepository(engine, table_prefix=prefix),
        gateway=loopback_gateway(stripe_url),
        clock=SystemClock(),
        processed_events=SqlProcessedEvents(engine, table_prefix=prefix),
    )


def _say(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def race_worker(
    number: int,
    db_url: str,
    prefix: str,
    stripe_url: str,
    barrier: Any,
    tasks: Any,
    results: Any,
) -> None:
    """Refund the orders the test hands out, in lock step with the other workers: everybody
    quotes at once, then everybody processes at once, so they race for the same version."""
    service = make_service(db_url, prefix, stripe_url)
    barrier.wait()  # all started
    while True:
        task = tasks.get()
        if task is None:
            return
        order_id, amounts = task
        outcomes: list[str] = []
        for amount in amounts:
            quote: RefundQuote | None = None
            barrier.wait()
            try:
                quote = service.quote(OrderId(order_id), OWNER, Money.from_minor(amount, "USD"))
            except RefundError as e:
                outcomes.append(f"quote:{e.code}")
            barrier.wait()
            if quote is None:
                continue
            try:
                refund = service.process(quote, OWNER)
            except RefundError as e:
                outcomes.append(f"process:{e.code}")
            else:
                outcomes.append(f"refunded:{refund.status.value}")
        results.put((number, order_id, outcomes))


def main(argv: list[str]) -> int:
    """The command-line worker of the kill tests."""
    command, db_url, prefix, stripe_url, order = argv[:5]
    service = make_service(db_url, prefix, stripe_url)
    order_id = OrderId(order)
    _say(step="ready")
    if command == "sync":
        synced = service.sync(order_id)
        _say(step="synced", statuses=[r.status.value for r in synced.refunds])
        return 0
    amount = Money.parse(argv[5], argv[6])
    while True:
        try:
            quote = service.quote(order_id, OWNER, amount)
        except RefundError as e:
            _say(step="done", code=e.code)
            return 0
        _say(step="processing", refund_id=quote.refund_id)
        try:
            refund = service.process(quote, OWNER)
        except RefundError as e:
            _say(step="refused", code=e.code)
        else:
            _say(step="refunded", refund_id=refund.id, status=refund.status.value)
        if command == "refund":
            return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
