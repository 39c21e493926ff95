"""The refund quote shown in the "Confirm Refund" window (F1), bound to what the user confirmed."""

from __future__ import annotations

import enum
import hashlib
from typing import Final

import attrs

from kanorio_refunds.domain._balance import BalanceBreakdown, FeePolicy
from kanorio_refunds.domain._ids import ActorId, OrderId, QuoteId, RefundId
from kanorio_refunds.domain._money import Money
from kanorio_refunds.domain._order import OrderStatus
from kanorio_refunds.domain._refund import RefundReason
from kanorio_refunds.domain._slots import fast_init
from kanorio_refunds.errors import InvalidQuote


class Notice(enum.Enum):
    """Things the seller should read before pressing "Process Refund" (F1).

    Like errors, a notice has a stable snake_case ``code`` (its value: never renamed, map it to
    your own texts) and an English ``message`` for people (may be reworded).
    """

    FEES_NOT_REFUNDED = "fees_not_refunded"
    FEES_ABSORBED = "fees_absorbed"
    BUYER_ACCESS_KEPT = "buyer_access_kept"
    CROSS_CURRENCY = "cross_currency"
    FRAUDULENT_BLOCKLIST = "fraudulent_blocklist"
    IRREVERSIBLE = "irreversible"

    @property
    def code(self) -> str:
        """The stable snake_case code of this notice."""
        return self.value

    @property
    def message(self) -> str:
        """The notice as a sentence for the seller."""
        return _NOTICE_MESSAGES[self]


_NOTICE_MESSAGES: Final[dict[Notice, str]] = {
    Notice.FEES_NOT_REFUNDED: (
        "Stripe service fees and platform fees are not refunded to you; the refundable balance "
        "may be less than the order total."
    ),
    Notice.FEES_ABSORBED: (
        "Stripe service fees and platform fees are not returned to you: refunding beyond the net "
        "amount comes out of your balance."
    ),
    Notice.BUYER_ACCESS_KEPT: (
        "Refunds do not revoke the buyer's access to the content; use Revoke Buyer Access if "
        "needed."
    ),
    Notice.CROSS_CURRENCY: (
        "The payment settled in another currency: exchange rates and Stripe's settlement "
        "currency affect what the refund costs you."
    ),
    Notice.FRAUDULENT_BLOCKLIST: (
        "Refunding as Fraudulent adds the card and email to Stripe's block lists for future "
        "payments."
    ),
    Notice.IRREVERSIBLE: "Once submitted, a refund cannot be reversed.",
}


@fast_init
@attrs.frozen
class RefundQuote:
    """What "Process Refund" will do, computed from live data (F1).

    Bound to what the user confirmed, not to the order's version: the amount, reason and notes,
    the order status and refundable balance shown (``order_status``, ``refundable_before``), and
    ``refund_count``, the number of refunds the order recorded when it was quoted. Processing it
    (F2) goes ahead while those still hold on fresh data, whatever else the order saw meanwhile
    (a webhook echo, a live read, a timeline entry); it always creates the refund
    ``refund_id``, so the same quote twice makes one refund. Every refund request adds a refund
    to the order, so a quote made after one (even one that failed, putting the balance back to
    the same figure) is a new quote with a new refund id.
    """

    id: QuoteId
    order_id: OrderId
    actor_id: ActorId
    amount: Money
    reason: RefundReason | None
    notes: str
    order_status: OrderStatus
    refund_count: int
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
    actor_id: ActorId,
    amount: Money,
    reason: RefundReason | None,
    notes: str,
    *,
    order_status: OrderStatus,
    refundable: Money,
    refund_count: int,
) -> QuoteId:
    """A quote id that is a pure function of what was confirmed and of the order as shown.

    Confirming the same refund twice on the same figures gives the same id, so a double click
    cannot make two refunds; any later refund request adds to ``refund_count``, so the next
    quote differs even when the balance and status are back where they were.
    """
    # The fields joined by the unit separator, as one f-string (issue 10: no tuple, no str()).
    text = (
        f"{order_id}\x1f{actor_id}\x1f{amount.currency.code}\x1f{amount.minor}\x1f"
        f"{reason.value if reason else ''}\x1f{notes}\x1f{order_status.value}\x1f"
        f"{refundable.currency.code}\x1f{refundable.minor}\x1f{refund_count}"
    )
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
    return QuoteId(f"qt_{digest}")


def require_intact(quote: RefundQuote) -> None:
    """F2: "Process Refund" executes exactly what was confirmed.

    A quote's id is a digest of its order, actor, amount, reason, notes and the figures shown
    (status, refundable balance, refund count), so a quote changed after "Confirm Refund" (say,
    round-tripped through a form) no longer matches it; nor does one whose balance after the
    refund is not its balance before minus its amount. Raises ``InvalidQuote``.
    """
    expected = quote_id_for(
        quote.order_id,
        quote.actor_id,
        quote.amount,
        quote.reason,
        quote.notes,
        order_status=quote.order_status,
        refundable=quote.refundable_before,
        refund_count=quote.refund_count,
    )
    consistent = (
        quote.refundable_after.currency == quote.refundable_before.currency
        and quote.amount.currency == quote.refundable_before.currency
        and quote.refundable_after == quote.refundable_before - quote.amount
    )
    if expected != quote.id or not consistent:
        raise InvalidQuote(
            f"quote {quote.id} does not match its contents: it was changed after the refund was "
            f"confirmed; confirm the refund again"
        )


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
