"""serve.py, the one command: starts on loopback, prints its two lines, serves the pages and
the webhook through the real StripeGateway, and exits 0 on SIGTERM or SIGINT."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.backend.conftest import BACKEND

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(BACKEND / "serve.py"), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _refused(*args: str) -> tuple[int, str]:
    """Run serve.py expecting a refusal: its exit code and stderr. Should it start serving
    instead, it is stopped, not left running, and the test fails."""
    process = _serve(*args)
    try:
        _out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError("serve.py started instead of refusing") from None
    return process.returncode, err


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_two_lines_serves_and_exits_0_when_stopped(
    tmp_path: Path, stop: signal.Signals
) -> None:
    """SIGTERM, or Ctrl-C (SIGINT): a clean stop, exit 0, no traceback."""
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
        process.send_signal(stop)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert out == ""  # the two lines and nothing else: no secret is ever printed
    assert "whsec_" not in err
    assert "Traceback" not in err
    assert "most recent call first" not in err  # the stop did not hang (no stack dump)


def test_serve_refuses_an_existing_database_unless_reset(tmp_path: Path) -> None:
    """The simulator keeps its state in memory only: an earlier run's database is refused."""
    database = tmp_path / "shop.sqlite"
    database.write_text("earlier run")
    code, err = _refused("--database", str(database))
    assert code == 2
    assert "--reset" in err
    assert database.read_text() == "earlier run"


def test_reset_deletes_only_an_sqlite_database(tmp_path: Path) -> None:
    """--reset deletes the database: a path that is no database (a typo naming another
    file) is refused and left alone."""
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database")
    code, err = _refused("--database", str(notes), "--reset")
    assert code == 2
    assert "not an SQLite database" in err
    assert notes.read_text() == "not a database"


def test_serve_binds_loopback_only(tmp_path: Path) -> None:
    code, err = _refused("--host", "0.0.0.0", "--database", str(tmp_path / "shop.sqlite"))
    assert code == 2
    assert "loopback only" in err
