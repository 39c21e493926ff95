"""The request log: ``RequestRecord``, one API call as the model received it, ``Logged``, the
same call as the model keeps it, and ``Call``, the context of a call while it runs."""

from __future__ import annotations

from typing import Any

import attrs

from kanorio_refunds.testing.fake_stripe._faults import Fault
from kanorio_refunds.testing.fake_stripe._render import snapshot

JsonDict = dict[str, Any]


@attrs.frozen
class RequestRecord:
    """One API call as the model received it, for tests to assert what was sent.

    ``http_status`` is 200 on success, the error's status for ``StripeApiError`` and None when the
    caller saw a connection failure or a timeout. ``idempotent_replayed`` is True when Stripe
    would answer with ``Idempotent-Replayed: true``.
    """

    request_id: str
    operation: str
    params: JsonDict
    idempotency_key: str | None
    stripe_account: str | None
    created: int
    fault: Fault | None
    http_status: int | None
    idempotent_replayed: bool

    def copy(self) -> RequestRecord:
        """The same record with its own copy of ``params`` (records handed out are copies)."""
        return attrs.evolve(self, params=snapshot(self.params))


#: One API call as the model keeps it in its log: ``RequestRecord``'s fields, in order. Every
#: record handed out is built anew (with its own copy of the parameters), so the log keeps a
#: tuple, which costs a tenth of a frozen attrs instance on every call (issue 10).
Logged = tuple[str, str, JsonDict, str | None, str | None, int, Fault | None, int | None, bool]


def record_of(logged: Logged) -> RequestRecord:
    """The record of a logged call, with its own copy of ``params`` (as ``RequestRecord.copy``
    gives it)."""
    request_id, operation, params, key, account, created, fault, status, replayed = logged
    return RequestRecord(
        request_id=request_id,
        operation=operation,
        params=snapshot(params),
        idempotency_key=key,
        stripe_account=account,
        created=created,
        fault=fault,
        http_status=status,
        idempotent_replayed=replayed,
    )


@attrs.define
class Call:
    """The context of one API call: who asked, when, and how it ended."""

    request_id: str
    now: int
    idempotency_key: str | None
    stripe_account: str | None
    replayed: bool = False
