"""Headless Chromium: a clicked point of a LiDAR point cloud shows its class, intensity and height, as in the data."""

import subprocess
import sys
from io import BytesIO
from pathlib import Path

import laspy
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from pyproj import CRS, Transformer

from tests.integration.test_browser import ARTIFACTS, _watch, canvas_picture, uncovered
from tests.integration.test_viewer_layers import _layer_pixels, _toggle

pytestmark = [pytest.mark.integration, pytest.mark.browser]

#: One LiDAR return per DSM cell, classified from the labels, with an intensity that tells points apart.
_DENSE_LIDAR = """
import sys, laspy, numpy as np, rasterio
from pyproj import CRS
with rasterio.open(sys.argv[1]) as dsm, rasterio.open(sys.argv[2]) as labels:
    z, classes, t, crs = dsm.read(1), labels.read(1), dsm.transform, CRS.from_user_input(dsm.crs)
rows, cols = np.nonzero(np.isfinite(z))
header = laspy.LasHeader(point_format=3, version="1.4")
header.add_crs(crs)
header.offsets, header.scales = [t.c, t.f - z.shape[0] * t.a, 0.0], [0.001, 0.001, 0.001]
las = laspy.LasData(header)
las.x, las.y, las.z = t.c + (cols + 0.5) * t.a, t.f + (rows + 0.5) * t.e, z[rows, cols]
las.classification = np.where(classes[rows, cols] > 1, classes[rows, cols], 2).astype(np.uint8)
las.intensity = (100 + (rows * 37 + cols * 101) % 3000).astype(np.uint16)
las.write(sys.argv[3])
"""


def _dense_lidar(scene: dict[str, Path], out: Path) -> Path:
    command = [sys.executable, "-c", _DENSE_LIDAR, str(scene["dsm"]), str(scene["labels"]), str(out)]
    subprocess.run(command, check=True, capture_output=True)
    return out


def test_a_clicked_point_shows_its_class_intensity_and_height(browser, stack, scene, tmp_path):
    lidar = _dense_lidar(scene, tmp_path / "returns.las")
    with scene["ortho"].open("rb") as ortho, lidar.open("rb") as returns:
        response = stack.session.post(
            f"{stack.url}/api/areas/",
            data={"name": "Point town"},
            files={"ortho": ortho, "lidar": returns},
            timeout=120,
        )
    assert response.status_code == 201, response.text
    body = response.json()
    assert stack.wait_for_job(body["job"]["id"], timeout=600)["status"] == "succeeded"
    watched = _watch(browser, stack)
    page = watched.page
    page.goto(f"{stack.url}/areas/{body['id']}/view/")
    page.wait_for_selector('#status[data-state="ready"]', timeout=180_000)
    page.set_default_timeout(120_000)  # SwiftShader renders a million styled points slowly on a busy machine
    for layer in ("buildings", "trees", "roads"):
        if _toggle(page, layer).count():
            _toggle(page, layer).uncheck()
    page.locator('[data-layer="pointcloud"] input[type=range]').first.fill("8")

    box = page.locator("#viewer canvas").first.bounding_box()
    assert box is not None
    candidates = _layer_pixels(page, "pointcloud")
    assert candidates, "the point cloud draws nothing"
    candidates = uncovered(page, box, candidates)
    inspector = page.locator('#inspector[data-kind="point"][data-lon]')
    for x, y in candidates[:: max(1, len(candidates) // 15)]:
        page.mouse.click(box["x"] + x, box["y"] + y)
        try:
            inspector.wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            continue
    assert inspector.count() == 1, "no click on a drawn point opened the point inspector"
    code = int(inspector.get_attribute("data-feature-id"))
    intensity = int(page.locator('#inspector tr[data-name="intensity"] td').inner_text())
    height_text, unit = page.locator('#inspector tr[data-name="height_m"] td').inner_text().split()
    assert unit == "m"
    assert page.locator('#inspector tr[data-name="class"] td').inner_text() in inspector.inner_text()

    # Against the data: a LiDAR return near the picked position has exactly this class and intensity.
    las = laspy.read(lidar)
    crs = CRS.from_user_input(las.header.parse_crs())
    lon, lat, height = (float(inspector.get_attribute(f"data-{k}")) for k in ("lon", "lat", "height"))
    x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat)
    xyz = np.column_stack([las.x, las.y, las.z])
    near = np.hypot(xyz[:, 0] - x, xyz[:, 1] - y) < 1.5
    matches = near & (np.asarray(las.classification) == code) & (np.asarray(las.intensity) == intensity)
    assert matches.any(), f"no return within 1.5 m of ({x:.2f}, {y:.2f}) has class {code} and intensity {intensity}"
    assert np.abs(xyz[matches, 2] - float(height_text)).min() < 1.5 and abs(height - float(height_text)) < 0.01

    # Colour by intensity: the points turn grey (the style replaces the photo colours).
    page.locator("#inspector .rs3d-close").click()
    page.locator('[data-layer="pointcloud"] select').first.select_option("intensity")
    canvas_picture(page)  # let it render
    shot = Image.open(BytesIO(page.locator("#viewer canvas").first.screenshot())).convert("RGB")
    pixels = [shot.getpixel(point) for point in candidates[:: max(1, len(candidates) // 400)]]
    grey = [max(p) - min(p) <= 12 for p in pixels]
    assert sum(grey) >= 0.9 * len(grey), f"only {sum(grey)} of {len(grey)} point pixels are grey"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "inspect_point.png"))
    assert watched.errors == []
    page.close()
