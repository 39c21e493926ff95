"""Signed quotes (F5): a ``RefundQuote`` as an HMAC-signed, expiring, URL-safe token.

Between "Confirm Refund" and "Process Refund" the quote can travel through the browser (a hidden
form field, a URL, a JSON response), so the server needs no quote store::

    from kanorio_refunds.signed_quotes import QuoteSigner
    signer = QuoteSigner(settings.QUOTE_SECRET, clock=SystemClock())   # ten minutes by default
    token = signer.sign(service.quote(order_id, actor, amount, reason, notes))   # to the page
    ...
    refund = service.process(signer.open(request.form["quote"]), actor)          # back again

The token is ``kq1.<key id>.<issued at>.<quote>.<signature>``: the token format version, the id
of the key that signed it, the issue time in unix seconds, the quote in the exact serialised
format (``kanorio_refunds.serialization``, base64url JSON) and an HMAC-SHA256 over all of that
(base64url). Every character is URL-safe. It is signed, not encrypted: the browser can read the
quote, which is what its user was shown anyway.

``open`` refuses, with ``InvalidQuote`` (code ``invalid_quote``; the subclass
``InvalidQuoteToken`` says which ``problem``): a malformed token, one signed with a key this
server does not hold (foreign), one changed after signing (tampered), an expired one, and one
whose quote this release cannot read. Signatures are compared in constant time.

Secrets: at least 32 bytes each; several may be given for rotation (the first signs, all are
accepted). A secret never appears in a repr, a message or a traceback; the signer keeps only
keys derived from it, never pickles, and names keys by a non-reversible id.

Storing quotes on the server instead stays possible: ``serialization.to_dict(quote)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Final, NoReturn

from kanorio_refunds.adapters.clock import SystemClock
from kanorio_refunds.domain._quote import RefundQuote
from kanorio_refunds.errors import (
    InvalidQuoteToken,
    InvalidSigningSecret,
    TokenProblem,
)
from kanorio_refunds.ports import Clock
from kanorio_refunds.serialization import InvalidSerializedValue, from_json, to_json

__all__ = [
    "DEFAULT_TTL",
    "MIN_SECRET_BYTES",
    "TOKEN_VERSION",
    "InvalidQuoteToken",
    "InvalidSigningSecret",
    "QuoteSigner",
    "TokenProblem",
]

#: The token format version, the token's first part.
TOKEN_VERSION: Final = "kq1"
#: How long a token is valid after it was signed, unless the signer is told otherwise.
DEFAULT_TTL: Final = timedelta(minutes=10)
#: The shortest secret accepted: HMAC-SHA256 keys should carry at least 256 bits.
MIN_SECRET_BYTES: Final = 32
#: How far in the future a token's issue time may be (servers' clocks differ a little).
DEFAULT_CLOCK_SKEW: Final = timedelta(seconds=60)
#: Far beyond any quote (about 2 KB); refusing longer text first bounds the work on hostile input.
MAX_TOKEN_LENGTH: Final = 64 * 1024

_KEY_LABEL: Final = b"kanorio_refunds signed quote key v1"
_KEY_ID_LABEL: Final = b"kanorio_refunds signed quote key id v1"
_TOKEN: Final = re.compile(
    rf"{TOKEN_VERSION}\.([0-9a-f]{{8}})\.([0-9]{{1,12}})\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{{43}})"
)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _secret_problem(secret: object) -> str | None:
    """Why ``secret`` cannot sign quotes, or None. Never quotes the secret (P3)."""
    if isinstance(secret, str):
        try:
            raw = secret.encode("utf-8")
        except UnicodeEncodeError:
            # The codec's own message would quote the offending character.
            return "a quote signing secret must be valid text (it is not encodable as UTF-8)"
    elif isinstance(secret, (bytes, bytearray)):
        raw = bytes(secret)
    else:
        return f"a quote signing secret must be str or bytes, got {type(secret).__name__}"
    if len(raw) < MIN_SECRET_BYTES:
        return (
            f"a quote signing secret must be at least {MIN_SECRET_BYTES} bytes long; generate "
            f"one with secrets.token_urlsafe(32) and keep it in your settings"
        )
    return None


class _Key:
    """A key derived from one secret. Holds no secret; its repr shows only the key id."""

    __slots__ = ("_mac_key", "key_id")

    def __init__(self, secret: object) -> None:
        problem = _secret_problem(secret)
        if problem is not None:
            # Drop the secret from this frame first: tools that record a traceback's local
            # variables (error trackers, pytest) must not find it there (P3).
            del secret
            raise InvalidSigningSecret(problem)
        assert isinstance(secret, (str, bytes, bytearray))  # _secret_problem checked
        raw = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
        # A key of its own for quote tokens: the same secret used elsewhere in the host (a
        # session secret, say) never yields signatures that are valid here, or the reverse.
        self._mac_key = hmac.new(raw, _KEY_LABEL, hashlib.sha256).digest()
        self.key_id = hmac.new(raw, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:8]

    def signature(self, signed_part: bytes) -> str:
        return _b64(hmac.new(self._mac_key, signed_part, hashlib.sha256).digest())

    def __repr__(self) -> str:
        return f"<quote signing key {self.key_id}>"

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("a quote signing key is not pickled, so it is never written anywhere")


class QuoteSigner:
    """F5: signs quotes into URL-safe, expiring tokens and opens them again.

    ``secrets`` is one secret (str or bytes, at least 32 bytes) or a sequence of them: the
    first signs, every one is accepted, so a secret is rotated by putting the new one first and
    dropping the old one once its last tokens expired (``ttl`` later). ``clock`` is a
    ``ports.Clock`` (default: the system clock); ``ttl`` how long a token stays valid (default
    ten minutes, to the second); ``clock_skew`` how far in the future an issue time may lie.
    Raises ``InvalidSigningSecret`` for a missing, too short or non-text secret.
    """

    __slots__ = ("_clock", "_clock_skew", "_keys", "_signing_key", "_ttl")

    def __init__(
        self,
        secrets: str | bytes | Sequence[str | bytes],
        *,
        clock: Clock | None = None,
        ttl: timedelta = DEFAULT_TTL,
        clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
    ) -> None:
        if isinstance(secrets, (str, bytes, bytearray)):
            given: list[object] = [secrets]
        elif isinstance(secrets, Sequence):
            given = list(secrets)
        else:
            given = [secrets]  # refused below as neither text nor bytes
        problem = next(filter(None, map(_secret_problem, given)), None)
        if problem is None and not given:
            problem = "give at least one quote signing secret"
        if problem is not None:
            del secrets, given  # out of this frame before raising (P3, see _Key)
            raise InvalidSigningSecret(problem)
        keys = [_Key(secret) for secret in given]
        if not isinstance(ttl, timedelta) or ttl < timedelta(seconds=1):
            raise ValueError("ttl must be a timedelta of at least one second")
        if not isinstance(clock_skew, timedelta) or clock_skew < timedelta(0):
            raise ValueError("clock_skew must be a timedelta of zero or more")
        self._signing_key = keys[0]
        self._keys: dict[str, list[_Key]] = {}
        for key in keys:
            self._keys.setdefault(key.key_id, []).append(key)
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._ttl = ttl
        self._clock_skew = clock_skew

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The ids of the keys accepted, the signing key's first (a token names its key id)."""
        return tuple(dict.fromkeys([self._signing_key.key_id, *self._keys]))

    @property
    def ttl(self) -> timedelta:
        """How long a token is valid after it was signed."""
        return self._ttl

    def __repr__(self) -> str:
        if not hasattr(self, "_ttl"):  # refused in __init__ (a traceback may still show it)
            return "QuoteSigner(<not configured>)"
        return f"QuoteSigner(key_ids={self.key_ids!r}, ttl={self._ttl!r})"

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("a QuoteSigner holds signing keys and is not pickled; build it again")

    def _now(self) -> datetime:
        now = self._clock.now()
        if now.utcoffset() is None:
            raise ValueError("the clock returned a naive datetime; a Clock gives aware UTC times")
        return now

    def sign(self, quote: RefundQuote) -> str:
        """F5: ``quote`` as a URL-safe token signed now, valid for ``ttl``."""
        if not isinstance(quote, RefundQuote):
            raise TypeError(f"sign takes a RefundQuote, got {type(quote).__name__}")
        issued = math.floor(self._now().timestamp())
        payload = _b64(to_json(quote).encode("utf-8"))
        signed_part = f"{TOKEN_VERSION}.{self._signing_key.key_id}.{issued}.{payload}"
        return f"{signed_part}.{self._signing_key.signature(signed_part.encode('ascii'))}"

    def open(self, token: str) -> RefundQuote:
        """F5: the quote in ``token``, if this server signed it less than ``ttl`` ago and nothing
        in it changed since. Raises ``InvalidQuoteToken`` (an ``InvalidQuote``, code
        ``invalid_quote``) saying which problem it has: malformed, foreign, tampered, expired,
        not yet valid or unreadable."""
        if not isinstance(token, str):
            _refuse("malformed", f"a quote token is text, got {type(token).__name__}")
        if len(token) > MAX_TOKEN_LENGTH:
            _refuse("malformed", "the quote token is far too long to be one")
        match = _TOKEN.fullmatch(token)
        if match is None:
            version = token.split(".", 1)[0]
            if re.fullmatch(r"kq[0-9]{1,4}", version) and version != TOKEN_VERSION:
                _refuse(
                    "malformed",
                    f"the quote token has format {version}; this release reads {TOKEN_VERSION}",
                )
            _refuse("malformed", "this is not a quote token (or it was cut short)")
        key_id, issued_text, payload, signature = match.groups()
        keys = self._keys.get(key_id)
        if keys is None:
            _refuse(
                "foreign",
                f"the quote token was signed with a key this server does not hold (key id "
                f"{key_id}): by another installation, or with a secret retired since",
            )
        signed_part = token[: -len(signature) - 1].encode("ascii")
        # Constant time, and on the base64 text itself so that only the one canonical
        # spelling of a signature is accepted.
        if not any(hmac.compare_digest(key.signature(signed_part), signature) for key in keys):
            _refuse(
                "tampered",
                "the quote token's signature does not match its contents: it was changed after "
                "it was signed",
            )
        try:
            issued = datetime.fromtimestamp(int(issued_text), UTC)
        except (OverflowError, ValueError, OSError):
            _refuse("malformed", "the quote token's issue time is out of range")
        now = self._now()
        if issued > now + self._clock_skew:
            _refuse(
                "not_yet_valid",
                f"the quote token was issued at {issued.isoformat()}, later than this server's "
                f"time {now.isoformat()}: the servers' clocks disagree",
            )
        expires = issued + self._ttl
        if now >= expires:
            _refuse(
                "expired",
                f"the quote token expired at {expires.isoformat()} (quotes are valid for "
                f"{_duration(self._ttl)} after Confirm Refund); confirm the refund again",
            )
        try:
            return from_json(RefundQuote, _unb64(payload))
        except (InvalidSerializedValue, binascii.Error, ValueError) as error:
            detail = error.message if isinstance(error, InvalidSerializedValue) else "bad base64"
            _refuse(
                "unreadable",
                f"the quote in the token cannot be read by this release ({detail})",
            )


def _refuse(problem: TokenProblem, message: str) -> NoReturn:
    # ``from None``: no chained exception can carry a key or the token's internals into a
    # traceback (P3).
    raise InvalidQuoteToken(message, problem=problem) from None


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 60 == 0:
        minutes = seconds // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds} seconds"
