"""Refund reason and notes (rules N1–N3)."""

from __future__ import annotations

import unicodedata
from typing import Final

from kanorio_refunds.domain._refund import RefundReason
from kanorio_refunds.errors import InvalidNotes, NotesRequired

#: N3: Stripe's limit for one metadata value, where the notes are sent.
MAX_NOTES_LENGTH: Final = 500
_ALLOWED_CONTROLS: Final = frozenset("\n\t")


def normalize_notes(notes: str) -> str:
    """N3: notes in Unicode NFC, trimmed; refuses control characters (but newline and tab) and
    more than 500 characters, never cutting silently."""
    if not isinstance(notes, str):
        raise InvalidNotes(f"notes must be text, got {type(notes).__name__}")
    # Control characters are refused before trimming, so none is dropped silently at an edge
    # (str.strip would remove \x0b, \x1c–\x1f and \x85 without a word).
    text = unicodedata.normalize("NFC", notes.replace("\r\n", "\n"))
    for index, char in enumerate(text):
        if char in _ALLOWED_CONTROLS:
            continue
        if unicodedata.category(char) in ("Cc", "Cs") or char in ("\u2028", "\u2029"):
            raise InvalidNotes(
                f"notes contain the control character U+{ord(char):04X} at position {index}; "
                f"only newlines and tabs are allowed"
            )
    text = text.strip()
    if len(text) > MAX_NOTES_LENGTH:
        raise InvalidNotes(
            f"notes are {len(text)} characters long; at most {MAX_NOTES_LENGTH} are allowed"
        )
    return text


def validate_reason_and_notes(reason: RefundReason | None, notes: str) -> str:
    """N1–N3: the reason is optional; OTHER needs notes that are not blank. Returns the notes,
    normalised."""
    text = normalize_notes(notes)
    if reason is RefundReason.OTHER and not text:
        raise NotesRequired(
            "the reason Other needs notes explaining the refund; add notes or choose another reason"
        )
    return text
