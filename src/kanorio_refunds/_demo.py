"""The main job: a walkthrough of the help page, stored in an SQLite file.

Run it with ``make demo`` or ``python -m kanorio_refunds demo [--db PATH]``. It prints what the
order details page would show at each step of "Refund Processing": intake (the order registered
from its Stripe payment with ``register_order``, I1), a paid order with fees, its eligibility,
a partial refund, the remainder refunded with "Refund Full Amount", the Stripe event
timeline, an attempt that is not eligible, revoking buyer access, and a real crash: an app server
process writes a refund ahead, Stripe makes it, and the process is killed (SIGKILL) before it
hears the answer; a new app server process syncs, and Stripe holds exactly one refund. A
notification worker reads the feed (``service.feed``, O1) after its cursor and says what it
would email to the buyer and the owner ("refund succeeded").

One Stripe and one clock for everything: the simulator (``FakeStripe``) lives in this process
and reads the demo's ``ManualClock``; the app server processes reach both over loopback HTTP
(``LoopbackStripe``): the real ``stripe`` SDK and ``StripeGateway`` talk to the simulator as
they would to Stripe, and ``LoopbackClock`` reads the same clock. Only 127.0.0.1 is ever used.

``LoopbackStripe``, ``loopback_gateway`` and ``LoopbackClock`` live in
``kanorio_refunds.testing.stripe_server`` (the simulator as a server).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Final, TextIO

from kanorio_refunds.adapters._stripe_json import parse_event
from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.adapters.sql import (
    SqlOrderRepository,
    SqlProcessedEvents,
    create_schema,
    sqlite_engine,
)
from kanorio_refunds.domain._actor import Actor, Role
from kanorio_refunds.domain._amount import FULL
from kanorio_refunds.domain._details import OrderDetails
from kanorio_refunds.domain._ids import ActorId, OrderId, SiteId
from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._order import ActivityKind
from kanorio_refunds.domain._quote import RefundQuote
from kanorio_refunds.domain._refund import Refund
from kanorio_refunds.errors import RefundError
from kanorio_refunds.service import RefundService
from kanorio_refunds.testing.fake_stripe import FakeStripe, FakeStripeGateway, stripe_paid_order
from kanorio_refunds.testing.stripe_server import LoopbackClock, LoopbackStripe, loopback_gateway

__all__ = ["run"]

SITE = SiteId("sunrise-yoga")
OWNER = Actor(ActorId("maya (owner)"), {SITE: Role.OWNER})
OUTSIDER = Actor(ActorId("leo (admin of another site)"), {SiteId("other-site"): Role.OWNER})

_CHILD_TIMEOUT_SECONDS: Final = 120


# ---------------------------------------------------------------------------------------------
# The walkthrough
# ---------------------------------------------------------------------------------------------


def run(out: TextIO = sys.stdout, *, db: Path | None = None) -> int:
    """Print the walkthrough to ``out``; returns 0 (the process exit code).

    The orders live in the SQLite file ``db`` (which must not exist yet), or in one in a
    temporary folder that is removed afterwards.
    """
    if db is not None:
        if db.exists():
            raise FileExistsError(f"{db} exists; give the demo a new file to write")
        return _walkthrough(out, db, kept=True)
    with tempfile.TemporaryDirectory(prefix="kanorio-demo-") as folder:
        return _walkthrough(out, Path(folder) / "kanorio-demo.db", kept=False)


def _walkthrough(out: TextIO, db: Path, *, kept: bool) -> int:
    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    # One clock: the simulator, this process's service and the app server processes all read it.
    clock = ManualClock(tick=timedelta(seconds=1))
    stripe = FakeStripe(clock=clock.unix_seconds)
    engine = sqlite_engine(db)
    try:
        create_schema(engine)
        orders = SqlOrderRepository(engine, clock=clock)
        service = RefundService(
            orders=orders,
            gateway=FakeStripeGateway(stripe),
            clock=clock,
            processed_events=SqlProcessedEvents(engine, clock=clock),
            feed=orders,  # O1: the notification feed, written with each order change
        )
        where = str(db) if kept else "a temporary file (--db PATH keeps one)"
        say(f"Orders are stored in SQLite: {where}")
        _chapters(say, stripe, orders, service)
        _crash_and_restart(say, stripe, clock, orders, service, db)
    finally:
        engine.dispose()
    return 0


def _chapters(
    say: Callable[[str], None],
    stripe: FakeStripe,
    orders: SqlOrderRepository,
    service: RefundService,
) -> None:
    delivered = [0]

    def deliver_webhooks() -> None:
        # Stripe's webhooks, delivered to the host's endpoint, which hands them to the service.
        for event in stripe.events_since(delivered[0]):
            service.apply_event(parse_event(event))
        delivered[0] = len(stripe.events())

    _heading(say, "0. Intake: the buyer paid at Stripe; the shop registers order-1042 for it")
    # The checkout made a PaymentIntent at Stripe (120.00 USD, Stripe fee 3.78, platform 2.40);
    # the host registers its order for it: the order's total and status come from Stripe (I1).
    intent = stripe.create_payment(12000, "usd", stripe_fee=378, application_fee=240)
    order_id = OrderId("order-1042")
    order = service.register_order(order_id, SITE, payment_intent_id=intent["id"])
    say(f"  register_order(order-1042, {SITE}, payment_intent_id={intent['id']})")
    say(f"  Registered from Stripe: total {order.total}, status {order.status.label}")
    same = service.register_order(order_id, SITE, payment_intent_id=intent["id"])
    say(f"  Registering it again returns the same order: {same == order}")
    cursor = [0]  # the notification worker's cursor in the feed (O1)
    _notify(say, service, cursor)

    _heading(say, "1. E-commerce → Transactions → order-1042")
    _show(say, service.order_details(order_id, OWNER))

    _heading(say, "2. Initiate Refund: is it available?")
    eligibility = service.eligibility(order_id, OWNER)
    say(f"  Initiate Refund shown: {'yes' if eligibility.allowed else 'no'}")
    say(f"  Refundable balance:    {eligibility.refundable}  (real-time data from Stripe)")

    _heading(say, "3. Partial refund: 40.00, reason Customer Request → Confirm Refund")
    quote = service.quote(
        order_id,
        OWNER,
        Money.parse("40.00", "USD"),
        reason="customer_request",
        notes="Missed the first two classes",
    )
    _show_quote(say, quote)
    _heading(say, "   → Process Refund")
    refund = service.process(quote, OWNER)
    _show_refund(say, refund)
    again = service.process(quote, OWNER)
    say(f"  Clicking Process Refund again returns the same refund: {again.id == refund.id}")
    say(f"  Refunds at Stripe for this payment: {len(stripe.refunds_of(_pi(order)))}")
    deliver_webhooks()
    _show(say, service.order_details(order_id, OWNER))

    _heading(say, "4. Refund Full Amount (the remaining balance) → Confirm → Process")
    quote = service.quote(order_id, OWNER, FULL, reason="other", notes="Course cancelled")
    _show_quote(say, quote)
    stripe.default_refund_status = "pending"  # this card's issuer confirms refunds later
    refund = service.process(quote, OWNER)
    _show_refund(say, refund)
    deliver_webhooks()
    say("  ... later, Stripe reports the refund succeeded (webhook refund.updated)")
    stripe.set_refund_status(str(refund.gateway_refund_id), "succeeded")
    deliver_webhooks()
    details = service.order_details(order_id, OWNER)
    _show(say, details)
    _notify(say, service, cursor)

    _heading(say, "5. Stripe event timeline")
    for record in details.refunds:
        say(f"  Refund {record.id} ({record.amount}):")
        for event in record.events:
            applied = "" if event.applied else "  (not applied: stale)"
            status = event.status.name if event.status else "-"
            say(f"    {event.occurred_at:%H:%M:%S}  {event.type:<16} → {status}{applied}")

    _heading(say, "6. Trying again on the refunded order")
    for who in (OWNER, OUTSIDER):
        eligibility = service.eligibility(order_id, who)
        say(f"  {who.id}: Initiate Refund shown: {'yes' if eligibility.allowed else 'no'}")
        for reason in eligibility.reasons:
            say(f"    - {reason.rule} {reason.code}: {reason.message}")
    _attempt(say, lambda: service.quote(order_id, OWNER, Money.parse("1.00", "USD")))
    _attempt(say, lambda: service.quote(order_id, OUTSIDER, Money.parse("1.00", "USD")))

    _heading(say, "7. Revoke Buyer Access (a separate setting: refunds never change it)")
    say(f"  Buyer access before: {service.order_details(order_id, OWNER).buyer_access}")
    service.revoke_buyer_access(order_id, OWNER)
    service.revoke_buyer_access(order_id, OWNER)  # idempotent: recorded once
    say(f"  Buyer access after:  {service.order_details(order_id, OWNER).buyer_access}")
    _show_activity(say, service.order_details(order_id, OWNER))
    stripe.default_refund_status = "succeeded"


def _crash_and_restart(
    say: Callable[[str], None],
    stripe: FakeStripe,
    clock: ManualClock,
    orders: SqlOrderRepository,
    service: RefundService,
    db: Path,
) -> None:
    _heading(
        say, "8. The app server dies while Stripe answers: nothing lost, nothing refunded twice"
    )
    second = orders.add(
        stripe_paid_order(
            stripe,
            order_id="order-1043",
            site_id=SITE,
            total=Money.parse("8000", "JPY"),
            stripe_fee=Money.parse("288", "JPY"),
        )
    )
    with LoopbackStripe(stripe, clock=clock.now) as relay:
        app_server: list[subprocess.Popen[str]] = []

        def crash_after_stripe_answers(stage: str, operation: str) -> bool:
            # Stripe has made the refund; the app server dies before it can read the answer.
            if stage == "answered" and operation == "POST /v1/refunds" and app_server:
                app_server[0].kill()
                app_server[0].wait()
                return True
            return False

        relay.interrupt = crash_after_stripe_answers
        with _app_server(
            db, relay.url, "refund", second.id, amount="3000", currency="JPY", reason="duplicate"
        ) as first:
            app_server.append(first)
            printed, _ = first.communicate(timeout=_CHILD_TIMEOUT_SECONDS)
        _relay_lines(say, "app server 1", printed)
        killed = first.returncode < 0
        say(
            "  Stripe made the refund; app server 1 was killed (SIGKILL) before it heard the "
            f"answer: {killed}"
        )
        waiting = service.order_details(second.id, OWNER)
        say(f"  Record: {waiting.refunds[0].status.name}, balance held: {waiting.refundable}")
        relay.interrupt = None
        with _app_server(db, relay.url, "sync", second.id) as restarted:
            printed, _ = restarted.communicate(timeout=_CHILD_TIMEOUT_SECONDS)
        _relay_lines(say, "app server 2", printed)
        if restarted.returncode != 0:
            raise RuntimeError(f"the restarted app server failed ({restarted.returncode})")
    say(f"  Refunds at Stripe for this payment: {len(stripe.refunds_of(_pi(second)))}")
    _show_activity(say, service.order_details(second.id, OWNER))


@contextmanager
def _app_server(
    db: Path, stripe_url: str, command: str, order_id: str, **options: str
) -> Iterator[subprocess.Popen[str]]:
    args = [sys.executable, "-m", "kanorio_refunds._demo", command, str(db), stripe_url, order_id]
    for name, value in options.items():
        args += [f"--{name}", value]
    with subprocess.Popen(args, stdout=subprocess.PIPE, text=True) as process:
        try:
            yield process
        finally:
            if process.poll() is None:  # pragma: no cover - only if the walkthrough failed
                process.kill()


def _relay_lines(say: Callable[[str], None], who: str, printed: str) -> None:
    for line in printed.splitlines():
        say(f"  [{who}] {line}")


def _app_server_main(argv: Sequence[str]) -> int:
    """One app server process of chapter 8: the service on the demo's SQLite file, the real
    SDK talking to the simulator over loopback, the demo's clock."""
    parser = argparse.ArgumentParser(prog="python -m kanorio_refunds._demo")
    parser.add_argument("command", choices=("refund", "sync"))
    parser.add_argument("db", type=Path)
    parser.add_argument("stripe_url")
    parser.add_argument("order_id")
    parser.add_argument("--amount")
    parser.add_argument("--currency")
    parser.add_argument("--reason")
    args = parser.parse_args(argv)

    clock = LoopbackClock(args.stripe_url)
    engine = sqlite_engine(args.db)
    service = RefundService(
        orders=SqlOrderRepository(engine, clock=clock),
        gateway=loopback_gateway(args.stripe_url),
        clock=clock,
        processed_events=SqlProcessedEvents(engine, clock=clock),
    )
    order_id = OrderId(args.order_id)
    if args.command == "refund":
        amount = Money.parse(args.amount, args.currency)
        quote = service.quote(order_id, OWNER, amount, reason=args.reason)
        print(f"Confirm Refund: {quote.amount}, refundable after it {quote.refundable_after}")
        print("Process Refund: the refund is written ahead, then Stripe is asked ...", flush=True)
        refund = service.process(quote, OWNER)
        print(f"Stripe answered: {refund.status.name}")  # pragma: no cover - killed before
        return 0
    print("Started; sync resumes every refund still submitting", flush=True)
    synced = service.sync(order_id)
    refund = synced.refunds[0]
    print(
        f"After sync: {refund.status.name} ({refund.gateway_refund_id}), order "
        f"{synced.status.label}"
    )
    return 0


def _pi(order: object) -> str:
    payment = getattr(order, "payment", None)
    return str(payment.payment_intent_id) if payment else ""


#: O1: the entries a notification worker emails to the buyer and the site's owner.
_NOTIFIED: Final = {
    ActivityKind.PAYMENT_UPDATED: "payment received",
    ActivityKind.REFUND_SUCCEEDED: "refund succeeded",
    ActivityKind.REFUND_FAILED: "refund failed",
    ActivityKind.REFUND_REQUIRES_ACTION: "refund needs action",
}


def _notify(say: Callable[[str], None], service: RefundService, cursor: list[int]) -> None:
    """O1: what a notification worker does: read the feed after its cursor, email what the
    buyer and owner must hear, and keep the last position it handled."""
    entries = service.feed(after=cursor[0], limit=100)
    say(f"  Notification worker: feed after position {cursor[0]}: {len(entries)} new entries")
    for e in entries:
        subject = _NOTIFIED.get(e.entry.kind)
        if subject is not None:
            say(f"    #{e.position} email buyer and owner of {e.order_id}: {subject}")
            say(f"        {e.entry.message}")
    if entries:
        cursor[0] = entries[-1].position
    say(f"  The worker keeps its cursor: {cursor[0]}")


def _heading(say: Callable[[str], None], text: str) -> None:
    say("")
    say(text)
    say("-" * len(text))


def _show(say: Callable[[str], None], details: OrderDetails) -> None:
    order = details.order
    say(f"  Order {order.id}  total {order.total}  status {details.status.label}")
    if details.breakdown is not None:
        b = details.breakdown
        say(
            f"  Captured {b.captured} − Stripe fee {b.stripe_fee} − platform fee "
            f"{b.platform_fee} = net {b.net_received}"
        )
        say(f"  Already refunded or in progress: {b.reserved}")
    say(f"  Refundable balance: {details.refundable}")
    for refund in details.refunds:
        _show_refund(say, refund)


def _show_quote(say: Callable[[str], None], quote: RefundQuote) -> None:
    reason = quote.reason.name.replace("_", " ").title() if quote.reason else "none"
    say("  Confirmation window:")
    say(f"    Refund {quote.amount}, reason {reason}, notes {quote.notes!r}")
    say(f"    Refundable {quote.refundable_before} → {quote.refundable_after} after this refund")
    say(f"    Order status will be: {quote.resulting_status.label}")
    for notice in quote.notices:
        say(f"    ! {notice.message}")


def _show_refund(say: Callable[[str], None], refund: Refund) -> None:
    reason = refund.reason.name.replace("_", " ").title() if refund.reason else "none"
    say(
        f"  Refund record: {refund.amount}  {refund.created_at:%Y-%m-%d %H:%M:%S}  "
        f"reason {reason}  status {refund.status.name}  Stripe {refund.gateway_refund_id}"
    )


def _show_activity(say: Callable[[str], None], details: OrderDetails) -> None:
    say("  Recent activity (newest first):")
    for entry in details.recent_activity:
        say(f"    {entry.at:%H:%M:%S}  {entry.message}")


def _attempt(say: Callable[[str], None], action: Callable[[], object]) -> None:
    try:
        action()
    except RefundError as e:
        say(f"  Refused: {e.code}: {e.message}")
    else:  # pragma: no cover - the walkthrough's attempts are all refused
        say("  Unexpectedly accepted")


if __name__ == "__main__":
    raise SystemExit(_app_server_main(sys.argv[1:]))
