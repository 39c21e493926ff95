"""``python -m kanorio_refunds demo [--db PATH]``: the refund walkthrough, stored in SQLite.

Needs the ``sql`` and ``stripe`` extras (``pip install 'kanorio-refunds[sql,stripe]'``): the
walkthrough keeps its orders in an SQLite file and restarts a real app server process, whose
``stripe`` SDK talks to the Stripe simulator over loopback.
"""

from __future__ import annotations

import sys
from pathlib import Path

_USAGE = (
    "usage: python -m kanorio_refunds demo [--db PATH]\n"
    "  demo       walk through the help page's refund processing, stored in SQLite\n"
    "  --db PATH  keep the orders in a new SQLite file at PATH (default: a temporary one)"
)


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``demo`` runs the walkthrough; anything else prints usage (exit code 2)."""
    args = sys.argv[1:] if argv is None else argv
    db: Path | None = None
    if args[:1] == ["demo"] and len(args) in (1, 3):
        if len(args) == 3:
            if args[1] != "--db":
                return _usage()
            db = Path(args[2])
            if db.exists():
                print(f"{db} exists; give the demo a new file to write", file=sys.stderr)
                return 2
        from kanorio_refunds._demo import run

        return run(db=db)
    return _usage()


def _usage() -> int:
    print(_USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
