"""``python -m kanorio_refunds.cli``: the ``kanorio-refunds`` command."""

from kanorio_refunds.cli._app import main

if __name__ == "__main__":
    raise SystemExit(main())
