"""Published-file serving side by side (for bench_load): servers, public/private tiles, and nginx on the same file.

In one run, on the same machine and the same published tile: the old way (daphne, data gate off), uvicorn
with the data gate (one process and two), nginx in front of one uvicorn process sending the bytes rs3d
allowed (RS3D_X_ACCEL_REDIRECT, docs/nginx.md), and nginx serving the file from the same disk. The private
copy of the demo area (same files, owned by the bench user) is read with the user's session cookie and API token.
"""

import os
import subprocess
import sys
import tempfile
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from devtools import nginx as accel_nginx
from devtools.processes import free_port, stop_processes, wait_until_up, web_command

ROOT = Path(__file__).resolve().parent.parent

#: Make a private copy of the public area (same files) for the bench user; print its id and a session key.
_PRIVATE_COPY = """
import shutil
from django.contrib.auth import get_user_model
from django.test import Client
from backend.areas.models import Area, Publication
public = Area.objects.get(pk={area})
source = public.publications.get(version={version})
user = get_user_model().objects.get(username={user!r})
copy = Area.objects.create(name="bench private copy", owner=user, status=public.status)
shutil.copytree(source.folder, copy.folder / source.folder.name)
Publication.objects.create(
    area=copy, version=source.version, manifest=source.manifest, crs=source.crs, bbox=source.bbox
)
client = Client()
client.force_login(user)
print(copy.pk, client.cookies["sessionid"].value)
"""


@dataclass(frozen=True)
class Server:
    """One way to serve the app: a label, its command (given a port) and extra environment."""

    label: str
    command: Callable[[int], list[str]]
    env: dict[str, str]


def servers() -> list[Server]:
    """Before (daphne, no gate) and after (uvicorn with the gate, one and two processes)."""
    daphne = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p"]
    return [
        Server(
            "daphne, gate off (before)",
            lambda port: [*daphne, str(port), "backend.asgi:application"],
            {"RS3D_DATA_GATE": "0"},
        ),
        Server("uvicorn, 1 process, gate", lambda port: web_command(port, workers=1), {}),
        Server("uvicorn, 2 processes, gate", lambda port: web_command(port, workers=2), {}),
    ]


#: The row with nginx in front, sending the bytes after rs3d's yes (one uvicorn process, as demo.sh runs it).
ACCEL = Server(
    "nginx + X-Accel-Redirect → uvicorn, 1 process, gate",
    lambda port: web_command(port, workers=1),
    {"RS3D_X_ACCEL_REDIRECT": "/_rs3d_data/"},
)


class _Together:
    """Process trees metered as one server (what ``CpuMeter`` reads: ``cpu_times()`` and ``children()``)."""

    def __init__(self, *roots: psutil.Process) -> None:
        self.roots = roots

    def cpu_times(self) -> types.SimpleNamespace:
        times = [root.cpu_times() for root in self.roots]
        fields = ("user", "system", "children_user", "children_system")
        return types.SimpleNamespace(**{f: sum(getattr(t, f) for t in times) for f in fields})

    def children(self, recursive: bool = True) -> list[psutil.Process]:
        return [child for root in self.roots for child in root.children(recursive=recursive)]


@contextmanager
def behind_nginx(env: dict[str, str], log: Path) -> Iterator[tuple[str, Any] | None]:
    """uvicorn with RS3D_X_ACCEL_REDIRECT and nginx in front (devtools.nginx); nginx's URL and both processes."""
    if accel_nginx.binary() is None:
        yield None
        return
    with serving(ACCEL, env, log) as (url, web):
        media = Path(env["RS3D_HOME"]) / "media"
        upstream = url.removeprefix("http://")
        with accel_nginx.in_front_of(upstream, media, ACCEL.env["RS3D_X_ACCEL_REDIRECT"], free_port()) as front:
            nginx_processes = [p for p in psutil.Process().children() if p.name() == "nginx"]
            yield front, _Together(psutil.Process(web.pid), *nginx_processes)


@contextmanager
def serving(server: Server, env: dict[str, str], log: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """``server`` on a free loopback port; stopped on the way out."""
    port = free_port()
    with log.open("a") as out:
        web = subprocess.Popen(
            server.command(port),
            env={**env, **server.env},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url, web, timeout=90, request_timeout=2, name=server.label)
        yield url, web
    finally:
        stop_processes(web, timeout=15)


_NGINX = """
worker_processes auto;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ gzip_static on; etag on; }}
    }}
}}
"""


@contextmanager
def nginx(root: Path) -> Iterator[str | None]:
    """nginx (its packaged defaults: a worker per core, sendfile) serving ``root``; None if not installed."""
    if accel_nginx.binary() is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="rs3d-nginx-") as tmp:
        port = free_port()
        os.chmod(tmp, 0o755)
        with accel_nginx.running(_NGINX.format(tmp=tmp, port=port, root=root), Path(tmp), port) as url:
            yield url


def private_copy(manage: Callable[..., str], env: dict[str, str], area: dict, user: str) -> tuple[int, str]:
    """Copy the public area (files and version) into a private one of ``user``; its id and a session key."""
    script = _PRIVATE_COPY.format(area=area["id"], version=area["version"], user=user)
    area_id, session = manage(env, "shell", "-c", script, timeout=120).split()[-2:]
    return int(area_id), session


def serving_table(
    *,
    env: dict[str, str],
    home: Path,
    tile_path: str,
    private_area: int,
    session: str,
    token: str,
    seconds: float,
    connections: int,
    run_wrk: Callable[..., Any],
    meter: Callable[[psutil.Process], Any],
) -> list[str]:
    """Markdown lines: req/s, p50, p99 per server and credential, and each row's share of nginx's rate."""
    public_area = int(tile_path.split("/")[2])
    private_path = tile_path.replace(f"/areas/{public_area}/", f"/areas/{private_area}/", 1)
    cases = [
        ("public tile", tile_path, {}),
        ("private tile, session cookie", private_path, {"Cookie": f"sessionid={session}"}),
        ("private tile, API token", private_path, {"Authorization": f"Token {token}"}),
    ]
    rows: list[tuple[str, str, Any, dict[str, float]]] = []
    version_folder = Path(env["RS3D_HOME"]) / "media" / "areas" / str(public_area)
    relative = tile_path.split("/data/", 1)[1]  # <version>/<path>
    with nginx(version_folder) as nginx_url:
        nginx_result = None
        if nginx_url is not None:
            nginx_url = f"{nginx_url}/v{relative}"
            nginx_result = run_wrk(nginx_url, connections, seconds)

    def measure(label: str, url: str, cpu_meter: Any) -> None:
        for case, path, headers in cases:
            run_wrk(url + path, connections, 1, headers)  # warm-up: the first request decides (Django)
            with cpu_meter.measure() as cpu:
                result = run_wrk(url + path, connections, seconds, headers)
            rows.append((label, case, result, cpu))
            print(_row(label, case, result, cpu, nginx_result), file=sys.stderr, flush=True)

    for server in servers():
        with serving(server, env, home / "logs" / "web-serving.log") as (url, web):
            measure(server.label, url, meter(psutil.Process(web.pid)))
    with behind_nginx(env, home / "logs" / "web-serving.log") as front:
        if front is not None:
            measure(ACCEL.label, front[0], meter(front[1]))
    lines = [
        f"Published tile `{relative}`: wrk, {connections} connections, {seconds:g} s per row, "
        "browser-like Accept-Encoding; the same file (same disk) from nginx in the same run; server cores of the "
        "X-Accel-Redirect row: uvicorn and nginx together",
        "",
        "| server | request | req/s | p50 ms | p99 ms | errors | share of nginx | server cores | wrk cores |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    if nginx_result is not None:
        lines.append(_row("nginx (static file, gzip_static)", "the same tile", nginx_result, None, nginx_result))
    lines += [_row(s, label, result, cpu, nginx_result) for s, label, result, cpu in rows]
    if nginx_result is None:
        lines += ["", "nginx is not installed (apt-get install nginx-light): no ratio."]
    return lines


def _row(server: str, label: str, result: Any, cpu: dict[str, float] | None, nginx: Any) -> str:
    share = f"{100 * result.rps / nginx.rps:.1f} %" if nginx is not None and nginx.rps else "-"
    cores = f"{cpu['server']:.2f} | {cpu['generator']:.2f}" if cpu else "- | -"
    return (
        f"| {server} | {label} | {result.rps:,.0f} | {result.p50_ms:.1f} | {result.p99_ms:.1f} | "
        f"{result.errors} | {share} | {cores} |"
    )
