"""Headless Chromium for the browser tests: Debian's `chromium`, driven by Playwright.

No browser is downloaded. Without Chromium (or the playwright package) a browser test is
skipped locally and fails under CI=true; `.ci/run` installs it.
"""

from __future__ import annotations

import os
from pathlib import Path

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
