"""Every error the library raises. Each has a stable snake_case ``code`` (never renamed).

The full list with explanations is in ``docs/errors.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, Literal

if TYPE_CHECKING:
    from kanorio_refunds.domain._money import Money


class RefundError(Exception):
    """Base of every error of this library. ``code`` is stable; ``message`` is for humans."""

    code: ClassVar[str] = "refund_error"
    #: True when the same call may succeed later (network trouble, rate limits).
    retryable: ClassVar[bool] = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class NotEligible(RefundError):
    """The order cannot be refunded now; ``reasons`` lists every failing rule."""

    code = "not_eligible"

    def __init__(self, message: str, reasons: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.reasons = tuple(reasons)


class PermissionDenied(RefundError):
    """The actor is not the owner or an administrator of the order's site (E2, P2)."""

    code = "permission_denied"


class InvalidAmount(RefundError):
    """Not a valid, positive, representable amount of its currency (M1, M2, A1, A4)."""

    code = "invalid_amount"


class AmountExceedsRefundable(RefundError):
    """The amount exceeds the refundable balance (A3); ``refundable`` says how much is left."""

    code = "amount_exceeds_refundable"

    def __init__(self, message: str, refundable: Money) -> None:
        super().__init__(message)
        self.refundable = refundable


class CurrencyMismatch(RefundError):
    """Two amounts of different currencies were combined or compared (M4, A2)."""

    code = "currency_mismatch"


class UnknownCurrency(RefundError):
    """A currency code that is not an ISO 4217 currency this library knows."""

    code = "unknown_currency"


class InvalidReason(RefundError):
    """A refund reason that is not one of DUPLICATE, FRAUDULENT, CUSTOMER_REQUEST, OTHER (N1)."""

    code = "invalid_reason"


class NotesRequired(RefundError):
    """Reason OTHER was chosen without notes (N2)."""

    code = "notes_required"


class InvalidNotes(RefundError):
    """Notes too long or with control characters (N3)."""

    code = "invalid_notes"


class StaleQuote(RefundError):
    """The order changed since the quote was made (F2, L4): quote again and confirm again."""

    code = "stale_quote"


class InvalidQuote(RefundError):
    """A quote whose contents do not match what was confirmed (changed after "Confirm Refund"):
    confirm the refund again."""

    code = "invalid_quote"


class IllegalTransition(RefundError):
    """A status change the order or refund state machine does not allow (S2, S3)."""

    code = "illegal_transition"


class ConcurrencyConflict(RefundError):
    """Someone else saved the order first (L4). Reload and try again."""

    code = "concurrency_conflict"
    retryable = True


class OrderNotFound(RefundError):
    """No order with that id (or payment reference)."""

    code = "order_not_found"


class OrderAlreadyExists(RefundError):
    """An order with that id was already added."""

    code = "order_already_exists"


class RefundNotFound(RefundError):
    """No refund with that id on the order."""

    code = "refund_not_found"


class InvalidPaymentRecord(RefundError):
    """The order's payment record cannot support a refund (E4): no Stripe payment, nothing
    captured, another currency, or fees in another currency without an exchange rate."""

    code = "invalid_payment_record"


class GatewayUnavailable(RefundError):
    """The gateway could not be reached or answered with a temporary error (L2).

    For a refund creation the outcome is *unknown*: the refund may exist at Stripe. The local
    record stays SUBMITTING (``refund_id``) and ``RefundService.sync`` (or processing the same
    quote again) resolves it without ever creating a second refund.
    """

    code = "gateway_unavailable"
    retryable = True

    def __init__(self, message: str, *, refund_id: str | None = None) -> None:
        super().__init__(message)
        self.refund_id = refund_id


class GatewayRejected(RefundError):
    """The gateway definitively refused the request (L3); ``gateway_code`` is Stripe's code."""

    code = "gateway_rejected"

    def __init__(self, message: str, *, gateway_code: str, refund_id: str | None = None) -> None:
        super().__init__(message)
        self.gateway_code = gateway_code
        self.refund_id = refund_id


class GatewayMisconfigured(RefundError):
    """The gateway refused our credentials or permissions; fix the configuration (never retried)."""

    code = "gateway_misconfigured"


class GatewayProtocolError(RefundError):
    """The gateway answered with something this library cannot read (a missing field, an
    unknown status). Nothing was assumed; report it with the payment id."""

    code = "gateway_protocol_error"


class InvalidSignature(RefundError):
    """A webhook payload whose signature is missing, wrong or too old (P1)."""

    code = "invalid_signature"


class InvalidEvent(RefundError):
    """A signed webhook payload that is not a well-formed gateway event."""

    code = "invalid_event"


class InvalidSerializedValue(RefundError):
    """A serialised value that cannot be read back exactly (or a value that cannot be written
    exactly): ``path`` names the field, such as ``refunds[2].amount.currency`` (``""`` for the
    top level). Nothing was read; fix or upgrade the data."""

    code = "invalid_serialized_value"

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


#: Why a quote token was refused (``InvalidQuoteToken.problem``).
TokenProblem = Literal["malformed", "foreign", "tampered", "expired", "not_yet_valid", "unreadable"]


class InvalidQuoteToken(InvalidQuote):
    """F5: a quote token ``QuoteSigner.open`` refuses (code ``invalid_quote``). ``problem`` is
    ``"malformed"`` (not a quote token), ``"foreign"`` (signed with a key this server does not
    hold), ``"tampered"`` (changed after signing), ``"expired"``, ``"not_yet_valid"`` (issued
    after this server's time: clocks disagree) or ``"unreadable"`` (signed here, but its quote
    is in a format this release cannot read). Confirm the refund again in every case."""

    def __init__(self, message: str, *, problem: TokenProblem) -> None:
        super().__init__(message)
        self.problem: TokenProblem = problem


class InvalidSigningSecret(RefundError):
    """P3: a quote signing secret that is not text or bytes, or shorter than 32 bytes. The
    message never shows the secret."""

    code = "invalid_signing_secret"


class SchemaMismatch(RefundError):
    """The database has no kanorio_refunds schema, or one of another version than this release
    of the library reads. Nothing was read or written: run ``create_schema`` (or the host's
    Alembic migration) for this version first."""

    code = "schema_mismatch"


class StorageUnavailable(RefundError):
    """The database could not be reached, or stayed locked or busy past the configured timeout.

    Retryable. A save either happened completely or not at all (one transaction); when the
    connection was lost while committing, which of the two is unknown until the order is read
    again.
    """

    code = "storage_unavailable"
    retryable = True


class StorageError(RefundError):
    """The database refused a value or a statement that retrying will not fix (for example a
    timestamp without a time zone, an amount beyond 64-bit integers, or text PostgreSQL cannot
    hold). Nothing was written."""

    code = "storage_error"


class InvalidStoredData(RefundError):
    """A stored row this library cannot read back exactly (an unknown status, a malformed
    exchange rate, a gap in a timeline): it was written by something else, or by hand. Nothing
    is guessed: the order is not returned."""

    code = "invalid_stored_data"


class OrderConflict(RefundError):
    """I1: an order registration that contradicts what is stored: the order id is already
    registered for another payment, site or amount, or the payment already belongs to another
    order. Nothing was changed; register the order with the payment it was created for."""

    code = "order_conflict"


class InvalidCursor(RefundError):
    """O1, O2: a cursor that this listing did not hand out (tampered, truncated, or from
    another listing or filter). Start again without a cursor."""

    code = "invalid_cursor"


class InvalidInput(RefundError):
    """The ``kanorio-refunds`` command: a flag, an environment variable or a file it was given
    is unusable (a missing Stripe key, a non-loopback ``--fake-stripe`` URL, an unreadable
    file). Nothing was done."""

    code = "invalid_input"


class InvalidCsv(RefundError):
    """The ``kanorio-refunds`` command: a CSV file's header is not what the command reads (a
    missing, unknown or repeated column), or the file is empty or not UTF-8. Nothing was
    done."""

    code = "invalid_csv"


class InvalidRow(RefundError):
    """The ``kanorio-refunds`` command: one CSV row cannot be read (a wrong number of fields,
    an empty order id). The row is reported with this code and the run goes on."""

    code = "invalid_row"


class UnknownLocale(RefundError):
    """``kanorio_refunds.display`` was given a locale Babel's CLDR data does not have
    (``"xx_YY"``), or not a locale name at all. Give one such as ``"en_US"``, ``"de_DE"`` or
    ``"ja"``."""

    code = "unknown_locale"
