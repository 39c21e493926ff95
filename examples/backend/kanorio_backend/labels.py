"""Words for the library's values, as the help page writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from kanorio_backend.users import find_user
from kanorio_refunds import RefundReason, RefundStatus

#: The reasons in the form's select, in the help page's order (value "" is no reason).
REASONS: Final[dict[str, str]] = {
    RefundReason.DUPLICATE.value: "Duplicate",
    RefundReason.FRAUDULENT.value: "Fraudulent",
    RefundReason.CUSTOMER_REQUEST.value: "Customer Request",
    RefundReason.OTHER.value: "Other",
}


def reason_label(reason: RefundReason | None) -> str:
    """'Customer Request'; '—' for no reason."""
    return REASONS[reason.value] if reason is not None else "—"


def refund_status_label(status: RefundStatus | None) -> str:
    """'Succeeded', 'Requires Action'; '—' when an event named no status."""
    return status.value.replace("_", " ").title() if status is not None else "—"


def when(at: datetime | None) -> str:
    """A moment as the pages show it, in UTC: '2026-12-01 23:59:12 UTC'."""
    return f"{at:%Y-%m-%d %H:%M:%S} UTC" if at is not None else "—"


def sentence(message: str) -> str:
    """A library message as a sentence on a page: capitalised, with a full stop."""
    text = message.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def person(actor_id: str | None) -> str:
    """Who an actor id is: the demo user's name ('Olivia Owner'), else the id itself."""
    user = find_user(actor_id)
    return user.name if user is not None else str(actor_id or "—")
