"""Eligibility for "Initiate Refund" (rules E1–E5): every failing rule is listed, with a code."""

from __future__ import annotations

from typing import Final

import attrs

from kanorio_refunds.domain._actor import Actor
from kanorio_refunds.domain._balance import BalanceBreakdown, FeePolicy, refundable_balance
from kanorio_refunds.domain._money import Currency, Money
from kanorio_refunds.domain._order import Order, OrderStatus
from kanorio_refunds.domain._slots import fast_init
from kanorio_refunds.errors import InvalidPaymentRecord, NotEligible, PermissionDenied

#: Stable codes of the eligibility rules; a UI can map them to its own texts.
STATUS_NOT_REFUNDABLE: Final = "status_not_refundable"  # E1
NOT_OWNER_OR_ADMIN: Final = "not_owner_or_admin"  # E2
NO_REFUNDABLE_BALANCE: Final = "no_refundable_balance"  # E3
NO_VALID_PAYMENT: Final = "no_valid_payment_record"  # E4
PAYMENT_DISPUTED: Final = "payment_disputed"  # E5

REFUNDABLE_STATUSES: Final = frozenset({OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED})


@attrs.frozen
class Ineligibility:
    """One failing rule: its id (``"E3"``), its stable ``code`` and a sentence for people."""

    rule: str
    code: str
    message: str


@fast_init
@attrs.frozen
class Eligibility:
    """The answer to "may this actor refund this order now?".

    ``reasons`` lists every failing rule (empty when allowed); ``refundable`` is the refundable
    balance (zero when the payment record cannot tell), ``breakdown`` how it was computed.
    """

    reasons: tuple[Ineligibility, ...]
    refundable: Money
    breakdown: BalanceBreakdown | None

    @property
    def allowed(self) -> bool:
        """True when "Initiate Refund" may be shown."""
        return not self.reasons

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes of the failing rules, in rule order."""
        return tuple(r.code for r in self.reasons)

    def require(self) -> None:
        """Raise ``NotEligible`` (carrying every code) unless allowed."""
        if self.reasons:
            detail = "; ".join(r.message for r in self.reasons)
            raise NotEligible(f"this order cannot be refunded now: {detail}", self.codes)


def status_allows_refund(order: Order) -> Ineligibility | None:
    """E1: the status is PAID or PARTIALLY_REFUNDED."""
    if order.status in REFUNDABLE_STATUSES:
        return None
    return Ineligibility(
        "E1",
        STATUS_NOT_REFUNDABLE,
        f"the order is {order.status.label}; only Paid or Partially Refunded orders can be "
        f"refunded",
    )


def actor_may_refund(order: Order, actor: Actor) -> Ineligibility | None:
    """E2: the actor is the owner or an administrator of *the order's* site."""
    if actor.may_refund(order.site_id):
        return None
    return Ineligibility(
        "E2",
        NOT_OWNER_OR_ADMIN,
        f"only the owner or an administrator of site {order.site_id} can refund its orders",
    )


def require_refund_role(order: Order, actor: Actor) -> None:
    """P2, E2: raise ``PermissionDenied`` unless the actor is the owner or an administrator of
    the order's site: every use case that changes an order (or shows its details) checks this
    itself, trusting no UI."""
    if not actor.may_refund(order.site_id):
        raise PermissionDenied(
            f"{actor.id} is not the owner or an administrator of site {order.site_id}; only "
            f"they can refund its orders or change buyer access"
        )


def payment_record_problem(order: Order) -> Ineligibility | None:
    """E4: the order names a Stripe payment captured for a positive amount in its currency."""
    payment = order.payment
    problem: str | None = None
    currency = order.currency
    if payment is None:
        problem = "the order has no payment record"
    elif not (payment.payment_intent_id or payment.charge_id):
        problem = "the payment record names no Stripe payment"
    elif not _same(payment.captured.currency, currency):
        problem = (
            f"the payment was captured in {payment.captured.currency.code}, not in the order "
            f"currency {currency.code}"
        )
    elif not payment.captured.is_positive():
        problem = "the payment captured nothing"
    elif not _same(payment.settlement_currency, currency) and payment.exchange_rate is None:
        problem = "the payment settled in another currency and its exchange rate is unknown"
    elif not _same(payment.amount_refunded.currency, currency):
        problem = (
            f"the gateway's refunded amount is in {payment.amount_refunded.currency.code}, not "
            f"in the order currency {currency.code}"
        )
    elif not (
        _fee_currency_ok(payment.stripe_fee.currency, currency, payment.settlement_currency)
        and _fee_currency_ok(payment.platform_fee.currency, currency, payment.settlement_currency)
    ):
        problem = "a fee is in neither the order currency nor the settlement currency"
    if problem is None:
        return None
    return Ineligibility("E4", NO_VALID_PAYMENT, f"{problem}; a valid Stripe payment is needed")


def _same(a: Currency, b: Currency) -> bool:
    # Identity first (issue 10): ``Currency.of`` shares one object per code.
    return a is b or a == b


def _fee_currency_ok(fee: Currency, order: Currency, settlement: Currency) -> bool:
    return _same(fee, order) or _same(fee, settlement)


def payment_not_disputed(order: Order) -> Ineligibility | None:
    """E5: the payment is not under dispute (Stripe refuses refunds on disputed charges)."""
    if order.payment is None or not order.payment.disputed:
        return None
    return Ineligibility(
        "E5",
        PAYMENT_DISPUTED,
        "the payment is disputed; Stripe does not allow refunds while a dispute is open",
    )


def balance_remains(breakdown: BalanceBreakdown | None) -> Ineligibility | None:
    """E3: the refundable balance is greater than zero."""
    if breakdown is not None and breakdown.refundable.is_positive():
        return None
    return Ineligibility("E3", NO_REFUNDABLE_BALANCE, "the order has no refundable balance left")


def order_breakdown(order: Order, policy: FeePolicy) -> BalanceBreakdown | None:
    """The order's balance breakdown, or None when its payment record cannot support one (E4)."""
    return _breakdown_of(order, policy, payment_record_problem(order))


def _breakdown_of(
    order: Order, policy: FeePolicy, problem: Ineligibility | None
) -> BalanceBreakdown | None:
    """``order_breakdown`` given what ``payment_record_problem`` found for the order."""
    if order.payment is None or problem is not None:
        return None
    try:
        return refundable_balance(order.payment, order.refunds, policy)
    except InvalidPaymentRecord:
        return None


def check_eligibility(
    order: Order, actor: Actor, policy: FeePolicy = FeePolicy.NET_OF_FEES
) -> Eligibility:
    """E1–E5: every failing rule, in rule order, with the refundable balance."""
    problem = payment_record_problem(order)
    breakdown = _breakdown_of(order, policy, problem)
    checks = (
        status_allows_refund(order),
        actor_may_refund(order, actor),
        balance_remains(breakdown),
        problem,
        payment_not_disputed(order),
    )
    refundable = breakdown.refundable if breakdown else Money.zero(order.currency)
    # filter(None, ...): an Ineligibility is always true (no __bool__ or __len__), and the
    # filter runs in C, where a generator would be a call of its own (issue 10).
    return Eligibility(tuple(filter(None, checks)), refundable, breakdown)
