"""Farm test helpers: farm files, the CLI in a subprocess, a real PostgreSQL server, headless Chromium."""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
# A stage timeout no job of these tests comes near, scaled for a loaded machine.
STAGE_TIMEOUT = 600 * float(os.environ.get("FIXPOINT_TIMEOUT_SCALE", "1"))


def farm_toml(
    boards: list[str],
    models: list[str | dict],
    configs: list[dict],
    *,
    samples: int = 4,
    workers: int = 2,
    health: bool = True,
    timeouts: dict | None = None,
    thresholds: dict | None = None,
    name: str = "t",
) -> str:
    lines = [
        "[farm]",
        f'name = "{name}"',
        f"samples = {samples}",
        f"workers = {workers}",
        "",
        "[health]",
        f"enabled = {'true' if health else 'false'}",
        'model = "mlp"',
        "samples = 2",
        "",
        "[timeouts]",
    ]
    for stage in ("calibrate", "simulate", "generate", "build", "launch", "hil"):
        lines.append(f"{stage} = {(timeouts or {}).get(stage, STAGE_TIMEOUT)}")
    lines += ["", "[thresholds]"] + [f"{k} = {v}" for k, v in (thresholds or {}).items()]
    for board in boards:
        lines += ["", "[[boards]]", f'name = "{board}"']
    for model in models:
        entry = {"name": model} if isinstance(model, str) else model
        lines += ["", "[[models]]"] + [f"{k} = {json.dumps(v)}" for k, v in entry.items()]
    for config in configs:
        lines += ["", "[[configs]]"] + [f"{k} = {json.dumps(v)}" for k, v in config.items()]
    return "\n".join(lines) + "\n"


def farm_argv(farm: Path, out: Path, db: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "fixpoint.cli", "farm", "run", str(farm), "--out", str(out), "--db", db, *extra]


def run_cli(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fixpoint.cli", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def run_dir_of(out: Path, stdout: str) -> Path:
    line = next(x for x in stdout.splitlines() if x.startswith("run "))
    return out / line.split()[1].rstrip(":")


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def verdicts(run_dir: Path) -> dict[str, dict]:
    return {j["job_id"]: j for j in summary(run_dir)["jobs"]}


def leftover_processes(marker: str) -> list[str]:
    """Processes whose command line mentions ``marker`` (a test's own temp folder)."""
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            cmd = " ".join(proc.info["cmdline"] or [])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if marker in cmd and proc.info["pid"] != os.getpid():
            found.append(f"{proc.info['pid']}: {cmd[:200]}")
    return found


def fresh_out(tmp_path: Path, plan_cache: Path) -> Path:
    """A results folder of its own (so a test sees only its runs) sharing the calibrated plans."""
    out = tmp_path / "out"
    out.mkdir()
    (plan_cache / "plans").mkdir(exist_ok=True)
    (out / "plans").symlink_to(plan_cache / "plans")
    return out


def wait_for(predicate, what: str, timeout: float = 600.0, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the farm exited ({proc.returncode}) before {what}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def run_dirs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_dir() and p.name != "plans")


@pytest.fixture(scope="session")
def plan_cache(tmp_path_factory) -> Path:
    """One results root for every farm test: calibrated plans (out/plans) are reused across runs."""
    return tmp_path_factory.mktemp("farm-out")


# ---- PostgreSQL -----------------------------------------------------------------------------


def _pg_bin(tool: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"))
    if not found:
        raise RuntimeError(
            f"PostgreSQL's {tool} not found: install the Debian package postgresql (tools/setup.sh does)"
        )
    return found[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL server on 127.0.0.1 in a temp folder, as a non-root user; stopped at the end."""
    folder = Path(tempfile.mkdtemp(prefix="fixpoint-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        user = pwd.getpwnam("nobody")
        os.chown(folder, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "nobody", "--"]
    data, port = folder / "data", _free_port()
    env = {**os.environ, "LC_ALL": "C"}
    subprocess.run(
        [*as_user, _pg_bin("initdb"), "-D", str(data), "-U", "farm", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
        env=env,
        cwd=folder,
    )
    server = subprocess.Popen(
        [
            *as_user,
            _pg_bin("postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(folder),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "server.log", "wb"),
        cwd=folder,
        start_new_session=True,
        env=env,
    )
    url = f"postgresql://farm@127.0.0.1:{port}/postgres"
    try:
        _wait_for_postgres(url, server, folder)
        yield url
    finally:
        _stop(server)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for_postgres(url: str, server: subprocess.Popen, folder: Path) -> None:
    import psycopg

    deadline = time.monotonic() + 60
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not start: " + (folder / "server.log").read_text()[-2000:])
            time.sleep(0.2)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # smart shutdown: connections are closed by now
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


# ---- Chromium -------------------------------------------------------------------------------


def chromium_load(page: Path, tmp: Path) -> tuple[str, list[str]]:
    """(the rendered DOM, console messages) of ``page`` in headless Chromium (tools/check_html.py)."""
    if str(ROOT / "tools") not in sys.path:
        sys.path.insert(0, str(ROOT / "tools"))
    from check_html import load_in_chromium

    return load_in_chromium(page, tmp / "chromium-profile")
