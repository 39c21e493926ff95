"""Idempotency keys as Stripe keeps them: per ``Stripe-Account`` and key, the parameters first
sent (compared on the wire, so 500 and "500" agree) and the answer the endpoint executed to,
success or error, replayed on a retry with the same parameters."""

from __future__ import annotations

from typing import Any, NamedTuple

from kanorio_refunds.testing.fake_stripe._faults import StripeApiError
from kanorio_refunds.testing.fake_stripe._params import canonical

JsonDict = dict[str, Any]


class SavedResult(NamedTuple):
    """An idempotency key's stored result: the first response or the error Stripe executed to.

    ``params`` are the parameters as first sent (the model's own snapshot, never changed): they
    are put in their wire form (``canonical``) only when a retry is compared with them, which
    spares every keyed request that form; a named tuple costs a third of a frozen attrs class
    (issue 10)."""

    operation: str
    params: Any
    response: JsonDict | None
    error: StripeApiError | None

    def replay(self) -> JsonDict:
        """The saved answer again: the response itself, which the model copies before handing it
        out (``fresh``) and nobody changes, or a copy of the error raised."""
        if self.error is not None:
            raise self.error.clone()
        assert self.response is not None
        return self.response


class IdempotencyKeys:
    """The saved results of keyed requests (not thread-safe: the model calls it under its
    lock)."""

    def __init__(self) -> None:
        self._saved: dict[tuple[str | None, str], SavedResult] = {}

    def find(
        self, account: str | None, key: str, operation: str, params: Any
    ) -> SavedResult | None:
        """The result saved for this key, None for a new key; 400 ``idempotency_error`` when
        the key was first used with another operation or other parameters."""
        saved = self._saved.get((account, key))
        if saved is not None and (
            saved.operation != operation or canonical(saved.params) != canonical(params)
        ):
            raise StripeApiError(
                400,
                "idempotency_error",
                None,
                "Keys for idempotent requests can only be used with the same parameters "
                "they were first used with. Try using a key other than "
                f"'{key}' if you meant to execute a different request.",
            )
        return saved

    def save(
        self,
        account: str | None,
        key: str,
        operation: str,
        params: Any,
        *,
        response: JsonDict | None = None,
        error: StripeApiError | None = None,
    ) -> None:
        """Keep what the endpoint executed to: ``response`` and ``params`` as given (the
        caller's copies, which nothing changes afterwards: the model's snapshot of the request
        and the ``kept`` or rendered answer, handed out only as copies), or a copy of
        ``error``."""
        self._saved[(account, key)] = SavedResult(
            operation, params, response, None if error is None else error.clone()
        )
