"""Reading the command's CSV files (``refund --csv``, ``register --csv``): one reader, so every
file is decoded, and its header judged, the same way."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

from kanorio_refunds.errors import InvalidCsv, InvalidInput


def open_table(path: Path, *, expected: str) -> tuple[list[str], Iterator[list[str]]]:
    """The header's column names (trimmed, lower case) and the data rows of ``path``.

    ``InvalidInput`` when it cannot be read; ``InvalidCsv`` when it is not UTF-8 or has no
    header (the message names the ``expected`` header)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise InvalidInput(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidCsv(f"{path} is not UTF-8 text") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        raise InvalidCsv(f"{path} is empty: expected the header {expected}")
    return [h.strip().lower() for h in header], reader


def header_problems(
    names: Sequence[str], *, required: Sequence[str], known: Collection[str]
) -> tuple[list[str], list[str], list[str]]:
    """The required columns missing from ``names``, the unknown ones and the repeated ones."""
    missing = [n for n in required if n not in names]
    unknown = [n for n in names if n not in known]
    repeated = sorted(n for n, c in Counter(names).items() if c > 1)
    return missing, unknown, repeated
