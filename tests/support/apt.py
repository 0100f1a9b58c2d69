"""Installs Debian packages the tests need (Dovecot, Chromium) when missing and we are root."""
from __future__ import annotations

import os
import shutil
import subprocess

APT_TIMEOUT = 900


def _apt_get(*args: str) -> bool:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        return subprocess.run(["apt-get", "-q", *args], env=env, capture_output=True,
                              timeout=APT_TIMEOUT, check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def apt_install(*packages: str) -> bool:
    """True when installed; refreshes the package lists once if the first try fails."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    install = ("install", "-y", "--no-install-recommends", *packages)
    return _apt_get(*install) or (_apt_get("update") and _apt_get(*install))
