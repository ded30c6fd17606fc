"""Build a static demo site for the rs3d browser client (no Django needed).

Usage (from the repository root):
    .venv/bin/python frontend/demo/make_demo.py /tmp/rs3d-demo
    cd /tmp/rs3d-demo && python3 -m http.server 8765

It lays out, under the output folder:
    static/cesium -> frontend/node_modules/cesium/Build/Cesium   (symlink)
    static/rs3d   -> frontend/src                                (symlink)
    api/areas/1/index.json     fake area JSON (served for /api/areas/1/)
    areas/1/view/index.html    the viewer page as the Django template renders it
    areas/1/data/1/...         orthophoto PNG + py3dtiles point-cloud tileset
    jobs/{12,13,14}/index.html job pages (serve.py fakes their WebSocket:
                               12 succeeds, 13 drops once, 14 fails)
    api/jobs/<id>/index.json   job snapshots (status "queued")
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

import laspy
import numpy as np
import pyproj
import rasterio
from pyproj import Transformer
from rasterio.warp import Resampling, calculate_default_transform, reproject

HERE = Path(__file__).resolve().parent
FRONTEND = HERE.parent
DATA = Path("/work/shared/data/montpellier")
LAZ = DATA / "lidar_77055_627760.laz"
ORTHO = DATA / "ortho_rgb_20cm.tif"


def build(out: Path) -> None:
    """Write the whole demo site under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    static = out / "static"
    static.mkdir(exist_ok=True)
    for name, target in (
        ("cesium", FRONTEND / "node_modules/cesium/Build/Cesium"),
        ("rs3d", FRONTEND / "src"),
    ):
        link = static / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)

    data = out / "areas/1/data/1"
    tiles = data / "tiles/pointcloud"
    if tiles.exists():
        shutil.rmtree(tiles)
    tiles.parent.mkdir(parents=True, exist_ok=True)

    las = laspy.read(LAZ)
    if not (las.red.any() or las.green.any() or las.blue.any()):
        colourize(las)  # the sample LAZ has no RGB: take it from the ortho
    ground = las.z[las.classification == 2]
    ground_z = float(np.percentile(ground, 5)) if len(ground) else float(las.z.min())
    with tempfile.TemporaryDirectory() as tmp:
        las_path = Path(tmp) / "cloud.las"
        las.write(las_path)
        from py3dtiles.convert import convert

        convert(
            [las_path],
            outfolder=tiles,
            crs_out=pyproj.CRS.from_epsg(4978),
            crs_in=pyproj.CRS.from_epsg(2154),
            force_crs_in=True,
            extra_fields=["classification"],
            jobs=2,
        )

    to_wgs84 = Transformer.from_crs(2154, 4326, always_xy=True)
    h = las.header
    lons, lats = to_wgs84.transform(
        [h.mins[0], h.maxs[0], h.mins[0], h.maxs[0]],
        [h.mins[1], h.mins[1], h.maxs[1], h.maxs[1]],
    )
    bbox = [min(lons), min(lats), max(lons), max(lats)]

    imagery_dir = data / "imagery"
    imagery_dir.mkdir(parents=True, exist_ok=True)
    rect = warp_ortho(imagery_dir / "ortho.png")

    area = {
        "id": 1,
        "name": "Demo city (Montpellier tile)",
        "status": "ready",
        "crs": "EPSG:2154",
        "version": 1,
        "bbox_wgs84": bbox,
        "height_offset_m": -ground_z,
        "imagery": {"url": "/areas/1/data/1/imagery/ortho.png", "rectangle": rect},
        "layers": [
            {
                "name": "pointcloud",
                "kind": "pointcloud",
                "title": "Point cloud",
                "tileset_url": "/areas/1/data/1/tiles/pointcloud/tileset.json",
            }
        ],
        "features_url": "/api/areas/1/features/",
        "latest_job": {
            "id": 12,
            "status": "succeeded",
            "stage": "publish",
            "progress": 1.0,
            "message": "Done",
            "error": "",
            "url": "/api/jobs/12/",
        },
    }
    write_json(out / "api/areas/1/index.json", area)
    empty = dict(area, id=2, status="processing", version=None, layers=[], imagery=None)
    write_json(out / "api/areas/2/index.json", empty)

    # Area 3: same cloud, batch-table property renamed "Classification"
    # (same byte length, so a plain byte replacement keeps the pnts valid).
    upper = data.parent / "2/tiles/pointcloud"
    if upper.exists():
        shutil.rmtree(upper)
    shutil.copytree(tiles, upper)
    for pnts in upper.rglob("*.pnts"):
        raw = pnts.read_bytes()
        pnts.write_bytes(raw.replace(b'"classification"', b'"Classification"'))
    layer = dict(area["layers"][0], tileset_url=area["layers"][0]["tileset_url"].replace("/data/1/", "/data/2/"))
    write_json(out / "api/areas/3/index.json", dict(area, id=3, version=2, layers=[layer]))

    for area_id in (1, 2, 3):
        page = (HERE / "viewer.html").read_text().replace("{{AREA_ID}}", str(area_id))
        write_text(out / f"areas/{area_id}/view/index.html", page)
    jobs = {12: "/ws/jobs/12/", 13: "/ws/jobs/13/?drop=1", 14: "/ws/jobs/14/?fail=1"}
    for job_id, ws_url in jobs.items():
        page = (HERE / "job.html").read_text().replace("{{JOB_ID}}", str(job_id))
        write_text(out / f"jobs/{job_id}/index.html", page.replace("{{WS_URL}}", ws_url))
        snapshot = dict(area["latest_job"], id=job_id, status="queued", progress=0.0)
        write_json(out / f"api/jobs/{job_id}/index.json", snapshot)
    print(json.dumps({"out": str(out), "bbox": bbox, "height_offset_m": -ground_z}))


def colourize(las: laspy.LasData) -> None:
    """Give every point the orthophoto colour under it (16-bit LAS RGB)."""
    with rasterio.open(ORTHO) as src:
        image = src.read()
        rows, cols = rasterio.transform.rowcol(src.transform, las.x, las.y)
    rows = np.clip(np.asarray(rows), 0, image.shape[1] - 1)
    cols = np.clip(np.asarray(cols), 0, image.shape[2] - 1)
    for band, name in enumerate(("red", "green", "blue")):
        setattr(las, name, image[band, rows, cols].astype(np.uint16) * 257)


def warp_ortho(dest: Path) -> list:
    """Reproject the orthophoto to EPSG:4326 and save it as PNG; return its rectangle."""
    with rasterio.open(ORTHO) as src:
        src_crs = rasterio.crs.CRS.from_epsg(2154)
        transform, width, height = calculate_default_transform(src_crs, "EPSG:4326", src.width, src.height, *src.bounds)
        arr = np.zeros((3, height, width), dtype=np.uint8)
        for band in range(3):
            reproject(
                source=rasterio.band(src, band + 1),
                destination=arr[band],
                src_transform=src.transform,
                src_crs=src_crs,
                dst_transform=transform,
                dst_crs="EPSG:4326",
                resampling=Resampling.bilinear,
            )
    alpha = np.where(arr.any(axis=0), 255, 0).astype(np.uint8)
    rgba = np.concatenate([arr, alpha[None]])
    with rasterio.open(dest, "w", driver="PNG", width=width, height=height, count=4, dtype="uint8") as dst:
        dst.write(rgba)
    west, north = transform * (0, 0)
    east, south = transform * (width, height)
    return [west, south, east, north]


def write_json(path: Path, obj: object) -> None:
    """Write `obj` as indented JSON, creating folders."""
    write_text(path, json.dumps(obj, indent=2))


def write_text(path: Path, text: str) -> None:
    """Write a text file, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


if __name__ == "__main__":
    build(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/rs3d-demo"))
