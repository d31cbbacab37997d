"""System tools the deploy-kit tests run: installed with Debian's apt when missing, as the browser
fixture does for Chromium, and failing loudly when they cannot be installed."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest


def ensure_tool(binary: str, package: str) -> str:
    """The path of `binary`, installing Debian's `package` with apt when it is missing."""
    found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin")
    if found:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "update", "-q"], capture_output=True, env=env, check=False, timeout=300)
    result = subprocess.run(
        [*sudo, "apt-get", "install", "-y", "--no-install-recommends", package],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin")
    if found is None:
        pytest.fail(f"{binary} is required and apt could not install {package}:\n{result.stderr[-2000:]}")
    return found
