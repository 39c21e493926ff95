"""Browser tests of the reference backend: Playwright driving Debian's Chromium.

- ``browser`` (once for tests/browser): one Chromium, ``$KANORIO_CHROMIUM`` or
  ``/usr/bin/chromium``, never a downloaded one; a fresh temporary profile, no background
  networking (the machine has no network but loopback). Without Playwright or Chromium the
  tests are skipped with the reason; under ``CI=true`` such a skip is a failure (the hook
  tests/sql uses, reused below).
- ``backend`` (per test): examples/backend/serve.py on 127.0.0.1, its own port and a fresh
  SQLite file, stopped with SIGTERM (it must exit 0). A server per test keeps tests independent.
- ``page`` (per test): a new browser context (own cookies, ``en-US``).
- ``screenshots`` (per test): ``$KANORIO_TEST_OUTPUT/screenshots/<test>/<nn>-<page>.png``;
  on a failure also the page's picture, HTML and console, and the server's stderr (which is
  shown in the failure report too).
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

from tests.browser.backend import Backend
from tests.browser.screenshots import Screenshots
from tests.sql import conftest as sql_conftest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM_ENV: Final = "KANORIO_CHROMIUM"
DEFAULT_CHROMIUM: Final = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling Google's services, which the
# closed network refuses; no proxy either: every page is on 127.0.0.1.
CHROMIUM_ARGS: Final = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--no-proxy-server",
]
#: How long an action or an ``expect`` waits for the page (a loaded two-core CI machine).
ACTION_TIMEOUT_MS: Final = 15_000

_REPORTS: Final = pytest.StashKey[dict[str, pytest.TestReport]]()
_BACKEND: Final = pytest.StashKey[Backend]()

# Under CI=true a skipped browser test is a failed one: CI must prove the pages in a browser,
# not skip them quietly. The same hook as tests/sql's, registered for this folder too.
pytest_runtest_makereport = sql_conftest.pytest_runtest_makereport


# pytest registers only functions named pytest_*; specname says which hook this one is.
@pytest.hookimpl(wrapper=True, specname="pytest_runtest_makereport")
def pytest_runtest_makereport_keep_for_fixtures(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember each phase's report (the fixtures' teardown asks whether the test failed); a
    failure's report carries the server's stderr."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    backend = item.stash.get(_BACKEND, None)
    if report.failed and backend is not None:
        report.sections.append(("serve.py stderr", backend.stderr() or "(empty)"))
    return report


def _failed(item: pytest.Item) -> bool:
    return any(report.failed for report in item.stash.get(_REPORTS, {}).values())


# Package scope, not session: while Playwright's sync API runs, the main thread counts as
# inside a running asyncio loop, so asyncio.run() in any later test of the suite would fail.
# Stopped after tests/browser's last test, the loop is gone before the next folder's tests.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium for tests/browser (skipped without Playwright or Chromium; failed in
    CI)."""
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.skip("browser tests need Playwright: pip install -e '.[dev]'")
    executable = os.environ.get(CHROMIUM_ENV, "").strip() or DEFAULT_CHROMIUM
    if not os.access(executable, os.X_OK):
        pytest.skip(
            f"browser tests need Chromium at {executable}: apt-get install chromium "
            f"(as root; .ci/run does), or set {CHROMIUM_ENV}"
        )
    expect.set_options(timeout=ACTION_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A fresh reference backend (own port, own SQLite file) for this test."""
    started = Backend.start(tmp_path / "shop.sqlite", tmp_path / "serve-stderr.txt")
    request.node.stash[_BACKEND] = started
    yield started
    code = started.stop()
    assert code == 0, f"serve.py exited with {code} on SIGTERM; stderr:\n{started.stderr()}"


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Screenshots:
    """This test's screenshot folder."""
    return Screenshots(request.node.name)


@pytest.fixture
def page(
    request: pytest.FixtureRequest, browser: Browser, screenshots: Screenshots
) -> Iterator[Page]:
    """A page in a new browser context; on failure its picture, HTML and console are kept."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    opened = context.new_page()
    console: list[str] = []
    opened.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    opened.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    yield opened
    if _failed(request.node):
        screenshots.failure(opened, console)
        backend = request.node.stash.get(_BACKEND, None)
        if backend is not None:
            screenshots.server_stderr(backend.stderr())
    context.close()
