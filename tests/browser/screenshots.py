"""Where a browser test leaves what it saw: ``$KANORIO_TEST_OUTPUT/screenshots/<test>/``.

Each page a walk visits is ``<nn>-<page>.png`` (numbered in the order visited); a failing test
adds ``failure.png``, ``failure.html`` (the page as the browser had it), ``console.txt`` and
``server-stderr.txt``. The folder defaults to ``test-output/`` at the repository's root
(git-ignored); ``.ci/run`` points it where CI keeps test output.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Final

from tests.browser.backend import REPO

if TYPE_CHECKING:
    from playwright.sync_api import Page

OUTPUT_ENV: Final = "KANORIO_TEST_OUTPUT"


def output_root() -> Path:
    """The test output folder: ``$KANORIO_TEST_OUTPUT``, else ``test-output/`` in the repo."""
    configured = os.environ.get(OUTPUT_ENV, "").strip()
    return Path(configured) if configured else REPO / "test-output"


class Screenshots:
    """One test's screenshot folder, emptied when the test starts (no stale pictures)."""

    def __init__(self, test_name: str) -> None:
        self.folder = output_root() / "screenshots" / re.sub(r"[^\w.-]+", "_", test_name)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.taken: list[Path] = []

    def take(self, page: Page, name: str) -> Path:
        """Screenshot the whole page as ``<nn>-<name>.png``."""
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=path, full_page=True)
        self.taken.append(path)
        return path

    def failure(self, page: Page, console: list[str]) -> None:
        """The page as it was when the test failed: picture, HTML and browser console. What
        cannot be had (a page stuck in a navigation) is noted in console.txt instead: the
        test's own failure is the one to report."""
        notes = list(console)
        try:
            page.screenshot(path=self.folder / "failure.png", full_page=True, timeout=5_000)
        except Exception as e:  # Playwright's Error or TimeoutError
            notes.append(f"(no failure.png: {e})")
        try:
            (self.folder / "failure.html").write_text(page.content(), encoding="utf-8")
        except Exception as e:
            notes.append(f"(no failure.html: {e})")
        (self.folder / "console.txt").write_text("".join(f"{m}\n" for m in notes), "utf-8")

    def server_stderr(self, text: str) -> None:
        """The server's stderr, kept beside the pictures of a failed test."""
        (self.folder / "server-stderr.txt").write_text(text, encoding="utf-8")
