"""A live rs3d: the ASGI server (uvicorn) and a database worker as real processes on a private home.

The tests act as a user, "tester", made with the ORM in the stack's database and logged in through the
login page (``Stack.session``), with an API token for script-like calls (``Stack.token``).
"""

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.conf import settings
from playwright.sync_api import Browser, sync_playwright

from devtools.chromium import CHROMIUM_ARGS
from devtools.processes import free_port, stop_processes, wait_until_up
from devtools.processes import web_command as web_command_of
from tests.conftest import ROOT, generated_city, require


@dataclass
class Stack:
    """Where the live app answers and where it keeps its files."""

    url: str
    home: Path
    web: subprocess.Popen
    worker: subprocess.Popen
    session: requests.Session
    token: str
    web_command: list[str]
    env: dict[str, str]

    @property
    def ws_url(self) -> str:
        """Websocket base URL."""
        return self.url.replace("http://", "ws://")

    def restart_web(self) -> None:
        """Kill the web server (SIGKILL: no clean shutdown) and start it again on the same port."""
        self.web.kill()
        self.web.wait(timeout=20)
        self.web = _start_web(self.web_command, self.env, self.home / "logs" / "web.log")
        wait_until_up(self.url, self.web)

    def start_worker(self, log_name: str, **extra_env: str) -> subprocess.Popen:
        """Start one more worker like the stack's (same command line and env, plus ``extra_env``), logging
        into ``logs/<log_name>``; the caller stops it (:func:`devtools.processes.stop_processes`)."""
        return _start_worker({**self.env, **extra_env}, self.home / "logs" / log_name)

    def restart_worker(self, **extra_env: str) -> None:
        """Stop the stack's worker (it finishes its task first) and start it again with ``extra_env`` added to the
        session's env; with no arguments, as the session started it."""
        stop_processes(self.worker, timeout=60)
        self.worker = self.start_worker("worker.log", **extra_env)

    def wait_for_job(self, job_id: int, timeout: float = 300) -> dict:
        """Poll the API until the job has finished; return its final state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.session.get(f"{self.url}/api/jobs/{job_id}/", timeout=10).json()
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return job
            assert self.worker.poll() is None, "the worker process died"
            time.sleep(0.5)
        raise AssertionError(f"job {job_id} did not finish in {timeout} s")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Start web server and worker like scripts/demo.sh does; stop them after the session."""
    cesium = ROOT / "static" / settings.RS3D_CESIUM_STATIC  # named after Cesium's version and worker build
    require((cesium / "Cesium.js").is_file(), "static files are not collected: run scripts/setup.sh")
    worker = (cesium / "Workers" / "createGeometry.js").read_text()
    assert '"./chunk-' not in worker, "collected Cesium workers are not the bundled ones: run scripts/setup.sh"
    bundle = ROOT / "static" / settings.RS3D_APP_BUNDLE_STATIC / "main.js"  # named after frontend/src as it is now
    assert bundle.is_file(), "the collected app bundle is not built from the current frontend/src: run scripts/setup.sh"
    home = tmp_path_factory.mktemp("rs3d-home")
    env = {**os.environ, "RS3D_HOME": str(home), "PYTHONUNBUFFERED": "1", "RS3D_SECRET_KEY": secrets.token_urlsafe(50)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("RS3D_DEBUG", None)  # serve as in production
    live_db = _fresh_database(env)  # scale mode: a database of its own, dropped afterwards
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
    token = _make_user(manage, env)
    port = free_port()
    logs = home / "logs"
    logs.mkdir()
    web_command = web_command_of(port)
    web = _start_web(web_command, env, logs / "web.log")
    worker = _start_worker(env, logs / "worker.log")
    url = f"http://127.0.0.1:{port}"
    stack = None
    try:
        wait_until_up(url, web)
        stack = Stack(url, home, web, worker, _log_in(url), token, web_command, env)
        yield stack
    finally:
        stop_processes(stack.web if stack else web, stack.worker if stack else worker, timeout=20)
        if live_db is not None:
            _drop_database(env, live_db)


def _fresh_database(env: dict[str, str]) -> str | None:
    """With DATABASE_URL (scale mode), point ``env`` at a new, empty PostgreSQL database; return its name."""
    if not env.get("DATABASE_URL"):
        return None
    import dj_database_url
    import psycopg

    url = env["DATABASE_URL"]
    params = dj_database_url.parse(url)
    name = f"{params['NAME']}_live_{os.getpid()}"
    with psycopg.connect(_libpq_url(url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    env["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + name
    return name


def _drop_database(env: dict[str, str], name: str) -> None:
    import psycopg

    base = os.environ["DATABASE_URL"]
    with psycopg.connect(_libpq_url(base), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _libpq_url(url: str) -> str:
    """postgis://... as libpq reads it."""
    return "postgresql://" + url.split("://", 1)[1]


USER, PASSWORD = "tester", "tester-pass-8531"


def _make_user(manage: list[str], env: dict[str, str]) -> str:
    """Create the test user with the ORM in the stack's database; return its API token."""
    create = (
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_user({USER!r}, password={PASSWORD!r})"
    )
    subprocess.run([*manage, "shell", "-c", create], env=env, check=True, cwd=ROOT)
    made = subprocess.run(
        [*manage, "drf_create_token", USER], env=env, check=True, cwd=ROOT, capture_output=True, text=True
    )
    return made.stdout.split()[2]  # "Generated token <key> for user tester"


def _log_in(url: str) -> requests.Session:
    """A session logged in through the login page, sending the CSRF token on writes like a browser does."""
    session = requests.Session()
    session.get(f"{url}/accounts/login/", timeout=10).raise_for_status()
    form = {"username": USER, "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]}
    response = session.post(f"{url}/accounts/login/", data=form, timeout=10, allow_redirects=False)
    assert response.status_code == 302 and "sessionid" in session.cookies, "logging in through the page failed"
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]  # rotated at login
    return session


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start ``manage.py rs3d_worker`` as scripts/demo.sh does, appending to ``log``."""
    command = [sys.executable, str(ROOT / "manage.py"), "rs3d_worker", "--no-reload", "--interval", "0.2"]
    return subprocess.Popen(
        [*command, "--no-startup-delay"], env=env, cwd=ROOT, stdout=log.open("a"), stderr=subprocess.STDOUT
    )


def _start_web(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=log.open("a"), stderr=subprocess.STDOUT)


@pytest.fixture(scope="session")
def scene(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A generated 160 m city."""
    return generated_city(tmp_path_factory.mktemp("scene"), size_m=160, seed=11)


def upload(stack: Stack, scene: dict[str, Path], name: str) -> dict:
    """POST an area (orthophoto + DSM) to the live API as the logged-in test user."""
    with scene["ortho"].open("rb") as ortho, scene["dsm"].open("rb") as dsm:
        response = stack.session.post(
            f"{stack.url}/api/areas/", data={"name": name}, files={"ortho": ortho, "dsm": dsm}, timeout=120
        )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="session")
def town(stack: Stack, scene: dict[str, Path]) -> dict:
    """The generated town (orthophoto + DSM) uploaded and reconstructed once for the tests that only look at
    it: its API description and its database buildings. Tests that change an area upload their own."""
    body = upload(stack, scene, "Town")
    assert stack.wait_for_job(body["job"]["id"])["status"] == "succeeded"
    described = stack.session.get(f"{stack.url}/api/areas/{body['id']}/", timeout=10).json()
    rows = stack.session.get(f"{stack.url}{described['features_url']}", params={"class": "building"}, timeout=30)
    buildings = rows.json()["features"]
    assert len(buildings) >= 3, "the generated town should have several buildings"
    return {**described, "buildings": buildings}


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    """One headless Chromium per test module."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
