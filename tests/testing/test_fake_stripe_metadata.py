"""The simulator validates refund metadata as Stripe does: keys and values are strings within
Stripe's limits, an empty value unsets its key, at most 50 keys (the usual pair is taken on a
fast path since issue 10; every refusal keeps its message)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanorio_refunds.testing.fake_stripe import StripeApiError
from kanorio_refunds.testing.fake_stripe._params import (
    METADATA_MAX_KEY_LEN,
    METADATA_MAX_KEYS,
    METADATA_MAX_VALUE_LEN,
    metadata,
)


class _Text(str):
    """A str subclass: not the usual pair, checked the long way, and accepted."""


def _reference(value: dict[Any, Any]) -> dict[str, str]:
    """What Stripe keeps of valid metadata: every pair but those with an empty value."""
    return {k: v for k, v in value.items() if v}


_KEYS = st.text(min_size=1, max_size=METADATA_MAX_KEY_LEN)
_VALUES = st.text(max_size=METADATA_MAX_VALUE_LEN)


@given(st.dictionaries(_KEYS, _VALUES, max_size=METADATA_MAX_KEYS))
def test_valid_metadata_is_kept_but_for_empty_values(value: dict[str, str]) -> None:
    """Valid pairs are kept as they are, in order; a pair with an empty value is dropped."""
    checked = metadata(value)
    assert checked == _reference(value)
    assert list(checked) == list(_reference(value))


def test_string_subclasses_are_accepted_the_long_way() -> None:
    """A key or value that is a str subclass passes the same checks."""
    assert metadata({_Text("k"): _Text("v"), "a": ""}) == {"k": "v"}


@pytest.mark.parametrize(
    ("value", "message", "param"),
    [
        ({"": "v"}, "Invalid key", "metadata"),
        ({1: "v"}, "Invalid key", "metadata"),
        ({"k" * (METADATA_MAX_KEY_LEN + 1): "v"}, "Invalid key", "metadata"),
        ({"k": 1}, "Invalid val", "metadata[k]"),
        ({"k": None}, "Invalid val", "metadata[k]"),
        ({"k": "v" * (METADATA_MAX_VALUE_LEN + 1)}, "Invalid val", "metadata[k]"),
        ({f"k{i}": "v" for i in range(METADATA_MAX_KEYS + 1)}, "up to 50 keys", "metadata"),
        (["k", "v"], "must be a hash", "metadata"),
    ],
    ids=[
        "empty key",
        "int key",
        "long key",
        "int value",
        "null value",
        "long value",
        "too many keys",
        "not a hash",
    ],
)
def test_invalid_metadata_is_refused_as_stripe_refuses_it(
    value: Any, message: str, param: str
) -> None:
    """Each refusal is a 400 invalid_request_error without a code, naming the parameter."""
    with pytest.raises(StripeApiError) as info:
        metadata(value)
    error = info.value
    assert error.http_status == 400
    assert error.type == "invalid_request_error"
    assert error.code is None
    assert message in error.message
    assert error.param == param


def test_a_valid_pair_before_an_invalid_one_does_not_hide_it() -> None:
    """The fast path of a valid pair goes on checking the next one."""
    with pytest.raises(StripeApiError, match="Invalid val"):
        metadata({"a": "b", "k": 2})
