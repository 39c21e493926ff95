"""The refund quote shown in the "Confirm Refund" window (F1), bound to the order's version."""

from __future__ import annotations

import enum
import hashlib

import attrs

from kanorio_refunds.domain._balance import BalanceBreakdown, FeePolicy
from kanorio_refunds.domain._ids import ActorId, OrderId, QuoteId, RefundId
from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._order import OrderStatus
from kanorio_refunds.domain._refund import RefundReason


class Notice(enum.Enum):
    """Things the seller should read before pressing "Process Refund" (F1)."""

    FEES_NOT_REFUNDED = (
        "Stripe service fees and platform fees are not refunded to you; the refundable balance "
        "may be less than the order total."
    )
    FEES_ABSORBED = (
        "Stripe service fees and platform fees are not returned to you: refunding beyond the net "
        "amount comes out of your balance."
    )
    BUYER_ACCESS_KEPT = (
        "Refunds do not revoke the buyer's access to the content; use Revoke Buyer Access if "
        "needed."
    )
    CROSS_CURRENCY = (
        "The payment settled in another currency: exchange rates and Stripe's settlement "
        "currency affect what the refund costs you."
    )
    FRAUDULENT_BLOCKLIST = (
        "Refunding as Fraudulent adds the card and email to Stripe's block lists for future "
        "payments."
    )
    IRREVERSIBLE = "Once submitted, a refund cannot be reversed."


@attrs.frozen
class RefundQuote:
    """What "Process Refund" will do, computed from live data (F1).

    Processing it (F2) is idempotent: it always creates the refund ``refund_id``, and only while
    the order is still at ``order_version``.
    """

    id: QuoteId
    order_id: OrderId
    order_version: int
    actor_id: ActorId
    amount: Money
    reason: RefundReason | None
    notes: str
    refundable_before: Money
    refundable_after: Money
    resulting_status: OrderStatus
    breakdown: BalanceBreakdown
    notices: tuple[Notice, ...]

    @property
    def refund_id(self) -> RefundId:
        """The id the refund will have: derived from the quote, so one quote makes one refund."""
        return RefundId(f"rf_{self.id.removeprefix('qt_')}")


def quote_id_for(
    order_id: OrderId,
    order_version: int,
    actor_id: ActorId,
    amount: Money,
    reason: RefundReason | None,
    notes: str,
) -> QuoteId:
    """A quote id that is a pure function of what was confirmed, at which order version.

    Confirming the same refund twice on the same version gives the same id, so a double click
    cannot make two refunds; any later refund bumps the version, so the next quote differs.
    """
    parts = (
        order_id,
        str(order_version),
        actor_id,
        amount.currency.code,
        str(amount.minor),
        reason.value if reason else "",
        notes,
    )
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:24]
    return QuoteId(f"qt_{digest}")


def quote_notices(breakdown: BalanceBreakdown, reason: RefundReason | None) -> tuple[Notice, ...]:
    """F1: the notices that apply to this refund."""

    notices = [
        Notice.FEES_NOT_REFUNDED
        if breakdown.policy is FeePolicy.NET_OF_FEES
        else Notice.FEES_ABSORBED,
        Notice.BUYER_ACCESS_KEPT,
    ]
    if breakdown.cross_currency:
        notices.append(Notice.CROSS_CURRENCY)
    if reason is RefundReason.FRAUDULENT:
        notices.append(Notice.FRAUDULENT_BLOCKLIST)
    notices.append(Notice.IRREVERSIBLE)
    return tuple(notices)
