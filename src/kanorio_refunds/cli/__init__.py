"""The ``kanorio-refunds`` command: sync, bulk refunds, register, feed, show, the simulator as a
server (``fake-stripe serve``) and the demo.

Needs the ``cli`` extra (``pip install 'kanorio-refunds[cli,sql,stripe]'``): click and rich.
``main`` is the console script's entry point; ``cli`` is the click group (for embedding in a
host's own command). See docs/cli.md.
"""

from kanorio_refunds.cli._app import cli, main

__all__ = ["cli", "main"]
