"""Debian's Chromium for the browser tests: installed with apt-get when missing and we are root."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.apt import apt_install

CHROMIUM = Path("/usr/bin/chromium")
# A small CJK font, so that Chinese text in screenshots is drawn rather than boxes.
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
PACKAGES = {CHROMIUM: "chromium", CJK_FONT: "fonts-wqy-microhei"}
# Flags that keep a headless Chromium off the network and quiet inside a container.
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]


def ensure_chromium() -> Path | None:
    """The Chromium binary, installing Debian's packages if root may; None when it cannot be had."""
    missing = [package for path, package in PACKAGES.items() if not path.exists()]
    if missing:
        apt_install(*missing)
    return CHROMIUM if CHROMIUM.exists() else None


def chromium_or_skip() -> Path:
    """For a test or fixture: the binary and the playwright package, or a clean skip."""
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    found = ensure_chromium()
    if found is None:
        pytest.skip("Debian's chromium is missing and cannot be installed (not root, or no apt-get)")
    return found
