"""Local processes of the live app (uvicorn, workers): the server's command, a free port, waiting, stopping."""

import socket
import subprocess
import sys
import time

import requests


def web_command(port: int, workers: int = 1, host: str = "127.0.0.1") -> list[str]:
    """The web server as scripts/demo.sh starts it: uvicorn (httptools, uvloop) serving backend.asgi.

    ``workers`` above 1 runs that many server processes under uvicorn's supervisor (each with its own
    data-gate grants; the grant stamp under MEDIA_ROOT keeps revocations immediate in all of them). Without
    REDIS_URL each process has its own memory cache, so its own login and upload limits: demo.sh runs one.
    Proxy headers are off, as under daphne before: the client address is the connection's
    (``RS3D_TRUSTED_PROXIES`` decides what X-Forwarded-For counts). No lifespan (Django has none).
    """
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "backend.asgi:application",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--lifespan",
        "off",
        "--no-proxy-headers",
        "--no-server-header",
        "--timeout-graceful-shutdown",
        "10",
    ]


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(
    url: str, web: subprocess.Popen, timeout: float = 60, request_timeout: float = 10, name: str = "the web server"
) -> None:
    """Poll ``url/`` until it answers 200; raise RuntimeError if ``web`` exits or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise RuntimeError(f"{name} exited with {web.returncode}")
        try:
            if requests.get(url + "/", timeout=request_timeout).status_code == 200:
                return
        except requests.RequestException:  # refused while starting, or slow on a loaded machine
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{name} did not answer within {timeout:.0f} s")


def stop_processes(*processes: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM every process still running (a worker finishes its task first), then wait for each.

    One that has not exited ``timeout`` seconds after its turn to be waited for is SIGKILLed and reaped.
    """
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
