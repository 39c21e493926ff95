"""The reference backend (examples/backend/serve.py) as an OS process, for one browser test.

``Backend.start`` runs ``serve.py`` on 127.0.0.1 with a port of its own choosing and a fresh
SQLite file, and waits for the two lines it prints, flushed, when ready (``backend: URL`` and
``stripe: URL``). ``stop`` sends SIGTERM and returns the exit code (0 is the promise). The
server's stderr goes to a file, so a failing test can show it.

The simulator's ``/_sim/`` control endpoints are how a test reads and moves Stripe's side
(``kanorio_refunds.testing.stripe_server``): how many refunds Stripe made for a payment, and
a refund failing late.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import IO, Any, Final

REPO: Final = Path(__file__).resolve().parents[2]
SERVE: Final = REPO / "examples" / "backend" / "serve.py"
#: Start-up includes the schema, the seeded demo data and its payments in the simulator; a
#: loaded two-core CI machine needs more than a laptop does.
START_TIMEOUT_S: Final = 60.0
# serve.py's stop is bounded by its parts' own joins (a webhook delivery under way, the WSGI
# server, the simulator): about 40 s at worst on a loaded machine, usually 1-3 s. Waiting longer
# than that bound keeps a slow stop on a busy CI machine from failing a test, while a real hang
# still fails it, with the thread dump serve.py writes to stderr after 15 s.
STOP_TIMEOUT_S: Final = 60.0
_READY: Final = ("backend", "stripe")

# Only loopback is ever called: no proxy from the environment may take these requests.
_OPENER: Final = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class BackendError(Exception):
    """The server did not start, answer or stop as the contract says."""


class Backend:
    """One running ``serve.py``: its URLs, its stderr, and the simulator's controls."""

    def __init__(
        self, process: subprocess.Popen[str], url: str, stripe_url: str, stderr_path: Path
    ) -> None:
        self.process = process
        self.url = url
        self.stripe_url = stripe_url
        self.stderr_path = stderr_path

    @classmethod
    def start(cls, database: Path, stderr_path: Path) -> Backend:
        """Run ``serve.py`` on ``database`` and wait for its ready lines (``START_TIMEOUT_S``)."""
        if not SERVE.is_file():
            raise BackendError(f"{SERVE} does not exist: the reference backend is missing")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        command = [
            sys.executable,
            str(SERVE),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--database",
            str(database),
        ]
        with stderr_path.open("w", encoding="utf-8") as stderr:
            process = subprocess.Popen(
                command,
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                encoding="utf-8",
            )
        assert process.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_drain, args=(process.stdout, lines), daemon=True).start()
        try:
            urls = _ready_urls(process, lines)
        except BackendError as e:
            _kill(process)
            stderr_text = stderr_path.read_text(encoding="utf-8", errors="replace")
            raise BackendError(f"{e}; its stderr:\n{stderr_text or '(empty)'}") from None
        return cls(process, urls["backend"], urls["stripe"], stderr_path)

    def stop(self) -> int:
        """SIGTERM, then the exit code (the contract: 0). Killed after ``STOP_TIMEOUT_S``."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _kill(self.process)
            raise BackendError(
                f"serve.py did not exit within {STOP_TIMEOUT_S:.0f} s of SIGTERM"
            ) from None

    def stderr(self) -> str:
        """What the server wrote on stderr so far."""
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    # ------------------------------------------------------------ the simulator (/_sim/)

    def stripe_refunds(self, payment_intent: str) -> list[dict[str, Any]]:
        """The refunds Stripe holds for ``payment_intent``, oldest first."""
        answer = self._sim("GET", f"payments/{payment_intent}/refunds")
        refunds: list[dict[str, Any]] = answer["data"]
        return refunds

    def fail_refund_late(self, refund_id: str, failure_reason: str) -> None:
        """Stripe moves ``refund_id`` to ``failed`` after it succeeded; its event is sent to
        the app as a signed webhook by serve.py."""
        self._sim(
            "POST",
            f"refunds/{refund_id}/status",
            {"status": "failed", "failure_reason": failure_reason},
        )

    def _sim(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(
            f"{self.stripe_url}/_sim/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with _OPENER.open(request, timeout=10) as response:
            return json.loads(response.read().decode("utf-8"))


def _drain(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    """Read the server's stdout to the end (so it never blocks on a full pipe)."""
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def _ready_urls(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> dict[str, str]:
    urls: dict[str, str] = {}
    deadline = time.monotonic() + START_TIMEOUT_S
    while len(urls) < len(_READY):
        left = deadline - time.monotonic()
        if left <= 0:
            raise BackendError(
                f"serve.py printed no {' and '.join(_READY)} lines within {START_TIMEOUT_S:.0f} s"
                f" (got {sorted(urls)})"
            )
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            continue
        if line is None:
            code = process.wait(timeout=STOP_TIMEOUT_S)
            raise BackendError(f"serve.py exited with {code} before it was ready")
        name, _, value = line.partition(": ")
        if name in _READY:
            if not value.startswith("http://127.0.0.1:"):
                raise BackendError(f"serve.py's {name} line names no loopback URL: {line!r}")
            urls[name] = value.strip().rstrip("/")
    return urls


def _kill(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=STOP_TIMEOUT_S)
