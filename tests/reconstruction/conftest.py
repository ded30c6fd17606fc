"""Fixtures for the library's tests: small synthetic scenes written to disk."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconstruction.synthetic import SceneConfig, SyntheticScene, generate_scene, write_scene


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Torch on one thread for the test: two OpenMP threads on a shared two-core runner spin-wait and can run ten
    times slower. A module opts in with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch  # here, not at the top: most of the library's tests never load torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def small_scene() -> SyntheticScene:
    """A 120 m generated city at 0.5 m (DSM 240 x 240)."""
    return generate_scene(SceneConfig(size_m=120.0, seed=3))


@pytest.fixture(scope="session")
def small_scene_files(small_scene: SyntheticScene, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The small scene written as GeoTIFFs (ortho, dsm, dtm, labels)."""
    return write_scene(small_scene, tmp_path_factory.mktemp("scene"))


@pytest.fixture(scope="session")
def montpellier_lidar_grid(montpellier: Path) -> tuple:
    """IGN's nDSM and DTM of the Montpellier block (0.5 m), their grid, and the LiDAR points on it."""
    import numpy as np
    import rasterio
    from pyproj import CRS

    from reconstruction.io import Grid, inspect_lidar, read_points

    with rasterio.open(montpellier / "ndsm_dhm_50cm.tif") as src:
        ndsm = src.read(1, masked=True).filled(np.nan).astype(np.float32)
        grid = Grid(CRS.from_user_input(src.crs), src.transform, src.width, src.height)
    with rasterio.open(montpellier / "dtm_50cm.tif") as src:
        dtm = src.read(1, masked=True).filled(np.nan).astype(np.float32)
    info = inspect_lidar(montpellier / "lidar_77055_627760.laz", None, 10**9)
    return ndsm, dtm, grid, read_points(info, grid.crs, grid.bounds)
