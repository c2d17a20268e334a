"""Headless Chromium for the browser tests: Debian's `chromium`, driven by Playwright.

No browser is downloaded. Without Chromium (or the playwright package) a browser test is
skipped locally and fails under CI=true; `.ci/run` installs it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_browser() -> None:
    """Skip loudly without Chromium; under CI=true a missing browser is a failure."""
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError as exc:
            reason = f"the playwright package is missing ({exc})"
    if reason is None:
        return
    message = (
        f"BROWSER TEST NOT RUN: {reason}: install Debian's chromium "
        "(apt-get install chromium; .ci/run does) and the dev dependencies (make install)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def watch_offline(
    page: Any,
    base: str,
    problems: list[str],
    *,
    schemes: tuple[str, ...] = ("data:",),
    console: bool = False,
) -> None:
    """Let `page` load from `base` (and URLs starting with `schemes`) only: any other request is
    aborted and noted in `problems`, as are failed requests, HTTP errors, page errors and (with
    `console`) console errors."""
    here = urlsplit(base).netloc

    def only_this_server(route: Any) -> None:
        target = route.request.url
        if urlsplit(target).netloc == here or target.startswith(schemes):
            route.continue_()
        else:
            problems.append(f"the page asked for {target}")
            route.abort()

    page.route("**/*", only_this_server)
    page.on("requestfailed", lambda req: problems.append(f"failed: {req.url}"))
    page.on(
        "response",
        lambda res: problems.append(f"{res.status}: {res.url}") if res.status >= 400 else None,
    )
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    if console:
        page.on(
            "console",
            lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None,
        )
