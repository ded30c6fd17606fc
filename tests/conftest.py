"""Fixtures shared by every suite: where the real data lives, and how to skip (or fail in CI) without it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Lock GDAL down (our vector drivers only, no network) before any test module imports pyogrio, as every
# rs3d process does: see reconstruction/gdal_env.py.
import reconstruction.io  # noqa: F401, E402 - imported for that side effect, first

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("RS3D_SHARED_DATA", ROOT.parent / "shared" / "data"))
IN_CI = os.environ.get("CI", "").lower() == "true"

#: Every file of shared/data/bad_inputs with the words its refusal must contain.
BAD_LIDAR = [
    ("corrupt_points.laz", "cannot be read as LAS/LAZ"),
    ("no_crs.laz", "carries no coordinate reference system"),
    ("single_point.laz", "holds 1 point"),
    ("pdal_fail.laz", "holds 89 point"),
]


def require(condition: bool, reason: str) -> None:
    """Skip the test when ``condition`` is false, except in CI, where a missing prerequisite is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true and a prerequisite is missing: {reason}")
    pytest.skip(reason)


def generated_city(folder: Path, size_m: int, seed: int, lidar_density: float | None = None) -> dict[str, Path]:
    """Write a generated city with the CLI, in a child process (the Django suites must not load shapely).

    Returns:
        {"ortho" | "dsm" | "dtm" | "labels": GeoTIFF path}, and "lidar" (coloured, classified LAZ) when a
        ``lidar_density`` (returns per m²) is given.
    """
    command = [sys.executable, "-m", "reconstruction", "synthetic", "--out", str(folder), "--size", str(size_m)]
    if lidar_density is not None:
        command += ["--lidar", str(lidar_density)]
    subprocess.run([*command, "--seed", str(seed)], check=True, capture_output=True)
    files = {name: folder / f"{name}.tif" for name in ("ortho", "dsm", "dtm", "labels")}
    return files | ({"lidar": folder / "lidar.laz"} if lidar_density is not None else {})


_SPARSE_LIDAR = """
import sys, laspy, numpy as np, rasterio
from pyproj import CRS
with rasterio.open(sys.argv[1]) as src:
    b, crs = src.bounds, CRS.from_user_input(src.crs)
n = int((b.right - b.left) * (b.top - b.bottom) / 50)
rng = np.random.default_rng(0)
header = laspy.LasHeader(point_format=3, version="1.4")
header.add_crs(crs)
header.offsets, header.scales = [b.left, b.bottom, 0.0], [0.01, 0.01, 0.01]
las = laspy.LasData(header)
las.x, las.y = rng.uniform(b.left, b.right, n), rng.uniform(b.bottom, b.top, n)
las.z = rng.uniform(170, 175, n)
las.classification = np.full(n, 2, np.uint8)
las.write(sys.argv[2])
"""


def sparse_lidar(dsm: Path, out: Path) -> Path:
    """A valid LAS over the DSM's extent with one return per 50 m²: it passes the upload checks, and the
    reconstruction then refuses it as too sparse (a job that fails for a reason a planner can act on).
    Written in a child process, like :func:`generated_city`."""
    subprocess.run([sys.executable, "-c", _SPARSE_LIDAR, str(dsm), str(out)], check=True, capture_output=True)
    return out


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data folder (../shared/data, or $RS3D_SHARED_DATA)."""
    require(SHARED_DATA.is_dir(), f"real data folder {SHARED_DATA} is absent (set RS3D_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def montpellier(shared_data: Path) -> Path:
    """The co-registered Montpellier block (orthophoto, DSM, DTM, LiDAR)."""
    folder = shared_data / "montpellier"
    require((folder / "dsm_50cm.tif").is_file(), f"{folder} is incomplete")
    return folder


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of Debian's Chromium for browser tests."""
    path = shutil.which("chromium") or "/usr/bin/chromium"
    require(Path(path).is_file(), "Chromium is not installed (apt-get install chromium)")
    return path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse to mix the library's tests with the Django suites in one process.

    Once Django opens its SpatiaLite database, SQLite has loaded the system GEOS/PROJ globally, and the
    wheels' own GEOS in shapely then crashes the process (seen: free() aborts). Production keeps them
    apart the same way: web and worker processes never run the library in-process. scripts/test.sh
    runs the two groups as two pytest processes.
    """
    groups = {
        Path(str(item.fspath)).relative_to(ROOT).parts[1] for item in items if "tests" in Path(str(item.fspath)).parts
    }
    if "reconstruction" in groups and groups & {"backend", "integration"}:
        raise pytest.UsageError(
            "Run tests/reconstruction and the Django suites (tests/backend, tests/integration) in separate pytest "
            "processes: SpatiaLite's system GEOS and shapely's bundled GEOS cannot share one process. "
            "scripts/test.sh does this."
        )
