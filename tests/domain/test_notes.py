"""Refund reason and notes (rules N1–N3) and their Stripe mapping (N4)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanorio_refunds.adapters._stripe_json import reason_from_gateway, stripe_reason
from kanorio_refunds.domain._balance import refundable_balance
from kanorio_refunds.domain._ids import OrderId, RefundId
from kanorio_refunds.domain._notes import (
    MAX_NOTES_LENGTH,
    normalize_notes,
    validate_reason_and_notes,
)
from kanorio_refunds.domain._payment import (
    METADATA_NOTES,
    METADATA_ORDER_ID,
    METADATA_REASON,
    METADATA_REFUND_ID,
    refund_metadata,
)
from kanorio_refunds.domain._quote import Notice, quote_notices
from kanorio_refunds.domain._refund import RefundReason
from kanorio_refunds.errors import InvalidNotes, InvalidReason, NotesRequired
from kanorio_refunds.testing import paid_order
from kanorio_refunds.testing import strategies as kst

# -- N1 -----------------------------------------------------------------------------------------


def test_the_four_reasons() -> None:
    """N1: the reasons are DUPLICATE, FRAUDULENT, CUSTOMER_REQUEST and OTHER."""
    assert [r.name for r in RefundReason] == [
        "DUPLICATE",
        "FRAUDULENT",
        "CUSTOMER_REQUEST",
        "OTHER",
    ]


@pytest.mark.parametrize(
    ("given_value", "reason"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("duplicate", RefundReason.DUPLICATE),
        ("DUPLICATE", RefundReason.DUPLICATE),
        (" Fraudulent ", RefundReason.FRAUDULENT),
        ("customer_request", RefundReason.CUSTOMER_REQUEST),
        ("CUSTOMER_REQUEST", RefundReason.CUSTOMER_REQUEST),
        ("other", RefundReason.OTHER),
        (RefundReason.OTHER, RefundReason.OTHER),
    ],
)
def test_reason_is_optional_and_parsed_case_insensitively(
    given_value: str | RefundReason | None, reason: RefundReason | None
) -> None:
    """N1: the reason is optional (None or blank is no reason); names and values are accepted."""
    assert RefundReason.parse(given_value) is reason


@pytest.mark.parametrize("bad", ["requested_by_customer", "fraud", "refund", "0"])
def test_unknown_reasons_are_refused(bad: str) -> None:
    """N1: anything else is refused with invalid_reason, listing the choices."""
    with pytest.raises(InvalidReason, match="DUPLICATE, FRAUDULENT, CUSTOMER_REQUEST, OTHER") as e:
        RefundReason.parse(bad)
    assert e.value.code == "invalid_reason"


@pytest.mark.parametrize("reason", [None, *RefundReason])
def test_reason_with_notes_is_accepted(reason: RefundReason | None) -> None:
    """N1: any reason, or none, is accepted with notes."""
    assert validate_reason_and_notes(reason, "Customer wrote in.") == "Customer wrote in."


@pytest.mark.parametrize(
    "reason", [None, RefundReason.DUPLICATE, RefundReason.FRAUDULENT, RefundReason.CUSTOMER_REQUEST]
)
def test_notes_are_optional_except_for_other(reason: RefundReason | None) -> None:
    """N1, N2: without OTHER, blank notes are fine."""
    assert validate_reason_and_notes(reason, "") == ""
    assert validate_reason_and_notes(reason, "   ") == ""


# -- N2 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("blank", ["", " ", "\n\t ", "\u00a0", "\u3000"])
def test_other_requires_notes_that_are_not_blank(blank: str) -> None:
    """N2: OTHER with notes that are blank after trimming is refused with notes_required."""
    with pytest.raises(NotesRequired, match="needs notes") as info:
        validate_reason_and_notes(RefundReason.OTHER, blank)
    assert info.value.code == "notes_required"


def test_the_notes_required_refusal_is_one_sentence_for_the_form() -> None:
    """N2: the refusal a refund form shows beside the notes field, word for word."""
    with pytest.raises(NotesRequired) as info:
        validate_reason_and_notes(RefundReason.OTHER, " ")
    assert info.value.message == (
        "the reason Other needs notes explaining the refund; add notes or choose another reason"
    )


def test_other_with_notes_is_accepted() -> None:
    """N2: OTHER with real notes is accepted; the notes come back trimmed."""
    assert validate_reason_and_notes(RefundReason.OTHER, "  Goodwill gesture \n") == (
        "Goodwill gesture"
    )


@given(kst.valid_notes(non_blank=True))
def test_other_accepts_any_valid_non_blank_notes(notes: str) -> None:
    """N2, N3: OTHER accepts any valid, non-blank notes."""
    result = validate_reason_and_notes(RefundReason.OTHER, notes)
    assert result.strip()


# -- N3 -----------------------------------------------------------------------------------------


def test_notes_are_nfc_normalised() -> None:
    """N3: notes are Unicode-normalised to NFC (e + combining acute becomes é)."""
    decomposed = "Cafe\u0301 order"
    assert normalize_notes(decomposed) == "Caf\u00e9 order"
    assert unicodedata.is_normalized("NFC", normalize_notes("\u212b"))  # Angstrom sign → Å


def test_500_characters_are_accepted() -> None:
    """N3: exactly 500 characters (Stripe's metadata value limit) are accepted unchanged."""
    notes = "x" * 500
    assert MAX_NOTES_LENGTH == 500
    assert normalize_notes(notes) == notes


def test_501_characters_are_refused_never_cut() -> None:
    """N3: 501 characters are refused with invalid_notes, never silently cut to 500."""
    with pytest.raises(InvalidNotes, match="501 characters long; at most 500") as info:
        normalize_notes("x" * 501)
    assert info.value.code == "invalid_notes"
    with pytest.raises(InvalidNotes):
        validate_reason_and_notes(RefundReason.OTHER, "é" * 501)


def test_length_is_counted_after_normalisation() -> None:
    """N3: 500 decomposed é (1000 code points) are 500 characters once normalised: accepted."""
    decomposed = "e\u0301" * 500
    assert len(decomposed) == 1000
    assert normalize_notes(decomposed) == "\u00e9" * 500


@pytest.mark.parametrize(
    "char", ["\x00", "\x07", "\x1b", "\x7f", "\r", "\x0b", "\x0c", "\u0085", "\u2028", "\u2029"]
)
def test_control_characters_are_refused(char: str) -> None:
    """N3: control characters (other than newline and tab) are refused, naming the character."""
    with pytest.raises(InvalidNotes, match=f"U\\+{ord(char):04X}") as info:
        normalize_notes(f"before{char}after")
    assert info.value.code == "invalid_notes"
    assert "only newlines and tabs are allowed" in info.value.message


def test_newline_and_tab_are_allowed() -> None:
    """N3: newlines and tabs inside notes are kept; Windows line ends become newlines."""
    assert normalize_notes("line 1\nline 2\tcol") == "line 1\nline 2\tcol"
    assert normalize_notes("line 1\r\nline 2") == "line 1\nline 2"


@pytest.mark.parametrize("bad", [None, 42, b"bytes"])
def test_notes_must_be_text(bad: object) -> None:
    """N3: notes that are not text are refused."""
    with pytest.raises(InvalidNotes, match="notes must be text"):
        normalize_notes(bad)  # type: ignore[arg-type]


@given(kst.valid_notes())
def test_valid_notes_are_accepted_and_normalisation_is_idempotent(notes: str) -> None:
    """N3: valid notes are accepted; the result is NFC, trimmed, ≤ 500, and normalising again
    changes nothing."""
    result = normalize_notes(notes)
    assert unicodedata.is_normalized("NFC", result)
    assert len(result) <= MAX_NOTES_LENGTH
    assert result == result.strip()
    assert normalize_notes(result) == result


@given(
    kst.valid_notes(max_size=100),
    st.sampled_from([chr(c) for c in range(32) if chr(c) not in "\n\t\r"] + ["\x7f", "\u2028"]),
    st.data(),
)
def test_any_control_character_anywhere_is_refused(
    notes: str, control: str, data: st.DataObject
) -> None:
    """N3: inserting one control character anywhere into valid notes makes them invalid."""
    position = data.draw(st.integers(min_value=0, max_value=len(notes)))
    with pytest.raises(InvalidNotes):
        normalize_notes(notes[:position] + "a" + control + "a" + notes[position:])


# -- N4: Stripe mapping -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "stripe"),
    [
        (RefundReason.DUPLICATE, "duplicate"),
        (RefundReason.FRAUDULENT, "fraudulent"),
        (RefundReason.CUSTOMER_REQUEST, "requested_by_customer"),
        (RefundReason.OTHER, None),
        (None, None),
    ],
)
def test_reasons_map_to_stripes(reason: RefundReason | None, stripe: str | None) -> None:
    """N4: DUPLICATE→duplicate, FRAUDULENT→fraudulent, CUSTOMER_REQUEST→requested_by_customer,
    OTHER and no reason send no Stripe reason."""
    assert stripe_reason(reason) == stripe


def test_metadata_carries_our_ids_reason_and_notes() -> None:
    """N4: the Stripe refund's metadata holds our order id, refund id, reason and notes."""
    md = refund_metadata(OrderId("order-1"), RefundId("rf_1"), RefundReason.OTHER, "Goodwill")
    assert md == {
        METADATA_ORDER_ID: "order-1",
        METADATA_REFUND_ID: "rf_1",
        METADATA_REASON: "other",
        METADATA_NOTES: "Goodwill",
    }
    bare = refund_metadata(OrderId("order-1"), RefundId("rf_1"), None, "")
    assert bare == {METADATA_ORDER_ID: "order-1", METADATA_REFUND_ID: "rf_1"}
    # Stripe's limits: keys ≤ 40 characters, values ≤ 500 (notes are capped by N3).
    assert all(len(k) <= 40 for k in md)


@given(kst.refund_reasons(), kst.valid_notes())
def test_metadata_round_trips_the_reason(reason: RefundReason | None, notes: str) -> None:
    """N4: the reason read back from a gateway refund is the one we wrote, even OTHER (which
    Stripe has no reason for); without metadata Stripe's own reason is used."""
    md = refund_metadata(OrderId("o"), RefundId("r"), reason, normalize_notes(notes))
    assert reason_from_gateway(stripe_reason(reason), md.get(METADATA_REASON)) is reason
    assert all(len(v) <= 500 for v in md.values())
    if reason is not RefundReason.OTHER:
        assert reason_from_gateway(stripe_reason(reason), None) is reason


def test_unknown_gateway_reasons_map_to_none() -> None:
    """N4: a Stripe reason we do not know (e.g. expired_uncaptured_charge) maps to no reason."""
    assert reason_from_gateway("expired_uncaptured_charge", None) is None
    assert reason_from_gateway(None, None) is None
    assert reason_from_gateway("duplicate", "nonsense") is RefundReason.DUPLICATE


def test_fraudulent_warns_about_stripe_block_lists() -> None:
    """N4: choosing FRAUDULENT warns that Stripe adds the card and email to its block lists;
    other reasons do not."""
    order = paid_order()
    assert order.payment is not None
    breakdown = refundable_balance(order.payment, ())
    assert Notice.FRAUDULENT_BLOCKLIST in quote_notices(breakdown, RefundReason.FRAUDULENT)
    assert "block lists" in Notice.FRAUDULENT_BLOCKLIST.message
    for reason in (None, RefundReason.DUPLICATE, RefundReason.CUSTOMER_REQUEST, RefundReason.OTHER):
        assert Notice.FRAUDULENT_BLOCKLIST not in quote_notices(breakdown, reason)


@pytest.mark.parametrize("edge", ["\x0b", "\x1c", "\x1f", "\x85", "\r"])
def test_control_characters_at_the_edges_are_refused_not_trimmed(edge: str) -> None:
    """N3: a control character is refused wherever it stands, never silently trimmed away."""
    with pytest.raises(InvalidNotes, match="control character"):
        normalize_notes(f"{edge}refund notes{edge}")


@pytest.mark.parametrize("allowed", ["\n", "\t", "\r\n"])
@pytest.mark.parametrize("control", ["\x00", "\x07", "\x7f", "\u2028"])
def test_a_control_character_after_a_newline_or_tab_is_refused(allowed: str, control: str) -> None:
    """N3: an allowed newline or tab does not end the check: a control character after it is
    still refused (the scan goes on past every allowed character)."""
    with pytest.raises(InvalidNotes, match=f"U\\+{ord(control):04X} at position"):
        normalize_notes(f"first line{allowed}second{allowed}{control}end")


@pytest.mark.parametrize("surrogate", [chr(0xD800), chr(0xDBFF), chr(0xDC00), chr(0xDFFF)])
def test_lone_surrogates_are_refused(surrogate: str) -> None:
    """N3: a lone UTF-16 surrogate (which cannot be encoded as UTF-8 for Stripe) is refused as
    a control character, wherever it stands."""
    for notes in (surrogate, f"note {surrogate}", f"a\nb {surrogate} c"):
        with pytest.raises(InvalidNotes, match=f"U\\+{ord(surrogate):04X}"):
            normalize_notes(notes)


def test_the_refused_character_is_named_with_its_position() -> None:
    """N3: the error names the character and where it stands, so the user can find it."""
    with pytest.raises(InvalidNotes) as info:
        normalize_notes("ab\tc\x01")
    assert info.value.message == (
        "notes contain the control character U+0001 at position 4; "
        "only newlines and tabs are allowed"
    )


def test_the_length_limit_applies_after_trimming() -> None:
    """N3: surrounding whitespace is trimmed before the 500-character limit is counted."""
    assert normalize_notes("  \n" + "x" * 500 + "\t ") == "x" * 500


@pytest.mark.parametrize("bad", [None, 42])
def test_notes_of_another_type_are_named(bad: object) -> None:
    """N3: refusing notes that are not text names the type that was given."""
    with pytest.raises(InvalidNotes, match=rf"got {type(bad).__name__}$"):
        normalize_notes(bad)  # type: ignore[arg-type]
