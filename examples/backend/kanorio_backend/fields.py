"""Which field of the refund form a library error is about, so its words appear beside it.

The library's errors have stable codes (docs/errors.md); the form maps them, and anything not
about one field is about the whole form.
"""

from __future__ import annotations

from typing import Final, Literal

from kanorio_refunds import RefundError

Field = Literal["amount", "reason", "notes", "form"]

#: The error codes that concern one field of the form.
FIELD_OF_CODE: Final[dict[str, Field]] = {
    "invalid_amount": "amount",
    "amount_exceeds_refundable": "amount",
    "currency_mismatch": "amount",
    "unknown_currency": "amount",
    "invalid_reason": "reason",
    "notes_required": "notes",
    "invalid_notes": "notes",
}


def field_of(error: RefundError) -> Field:
    """The form field ``error`` concerns (``"form"`` when it is not one field's)."""
    return FIELD_OF_CODE.get(error.code, "form")
