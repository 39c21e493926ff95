"""``python -m kanorio_refunds demo``: the refund walkthrough on in-memory adapters."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``demo`` runs the walkthrough; anything else prints usage."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["demo"]:
        from kanorio_refunds._demo import run

        return run()
    print("usage: python -m kanorio_refunds demo", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
