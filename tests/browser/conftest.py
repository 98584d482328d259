"""Fixtures for the browser tests: the app under the production server (gunicorn main:app) with a
real worker, and Debian's Chromium driven by Playwright (Playwright never downloads a browser here).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BIN, ROOT, TMP, free_port, stop_process, wait_for

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"


def require_chromium() -> Path:
    """Skipped on a machine without Chromium (`make browser` installs it), a failure in CI."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    reason = f"Chromium not found at {CHROMIUM} (run `make browser` or tools/ensure_chromium.sh)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + "; CI=true makes this a failure")
    pytest.skip(reason)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="session")
def live_server(celery_worker_process: subprocess.Popen) -> Iterator[str]:
    """gunicorn main:app (the Procfile's server) on a free loopback port, with this run's resources."""
    port = free_port()
    env = dict(os.environ, FLASK_ENV="development", RATELIMIT_ENABLED="false")
    log_path = TMP / "gunicorn.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "120", "main:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: proc.poll() is not None or _healthy(url), 60, 0.3, "gunicorn /healthz")
        if proc.poll() is not None:
            raise AssertionError("gunicorn exited:\n" + log_path.read_text(errors="replace")[-3000:])
        yield url
    finally:
        stop_process(proc)
        log.close()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the browser tests last: they start the session's real worker, and web tests collected
    after them (tests/web/test_account.py, for one) expect that no worker consumes what they enqueue."""
    here = Path(__file__).parent
    items.sort(key=lambda item: Path(item.path).is_relative_to(here))


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the session."""
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(executable), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageProblems:
    """Console errors (CSP violations among them) and uncaught exceptions of every page watched."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> Any:
        page.on("console", lambda msg: self._console(page, msg))
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: uncaught {exc}"))
        return page

    def _console(self, page: Any, msg: Any) -> None:
        if msg.type == "error":
            self.errors.append(f"{page.url}: console error: {msg.text} @ {msg.location.get('url', '')}")


@pytest.fixture()
def page_problems() -> PageProblems:
    return PageProblems()


@dataclass
class Screenshots:
    """Numbered full-page screenshots: artifacts/screenshots/<nn>-<name>.png."""

    folder: Path
    taken: list[Path] = field(default_factory=list)

    def take(self, page: Any, name: str) -> Path:
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


@pytest.fixture()
def screenshots() -> Screenshots:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return Screenshots(SCREENSHOTS)


# What a screen-reader or keyboard user would trip over on a page: duplicate ids (a label then names
# the wrong control), form controls without a label, images without alt text, empty buttons/links.
# Hidden inputs are left out: every Flask-WTF form has its own id="csrf_token", which no one sees.
A11Y_SCRIPT = """() => {
  const problems = [];
  const seen = {};
  document.querySelectorAll("[id]:not(input[type=hidden])").forEach((e) => { seen[e.id] = (seen[e.id] || 0) + 1; });
  Object.entries(seen).forEach(([id, n]) => { if (n > 1) { problems.push(`id "${id}" is used ${n} times`); } });
  document.querySelectorAll("input:not([type=hidden]), select, textarea").forEach((e) => {
    const named = (e.labels && e.labels.length) || e.getAttribute("aria-label") || e.getAttribute("aria-labelledby");
    if (!named) { problems.push(`${e.tagName.toLowerCase()} "${e.name}" has no label`); }
  });
  document.querySelectorAll("img:not([alt])").forEach((e) => problems.push(`img ${e.src} has no alt text`));
  document.querySelectorAll("button, a[href]").forEach((e) => {
    if (!e.textContent.trim() && !e.getAttribute("aria-label") && !e.querySelector("img[alt], svg[aria-label]")) {
      problems.push(`${e.tagName.toLowerCase()} ${e.outerHTML.slice(0, 80)} has no text`);
    }
  });
  return problems;
}"""


def accessibility_problems(page: Any) -> list[str]:
    return [f"{page.url}: {problem}" for problem in page.evaluate(A11Y_SCRIPT)]
