"""Issue 8, item 6: the webhook verifier (and ``parse_event``) work where the ``stripe`` SDK is
not installed: importing ``kanorio_refunds.adapters.stripe``, building a
``StripeWebhookVerifier`` and verifying a correctly signed delivery never import ``stripe``.

Each check runs in a fresh interpreter where ``stripe`` cannot be imported.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

# Two ways of making the SDK unimportable: a None entry in sys.modules (what an uninstalled
# package looks like to `import`), and a finder that refuses it and records every attempt.
NONE_IN_SYS_MODULES = """
import sys
sys.modules["stripe"] = None
attempts = []
"""
REFUSING_FINDER = """
import sys
attempts = []

class _NoStripe:
    def find_spec(self, name, path=None, target=None):
        if name == "stripe" or name.startswith("stripe."):
            attempts.append(name)
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _NoStripe())
"""

CHECK = """
import hashlib, hmac, json, time
from datetime import datetime, timezone

from kanorio_refunds.adapters.stripe import StripeWebhookVerifier, parse_event
from kanorio_refunds.errors import InvalidSignature, InvalidEvent

SECRET = "whsec_noSdkEndpointSecret000000000000000"
event = {
    "id": "evt_1", "object": "event", "type": "refund.updated", "created": 1700000000,
    "livemode": False, "pending_webhooks": 1, "api_version": "2023-08-16", "request": None,
    "data": {"object": {
        "id": "re_1", "object": "refund", "amount": 1000, "currency": "usd",
        "created": 1700000000, "status": "succeeded", "payment_intent": "pi_1",
        "charge": "ch_1", "reason": None,
        "metadata": {"kanorio_refund_id": "rf_1", "kanorio_order_id": "ord_1"},
    }},
}
payload = json.dumps(event).encode()
now = int(time.time())
mac = hmac.new(SECRET.encode(), f"{now}.".encode() + payload, hashlib.sha256).hexdigest()

verifier = StripeWebhookVerifier(SECRET)
read = verifier.verify(payload, f"t={now},v1={mac}")
assert read.id == "evt_1", read
assert read.refunds[0].id == "re_1"
assert read.refunds[0].local_refund_id == "rf_1"
assert read == parse_event(event)

for header in (None, f"t={now},v1={'0' * 64}", f"t={now - 3600},v1={mac}"):
    try:
        verifier.verify(payload, header)
    except InvalidSignature:
        pass
    else:
        raise AssertionError(f"accepted {header!r}")
bad = b'{"object": "event"}'
bad_mac = hmac.new(SECRET.encode(), f"{now}.".encode() + bad, hashlib.sha256).hexdigest()
try:
    verifier.verify(bad, f"t={now},v1={bad_mac}")
except InvalidEvent:
    pass
else:
    raise AssertionError("read a signed non-event")

assert sys.modules.get("stripe") is None, "stripe was imported"
assert not any(m.startswith("stripe.") for m in sys.modules), "a stripe submodule was imported"
assert attempts == [], f"stripe import attempted: {attempts}"
print("verified without stripe")
"""


@pytest.mark.parametrize(
    "prelude", [NONE_IN_SYS_MODULES, REFUSING_FINDER], ids=["None in sys.modules", "finder"]
)
def test_the_webhook_verifier_verifies_without_the_sdk(prelude: str) -> None:
    """P1 (issue 8 item 6): with ``stripe`` unimportable, a correctly signed payload verifies
    and reads as the event (``parse_event`` too), bad signatures and signed non-events are
    refused, and ``stripe`` is never imported, nor even looked for."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(prelude) + textwrap.dedent(CHECK)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "verified without stripe"


def test_parse_event_is_public() -> None:
    """L5 (issue 8 item 6): ``parse_event`` is part of the Stripe adapter's public API, for hosts
    that receive Stripe's events another way than a webhook."""
    from kanorio_refunds.adapters import stripe as adapter

    assert "parse_event" in adapter.__all__
    assert adapter.parse_event.__doc__ is not None
    assert "another way" in adapter.parse_event.__doc__
