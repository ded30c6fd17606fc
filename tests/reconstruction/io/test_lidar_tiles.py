"""Several LiDAR files of one area (a programme's tiles) read as one input."""

from pathlib import Path

import laspy
import numpy as np
import pytest
from pyproj import CRS

from reconstruction.config import Limits, PipelineInputs
from reconstruction.errors import InputError
from reconstruction.io import combine_lidar, inspect_lidar, inspect_lidar_files, read_points

LIMIT = Limits().max_lidar_points


def _tile(path: Path, x0: float, crs: CRS, classes: int = 2, rgb: bool = True, n: int = 400) -> Path:
    """A 20 m x 20 m tile of ``n`` points from ``x0`` (in ``crs``), at 100 m plus a slope."""
    rng = np.random.default_rng(int(x0) % 97)
    header = laspy.LasHeader(point_format=3 if rgb else 1, version="1.4")
    header.add_crs(crs)
    header.offsets, header.scales = [x0, 5_000_000.0, 0.0], [0.001, 0.001, 0.001]
    las = laspy.LasData(header)
    las.x, las.y = x0 + rng.uniform(0, 20, n), 5_000_000.0 + rng.uniform(0, 20, n)
    las.z = 100.0 + 0.01 * (las.x - 500_000.0)
    las.classification = np.full(n, classes, np.uint8)
    las.intensity = np.full(n, 50, np.uint16)
    if rgb:
        las.red, las.green, las.blue = (np.full(n, v, np.uint16) for v in (100, 200, 300))
    las.write(path)
    return path


def test_tiles_are_described_and_read_as_one_input(tmp_path):
    utm = CRS.from_epsg(32631)
    a, b = _tile(tmp_path / "a.las", 500_000, utm), _tile(tmp_path / "b.las", 500_040, utm, classes=6)
    info = inspect_lidar_files([a, b], None, LIMIT)
    assert info.point_count == 800 and info.class_counts == {2: 400, 6: 400}
    assert info.bounds[0] == pytest.approx(500_000, abs=0.1) and info.bounds[2] == pytest.approx(500_060, abs=0.1)
    assert info.label == "LiDAR files 'a.las' and 1 more" and info.warnings == ()
    west, south, east, north = info.bounds
    points = read_points(info, utm, (west - 1, south - 1, east + 1, north + 1), colours=True)
    assert len(points.xyz) == 800 and set(np.unique(points.classification)) == {2, 6}  # the gap between is allowed
    assert points.rgb is not None and points.rgb.shape == (800, 3)
    assert inspect_lidar_files([a], None, LIMIT) == inspect_lidar(a, None, LIMIT)  # one file stays as it is


def test_a_colour_some_tiles_lack_is_dropped_and_mixed_crs_are_said(tmp_path):
    utm = CRS.from_epsg(32631)
    a = inspect_lidar(_tile(tmp_path / "a.las", 500_000, utm), None, LIMIT)
    lambert = CRS.from_epsg(2154)  # the same place in another CRS: each tile is reprojected when read
    b = inspect_lidar(_tile(tmp_path / "b.las", 500_040, utm, rgb=False), None, LIMIT)
    info = combine_lidar([a, b])
    points = read_points(info, utm, (499_990, 4_999_990, 500_070, 5_000_030), colours=True)
    assert points.rgb is None and len(points.xyz) == 800
    mixed = combine_lidar([a, inspect_lidar(_tile(tmp_path / "c.las", 700_000, lambert), None, LIMIT)])
    assert any("different CRSs" in w for w in mixed.warnings)


def test_inputs_take_one_path_or_several_and_travel_as_argv_and_json(tmp_path):
    a, b = tmp_path / "a.laz", tmp_path / "b.laz"
    for path in (a, b):
        path.write_bytes(b"LASF")
    assert PipelineInputs(lidar=a).lidar == (a,)
    both = PipelineInputs(lidar=(a, b))
    assert both.to_argv() == ["--lidar", str(a), str(b)]
    assert PipelineInputs.from_dict(both.to_dict(tmp_path), tmp_path) == both
    old_plan = {"lidar": "a.laz", "stereo": []}  # a plan written when an area took one LiDAR file
    assert PipelineInputs.from_dict(old_plan, tmp_path).lidar == (a,)


def test_a_refused_tile_is_named(tmp_path):
    good = _tile(tmp_path / "good.las", 500_000, CRS.from_epsg(32631))
    bad = tmp_path / "bad.las"
    bad.write_bytes(b"not a point cloud at all")
    with pytest.raises(InputError, match="bad.las"):
        inspect_lidar_files([good, bad], None, LIMIT)
