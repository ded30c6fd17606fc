"""What a planner gets from an orthophoto alone: the served buildings against the LiDAR's, and a screenshot.

Usage: .venv/bin/python -m bench.bench_ortho_only [--ortho TIF] [--lidar LAZ] [--screenshot PNG] [--timeout 1800]

Issue 17 asks that an orthophoto-only run "shows no building where the imagery shows none". This uploads the
orthophoto alone (default: Montpellier's IGN 20 cm block, a region held out from every choice of the trust gate)
to a live rs3d (``bench._browser.live_app``: uvicorn and the database worker on a private home, as demo.sh
starts them), through the API as a user would, waits for the job, then scores what the features API serves:
its buildings' footprints, rasterised on 0.5 m cells, against the cells where the LiDAR has building returns
(ASPRS class 6), over the cells the LiDAR covers. Precision and recall are by area. The screenshot is the
viewer's opening view in headless Chromium (SwiftShader) with the point cloud hidden, so the buildings and the
draped orthophoto show.
"""

import argparse
import json
import shutil
import time
from pathlib import Path

import laspy
import numpy as np
import requests
import shapely
from pyproj import Transformer
from rasterio import features as raster_features
from rasterio.transform import from_origin
from shapely.geometry import shape

from bench._browser import live_app
from bench._measure import machine_facts
from devtools.chromium import CHROMIUM_ARGS, wait_until
from reconstruction.training.real_regions import DATA_ROOT

CELL_M = 0.5
BUILDING_CLASS = 6
USER = "bench-planner"
_MAKE_USER = """
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
user, _ = get_user_model().objects.get_or_create(username={user!r})
print(Token.objects.get_or_create(user=user)[0].key)
"""


def lidar_truth(laz: Path) -> tuple[np.ndarray, np.ndarray, object, str]:
    """(building cells, covered cells, their transform, the LAZ's CRS as WKT) on CELL_M cells."""
    las = laspy.read(str(laz))
    x, y, classes = np.asarray(las.x), np.asarray(las.y), np.asarray(las.classification)
    left, top = np.floor(x.min() / CELL_M) * CELL_M, np.ceil(y.max() / CELL_M) * CELL_M
    cols, rows = ((x - left) / CELL_M).astype(int), ((top - y) / CELL_M).astype(int)
    shape_ = (rows.max() + 1, cols.max() + 1)
    covered, building = np.zeros(shape_, bool), np.zeros(shape_, bool)
    covered[rows, cols] = True
    building[rows[classes == BUILDING_CLASS], cols[classes == BUILDING_CLASS]] = True
    return building, covered, from_origin(left, top, CELL_M, CELL_M), las.header.parse_crs().to_wkt()


def served_buildings(url: str, token: str, area: dict) -> list[dict]:
    """The area's buildings as the features API serves them (GeoJSON, WGS84)."""
    answer = requests.get(
        f"{url}{area['features_url']}", params={"class": "building"}, headers=_auth(token), timeout=120
    )
    answer.raise_for_status()
    return answer.json()["features"]


def score(buildings: list[dict], laz: Path) -> dict:
    """Building precision and recall by area against the LiDAR's class 6, where the LiDAR covers."""
    truth, covered, transform, crs = lidar_truth(laz)
    to_laz = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    footprints = [
        shapely.transform(shape(f["geometry"]), lambda xy: np.column_stack(to_laz.transform(xy[:, 0], xy[:, 1])))
        for f in buildings
    ]
    predicted = (
        raster_features.rasterize(footprints, out_shape=truth.shape, transform=transform).astype(bool)
        if footprints
        else np.zeros(truth.shape, bool)
    )
    p, t = predicted & covered, truth & covered
    hit = int((p & t).sum())
    cell = CELL_M * CELL_M
    return {
        "buildings": len(buildings),
        "predicted_m2": p.sum() * cell,
        "true_m2": t.sum() * cell,
        "false_m2": (p & ~t).sum() * cell,
        "precision": hit / p.sum() if p.any() else None,
        "recall": hit / t.sum() if t.any() else None,
    }


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


def run(ortho: Path, laz: Path, screenshot: Path | None, timeout_s: float) -> tuple[dict, dict, float]:
    """Upload, wait, score and photograph; (score, the area's trust figures, seconds to publish)."""
    with live_app() as app:
        token = app.manage("shell", "-c", _MAKE_USER.format(user=USER)).split()[-1]
        start = time.monotonic()
        with ortho.open("rb") as image:
            made = requests.post(
                f"{app.url}/api/areas/",
                data={"name": f"{ortho.stem} (orthophoto only)"},
                files={"ortho": image},
                headers=_auth(token),
                timeout=600,
            )
        made.raise_for_status()
        job_url = f"{app.url}/api/jobs/{made.json()['job']['id']}/"
        while (job := requests.get(job_url, headers=_auth(token), timeout=30).json())["status"] not in (
            "succeeded",
            "failed",
            "cancelled",
        ):
            if time.monotonic() - start > timeout_s:
                raise RuntimeError(f"the job did not finish in {timeout_s:.0f} s; see {app.logs / 'worker.log'}")
            time.sleep(2)
        if job["status"] != "succeeded":
            raise RuntimeError(f"the job {job['status']}: {job.get('error')}")
        seconds = time.monotonic() - start
        area_url = f"{app.url}/api/areas/{made.json()['id']}/"
        # Public, so the browser needs no login to photograph it.
        requests.patch(area_url, json={"visibility": "public"}, headers=_auth(token), timeout=30).raise_for_status()
        area = requests.get(area_url, headers=_auth(token), timeout=30).json()
        result = score(served_buildings(app.url, token, area), laz)
        if screenshot:
            _photograph(f"{app.url}/areas/{area['id']}/view/#layers=pointcloud:0", screenshot, timeout_s)
        return result, {"warnings": job.get("warnings", [])}, seconds


def _photograph(page_url: str, out: Path, timeout_s: float) -> None:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
            page.goto(page_url, timeout=timeout_s * 1000)
            page.wait_for_selector('#status[data-state="ready"]', timeout=timeout_s * 1000)
            wait_until(page, "() => window.rs3d.settled()", timeout_s=timeout_s)
            page.evaluate("rs3d.rendered()")
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
        finally:
            browser.close()


def _m2(value: float) -> str:
    return f"{value:,.0f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main() -> None:
    """Parse arguments, run once, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--ortho", type=Path, default=DATA_ROOT / "montpellier" / "ortho_rgb_20cm.tif")
    parser.add_argument("--lidar", type=Path, default=DATA_ROOT / "montpellier" / "lidar_77055_627760.laz")
    parser.add_argument("--screenshot", type=Path, help="save the viewer's opening view to this PNG file")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    result, trust, seconds = run(args.ortho, args.lidar, args.screenshot, args.timeout)
    print(f"{args.ortho.name} uploaded alone; truth: {args.lidar.name} class {BUILDING_CLASS} on {CELL_M} m cells")
    print(f"machine: {machine_facts()}")
    print()
    print("| served buildings | predicted m² | LiDAR building m² | false m² | precision | recall | to publish |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {result['buildings']} | {_m2(result['predicted_m2'])} | {_m2(result['true_m2'])} | "
        f"{_m2(result['false_m2'])} | {_share(result['precision'])} | {_share(result['recall'])} | {seconds:.0f} s |"
    )
    for warning in trust["warnings"]:
        if "Trust gate" in warning:
            print(f"\n{warning}")
    print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in result.items()}))


if __name__ == "__main__":
    main()
