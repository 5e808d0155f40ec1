#!/usr/bin/env python3
"""Load HTML pages in headless Chromium; fail on a console message or a page that does not render.

Usage: tools/check_html.py PAGE.html [PAGE.html ...]   (`make farm` checks the run's report.html)
Chromium: the Debian package `chromium` (tools/setup.sh installs it).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def load_in_chromium(page: Path, profile: Path, timeout: float = 120.0) -> tuple[str, list[str]]:
    """(the rendered DOM, every console message) of ``page``."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        raise RuntimeError("chromium not found: install the Debian package chromium (tools/setup.sh does)")
    argv = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, start_new_session=True)
    if proc.returncode != 0:
        raise RuntimeError(f"chromium exit {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout, [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]


def main(argv: list[str]) -> int:
    status = 0
    for name in argv:
        with tempfile.TemporaryDirectory(prefix="check-html-") as profile:
            dom, console = load_in_chromium(Path(name), Path(profile))
        if console or "<body" not in dom:
            print(f"error: {name}: " + ("; ".join(console) if console else "did not render"), file=sys.stderr)
            status = 1
        else:
            print(f"{name}: renders in headless Chromium, no console messages")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
