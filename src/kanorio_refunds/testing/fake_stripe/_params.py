"""Request parameter checks: what Stripe accepts on each operation, with its error codes and
messages. Nothing is stored when a check fails (Stripe validates before it executes).

Parameters may come from in-process callers (ints, bools, lists) or form-encoded from the HTTP
transport (everything a string), so both spellings are accepted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, NamedTuple

import attrs

from kanorio_refunds.testing.fake_stripe._faults import invalid

JsonDict = dict[str, Any]

REFUND_REASONS: Final = ("duplicate", "fraudulent", "requested_by_customer")
REFUND_PARAMS: Final = frozenset(
    {
        "payment_intent",
        "charge",
        "amount",
        "reason",
        "metadata",
        "refund_application_fee",
        "reverse_transfer",
        "expand",
    }
)

METADATA_MAX_KEYS: Final = 50
METADATA_MAX_KEY_LEN: Final = 40
METADATA_MAX_VALUE_LEN: Final = 500
LIST_MAX_LIMIT: Final = 100


def canonical(value: Any) -> Any:
    """The value as it travels form-encoded, so 500 and "500" are the same parameter.

    Stripe compares an idempotent retry's parameters on the wire, where everything is a string.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    return str(value)


def positive_int(value: Any, param: str) -> int:
    """A positive integer parameter (``parameter_invalid_integer`` otherwise)."""
    # Form-encoded requests carry integers as digit strings; in-process callers pass ints.
    if isinstance(value, bool):
        parsed = None
    elif isinstance(value, int):
        parsed = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        parsed = int(value)
    else:
        parsed = None
    if parsed is None or parsed <= 0:
        raise invalid("Invalid positive integer", code="parameter_invalid_integer", param=param)
    return parsed


def boolean(value: Any, param: str) -> bool:
    """A boolean parameter: True/False or the form-encoded "true"/"false" (Stripe sends no
    error code for anything else)."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise invalid(f"Invalid boolean: {value!r}", param=param)


def metadata(value: Any) -> dict[str, str]:
    """Validate metadata with Stripe's limits and messages (Stripe sends no error code here)."""
    if value is None or value == "":
        return {}
    # ``type(...) is dict`` first: the usual case, spared the slow ABC check (issue 10).
    if type(value) is not dict and not isinstance(value, Mapping):
        raise invalid("Invalid metadata: must be a hash of keys to string values", param="metadata")
    checked: dict[str, str] = {}
    for key, val in value.items():
        if (
            type(key) is str
            and type(val) is str
            and 0 < len(key) <= METADATA_MAX_KEY_LEN
            and 0 < len(val) <= METADATA_MAX_VALUE_LEN
        ):
            checked[key] = val  # the usual pair, valid as it is (issue 10: the checks below)
            continue
        if not isinstance(key, str) or not key or len(key) > METADATA_MAX_KEY_LEN:
            raise invalid(
                f"Invalid key: {key!r} must be a string under {METADATA_MAX_KEY_LEN} characters",
                param="metadata",
            )
        if not isinstance(val, str) or len(val) > METADATA_MAX_VALUE_LEN:
            raise invalid(
                f"Invalid val: {val!r} must be a string under {METADATA_MAX_VALUE_LEN} characters",
                param=f"metadata[{key}]",
            )
        # Posting an empty value unsets a key, so it never appears on the object.
        if val:
            checked[key] = val
    if len(checked) > METADATA_MAX_KEYS:
        raise invalid(
            f"Metadata can have up to {METADATA_MAX_KEYS} keys, but you've set {len(checked)}.",
            param="metadata",
        )
    return checked


def expand(value: Any) -> tuple[str, ...]:
    """The ``expand`` array: non-empty strings (which paths may expand is the renderer's rule)."""
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise invalid("Invalid array", param="expand")
    if not all(isinstance(v, str) and v for v in value):
        raise invalid("Invalid array", param="expand")
    return tuple(value)


def limit(value: Any) -> int:
    """A list call's page size: 1 to 100."""
    parsed = positive_int(value, "limit")
    if parsed > LIST_MAX_LIMIT:
        raise invalid(
            f"This value must be less than or equal to {LIST_MAX_LIMIT} (it currently is "
            f"'{parsed}').",
            code="parameter_invalid_integer",
            param="limit",
        )
    return parsed


@attrs.frozen
class ListParams:
    """The checked pagination and expansion of a list call (filters are checked by the model,
    which knows the objects they name)."""

    limit: int
    starting_after: str | None
    ending_before: str | None
    expand: tuple[str, ...]


def list_params(
    limit_param: int | str,
    starting_after: str | None,
    ending_before: str | None,
    expand_param: Sequence[str],
) -> ListParams:
    """Stripe's checks of a list call: the limit, one cursor at most, ``data.`` expansions."""
    page_size = limit(limit_param)
    if starting_after is not None and ending_before is not None:
        raise invalid(
            "You may only specify one of these parameters: ending_before, starting_after.",
            code="parameters_exclusive",
        )
    paths = expand(list(expand_param))
    for path in paths:
        if not path.startswith("data."):
            raise invalid(f"This property cannot be expanded ({path}).", param="expand")
    return ListParams(page_size, starting_after, ending_before, paths)


class RefundParams(NamedTuple):
    """The checked parameters of POST /v1/refunds (a named tuple: made on every refund, it
    costs a third of a frozen attrs class; issue 10)."""

    payment_intent: str | None
    charge: str | None
    amount: int | None
    reason: str | None
    metadata: dict[str, str]
    refund_application_fee: bool
    reverse_transfer: bool
    expand: tuple[str, ...]


def refund_params(params: Mapping[str, Any]) -> RefundParams:
    """Stripe's parameter validation of POST /v1/refunds (nothing is stored if it fails).

    The checks run in this order, so a request with several mistakes is refused for the first:
    unknown parameters (in the order sent), ``payment_intent``, ``charge``, ``reason``,
    ``amount``, ``metadata``, ``refund_application_fee``, ``reverse_transfer``, ``expand``, and
    last that one of the two ids is given."""
    if not REFUND_PARAMS.issuperset(params):  # one pass in C for the usual, valid request
        for name in params:
            if name not in REFUND_PARAMS:
                raise invalid(
                    f"Received unknown parameter: {name}", code="parameter_unknown", param=name
                )
    payment_intent = _id_param(params, "payment_intent")
    charge = _id_param(params, "charge")
    amount = params.get("amount")
    reason = params.get("reason")
    if reason is not None and reason not in REFUND_REASONS:
        # Stripe answers an invalid enum value without an error code.
        raise invalid(
            "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
            param="reason",
        )
    # The usual values (a positive int, real bools, no expand) are taken as they are: what
    # positive_int, boolean and expand would answer for them, without the calls.
    if amount is not None and (type(amount) is not int or amount <= 0):
        amount = positive_int(amount, "amount")
    meta = metadata(params.get("metadata"))
    refund_fee = params.get("refund_application_fee", False)
    if type(refund_fee) is not bool:
        refund_fee = boolean(refund_fee, "refund_application_fee")
    reverse = params.get("reverse_transfer", False)
    if type(reverse) is not bool:
        reverse = boolean(reverse, "reverse_transfer")
    paths = params.get("expand")
    paths = () if paths is None else expand(paths)
    parsed = RefundParams(payment_intent, charge, amount, reason, meta, refund_fee, reverse, paths)
    if payment_intent is None and charge is None:
        raise invalid(
            "One of the following params should be provided for this request: "
            "payment_intent or charge.",
            code="parameter_missing",
        )
    return parsed


def _id_param(params: Mapping[str, Any], name: str) -> str | None:
    """An object id parameter: absent (None) or a non-empty string."""
    value = params.get(name)
    if value is not None and (not isinstance(value, str) or not value):
        raise invalid(
            f"Invalid {name}: must be a non-empty string",
            code="parameter_invalid_string_empty",
            param=name,
        )
    return value


def read_params(object_id: str, expand_param: Sequence[str]) -> JsonDict:
    """The parameters of a retrieve call as the request log shows them."""
    params: JsonDict = {"id": object_id}
    if expand_param:
        params["expand"] = list(expand_param)
    return params
