import shutil

import numpy as np
import pytest
from pyproj import CRS

from reconstruction.errors import InputError
from reconstruction.io import inspect_lidar, read_points
from tests.conftest import BAD_LIDAR

LIMIT = 10**9


def test_montpellier_lidar_is_described(montpellier):
    info = inspect_lidar(montpellier / "lidar_77055_627760.laz", None, LIMIT)
    assert info.point_count == 60653
    assert info.crs.to_epsg() == 2154
    assert set(info.class_counts) == {1, 2, 3, 4, 5, 6}
    assert 0.3 < info.ground_share < 0.5


@pytest.mark.parametrize(("name", "message"), BAD_LIDAR)
def test_every_bad_input_gets_a_clear_error(shared_data, name, message):
    with pytest.raises(InputError, match=message):
        inspect_lidar(shared_data / "bad_inputs" / name, None, LIMIT)


def test_no_crs_lidar_works_with_an_epsg_code(shared_data):
    info = inspect_lidar(shared_data / "bad_inputs" / "no_crs.laz", 2154, LIMIT)
    assert info.point_count == 17845 and info.crs.to_epsg() == 2154


def test_truncated_laz_is_refused(tmp_path, montpellier):
    whole = (montpellier / "lidar_77055_627760.laz").read_bytes()
    cut = tmp_path / "cut.laz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError):
        inspect_lidar(cut, None, LIMIT)


def test_not_a_point_cloud_is_refused(tmp_path):
    fake = tmp_path / "fake.laz"
    fake.write_text("LASF but not really")
    with pytest.raises(InputError, match="cannot be read"):
        inspect_lidar(fake, None, LIMIT)


def test_point_limit(montpellier):
    with pytest.raises(InputError, match="more than the limit"):
        inspect_lidar(montpellier / "lidar_77055_627760.laz", None, max_points=1000)


def test_read_points_reprojects_and_crops(montpellier, tmp_path):
    src = tmp_path / "m.laz"
    shutil.copy(montpellier / "lidar_77055_627760.laz", src)
    info = inspect_lidar(src, None, LIMIT)
    bounds = (770560.0, 6277560.0, 770580.0, 6277580.0)
    points = read_points(info, CRS.from_epsg(2154), bounds)
    assert len(points.xyz) > 1000
    assert points.xyz[:, 0].min() >= 770560 and points.xyz[:, 0].max() < 770580
    assert set(np.unique(points.classification)) <= {1, 2, 3, 4, 5, 6}


def test_the_bad_input_table_covers_every_file_in_bad_inputs(shared_data):
    assert {p.name for p in (shared_data / "bad_inputs").iterdir()} == {name for name, _ in BAD_LIDAR}


def test_a_copc_shaped_laz_is_read_as_laz(tmp_path):
    """COPC is LAZ 1.4 (point format 6-8) whose first VLR is ``copc`` info; laspy reads it as any LAZ.

    laspy writes no COPC (its ``laspy.copc`` only reads, and needs the octree hierarchy), so this file has
    the COPC header and info VLR but no hierarchy: what the door sees of a real ``.copc.laz``.
    """
    import laspy

    header = laspy.LasHeader(point_format=6, version="1.4")
    header.add_crs(CRS.from_epsg(2154))
    header.vlrs.insert(0, laspy.VLR(user_id="copc", record_id=1, record_data=bytes(160), description="copc info"))
    header.scales, header.offsets = np.array([0.01] * 3), np.array([700000.0, 6600000.0, 0.0])
    points = laspy.ScaleAwarePointRecord.zeros(400, header=header)
    rng = np.random.default_rng(0)
    points.x, points.y = 700000 + rng.uniform(0, 20, 400), 6600000 + rng.uniform(0, 20, 400)
    points.z, points.classification = rng.uniform(30, 40, 400), np.full(400, 2, np.uint8)
    path = tmp_path / "tile.copc.laz"
    with laspy.open(path, mode="w", header=header, do_compress=True) as writer:
        writer.write_points(points)
    with laspy.open(path) as reader:
        assert [v.user_id for v in reader.header.vlrs][:1] == ["copc"]
    info = inspect_lidar(path, None, LIMIT)
    assert info.point_count == 400 and info.crs.to_epsg() == 2154 and info.class_counts == {2: 400}
