"""A live rs3d: the ASGI server (daphne) and a database worker as real processes on a private home."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, generated_city, require


@dataclass
class Stack:
    """Where the live app answers and where it keeps its files."""

    url: str
    home: Path
    web: subprocess.Popen
    worker: subprocess.Popen

    @property
    def ws_url(self) -> str:
        """Websocket base URL."""
        return self.url.replace("http://", "ws://")

    def wait_for_job(self, job_id: int, timeout: float = 300) -> dict:
        """Poll the API until the job has finished; return its final state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = requests.get(f"{self.url}/api/jobs/{job_id}/", timeout=10).json()
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return job
            assert self.worker.poll() is None, "the worker process died"
            time.sleep(0.5)
        raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Start web server and worker like scripts/demo.sh does; stop them after the session."""
    require(
        (ROOT / "static" / "cesium" / "Cesium.js").is_file(), "static files are not collected: run scripts/setup.sh"
    )
    home = tmp_path_factory.mktemp("rs3d-home")
    env = {**os.environ, "RS3D_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
    port = _free_port()
    logs = home / "logs"
    logs.mkdir()
    web = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "backend.asgi:application"],
        env=env,
        cwd=ROOT,
        stdout=(logs / "web.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    worker = subprocess.Popen(
        [*manage, "db_worker", "--no-reload", "--interval", "0.2", "--no-startup-delay"],
        env=env,
        cwd=ROOT,
        stdout=(logs / "worker.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, web)
        yield Stack(url=url, home=home, web=web, worker=worker)
    finally:
        for process in (web, worker):
            process.terminate()
        for process in (web, worker):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_until_up(url: str, web: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise RuntimeError(f"the web server exited with {web.returncode}")
        try:
            if requests.get(url + "/", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the web server did not answer within 60 s")


@pytest.fixture(scope="session")
def scene(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A generated 160 m city."""
    return generated_city(tmp_path_factory.mktemp("scene"), size_m=160, seed=11)


def upload(stack: Stack, scene: dict[str, Path], name: str) -> dict:
    """POST an area (orthophoto + DSM) to the live API."""
    with scene["ortho"].open("rb") as ortho, scene["dsm"].open("rb") as dsm:
        response = requests.post(
            f"{stack.url}/api/areas/", data={"name": name}, files={"ortho": ortho, "dsm": dsm}, timeout=120
        )
    assert response.status_code == 201, response.text
    return response.json()
