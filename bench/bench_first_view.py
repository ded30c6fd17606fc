"""Benchmark what the first view of the demo city costs the browser: requests and bytes by kind, and its time.

Usage: .venv/bin/python -m bench.bench_first_view [--size 400] [--runs 2] [--timeout 900] [--screenshot PNG]
    [--hide LAYER ...]

A live server with the published demo city (started as scripts/demo.sh starts it, through
``bench._browser.live_demo``), its 3D view opened in headless Chromium (SwiftShader software WebGL, the
integration tests' flags) in a fresh browser context each run, so nothing is cached. The first view is over
when the page's ``#status`` says ready (every shown tileset's ``allTilesLoaded``) and ``rs3d.settled()``
holds (the globe's imagery and every shown tileset have what the view needs). Every request the page and its
workers made up to then is counted, with its bytes on the wire (headers and encoded body, as Chromium's
network stack reports them; for a web worker's main script, whose body it reports as empty, the
``Content-Length`` its response says), and sorted into kinds by URL:

- one kind per 3D layer of the area (``point tiles`` for the point cloud; ``tileset.json`` included),
- ``imagery`` (the orthophoto and its XYZ tiles), ``Cesium`` (its build under ``static/cesium/``),
- ``app JS/CSS`` (the rest of ``static/``), ``API`` (``/api/``) and ``page`` (the HTML, anything else).

The table gives each kind's requests and kB (median over the runs) and the time to ready; the line under it
says whether the whole first page, and its 3D data alone (every layer's tiles and tilesets), fit the issue's budget.
``--hide pointcloud`` opens the view with that layer hidden through the URL hash, as a shared link does (what
the time to ready owes to that layer).
"""

import argparse
import shutil
import statistics
import time
from collections import defaultdict
from urllib.parse import urlparse

import requests

from bench._browser import Demo, live_demo
from bench._measure import machine_facts
from devtools.chromium import CHROMIUM_ARGS, wait_until

#: The first view's budget (issue 18): at most this many requests and bytes, for the whole page.
BUDGET_REQUESTS, BUDGET_BYTES = 30, 2_000_000

#: Kinds that are not 3D layers, in table order after the layers.
OTHER_KINDS = ["imagery", "Cesium", "app JS/CSS", "API", "page"]

#: The page is ready: the status badge says so and every tileset and the globe have loaded what they need.
_READY_JS = """
() => document.querySelector('#status')?.dataset.state === 'ready' && !!window.rs3d && window.rs3d.settled()
"""


def _data_folders(demo: Demo) -> tuple[dict[str, str], list[str], set[str]]:
    """URL folders of each 3D layer (folder -> kind) and of the imagery, and the URL paths of the point leaves."""
    area = requests.get(f"{demo.url}/api/areas/{demo.area_id}/", timeout=30).json()
    layers, leaves = {}, set()
    for layer in area["layers"]:
        folder = urlparse(layer["tileset_url"]).path.rpartition("/")[0] + "/"
        layers[folder] = "point tiles" if layer["kind"] == "pointcloud" else f"{layer['name']} tiles"
        if layer["kind"] == "pointcloud":
            root = requests.get(demo.url + urlparse(layer["tileset_url"]).path, timeout=30).json()["root"]
            leaves = {folder + uri for uri in _leaf_uris(root)}
    imagery = area.get("imagery") or {}
    image_folders = [urlparse(imagery[k]).path.partition("{")[0] for k in ("url", "tiles_url") if imagery.get(k)]
    return layers, image_folders, leaves


def _leaf_uris(tile: dict) -> list[str]:
    """Content URIs of the tiles without children under ``tile``."""
    if not tile.get("children"):
        return [tile["content"]["uri"]] if "content" in tile else []
    return [uri for child in tile["children"] for uri in _leaf_uris(child)]


def _kind(url: str, layers: dict[str, str], imagery: list[str]) -> str:
    path = urlparse(url).path
    for folder, kind in sorted(layers.items(), key=lambda item: -len(item[0])):
        if path.startswith(folder):
            return kind
    if any(path.startswith(prefix.rpartition("/")[0] + "/") for prefix in imagery):
        return "imagery"
    if path.startswith("/static/cesium/"):
        return "Cesium"
    if path.startswith("/static/"):
        return "app JS/CSS"
    if path.startswith("/api/"):
        return "API"
    return "page"


def _body_size(request, reported: int) -> int:
    """Encoded body bytes: as Chromium reports them, else (a web worker's main script, which it reports as 0)
    the response's Content-Length (a 304 has none: 0)."""
    if reported > 0:
        return reported
    response = request.response()
    return int(response.headers.get("content-length", 0)) if response is not None else 0


def first_view(
    demo: Demo, runs: int, timeout_s: float, screenshot: str | None = None, hide: tuple[str, ...] = ()
) -> list[dict]:
    """Open the 3D view ``runs`` times in fresh contexts; per run: seconds to ready, and requests/bytes by kind.

    ``screenshot``: a PNG file to save the first run's view to, once it is ready (to see what it shows).
    ``hide``: layers hidden through the page's URL hash.
    """
    hash_ = ",".join(f"{name}:0" for name in hide)
    from playwright.sync_api import sync_playwright

    layers, imagery, leaves = _data_folders(demo)
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            for run in range(runs):
                context = browser.new_context(viewport={"width": 1366, "height": 768})
                try:
                    picture = screenshot if run == 0 else None
                    results.append(_one_view(context, demo, (layers, imagery, leaves), timeout_s, picture, hash_))
                finally:
                    context.close()
        finally:
            browser.close()
    return results


def _one_view(
    context,
    demo: Demo,
    folders: tuple[dict[str, str], list[str], set[str]],
    timeout_s: float,
    screenshot: str | None,
    hash_: str,
) -> dict:
    layers, imagery, leaves = folders
    page = context.new_page()
    finished, failed, errors = [], [], []
    page.on("requestfinished", lambda r: finished.append(r))
    page.on("requestfailed", lambda r: failed.append(r))
    page.on("pageerror", lambda e: errors.append(str(e)))
    start = time.monotonic()
    page.goto(
        f"{demo.url}/areas/{demo.area_id}/view/" + (f"#layers={hash_}" if hash_ else ""), timeout=timeout_s * 1000
    )
    wait_until(page, _READY_JS, timeout_s=timeout_s)
    seconds = time.monotonic() - start
    done = list(finished)  # requests after this moment belong to no first view
    if screenshot:
        page.screenshot(path=screenshot)
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    listed = []
    for request in done:
        if request.url.startswith("data:"):
            continue
        sizes = request.sizes()
        kind = _kind(request.url, layers, imagery)
        wire = sizes["responseHeadersSize"] + _body_size(request, sizes["responseBodySize"])
        by_kind[kind][0] += 1
        by_kind[kind][1] += wire
        listed.append((kind, urlparse(request.url).path, wire))
    for request in failed:
        by_kind[_kind(request.url, layers, imagery)][0] += 1
    data = [v for k, v in by_kind.items() if k.endswith(" tiles")]
    navigation = min(r.timing["startTime"] for r in done)
    data_ends = [
        r.timing["startTime"] + r.timing["responseEnd"]
        for r in done
        if _kind(r.url, layers, imagery).endswith(" tiles") and r.timing["responseEnd"] >= 0
    ]
    leaves_loaded = sum(urlparse(r.url).path in leaves for r in done)
    return {
        "seconds": seconds,
        "last_data_s": (max(data_ends, default=navigation) - navigation) / 1000,
        "kinds": {k: tuple(v) for k, v in by_kind.items()},
        "requests": listed,
        "data_requests": sum(v[0] for v in data),
        "data_bytes": sum(v[1] for v in data),
        "leaves": (leaves_loaded, len(leaves)),
        "failed": len(failed),
        "errors": errors,
    }


def _verdict(requests: float, size: float) -> str:
    return "met" if requests <= BUDGET_REQUESTS and size <= BUDGET_BYTES else "NOT met"


def table(results: list[dict], size_m: float, publish_s: float, hidden: tuple[str, ...] = ()) -> str:
    """Markdown: per kind the median requests and kB over the runs, then totals, time to ready and the budget."""
    kinds = sorted({k for r in results for k in r["kinds"]})
    order = [k for k in ["point tiles"] + sorted(k for k in kinds if k.endswith(" tiles") and k != "point tiles")]
    order += [k for k in OTHER_KINDS if k in kinds]
    order += [k for k in kinds if k not in order]

    def median(kind: str, i: int) -> float:
        return statistics.median(r["kinds"].get(kind, (0, 0))[i] for r in results)

    lines = [
        f"### First view of the demo city ({size_m:.0f} m, seed 7), headless Chromium, {len(results)} cold runs"
        + (f", hidden: {', '.join(hidden)}" if hidden else ""),
        "",
        machine_facts() + f"; demo published in {publish_s:.0f} s.",
        "",
        "| kind | requests | kB |",
        "|---|---:|---:|",
    ]
    lines += [f"| {k} | {median(k, 0):g} | {median(k, 1) / 1000:,.0f} |" for k in order if k in kinds]
    total_requests = statistics.median(sum(v[0] for v in r["kinds"].values()) for r in results)
    total_bytes = statistics.median(sum(v[1] for v in r["kinds"].values()) for r in results)
    data_requests = statistics.median(r["data_requests"] for r in results)
    data_bytes = statistics.median(r["data_bytes"] for r in results)
    seconds = [r["seconds"] for r in results]
    last_data = statistics.median(r["last_data_s"] for r in results)
    lines += [
        f"| **3D data (every layer)** | **{data_requests:g}** | **{data_bytes / 1000:,.0f}** |",
        f"| all | {total_requests:g} | {total_bytes / 1000:,.0f} |",
        "",
        "Time to ready (navigation -> `#status` ready and `rs3d.settled()`): "
        f"median {statistics.median(seconds):.1f} s "
        f"({', '.join(f'{s:.1f}' for s in seconds)}); last 3D data received at {last_data:.1f} s (median). "
        f"Budget ({BUDGET_REQUESTS} requests, {BUDGET_BYTES / 1e6:g} MB): "
        f"whole page {_verdict(total_requests, total_bytes)}, 3D data {_verdict(data_requests, data_bytes)}.",
    ]
    loaded, total = results[0]["leaves"]
    lines.append(f"Point-cloud leaves (full-detail tiles) in the first view: {loaded} of {total} (first run).")
    failed = sum(r["failed"] for r in results)
    errors = [e for r in results for e in r["errors"]]
    if failed or errors:
        lines.append(f"Failed requests: {failed}; page errors: {errors[:3]}")
    return "\n".join(lines)


def main() -> None:
    """Start the demo, open its first view ``--runs`` times and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=float, default=400.0, help="side of the demo city, metres")
    parser.add_argument("--runs", type=int, default=2, help="cold views to open")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds for publishing and for each view")
    parser.add_argument("--screenshot", help="save the first run's ready view to this PNG file")
    parser.add_argument("--hide", nargs="*", default=[], help="layers to hide through the URL hash")
    parser.add_argument(
        "--list", metavar="KIND", nargs="*", default=[], help="also list the first run's requests of these kinds"
    )
    args = parser.parse_args()
    with live_demo(args.size, seed=7, timeout_s=args.timeout) as demo:
        results = first_view(demo, args.runs, args.timeout, args.screenshot, tuple(args.hide))
    print(table(results, args.size, demo.seconds_to_publish, tuple(args.hide)))
    for kind, path, wire in results[0]["requests"]:
        if kind in args.list:
            print(f"{kind:<12} {wire / 1000:>9,.1f} kB  {path}")


if __name__ == "__main__":
    main()
