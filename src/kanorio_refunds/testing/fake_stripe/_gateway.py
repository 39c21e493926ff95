"""``FakeStripeGateway``: the ``PaymentGateway`` port over the in-process ``FakeStripe`` model,
and ``stripe_paid_order``: a PAID order whose payment exists in the model.

Both read Stripe's JSON with the same code as ``StripeGateway`` (``adapters._stripe_json``), so
the two gateways agree by construction; the shipped ``PaymentGatewayContract`` checks the rest.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final, TypeVar

from kanorio_refunds.adapters._stripe_json import (
    charge_refunds,
    disputed_charge_id,
    error_from_stripe,
    latest_charge_of,
    no_payment_reference,
    parse_payment,
    parse_refund,
    refund_params,
    refunds_oldest_first,
    unsettled_payment,
)
from kanorio_refunds.domain._ids import ChargeId, OrderId, PaymentIntentId, SiteId
from kanorio_refunds.domain._money import Money, to_stripe_amount
from kanorio_refunds.domain._order import Order, OrderStatus
from kanorio_refunds.domain._payment import GatewayRefund, LivePayment, RefundRequest
from kanorio_refunds.errors import GatewayUnavailable
from kanorio_refunds.testing.fake_stripe._model import (
    FakeStripe,
    StripeApiError,
    StripeConnectionFault,
    StripeTimeoutFault,
)
from kanorio_refunds.testing.fake_stripe._params import LIST_MAX_LIMIT

T = TypeVar("T")

_NONE: tuple[None, None] = (None, None)

# The charge whose older refunds a read listed, and the cursor of each page request it made.
_Pages = tuple[ChargeId, tuple[str, ...]]
# Refunds per page of the older refunds (``FakeStripe.older_refund_ids``).
_PAGE: Final = LIST_MAX_LIMIT

# What a live read of a PaymentIntent expands, as the Stripe adapter asks for it.
_PI_EXPAND: Final = ("latest_charge.balance_transaction", "latest_charge.refunds")


class FakeStripeGateway:
    """``ports.PaymentGateway`` over ``FakeStripe``: the same Stripe objects and errors the real
    adapter reads, without a network. Faults injected into the model surface as our errors:
    connection errors, timeouts, 409, 429 and 5xx as ``GatewayUnavailable``; definitive refusals
    as ``GatewayRejected`` with Stripe's code; unreadable objects as ``GatewayProtocolError``.

    ``refund_application_fee`` and ``reverse_transfer`` (Connect destination charges: also
    reverse the transfer to the connected account, in proportion) are sent with every refund,
    as ``StripeGateway`` sends them.
    """

    def __init__(
        self,
        stripe: FakeStripe | None = None,
        *,
        refund_application_fee: bool = False,
        reverse_transfer: bool = False,
    ) -> None:
        for name, flag in (
            ("refund_application_fee", refund_application_fee),
            ("reverse_transfer", reverse_transfer),
        ):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be a bool")
        self.stripe = stripe if stripe is not None else FakeStripe()
        self._refund_application_fee = refund_application_fee
        self._reverse_transfer = reverse_transfer
        # The refunds read (issue 10, ``_kept_refunds``): each parsed refund with the revision
        # it was read at (or created at, ``_keep_created``), and per charge the last tuple
        # handed out with the charge's revision and the ids it lists.
        # Kept for one simulator (``stripe`` is a public attribute a test may point elsewhere),
        # and filled under a lock: a host's threads share the gateway, and one thread's older
        # parse must not replace another's newer one.
        self._parsed: dict[str, tuple[int, GatewayRefund]] = {}
        self._reads: dict[str, tuple[int, tuple[str, ...], tuple[GatewayRefund, ...]]] = {}
        # Per PaymentIntent, the last live payment read with the model's revision then
        # (``_kept_payment``).
        self._payments: dict[str, tuple[int, LivePayment, _Pages]] = {}
        self._kept_for: FakeStripe | None = None
        self._kept_lock = threading.Lock()

    @property
    def refund_application_fee(self) -> bool:
        """Whether refunds also refund the platform's application fee."""
        return self._refund_application_fee

    @property
    def reverse_transfer(self) -> bool:
        """Whether refunds of destination charges also reverse the transfer (Connect)."""
        return self._reverse_transfer

    def fetch_payment(
        self, payment_intent_id: PaymentIntentId | None, charge_id: ChargeId | None
    ) -> LivePayment:
        """Live payment data and every refund, read like the Stripe adapter reads them: one
        retrieve with the charge's ``refunds`` expanded (its 10 newest), the rest listed 100 a
        page, and for a charge Stripe flags disputed its disputes (E5, see
        ``adapters._stripe_json``)."""
        stripe = self.stripe
        if payment_intent_id and type(stripe) is FakeStripe:
            return self._kept_payment(stripe, payment_intent_id)
        if payment_intent_id:
            intent = _call(
                lambda: self.stripe.retrieve_payment_intent(payment_intent_id, expand=_PI_EXPAND)
            )
            return self._read_intent(payment_intent_id, intent)[0]
        if charge_id:
            charge = _call(
                lambda: self.stripe.retrieve_charge(
                    charge_id, expand=["balance_transaction", "refunds"]
                )
            )
            unsettled = unsettled_payment(None, charge)
            if unsettled is not None:
                return unsettled
            return self._read_charge(None, charge)[0]
        raise no_payment_reference()

    def _kept_payment(self, stripe: FakeStripe, payment_intent_id: PaymentIntentId) -> LivePayment:
        """Issue 10: ``fetch_payment`` on the model itself, which makes the same requests but
        answers "unchanged" (``FakeStripe.retrieve_payment_intent_if_revised``) while nothing
        the read shows changed since the last read of this payment: that read's
        ``LivePayment`` (immutable) is then the answer, neither copied nor parsed again, after
        the same requests for the pages of older refunds that read made
        (``FakeStripe.replay_refund_pages``: logged, faultable). A read that listed disputes is
        not kept."""
        with self._kept_lock:
            self._keep_for(stripe)
            kept = self._payments.get(payment_intent_id)
        revision, intent = _call(
            lambda: stripe.retrieve_payment_intent_if_revised(
                payment_intent_id, _PI_EXPAND, kept[0] if kept is not None else None
            )
        )
        if intent is None:
            assert kept is not None  # "unchanged" answers only a known revision
            _, kept_live, (charge_id, cursors) = kept
            if cursors:
                _call(lambda: stripe.replay_refund_pages(charge=charge_id, cursors=cursors))
            return kept_live
        live, pages = self._read_intent(payment_intent_id, intent)
        if pages is not None:
            with self._kept_lock:
                if self._kept_for is stripe:
                    self._payments[payment_intent_id] = (revision, live, pages)
        return live

    def _read_intent(
        self, payment_intent_id: PaymentIntentId, intent: dict[str, Any]
    ) -> tuple[LivePayment, _Pages | None]:
        """The live payment of a retrieved (expanded) PaymentIntent, and the pages of older
        refunds reading it took (None: it took other requests too, or read a stand-in)."""
        unsettled = unsettled_payment(intent, intent.get("latest_charge"))
        if unsettled is not None:
            return unsettled, (ChargeId(""), ())  # I1, I2: nothing captured yet (or ever)
        return self._read_charge(payment_intent_id, latest_charge_of(intent))

    def _read_charge(
        self, payment_intent_id: PaymentIntentId | None, charge: Mapping[str, Any]
    ) -> tuple[LivePayment, _Pages | None]:
        """The live payment of a retrieved (expanded) captured charge, with the disputes and
        the pages of older refunds it needs, and those pages (see ``_read_intent``)."""
        disputed_charge = disputed_charge_id(charge)
        disputes = None
        if disputed_charge is not None:
            disputes = self._every_page(self.stripe.list_disputes, charge=disputed_charge)
        record = parse_payment(charge, payment_intent_id, disputes)
        of_charge, refunds, has_more = charge_refunds(charge)
        if type(self.stripe) is FakeStripe:
            # The model itself (not a stand-in wrapping it): the same requests, without copying
            # and parsing the refunds that did not change since the last read.
            kept, cursors = self._kept_refunds(of_charge, refunds, has_more)
            pages = (of_charge, cursors) if disputed_charge is None else None
            return LivePayment(record=record, refunds=kept), pages
        if has_more:
            refunds = refunds + self._every_page(
                self.stripe.list_refunds, charge=of_charge, after=refunds[-1]["id"]
            )
        return LivePayment(record=record, refunds=refunds_oldest_first(refunds)), None

    def _keep_for(self, stripe: FakeStripe) -> None:
        """Forget what was kept from another simulator (lock held)."""
        if self._kept_for is not stripe:
            self._parsed.clear()
            self._reads.clear()
            self._payments.clear()
            self._kept_for = stripe

    def _kept_refunds(
        self, charge_id: ChargeId, first_page: list[Any], has_more: bool
    ) -> tuple[tuple[GatewayRefund, ...], tuple[str, ...]]:
        """Every refund of the charge, oldest first, as ``refunds_oldest_first`` reads them from
        the pages, with the pages of older refunds listed (logged, faultable) as the Stripe
        adapter lists them, 100 at a time.

        Issue 10: the older pages are read as ids (``FakeStripe.older_refund_ids``: the same
        logged, faultable requests), and a refund is parsed once per revision of it
        (``FakeStripe.refund_revisions``) and kept: immutable, so the same object is handed out
        again while it is unchanged, and while no refund of the charge changed
        (``refunds_revision``) the same tuple, which
        ``reconcile`` then recognises as a read it already confirmed. A refund created or
        changed at Stripe, a late failure included, has a new revision and is read again.
        """
        stripe = self.stripe
        assert isinstance(stripe, FakeStripe)
        ids = [r["id"] for r in first_page]
        cursors: tuple[str, ...] = ()
        if has_more and ids:
            older = _call(
                functools.partial(stripe.older_refund_ids, charge=charge_id, starting_after=ids[-1])
            )
            # The cursor of each page request made: the first page's last id, then the last id
            # of every full page before the last (a page has 100 ids while more follow).
            requests = max(1, -(-len(older) // _PAGE))
            cursors = (ids[-1], *(older[_PAGE * k - 1] for k in range(1, requests)))
            ids += older
        listed = tuple(ids)
        with self._kept_lock:
            self._keep_for(stripe)  # another simulator: nothing kept applies to it
            # The charge's revision is read before its refunds: a change after this point
            # gives the next read a new revision, so what is stored is never newer than its key.
            revision = stripe.refunds_revision(charge_id)
            kept = self._reads.get(charge_id)
            if kept is not None and kept[0] == revision and kept[1] == listed:
                return kept[2], cursors
            parsed = self._parsed
            revisions = stripe.refund_revisions(listed)
            stale = [
                i
                for i, rev in zip(listed, revisions, strict=True)
                if parsed.get(i, _NONE)[0] != rev
            ]
            for rev, obj in stripe.rendered_refunds(stale):
                parsed[obj["id"]] = (rev, parse_refund(obj))
            refunds = tuple(
                sorted((parsed[i][1] for i in listed), key=lambda r: (r.created_at, r.id))
            )
            self._reads[charge_id] = (revision, listed, refunds)
            return refunds, cursors

    def create_refund(self, request: RefundRequest) -> GatewayRefund:
        """POST /v1/refunds with the request's idempotency key."""
        params = refund_params(
            request,
            refund_application_fee=self._refund_application_fee,
            reverse_transfer=self._reverse_transfer,
        )
        stripe = self.stripe
        if type(stripe) is not FakeStripe:
            created = _call(
                lambda: stripe.create_refund(params, idempotency_key=request.idempotency_key)
            )
            return parse_refund(created)
        # The model itself: the same request, answered with the model's copy (only read here,
        # by parse_refund), and the revision of the refund it shows.
        revision, shown = _call(
            lambda: stripe.create_refund_to_read(params, idempotency_key=request.idempotency_key)
        )
        refund = parse_refund(shown)
        if revision is not None:
            self._keep_created(stripe, shown["id"], revision, refund)
        return refund

    def _keep_created(
        self, stripe: FakeStripe, refund_id: str, revision: int, refund: GatewayRefund
    ) -> None:
        """Issue 10: keep the refund just created, parsed, at the revision of exactly the state
        its answer showed, so the next live read (``_kept_refunds``) neither renders nor parses
        it again. A parse at a newer revision (another thread read the refund after a change:
        revisions only grow) is never replaced by this older one."""
        with self._kept_lock:
            self._keep_for(stripe)
            kept = self._parsed.get(refund_id)
            if kept is None or kept[0] < revision:
                self._parsed[refund_id] = (revision, refund)

    def list_refunds(
        self, payment_intent_id: PaymentIntentId | None, charge_id: ChargeId | None
    ) -> tuple[GatewayRefund, ...]:
        """Every refund of the payment, oldest first, across all pages."""
        if not (payment_intent_id or charge_id):
            raise no_payment_reference()
        return self._all_refunds(payment_intent_id, charge_id)

    def _all_refunds(
        self, payment_intent_id: PaymentIntentId | None, charge_id: ChargeId | None
    ) -> tuple[GatewayRefund, ...]:
        return refunds_oldest_first(
            self._every_page(
                self.stripe.list_refunds,
                payment_intent=payment_intent_id,
                charge=charge_id if not payment_intent_id else None,
            )
        )

    @staticmethod
    def _every_page(
        list_call: Callable[..., dict[str, Any]], *, after: str | None = None, **filters: Any
    ) -> list[Any]:
        """Every object of a FakeStripe listing (older than ``after``, if given), following
        ``has_more`` 100 at a time."""
        collected: list[Any] = []
        cursor = after
        while True:
            page = _call(functools.partial(list_call, **filters, limit=100, starting_after=cursor))
            collected.extend(page["data"])
            if not page["has_more"] or not page["data"]:
                return collected
            cursor = page["data"][-1]["id"]


def stripe_paid_order(
    stripe: FakeStripe,
    *,
    order_id: str,
    site_id: str,
    total: Money,
    stripe_fee: Money,
    platform_fee: Money | None = None,
    exchange_rate: Decimal | None = None,
    destination: str | None = None,
) -> Order:
    """A PAID order whose payment exists in ``stripe``: a captured PaymentIntent of ``total``
    with ``stripe_fee`` and ``platform_fee`` (in the settlement currency, which is the fees'
    currency) and, for a cross-currency payment, the balance transaction's ``exchange_rate``;
    with ``destination`` (``acct_…``), a Connect destination charge whose whole amount is
    transferred to that account (``FakeStripe.transfer_of``).
    The order's payment record is read back from the model as the gateway would read it.
    """
    settlement = stripe_fee.currency
    platform = platform_fee if platform_fee is not None else Money.zero(settlement)
    intent = stripe.create_payment(
        to_stripe_amount(total),
        total.currency.code.lower(),
        stripe_fee=to_stripe_amount(stripe_fee),
        application_fee=to_stripe_amount(platform),
        settlement_currency=settlement.code.lower(),
        exchange_rate=exchange_rate,
        destination=destination,
    )
    charge = stripe.retrieve_charge(intent["latest_charge"], expand=["balance_transaction"])
    return Order(
        id=OrderId(order_id),
        site_id=SiteId(site_id),
        total=total,
        status=OrderStatus.PAID,
        payment=parse_payment(charge, intent["id"]),
    )


def _call(operation: Callable[[], T]) -> T:
    """Run one FakeStripe call, translating its failures as the Stripe adapter does."""
    try:
        return operation()
    except StripeApiError as e:
        raise error_from_stripe(e.http_status, e.type, e.code, e.message) from e
    except StripeConnectionFault as e:
        raise GatewayUnavailable(f"could not reach Stripe: {e}") from e
    except StripeTimeoutFault as e:
        raise GatewayUnavailable(
            f"Stripe did not answer in time ({e}); the outcome is unknown"
        ) from e
