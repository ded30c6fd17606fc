"""Load on the served app over loopback: concurrent viewers (wrk) and concurrent uploads; print tables.

Usage: .venv/bin/python -m bench.bench_load [--quick] [--duration 10] [--connections 1 8 32] [--uploads 1 4 8]

Set-up, all in a private RS3D_HOME in a temporary folder (embedded SpatiaLite, whatever DATABASE_URL says):
migrate, ``manage.py seed_demo --size`` (the public demo area from a generated city), one
``rs3d_worker --batch`` run that reconstructs and publishes it, then a user with an API token. The app is
then served by uvicorn on a free loopback port as scripts/demo.sh serves it, with no worker beside it: the
uploads below queue jobs that nothing runs, so reconstruction never competes for the CPU.

0. Serving (``bench._serving``): one published tile at 8 connections, public, private by session cookie and
   private by API token (a private copy of the area), from daphne with the data gate off (how rs3d served
   before), uvicorn with the gate (1 and 2 processes), nginx in front of one uvicorn process sending the bytes
   rs3d allowed (X-Accel-Redirect, docs/nginx.md) and nginx serving the same file, all in one run: req/s,
   p50/p99 and each row's share of nginx's rate.

1. Viewers: wrk (``--latency``, 2 threads, browser-like ``Accept-Encoding``) against one tile content file
   of the published version, its tileset.json and the features API (a bbox, and a class as the viewer asks;
   the first request of each timed on its own, then the answers kept in memory), at each connection count.
   Without wrk, a Python thread pool (one keep-alive connection per thread) stands in, and the table says so.
2. Uploads: N simultaneous multipart POSTs of the generated orthophoto + DSM to /api/areas/ (token auth;
   the upload rate limit is lifted for the run): time to response and status codes. Each upload is stored
   and validated by a ``reconstruction check`` child process; that path, not reconstruction, is measured.

Load generator and server share the machine's CPUs, so the numbers are lower bounds for the server alone.
Each row also says how many cores the server (with its children) and everything else on the machine were
busy, so runs on a shared machine can be read against the load they met.
"""

import argparse
import gzip
import http.client
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from devtools.processes import web_command

ROOT = Path(__file__).resolve().parent.parent
#: What a browser sends; published files may be stored precompressed (br/gzip).
ACCEPT_ENCODING = "gzip, deflate, br"
USER = "bench"
#: uvicorn processes, as scripts/demo.sh starts them.
WEB_WORKERS = 1


# --- results and the parsing of wrk's report ------------------------------------------------------------


@dataclass
class LoadResult:
    """One load run against one URL at one concurrency."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_2xx_3xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> str:
        """Errors in words, "0" when none."""
        parts = [f"{self.non_2xx_3xx} non-2xx/3xx"] if self.non_2xx_3xx else []
        parts += [f"{n} {kind}" for kind, n in self.socket_errors.items() if n]
        return ", ".join(parts) or "0"


_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text: str) -> float:
    """A wrk duration ("812.00us", "1.23ms", "2.00s", "1.00m") in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match[1]) * _UNITS_MS[match[2]]


def parse_wrk(output: str) -> LoadResult:
    """Read requests, duration, latency percentiles and errors from ``wrk --latency`` output."""
    total = re.search(r"^\s*(\d+) requests in ([\d.]+\w+),", output, re.MULTILINE)
    if not total:
        raise ValueError("no request count in wrk's output:\n" + output)
    percentiles = dict(re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)\s*$", output, re.MULTILINE))
    latency = re.search(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", output, re.MULTILINE)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    requests = int(total[1])
    return LoadResult(
        requests=requests,
        seconds=_ms(total[2]) / 1e3,
        p50_ms=_ms(percentiles["50"]) if "50" in percentiles else float("nan"),
        p99_ms=_ms(percentiles["99"]) if "99" in percentiles else float("nan"),
        max_ms=_ms(latency[1]) if latency and requests else float("nan"),
        non_2xx_3xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=dict(zip(("connect", "read", "write", "timeout"), map(int, sockets.groups()), strict=True))
        if sockets
        else {},
    )


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


# --- load generators ---------------------------------------------------------------------------------------


def run_wrk(
    url: str, connections: int, seconds: float, headers: dict[str, str] | None = None, script: Path | None = None
) -> LoadResult:
    """wrk with 2 threads (fewer when there are fewer connections), a 10 s request timeout, extra ``headers``,
    and a Lua ``script`` that writes each request when given."""
    extra = [arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")]
    extra += ["-s", str(script)] if script is not None else []
    command = [
        "wrk",
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--latency",
        "--timeout",
        "10s",
        "-H",
        f"Accept-Encoding: {ACCEPT_ENCODING}",
        *extra,
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


def run_python(url: str, connections: int, seconds: float) -> LoadResult:
    """The stand-in for wrk: one thread per connection, each on a keep-alive connection, for ``seconds``.

    Far weaker than wrk (the GIL serialises the clients), so it understates what the server can do.
    """
    parts = urllib.parse.urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies: list[list[float]] = [[] for _ in range(connections)]
    bad = [0] * connections
    failed = [0] * connections
    start = time.perf_counter()
    deadline = start + seconds

    def client(i: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            try:
                conn.request("GET", target, headers={"Accept-Encoding": ACCEPT_ENCODING})
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                failed[i] += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                continue
            latencies[i].append((time.perf_counter() - sent) * 1e3)
            if not 200 <= response.status < 400:
                bad[i] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 30)
    elapsed = time.perf_counter() - start
    flat = sorted(v for per in latencies for v in per)
    return LoadResult(
        requests=len(flat),
        seconds=elapsed,
        p50_ms=_percentile(flat, 50),
        p99_ms=_percentile(flat, 99),
        max_ms=flat[-1] if flat else float("nan"),
        non_2xx_3xx=sum(bad),
        socket_errors={"failed": sum(failed)},
    )


# --- CPU accounting: how busy the server and everything else were ---------------------------------------


class CpuMeter:
    """Busy cores over an interval: the server process tree, our own children (wrk), and the whole machine."""

    def __init__(self, server: psutil.Process) -> None:
        self.server = server

    def _server_seconds(self) -> float:
        # Running children (validation processes) are sampled directly; reaped ones are in children_*.
        total = 0.0
        try:
            t = self.server.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
            for child in self.server.children(recursive=True):
                with_children = child.cpu_times()
                total += with_children.user + with_children.system
        except psutil.Error:
            pass
        return total

    @staticmethod
    def _own_children_seconds() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    @staticmethod
    def _machine_busy_seconds() -> float:
        t = psutil.cpu_times()
        return sum(t) - t.idle - getattr(t, "iowait", 0.0)

    @contextmanager
    def measure(self) -> Iterator[dict[str, float]]:
        """Yield a dict filled, on exit, with server/generator/others busy cores and the 1-minute load."""
        out: dict[str, float] = {}
        wall = time.perf_counter()
        server, own, machine = self._server_seconds(), self._own_children_seconds(), self._machine_busy_seconds()
        own_self = time.process_time()
        yield out
        wall = time.perf_counter() - wall
        server = self._server_seconds() - server
        generator = self._own_children_seconds() - own + (time.process_time() - own_self)
        machine = self._machine_busy_seconds() - machine
        out.update(
            server=server / wall,
            generator=generator / wall,
            others=max(0.0, machine - server - generator) / wall,
            load1=os.getloadavg()[0],
        )


# --- the app: set-up, serving ----------------------------------------------------------------------------


@dataclass
class App:
    """The served app on loopback."""

    url: str
    home: Path
    web: subprocess.Popen
    token: str
    area: dict
    scene: Path


def _manage(env: dict[str, str], *args: str, timeout: float, log: Path | None = None) -> str:
    command = [sys.executable, str(ROOT / "manage.py"), *args]
    if log is None:
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout
    with log.open("w") as out:
        done = subprocess.run(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed, see {log}:\n{log.read_text()[-3000:]}")
    return ""


def _get(url: str, headers: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def _environment(home: Path, debug: bool) -> dict[str, str]:
    env = {**os.environ, "RS3D_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "RS3D_HTTPS"):
        env.pop(name, None)
    env["RS3D_UPLOAD_RATE"] = "1000000/hour"  # the throttle must not answer 429 to the upload rounds
    if debug:
        env["RS3D_DEBUG"] = "1"  # as scripts/demo.sh by default
    else:
        env.pop("RS3D_DEBUG", None)  # as served for real
        env["RS3D_SECRET_KEY"] = secrets.token_urlsafe(50)
    return env


_MAKE_USER = """
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
user, made = get_user_model().objects.get_or_create(username={user!r})
if made:
    user.set_password({password!r})
    user.save()
print(Token.objects.get_or_create(user=user)[0].key)
"""


def prepare(home: Path, size_m: float, debug: bool, log: Callable[[str], None]) -> tuple[dict[str, str], str]:
    """Migrate, seed and publish the demo area, make the user; return the environment and the API token."""
    env = _environment(home, debug)
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log("migrating ...")
    _manage(env, "migrate", "--noinput", "-v", "0", timeout=300)
    log(f"seeding the demo area ({size_m:g} m generated city) ...")
    _manage(env, "seed_demo", "--size", f"{size_m:g}", timeout=300)
    log("reconstructing it (one rs3d_worker --batch run) ...")
    started = time.perf_counter()
    _manage(
        env,
        "rs3d_worker",
        "--batch",
        "--no-reload",
        "--no-startup-delay",
        "--interval",
        "0.2",
        timeout=900,
        log=logs / "worker.log",
    )
    log(f"  published in {time.perf_counter() - started:.0f} s")
    password = secrets.token_urlsafe(16)
    token = _manage(env, "shell", "-c", _MAKE_USER.format(user=USER, password=password), timeout=120).split()[-1]
    return env, token


def serve(home: Path, env: dict[str, str], workers: int) -> Iterator[tuple[str, subprocess.Popen]]:
    """uvicorn on a free loopback port, as scripts/demo.sh starts it; always stopped on the way out."""
    from bench._serving import Server, serving

    server = Server("uvicorn", lambda port: web_command(port, workers=workers), {})
    return serving(server, env, home / "logs" / "web.log")


# --- what the viewers ask for -----------------------------------------------------------------------------


@dataclass
class Target:
    """One URL the viewers load, with what a single request for it returns."""

    label: str
    url: str
    status: int = 0
    size: int = 0
    encoding: str = "identity"
    note: str = ""

    def probe(self) -> None:
        """One request with the viewers' headers: status, bytes on the wire, Content-Encoding."""
        self.status, headers, body = _get(self.url, {"Accept-Encoding": ACCEPT_ENCODING})
        self.size = len(body)
        self.encoding = headers.get("content-encoding", "identity")


def _contents(node: dict) -> Iterator[str]:
    """Content URIs of a 3D Tiles node and its children, depth first (1.0 ``content`` and 1.1 ``contents``)."""
    for content in [node.get("content") or {}, *node.get("contents", [])]:
        if uri := content.get("uri") or content.get("url"):
            yield uri
    for child in node.get("children", []):
        yield from _contents(child)


def _first_tile(tileset_url: str, depth: int = 0) -> str | None:
    """The URL of the first tile content (.glb/.b3dm/.pnts/...) in a tileset, following nested tilesets."""
    status, _, body = _get(tileset_url)
    if status != 200 or depth > 4:
        return None
    for uri in _contents(json.loads(body)["root"]):
        url = urllib.parse.urljoin(tileset_url, uri)
        if uri.split("?")[0].endswith(".json"):
            if found := _first_tile(url, depth + 1):
                return found
        else:
            return url
    return None


def viewer_targets(app: App, tiles: bool = True, features: bool = True) -> list[Target]:
    """A tile and its tileset for each kind of 3D layer (mesh, point cloud), and features queries.

    The features rows: a box (the middle quarter of the area) and a class, as the viewer's map layers ask
    (``class=road``). The first request of each is timed on its own (``first ... ms``: computed and gzipped
    from the database); wrk's then measure the answers kept in memory.
    """
    targets: list[Target] = []
    seen_suffixes: set[str] = set()
    for layer in app.area["layers"] if tiles else []:
        tileset = app.url + layer["tileset_url"]
        tile = _first_tile(tileset)
        if tile is None:
            continue
        suffix = Path(urllib.parse.urlsplit(tile).path).suffix
        if suffix in seen_suffixes:
            continue
        seen_suffixes.add(suffix)
        targets.append(Target(f"tile `{suffix}` ({layer['name']})", tile))
        targets.append(Target(f"tileset.json ({layer['name']})", tileset))
    west, south, east, north = app.area["bbox_wgs84"]
    dx, dy = (east - west) / 4, (north - south) / 4
    bbox = f"{west + dx:.6f},{south + dy:.6f},{east - dx:.6f},{north - dy:.6f}"  # the middle quarter
    features_url = f"{app.url}/api/areas/{app.area['id']}/features/"
    queries = [
        Target("features API, bbox", f"{features_url}?bbox={bbox}"),
        Target("features API, class=road (the viewer's)", f"{features_url}?class=road"),
    ]
    for target in queries if features else []:
        started = time.perf_counter()
        _, _, body = _get(target.url, {"Accept-Encoding": ACCEPT_ENCODING})
        first_ms = (time.perf_counter() - started) * 1e3
        count = len(json.loads(_decoded(body))["features"]) if body else 0
        target.note = f"{count} features, first {first_ms:.0f} ms"
    targets += queries if features else []
    for target in targets:
        target.probe()
        if target.status != 200:
            raise RuntimeError(f"{target.url} answered {target.status}")
    return targets


def _decoded(body: bytes) -> bytes:
    """A body as sent with ``ACCEPT_ENCODING``: gzip unpacked (the features API sends gzip or identity)."""
    return gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body


# --- uploads ----------------------------------------------------------------------------------------------


def multipart(fields: dict[str, str], files: dict[str, Path]) -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type."""
    boundary = "rs3d-bench-" + secrets.token_hex(12)
    chunks: list[bytes] = []
    for name, value in fields.items():
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, path in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{path.name}"\r\n'
            "Content-Type: image/tiff\r\n\r\n"
        )
        chunks += [head.encode(), path.read_bytes(), b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


@dataclass
class UploadRound:
    """N simultaneous uploads: seconds to each response and the statuses."""

    n: int
    seconds: list[float]
    statuses: list[int]
    wall: float
    errors: list[str]


def upload_round(app: App, n: int, round_no: int) -> UploadRound:
    """POST ``n`` areas at the same moment (a barrier releases the threads together)."""
    parts = urllib.parse.urlsplit(app.url)
    bodies = [
        multipart(
            {"name": f"bench round {round_no} upload {i + 1}"},
            {"ortho": app.scene / "ortho.tif", "dsm": app.scene / "dsm.tif"},
        )
        for i in range(n)
    ]
    seconds = [float("nan")] * n
    statuses = [0] * n
    errors: list[str] = []
    barrier = threading.Barrier(n)

    def post(i: int) -> None:
        body, content_type = bodies[i]
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
        headers = {"Authorization": f"Token {app.token}", "Content-Type": content_type}
        barrier.wait()
        start = time.perf_counter()
        try:
            conn.request("POST", "/api/areas/", body=body, headers=headers)
            response = conn.getresponse()
            text = response.read()
            statuses[i] = response.status
            if response.status != 201:
                errors.append(f"{response.status}: {_one_line(text)}")
        except (OSError, http.client.HTTPException) as err:
            errors.append(f"{type(err).__name__}: {err}")
        finally:
            seconds[i] = time.perf_counter() - start
            conn.close()

    threads = [threading.Thread(target=post, args=(i,), daemon=True) for i in range(n)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(660)
    return UploadRound(n, seconds, statuses, time.perf_counter() - start, errors)


def _one_line(body: bytes) -> str:
    """A response body in one short line (an HTML error page by its title)."""
    text = body.decode(errors="replace")
    if title := re.search(r"<title>(.*?)</title>", text, re.IGNORECASE | re.DOTALL):
        text = title[1]
    return " ".join(text.split())[:200]


def server_exceptions(log: Path, since: int) -> dict[str, int]:
    """The exceptions in the server's log after byte ``since`` ("Error: message" lines), with counts."""
    with log.open("rb") as f:
        f.seek(since)
        text = f.read().decode(errors="replace")
    found = re.findall(r"^([A-Za-z_][\w.]*(?:Error|Exception)): (.*)$", text, re.MULTILINE)
    counts: dict[str, int] = {}
    for kind, message in found:
        key = f"{kind}: {message[:160]}"
        counts[key] = counts.get(key, 0) + 1
    return counts


# --- the report --------------------------------------------------------------------------------------------


def machine_facts() -> str:
    """CPU, cores, memory, Python and tool versions, in one line."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    wrk = shutil.which("wrk")
    wrk_version = "not installed"
    if wrk:
        done = subprocess.run([wrk, "-v"], capture_output=True, text=True, timeout=10, check=False)
        wrk_version = (done.stdout or done.stderr).split("[")[0].strip() or "installed"
    return (
        f"{model}, {psutil.cpu_count()} logical cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; "
        f"Python {platform.python_version()}; {wrk_version}"
    )


def _load() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


def _cores(cpu: dict[str, float]) -> str:
    return f"{cpu['server']:.2f} | {cpu['generator']:.2f} | {cpu['others']:.2f} | {cpu['load1']:.2f}"


def viewers_table(
    app: App, connections: list[int], seconds: float, generator: str, only_features: bool = False
) -> list[str]:
    """Part 1, as markdown lines."""
    runner = run_wrk if generator == "wrk" else run_python
    meter = CpuMeter(psutil.Process(app.web.pid))
    targets = viewer_targets(app, tiles=not only_features)
    log = app.home / "logs" / "web.log"
    log_start = log.stat().st_size
    name = "wrk, 2 threads" if generator == "wrk" else "Python thread pool (wrk missing: far weaker than wrk)"
    lines = [
        f"Concurrent viewers: {name}, {seconds:g} s per row, Accept-Encoding `{ACCEPT_ENCODING}`",
        "",
        "| endpoint | response | conns | req/s | p50 ms | p99 ms | max ms | errors "
        "| server cores | generator cores | other cores | load 1m |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for target in targets:
        response = f"{target.size:,} B {target.encoding}" + (f", {target.note}" if target.note else "")
        for c in connections:
            with meter.measure() as cpu:
                result = runner(target.url, c, seconds)
            lines.append(
                f"| {target.label} | {response} | {c} | {result.rps:,.0f} | {result.p50_ms:.1f} | "
                f"{result.p99_ms:.1f} | {result.max_ms:.1f} | {result.errors} | {_cores(cpu)} |"
            )
            print(lines[-1], file=sys.stderr, flush=True)
    if generator == "wrk":
        lines += _roaming_rows(app, connections, seconds, meter)
    lines += ["", "URLs: " + ", ".join(f"{t.label}: `{_path_and_query(t.url)}`" for t in targets)]
    if exceptions := server_exceptions(log, log_start):
        lines += ["", "Exceptions in the server's log:", *(f"- {n}× `{e}`" for e, n in exceptions.items())]
    return lines


#: wrk script: every request a box a quarter of the area's size at a random place in it, so that no answer
#: kept in memory serves it (each thread seeds its own sequence): the database path, as a client panning freely
#: meets it.
_ROAMING_BBOX = """
local west, south, width, height = {west!r}, {south!r}, {width!r}, {height!r}
local path = {path!r}
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("seed", os.time() * 100 + threads)
end
function init(args)
  math.randomseed(seed)
end
function request()
  local w = west + math.random() * width / 2
  local s = south + math.random() * height / 2
  return wrk.format("GET", string.format("%s?bbox=%.7f,%.7f,%.7f,%.7f", path, w, s, w + width / 2, s + height / 2))
end
"""


def _roaming_rows(app: App, connections: list[int], seconds: float, meter: CpuMeter) -> list[str]:
    """The features API with a new bbox each request (wrk and a Lua script), as viewers_table's rows."""
    west, south, east, north = app.area["bbox_wgs84"]
    path = f"/api/areas/{app.area['id']}/features/"
    script = app.home / "roaming_bbox.lua"
    script.write_text(_ROAMING_BBOX.format(west=west, south=south, width=east - west, height=north - south, path=path))
    rows = []
    for c in connections:
        with meter.measure() as cpu:
            result = run_wrk(app.url + path, c, seconds, script=script)
        rows.append(
            f"| features API, a new bbox each request | nothing kept serves it | {c} | {result.rps:,.0f} | "
            f"{result.p50_ms:.1f} | {result.p99_ms:.1f} | {result.max_ms:.1f} | {result.errors} | {_cores(cpu)} |"
        )
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def _path_and_query(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def serving_rows(app: App, env: dict[str, str], seconds: float) -> list[str]:
    """Part 0, as markdown lines (bench._serving): servers and credentials side by side with nginx."""
    from bench._serving import private_copy, serving_table

    tile = next(t for t in viewer_targets(app, features=False) if t.label.startswith("tile"))
    private_area, session = private_copy(_manage, env, app.area, USER)
    before = _load()
    lines = serving_table(
        env=env,
        home=app.home,
        tile_path=urllib.parse.urlsplit(tile.url).path,
        private_area=private_area,
        session=session,
        token=app.token,
        seconds=seconds,
        connections=8,
        run_wrk=run_wrk,
        meter=CpuMeter,
    )
    return [*lines, "", f"load average (1/5/15 min) before: {before}, after: {_load()}", ""]


def uploads_table(app: App, levels: list[int]) -> list[str]:
    """Part 2, as markdown lines."""
    meter = CpuMeter(psutil.Process(app.web.pid))
    size = sum((app.scene / name).stat().st_size for name in ("ortho.tif", "dsm.tif"))
    lines = [
        f"Concurrent uploads: multipart POST /api/areas/ (orthophoto + DSM, {size / 1e6:.2f} MB each), "
        "stored and validated by a child process each, no worker running",
        "",
        "| simultaneous | statuses | fastest s | median s | slowest s | areas/s "
        "| server cores | client cores | other cores | load 1m |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    errors: list[str] = []
    log = app.home / "logs" / "web.log"
    log_start = log.stat().st_size
    for round_no, n in enumerate(levels, 1):
        with meter.measure() as cpu:
            result = upload_round(app, n, round_no)
        counts = {s: result.statuses.count(s) for s in sorted(set(result.statuses))}
        statuses = ", ".join(f"{n_}× {s or 'no answer'}" for s, n_ in counts.items())
        ok = [s for s, st in zip(result.seconds, result.statuses, strict=True) if st == 201]
        lines.append(
            f"| {n} | {statuses} | {min(result.seconds):.2f} | {statistics.median(result.seconds):.2f} | "
            f"{max(result.seconds):.2f} | {len(ok) / result.wall:.2f} | {_cores(cpu)} |"
        )
        print(lines[-1], file=sys.stderr, flush=True)
        errors += [f"N={n}: {e}" for e in result.errors]
    if errors:
        lines += ["", "Errors:", *(f"- {e}" for e in errors[:10])]
    if exceptions := server_exceptions(log, log_start):
        lines += ["", "Exceptions in the server's log:", *(f"- {n}× `{e}`" for e, n in exceptions.items())]
    return lines


# --- main ---------------------------------------------------------------------------------------------------


class _TimeLimit(Exception):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise _TimeLimit("the benchmark ran past --time-limit")


def _on_term(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks, which stop the servers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 3 s per row, 1 and 8 connections, 1 and 4 uploads"
    )
    parser.add_argument("--duration", type=float, help="seconds per viewer row (default 10, 3 with --quick)")
    parser.add_argument("--connections", type=int, nargs="+", help="connection counts (default 1 8 32)")
    parser.add_argument("--uploads", type=int, nargs="+", help="simultaneous uploads (default 1 4 8)")
    parser.add_argument("--size", type=float, default=200, help="side of the generated city in metres (default 200)")
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto", help="load generator")
    parser.add_argument("--workers", type=int, default=WEB_WORKERS, help="uvicorn processes (demo.sh's: 1)")
    parser.add_argument("--skip-serving", action="store_true", help="no servers-and-nginx tile table")
    parser.add_argument("--skip-viewers", action="store_true")
    parser.add_argument("--features-only", action="store_true", help="viewer rows for the features API only")
    parser.add_argument("--skip-uploads", action="store_true")
    parser.add_argument("--debug", action="store_true", help="serve with RS3D_DEBUG=1 (demo.sh's default)")
    parser.add_argument("--keep", type=Path, help="keep the RS3D_HOME here (logs, database) instead of a temp dir")
    parser.add_argument("--time-limit", type=float, help="abort after this many seconds (default 1800, 600 quick)")
    args = parser.parse_args()
    duration = args.duration or (3.0 if args.quick else 10.0)
    connections = args.connections or ([1, 8] if args.quick else [1, 8, 32])
    levels = args.uploads or ([1, 4] if args.quick else [1, 4, 8])
    generator = args.generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "python"
    if generator == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk), and --generator wrk asks for it")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGTERM, _on_term)
    signal.alarm(int(args.time_limit or (600 if args.quick else 1800)))
    load_start = _load()
    report: list[str] = []
    with tempfile.TemporaryDirectory(prefix="rs3d-bench-load-") as tmp:
        home = args.keep.resolve() if args.keep else Path(tmp) / "home"
        env, token = prepare(home, args.size, args.debug, log)
        with serve(home, env, args.workers) as (url, web):
            status, _, body = _get(f"{url}/api/areas/")
            areas = json.loads(body)
            areas = areas.get("results", areas) if isinstance(areas, dict) else areas
            area = next(a for a in areas if a["visibility"] == "public" and a["version"] is not None)
            app = App(url, home, web, token, area, next((home / "demo").iterdir()))
            load_served = _load()
            if not args.skip_serving and generator == "wrk":
                report += serving_rows(app, env, duration)
            elif not args.skip_serving:  # the Python stand-in could not load nginx enough to compare with it
                why = "wrk is not installed (apt-get install wrk)" if not shutil.which("wrk") else "--generator python"
                log(f"{why}: the servers-and-nginx tile table is not measured")
                report += [f"Servers and nginx side by side: not measured ({why}; that table needs wrk).", ""]
            if not args.skip_viewers:
                if generator == "python":
                    log("wrk is not installed (apt-get install wrk): the viewers are measured with a Python stand-in")
                before = _load()
                report += viewers_table(app, connections, duration, generator, args.features_only)
                report += ["", f"load average (1/5/15 min) before: {before}, after: {_load()}", ""]
            if not args.skip_uploads:
                before = _load()
                report += uploads_table(app, levels)
                report += ["", f"load average (1/5/15 min) before: {before}, after: {_load()}", ""]
    signal.alarm(0)
    mode = "RS3D_DEBUG=1" if args.debug else "production settings (RS3D_DEBUG off)"
    print(f"rs3d under load on loopback: uvicorn, {args.workers} process(es), embedded SpatiaLite, {mode}")
    print(f"machine: {machine_facts()}")
    print(
        f"load average (1/5/15 min): {load_start} at start, {load_served} once served (after set-up), "
        f"{_load()} at the end"
    )
    print(
        "server cores: CPU time of the server and its children per second of the row; generator/client cores: "
        "wrk or this script; other cores: the rest of the machine"
    )
    print(
        f"area: {area['name']} ({args.size:g} m), version {area['version']}, layers "
        + ", ".join(layer["name"] for layer in area["layers"])
    )
    print()
    print("\n".join(report).rstrip())


if __name__ == "__main__":
    main()
