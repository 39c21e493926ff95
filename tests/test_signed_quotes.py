"""kanorio_refunds.signed_quotes: quotes through the browser as signed, expiring tokens (F5).

Secrets never show (P3); tampered, expired, foreign and malformed tokens are ``invalid_quote``.
"""

from __future__ import annotations

import base64
import pickle
import re
import traceback
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanorio_refunds import RefundQuote, RefundStatus
from kanorio_refunds.adapters.clock import ManualClock
from kanorio_refunds.errors import InvalidQuote, RefundError
from kanorio_refunds.serialization import from_dict, to_dict
from kanorio_refunds.signed_quotes import (
    DEFAULT_TTL,
    TOKEN_VERSION,
    InvalidQuoteToken,
    InvalidSigningSecret,
    QuoteSigner,
    _Key,
)
from kanorio_refunds.testing import strategies as kst
from tests.support.world import OWNER, World, usd

SECRET = "k7R2-secret-for-tests-only-0123456789abcdef"
OTHER_SECRET = b"another-installation-secret-\x00\x01\x02\x03-456789"
START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

_TOKEN_SHAPE = re.compile(r"kq1\.[0-9a-f]{8}\.[0-9]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}")


@pytest.fixture
def world() -> World:
    return World.build()


@pytest.fixture
def quote(world: World) -> RefundQuote:
    world.add_order()
    return world.service.quote(world.orders.all()[0].id, OWNER, usd("12.50"), "other", "dented")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def signer(clock: ManualClock) -> QuoteSigner:
    return QuoteSigner(SECRET, clock=clock)


def _problem(signer: QuoteSigner, token: object) -> InvalidQuoteToken:
    with pytest.raises(InvalidQuote) as caught:
        signer.open(token)  # type: ignore[arg-type]
    error = caught.value
    assert isinstance(error, InvalidQuoteToken)
    assert error.code == "invalid_quote"
    return error


# -- the round trip -----------------------------------------------------------------------------


def test_a_signed_quote_opens_to_the_same_quote(signer: QuoteSigner, quote: RefundQuote) -> None:
    """F5: sign then open gives the quote back, equal; the token is URL-safe and names the
    token version, the key id and the issue time."""
    token = signer.sign(quote)
    assert _TOKEN_SHAPE.fullmatch(token)
    version, key_id, issued, _payload, _signature = token.split(".")
    assert version == TOKEN_VERSION
    assert key_id == signer.key_ids[0]
    assert int(issued) == int(START.timestamp())
    assert signer.open(token) == quote


@given(kst.quotes())
def test_every_quote_survives_a_token(quote: RefundQuote) -> None:
    """F5: any quote the service makes round-trips through a token exactly."""
    signer = QuoteSigner(SECRET, clock=ManualClock(START))
    token = signer.sign(quote)
    assert _TOKEN_SHAPE.fullmatch(token)
    assert signer.open(token) == quote


def test_process_refund_from_a_token(world: World, quote: RefundQuote) -> None:
    """F5, F2: the quote from "Confirm Refund" goes to the browser as a token and comes back to
    "Process Refund": one refund, and the same token again returns the same refund."""
    signer = QuoteSigner(SECRET, clock=world.clock)
    token = signer.sign(quote)
    first = world.service.process(signer.open(token), OWNER)
    again = world.service.process(signer.open(token), OWNER)
    assert first.id == again.id == quote.refund_id
    assert first.status is RefundStatus.SUCCEEDED
    assert len(world.orders.get(quote.order_id).refunds) == 1


def test_server_side_storage_stays_possible(quote: RefundQuote) -> None:
    """F5: without tokens, the quote can be kept on the server as its serialised dict."""
    assert from_dict(RefundQuote, to_dict(quote)) == quote


# -- refusals -----------------------------------------------------------------------------------


def test_an_expired_token_is_refused(
    signer: QuoteSigner, clock: ManualClock, quote: RefundQuote
) -> None:
    """F5: a token is valid for ten minutes by default; from then on it is expired."""
    assert signer.ttl == DEFAULT_TTL == timedelta(minutes=10)
    token = signer.sign(quote)
    clock.advance(timedelta(minutes=10) - timedelta(seconds=1))
    assert signer.open(token) == quote
    clock.advance(timedelta(seconds=1))
    error = _problem(signer, token)
    assert error.problem == "expired"
    assert "expired at 2026-11-26T09:10:00+00:00" in error.message
    assert "10 minutes" in error.message


def test_the_lifetime_is_configurable(clock: ManualClock, quote: RefundQuote) -> None:
    """F5: ``ttl`` sets how long tokens live."""
    signer = QuoteSigner(SECRET, clock=clock, ttl=timedelta(seconds=30))
    token = signer.sign(quote)
    clock.advance(29)
    assert signer.open(token) == quote
    clock.advance(1)
    assert _problem(signer, token).problem == "expired"


def test_a_token_from_the_future_is_refused(clock: ManualClock, quote: RefundQuote) -> None:
    """F5: a token issued later than this server's time (beyond the allowed clock skew) is
    refused as not yet valid; within the skew it opens."""
    ahead = QuoteSigner(SECRET, clock=ManualClock(START + timedelta(seconds=60)))
    here = QuoteSigner(SECRET, clock=clock)
    assert here.open(ahead.sign(quote)) == quote
    far_ahead = QuoteSigner(SECRET, clock=ManualClock(START + timedelta(seconds=61)))
    error = _problem(here, far_ahead.sign(quote))
    assert error.problem == "not_yet_valid"
    assert "clocks disagree" in error.message


@pytest.mark.parametrize("part", [2, 3, 4], ids=["issue_time", "quote", "signature"])
def test_a_tampered_token_is_refused(signer: QuoteSigner, quote: RefundQuote, part: int) -> None:
    """F5: changing any part of a token (the key id aside: see foreign) is tampering: the
    issue time, the quote, the signature."""
    token = signer.sign(quote)
    parts = token.split(".")
    original = parts[part]
    index = len(original) // 2
    replacement = "1" if original[index] != "1" else "2"
    parts[part] = original[:index] + replacement + original[index + 1 :]
    error = _problem(signer, ".".join(parts))
    assert error.problem == "tampered"
    assert "changed after it was signed" in error.message


def test_a_quote_changed_inside_a_validly_shaped_token_is_tampering(
    signer: QuoteSigner, quote: RefundQuote
) -> None:
    """F5: re-encoding a changed quote (a larger amount) into the token is caught."""
    token = signer.sign(quote)
    version, key_id, issued, payload, signature = token.split(".")
    text = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    forged = text.replace('"amount":"12.50"', '"amount":"95.80"')
    assert forged != text
    forged_payload = base64.urlsafe_b64encode(forged.encode()).rstrip(b"=").decode()
    error = _problem(signer, ".".join([version, key_id, issued, forged_payload, signature]))
    assert error.problem == "tampered"


def test_every_single_character_change_is_refused(signer: QuoteSigner, quote: RefundQuote) -> None:
    """F5: no one-character change of a token opens (each is tampered, foreign or malformed)."""
    token = signer.sign(quote)
    for index in range(0, len(token), max(1, len(token) // 200)):
        for replacement in ("A", "_"):
            if token[index] == replacement:
                continue
            changed = token[:index] + replacement + token[index + 1 :]
            assert _problem(signer, changed).problem in {"tampered", "foreign", "malformed"}


def test_a_non_canonical_signature_spelling_is_refused(
    signer: QuoteSigner, quote: RefundQuote
) -> None:
    """F5: the signature's last base64 character carries 2 unused bits; another spelling of the
    same bytes is refused (tokens have exactly one valid form)."""
    token = signer.sign(quote)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    sibling = alphabet[last ^ 1]
    error = _problem(signer, token[:-1] + sibling)
    assert error.problem == "tampered"


def test_a_foreign_token_is_refused(clock: ManualClock, quote: RefundQuote) -> None:
    """F5: a token signed with another secret (another installation, or a retired secret) is
    foreign, and the message names its key id, never a secret."""
    theirs = QuoteSigner(OTHER_SECRET, clock=clock)
    ours = QuoteSigner(SECRET, clock=clock)
    token = theirs.sign(quote)
    error = _problem(ours, token)
    assert error.problem == "foreign"
    assert theirs.key_ids[0] in error.message


def test_a_forged_key_id_does_not_help(clock: ManualClock, quote: RefundQuote) -> None:
    """F5: a foreign token relabelled with our key id is tampered (its signature is theirs)."""
    theirs = QuoteSigner(OTHER_SECRET, clock=clock)
    ours = QuoteSigner(SECRET, clock=clock)
    parts = theirs.sign(quote).split(".")
    parts[1] = ours.key_ids[0]
    assert _problem(ours, ".".join(parts)).problem == "tampered"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "hello",
        "kq1",
        "kq1....",
        "kq1.abcdefgh.1.e30.AAAA",
        "kq1.ABCDEFGH.1764147600.e30." + "A" * 43,
        "kq1.0123abcd.1764147600.e30." + "A" * 42,
        "kq1.0123abcd.1764147600.e3=." + "A" * 43,
        "kq1.0123abcd.-1.e30." + "A" * 43,
        "kq1.0123abcd.1764147600.e30." + "A" * 43 + ".extra",
        " kq1.0123abcd.1764147600.e30." + "A" * 43,
        "kq1.0123abcd.1764147600.e30." + "A" * 43 + "\n",
        "x" * 100_000,
        None,
        b"kq1.0123abcd.1764147600.e30.AAAA",
        12,
    ],
)
def test_a_malformed_token_is_refused(signer: QuoteSigner, token: object) -> None:
    """F5: anything that is not a token is malformed (``invalid_quote``), never another error."""
    assert _problem(signer, token).problem == "malformed"


def test_another_token_version_is_named(signer: QuoteSigner) -> None:
    """F5: a token of another format version says so."""
    error = _problem(signer, "kq2.0123abcd.1764147600.e30." + "A" * 43)
    assert error.problem == "malformed"
    assert "kq2" in error.message


@given(st.text(max_size=120))
def test_any_text_opens_or_is_invalid_quote(text: str) -> None:
    """F5: opening arbitrary text raises only InvalidQuote."""
    signer = QuoteSigner(SECRET, clock=ManualClock(START))
    with pytest.raises(InvalidQuote):
        signer.open(text)


def test_a_signed_but_unreadable_quote_is_refused(signer: QuoteSigner) -> None:
    """F5: a token signed with our key whose quote this release cannot read (another format
    version, say) is unreadable, not a crash."""
    key = _Key(SECRET)
    payload = base64.urlsafe_b64encode(b'{"object":"refund_quote","format_version":99}')
    signed = f"kq1.{key.key_id}.{int(START.timestamp())}.{payload.rstrip(b'=').decode()}"
    error = _problem(signer, f"{signed}.{key.signature(signed.encode())}")
    assert error.problem == "unreadable"
    assert "format version 99" in error.message


# -- rotation -----------------------------------------------------------------------------------


def test_secrets_rotate(clock: ManualClock, quote: RefundQuote) -> None:
    """F5: with several secrets the first signs and all are accepted, so a new secret can be
    put first while tokens signed with the old one still open until they expire."""
    old = QuoteSigner(SECRET, clock=clock)
    rotated = QuoteSigner([OTHER_SECRET, SECRET], clock=clock)
    assert rotated.key_ids == (QuoteSigner(OTHER_SECRET).key_ids[0], old.key_ids[0])
    old_token = old.sign(quote)
    new_token = rotated.sign(quote)
    assert new_token.split(".")[1] == rotated.key_ids[0]
    assert rotated.open(old_token) == quote
    assert rotated.open(new_token) == quote
    assert _problem(old, new_token).problem == "foreign"
    retired = QuoteSigner([OTHER_SECRET], clock=clock)
    assert _problem(retired, old_token).problem == "foreign"


def test_the_same_secret_signs_the_same_on_every_server(quote: RefundQuote) -> None:
    """F5: two servers configured with the same secret accept each other's tokens."""
    a = QuoteSigner(SECRET, clock=ManualClock(START))
    b = QuoteSigner(SECRET.encode(), clock=ManualClock(START + timedelta(minutes=3)))
    assert a.key_ids == b.key_ids
    assert b.open(a.sign(quote)) == quote


# -- secrets never show (P3) --------------------------------------------------------------------


def _library_locals(error: BaseException) -> str:
    """The local variables of the library's frames in ``error``'s traceback, as an error
    tracker records them (the caller's own frames hold what the caller put there)."""
    summary = traceback.TracebackException.from_exception(error, capture_locals=True)
    frames = [f for f in summary.stack if "kanorio_refunds" in f.filename]
    assert frames, "the error was raised inside the library"
    return "".join(repr(frame.locals) for frame in frames)


@pytest.mark.parametrize(
    "secret",
    ["Qz7-tiny-Qz7", b"\x00" * 31, "", "é" * 15, ["x" * 40, "Qz7-tiny-Qz7"], [], ("ok" * 20, 7)],
    ids=["short_text", "31_bytes", "empty", "30_utf8_bytes", "one_short", "none", "not_text"],
)
def test_a_short_secret_is_refused_without_showing_it(secret: object) -> None:
    """P3, F5: a secret shorter than 32 bytes (or none) is refused; the error, its repr and
    its traceback never contain the secret."""
    with pytest.raises(InvalidSigningSecret) as caught:
        QuoteSigner(secret)  # type: ignore[arg-type]
    error = caught.value
    assert isinstance(error, RefundError)
    assert error.code == "invalid_signing_secret"
    shown = "".join(traceback.format_exception(error)) + repr(error) + str(error)
    shown += _library_locals(error)
    for value in secret if isinstance(secret, list) else [secret]:
        if value:
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            assert text not in shown


def test_a_secret_that_is_not_text_is_refused() -> None:
    """P3: a secret of another type, or text that cannot be encoded, is refused without
    quoting it (the codec's own message would show the bad character)."""
    with pytest.raises(InvalidSigningSecret, match="str or bytes"):
        QuoteSigner(12345678901234567890123456789012345)  # type: ignore[arg-type]
    with pytest.raises(InvalidSigningSecret, match="str or bytes"):
        QuoteSigner([b"b" * 40, None])  # type: ignore[list-item]
    bad = "\ud800" + "s" * 40
    with pytest.raises(InvalidSigningSecret) as caught:
        QuoteSigner(bad)
    shown = "".join(traceback.format_exception(caught.value)) + _library_locals(caught.value)
    assert "ud800" not in shown
    assert "\ud800" not in shown


def test_the_secret_never_shows(clock: ManualClock, quote: RefundQuote) -> None:
    """P3, F5: the secret (and the key derived from it) is in no repr, message or traceback of
    the signer or of any refusal; the signer cannot be pickled."""
    signer = QuoteSigner([SECRET, OTHER_SECRET], clock=clock)
    texts = [repr(signer), str(signer)]
    token = signer.sign(quote)
    for bad in (token[:-3] + "AAA", "garbage", QuoteSigner("z" * 40, clock=clock).sign(quote)):
        with pytest.raises(InvalidQuote) as caught:
            signer.open(bad)
        texts += [repr(caught.value), str(caught.value)]
        texts += traceback.format_exception(caught.value)
    clock.advance(timedelta(hours=1))
    with pytest.raises(InvalidQuote) as caught:
        signer.open(token)
    texts += traceback.format_exception(caught.value)
    shown = "".join(texts)
    assert SECRET not in shown
    assert OTHER_SECRET.decode("latin-1") not in shown
    assert "QuoteSigner(key_ids=(" in repr(signer)
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(signer)
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(signer._signing_key)


def test_bad_settings_are_refused() -> None:
    """F5: a ttl under a second or a negative clock skew is a configuration error."""
    with pytest.raises(ValueError, match="ttl"):
        QuoteSigner(SECRET, ttl=timedelta(0))
    with pytest.raises(ValueError, match="clock_skew"):
        QuoteSigner(SECRET, clock_skew=timedelta(seconds=-1))
    with pytest.raises(TypeError, match="RefundQuote"):
        QuoteSigner(SECRET).sign("quote")  # type: ignore[arg-type]
