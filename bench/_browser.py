"""A live rs3d with the published demo city, and headless Chromium timing of its 3D view (for bench_tiles).

The server is started the way scripts/demo.sh and tests/integration/conftest.py start it (uvicorn + the
database worker on a private RS3D_HOME, the demo area made by ``manage.py seed_demo``); the Chromium flags
are the integration tests' (SwiftShader software WebGL, nothing that leaves the machine). Both take their
process helpers and Chromium flags from ``devtools``, never from ``tests``.
"""

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from devtools.chromium import CHROMIUM_ARGS
from devtools.processes import free_port, stop_processes, wait_until_up, web_command

ROOT = Path(__file__).resolve().parents[1]

#: Records, relative to navigation start (performance.now()), when the status badge first shows each text
#: and when ``window.rs3d`` first exists. Resource timings are kept for every request.
_PROBE_JS = """
(() => {
  performance.setResourceTimingBufferSize(100000);
  const marks = {};
  window.__bench = marks;
  const look = () => {
    const status = document.getElementById('status');
    if (status) {
      const key = 'status:' + (status.dataset.state || '') + ':' + status.textContent.trim();
      if (!(key in marks)) marks[key] = performance.now();
    }
    if (window.rs3d && !('rs3d' in marks)) marks.rs3d = performance.now();
  };
  const frames = [];
  window.__benchFrames = frames;
  const tick = (t) => { frames.push(t); requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  new MutationObserver(look).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
  setInterval(look, 10);
})();
"""

#: What the page loaded: tile requests (under the area's data/ folder) and all requests.
_RESOURCES_JS = """
() => {
  const all = performance.getEntriesByType('resource');
  const tiles = all.filter((e) => /\\/data\\/\\d+\\/tiles\\//.test(e.name) && !e.name.endsWith('.json'));
  const sum = (list, k) => list.reduce((s, e) => s + (e[k] || 0), 0);
  return {
    requests: all.length,
    tiles: tiles.length,
    tile_bytes: sum(tiles, 'transferSize'),
    tile_body_bytes: sum(tiles, 'encodedBodySize'),
    last_tile_ms: tiles.reduce((m, e) => Math.max(m, e.responseEnd), 0),
    last_features_ms: all.filter((e) => e.name.includes('/features')).reduce((m, e) => Math.max(m, e.responseEnd), 0),
    bytes: sum(all, 'transferSize'),
  };
}
"""


@dataclass
class Demo:
    """A running server and its published demo area."""

    url: str
    area_id: int
    seconds_to_publish: float


@dataclass
class LiveApp:
    """A running web server and worker on a private RS3D_HOME (SQLite, the embedded default)."""

    url: str
    env: dict[str, str]
    worker: subprocess.Popen
    logs: Path

    def manage(self, *args: str, timeout: float = 300) -> str:
        """``manage.py *args`` against this app's database; its standard output."""
        return _manage(self.env, *args, timeout=timeout)


def _manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    command = [sys.executable, str(ROOT / "manage.py"), *args]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return done.stdout


@contextmanager
def live_app(before_start: tuple[tuple[str, ...], ...] = ()) -> Iterator[LiveApp]:
    """Migrate a fresh RS3D_HOME, run the ``manage.py`` commands ``before_start``, then start web and worker."""
    home = Path(tempfile.mkdtemp(prefix="rs3d-bench-home-"))
    env = {**os.environ, "RS3D_HOME": str(home), "PYTHONUNBUFFERED": "1", "RS3D_SECRET_KEY": secrets.token_urlsafe(50)}
    for name in ("DJANGO_SETTINGS_MODULE", "RS3D_DEBUG", "DATABASE_URL"):
        env.pop(name, None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    processes: list[subprocess.Popen] = []
    logs = home / "logs"
    logs.mkdir()
    try:
        _manage(env, "migrate", "--noinput", "-v", "0")
        for command in before_start:
            _manage(env, *command, timeout=600)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        worker = [*manage, "rs3d_worker", "--no-reload", "--interval", "0.2", "--no-startup-delay"]
        for name, command in (("web", web_command(port)), ("worker", worker)):
            log = (logs / f"{name}.log").open("w")
            processes.append(subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
        wait_until_up(url, processes[0])
        yield LiveApp(url=url, env=env, worker=processes[1], logs=logs)
    finally:
        stop_processes(*processes, timeout=20)
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def live_demo(size_m: float, seed: int, timeout_s: float) -> Iterator[Demo]:
    """Start web server and worker on a fresh RS3D_HOME, seed the demo city and wait until it is published."""
    with live_app(before_start=(("seed_demo", "--size", str(size_m), "--seed", str(seed)),)) as app:
        start = time.monotonic()
        area_id = _wait_for_demo(app.url, app.worker, timeout_s, app.logs)
        yield Demo(url=app.url, area_id=area_id, seconds_to_publish=time.monotonic() - start)


def _wait_for_demo(url: str, worker: subprocess.Popen, timeout_s: float, logs: Path) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with {worker.returncode}; see {logs / 'worker.log'}")
        areas = requests.get(f"{url}/api/areas/", timeout=10).json()
        areas = areas.get("results", areas) if isinstance(areas, dict) else areas
        for area in areas:
            if area["status"] == "failed":
                raise RuntimeError(f"the demo area's job failed: {area.get('latest_job')}")
            if area["status"] == "ready":
                return int(area["id"])
        time.sleep(1)
    raise RuntimeError(f"the demo area was not published within {timeout_s:.0f} s")


def time_first_view(
    demo: Demo, runs: int, timeout_s: float, hash_: str = "", chromium: str | None = None
) -> list[dict]:
    """Open the demo's 3D view ``runs`` times, each in a fresh browser context (empty cache); milestones in ms.

    ``hash_`` is the page's URL hash, as a shared link carries it (``layers=trees:0`` hides a layer).
    """
    from playwright.sync_api import sync_playwright

    executable = chromium or shutil.which("chromium") or "/usr/bin/chromium"
    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            for _ in range(runs):
                context = browser.new_context(viewport={"width": 1366, "height": 768})
                try:
                    page = context.new_page()
                    errors: list[str] = []
                    page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                    page.add_init_script(_PROBE_JS)
                    page.goto(f"{demo.url}/areas/{demo.area_id}/view/#{hash_}", timeout=timeout_s * 1000)
                    page.wait_for_selector('#status[data-state="ready"]', timeout=timeout_s * 1000)
                    marks, frames = page.evaluate("window.__bench"), page.evaluate("window.__benchFrames")
                    results.append(_milestones(marks, frames, page.evaluate(_RESOURCES_JS), errors))
                finally:
                    context.close()
        finally:
            browser.close()
    return results


def _milestones(marks: dict[str, float], frames: list[float], resources: dict, errors: list[str]) -> dict:
    def first(text: str) -> float:
        hits = [t for k, t in marks.items() if text in k]
        return min(hits) if hits else float("nan")

    viewer, ready = first("Loading tiles"), first("status:ready")
    loading = [b - a for a, b in zip(frames, frames[1:], strict=False) if viewer <= a and b <= ready]
    return {
        "frames": len(loading),
        "frame_ms": sorted(loading)[len(loading) // 2] if loading else float("nan"),
        "longest_frame_ms": max(loading, default=float("nan")),
        "last_features_ms": resources["last_features_ms"],
        "area_ms": first("Loading imagery"),  # the area JSON has arrived
        "viewer_ms": first("Loading tiles"),  # viewer made, layers added, camera framed, tools mounted
        "last_tile_ms": resources["last_tile_ms"],
        "ready_ms": first("status:ready"),  # every tileset's allTilesLoaded (+ map layers, globe grace)
        "tiles": resources["tiles"],
        "tile_bytes": resources["tile_bytes"],
        "requests": resources["requests"],
        "bytes": resources["bytes"],
        "errors": errors,
    }
