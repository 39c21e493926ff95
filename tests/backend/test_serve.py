"""serve.py, the one command: starts on loopback, prints its two lines, serves the pages and
the webhook through the real StripeGateway, and exits 0 on SIGTERM."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.backend.conftest import BACKEND

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(BACKEND / "serve.py"), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serve_prints_two_lines_serves_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    database = tmp_path / "shop.sqlite"
    process = _serve("--database", str(database))
    try:
        assert process.stdout is not None
        backend = process.stdout.readline().strip()
        stripe = process.stdout.readline().strip()
        assert re.fullmatch(r"backend: http://127\.0\.0\.1:\d+", backend), backend
        assert re.fullmatch(r"stripe: http://127\.0\.0\.1:\d+", stripe), stripe
        backend_url, stripe_url = backend.split()[1], stripe.split()[1]
        with _OPENER.open(f"{backend_url}/signin", timeout=30) as page:
            assert page.status == 200
            assert "Olivia Owner" in page.read().decode()
        with _OPENER.open(f"{stripe_url}/_sim/health", timeout=30) as health:
            assert json.load(health)["ok"] is True
        assert database.exists()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert out == ""  # the two lines and nothing else: no secret is ever printed
    assert "whsec_" not in err


def test_serve_refuses_an_existing_database_unless_reset(tmp_path: Path) -> None:
    """The simulator keeps its state in memory only: an earlier run's database is refused."""
    database = tmp_path / "shop.sqlite"
    database.write_text("earlier run")
    refused = _serve("--database", str(database))
    _out, err = refused.communicate(timeout=60)
    assert refused.returncode == 2
    assert "--reset" in err
    assert database.read_text() == "earlier run"


def test_serve_binds_loopback_only(tmp_path: Path) -> None:
    refused = _serve("--host", "0.0.0.0", "--database", str(tmp_path / "shop.sqlite"))
    _out, err = refused.communicate(timeout=60)
    assert refused.returncode == 2
    assert "loopback only" in err
