"""Child processes (a worker, a sender) that share the test database and the settings of this test run.

Stopping them: :func:`devtools.processes.stop_processes`.
"""

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import psutil
from django.db import connection

from tests.backend.conftest import TEST_SECRET_KEY
from tests.conftest import ROOT


def shared_database_url() -> str:
    """DATABASE_URL of the database this test runs on (the test runner's copy), for a child process."""
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"spatialite:///{Path(params['NAME']).resolve()}"
    user = quote(params["USER"] or "", safe="")
    password = f":{quote(params['PASSWORD'], safe='')}" if params["PASSWORD"] else ""
    host = params["HOST"] or "localhost"
    port = f":{params['PORT']}" if params["PORT"] else ""
    return f"postgis://{user}{password}@{host}{port}/{params['NAME']}"


def child_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment of a child on the test database, with ``home/media`` as its media folder."""
    env = {**os.environ, "RS3D_HOME": str(home), "DATABASE_URL": shared_database_url(), "PYTHONUNBUFFERED": "1"}
    env.setdefault("RS3D_SECRET_KEY", TEST_SECRET_KEY)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(extra)
    return env


def run_django_code(code: str, env: dict[str, str]) -> str:
    """Run ``code`` after ``django.setup()`` in a child process; return its stdout."""
    prelude = "import os, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'backend.settings'); django.setup()\n"
    done = subprocess.run(
        [sys.executable, "-c", prelude + code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start ``manage.py rs3d_worker`` as scripts/demo.sh does, logging into ``log``."""
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "rs3d_worker",
            "--no-reload",
            "--interval",
            "0.2",
            "--no-startup-delay",
        ],
        env=env,
        cwd=ROOT,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def wait_for(condition: Callable[[], object], timeout: float, what: str, *processes: subprocess.Popen) -> None:
    """Poll ``condition`` every 0.1 s until it is true; fail the test if one of ``processes`` exits first, or
    if ``what`` has not happened within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for process in processes:
            assert process.poll() is None, f"{process.args[1:3]} exited with {process.returncode}"
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def processes_mentioning(marker: str) -> list[psutil.Process]:
    """The processes whose command line contains ``marker`` (a path only one run's children name)."""
    return [p for p in psutil.process_iter(["cmdline"]) if marker in " ".join(p.info["cmdline"] or [])]
