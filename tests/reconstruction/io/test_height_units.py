"""Heights come out in metres whatever unit a LiDAR or DSM file states, and the unit used is reported."""

from copy import copy

import laspy
import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.enums import Resampling

from reconstruction.config import PipelineConfig, PipelineInputs
from reconstruction.errors import ConfigError
from reconstruction.io import Grid, inspect_lidar, inspect_raster, read_onto_grid, read_points
from reconstruction.io.area import working_grid
from reconstruction.io.raster import HEIGHTS_IN_METRES

US_FT = 1200 / 3937  # the US survey foot, as defined in 1893 (0.3048006096... m)
FT = 0.3048  # the international foot
LIMIT = 10**9
#: NAD83 / UTM 17N (metres) and NAD83 / Florida East (ftUS): the same datum, so only the projection and
#: the unit differ between them and a point's position is known to the millimetre in both.
UTM, FLORIDA_FT = CRS.from_epsg(26917), CRS.from_epsg(2236)
ORIGIN = (560_000.0, 2_950_000.0)  # in UTM 17N, inside the Florida East zone


def _truth(n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points on a 40 m square in UTM metres, ground at 130 m with trees up to 25 m above it."""
    rng = np.random.default_rng(0)
    x, y = ORIGIN[0] + rng.uniform(0, 40, n), ORIGIN[1] + rng.uniform(0, 40, n)
    z = 130.0 + np.where(rng.random(n) < 0.3, rng.uniform(2, 25, n), 0.0)
    return x, y, z


def _write_las(path, crs, to_metre, x, y, z, version="1.4", point_format=6):
    """A LAS whose coordinates are stored in ``crs`` and heights in units of ``to_metre`` metres."""
    header = laspy.LasHeader(point_format=point_format, version=version)
    if crs is not None:
        header.add_crs(crs)
    fx, fy = Transformer.from_crs(UTM, crs or UTM, always_xy=True).transform(x, y)
    header.offsets, header.scales = [float(fx.min()), float(fy.min()), 0.0], [0.001, 0.001, 0.001]
    las = laspy.LasData(header)
    las.x, las.y, las.z = fx, fy, z / to_metre
    las.classification = np.full(len(x), 2, np.uint8)
    las.write(path)
    return path


def _with_geokeys(path, keys):
    """Add GeoTIFF vertical keys (``{id: value}``) to a LAS 1.2 file's key directory, as US surveys write them."""
    las = laspy.read(path)
    directory = las.header.vlrs.get("GeoKeyDirectoryVlr")[0]
    template = directory.geo_keys[0]
    for key_id, value in keys.items():
        entry = copy(template)
        entry.id, entry.tiff_tag_location, entry.count, entry.value_offset = key_id, 0, 1, value
        directory.geo_keys.append(entry)
    directory.geo_keys_header.number_of_keys = len(directory.geo_keys)
    las.write(path)
    return path


@pytest.fixture(scope="module")
def truth():
    return _truth()


def _read(path, truth, z_unit=None):
    info = inspect_lidar(path, None, LIMIT, z_unit)
    x, y, _ = truth
    bounds = (x.min() - 1, y.min() - 1, x.max() + 1, y.max() + 1)
    return info, read_points(info, UTM, bounds)


def _assert_metres(info, points, truth):
    x, y, z = truth
    assert len(points.xyz) == len(x)
    order = np.lexsort((points.xyz[:, 1], points.xyz[:, 0]))
    expected = np.column_stack([x, y, z])[np.lexsort((y, x))]
    np.testing.assert_allclose(points.xyz[order], expected, atol=0.01)  # x, y and z in metres, to the centimetre
    assert info.z_range == pytest.approx((z.min(), z.max()), abs=0.01)


def test_compound_crs_in_us_survey_feet_gives_metres(tmp_path, truth):
    crs = CRS.from_user_input("EPSG:2236+6360")  # Florida East (ftUS) + NAVD88 height (ftUS)
    info, points = _read(_write_las(tmp_path / "us.las", crs, US_FT, *truth), truth)
    _assert_metres(info, points, truth)
    assert info.height_unit.name == "US survey foot" and not info.height_unit.assumed
    assert info.height_unit.to_metre == pytest.approx(0.3048006096, abs=1e-10)
    assert any("US survey feet" in w and "NAVD88 height (ftUS)" in w and "converts" in w for w in info.warnings)


def test_feet_crs_without_vertical_part_assumes_its_horizontal_feet_and_says_so(tmp_path, truth):
    info, points = _read(_write_las(tmp_path / "us.las", FLORIDA_FT, US_FT, *truth), truth)
    _assert_metres(info, points, truth)
    assert info.height_unit.assumed and info.height_unit.name == "US survey foot"
    (warning,) = [w for w in info.warnings if "vertical unit" in w]
    assert "taken to be in US survey feet" in warning and "--z-unit" in warning


def test_international_feet_are_told_apart_from_us_survey_feet(tmp_path, truth):
    arizona_ft = CRS.from_epsg(2222)  # NAD83 / Arizona East (ft): international feet
    x, y, z = truth
    lon, lat = Transformer.from_crs(UTM, 4326, always_xy=True).transform(x, y)
    ax, ay = Transformer.from_crs(4326, 26912, always_xy=True).transform(lon - 31, lat + 6.5)  # into Arizona
    path = tmp_path / "az.las"
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.add_crs(arizona_ft)
    fx, fy = Transformer.from_crs(26912, arizona_ft, always_xy=True).transform(ax, ay)
    header.offsets, header.scales = [float(fx.min()), float(fy.min()), 0.0], [0.001, 0.001, 0.001]
    las = laspy.LasData(header)
    las.x, las.y, las.z = fx, fy, z / FT
    las.classification = np.full(len(x), 2, np.uint8)
    las.write(path)
    info = inspect_lidar(path, None, LIMIT)
    assert info.height_unit.name == "foot" and info.height_unit.to_metre == FT
    assert info.z_range == pytest.approx((z.min(), z.max()), abs=0.01)
    assert any("international feet" in w for w in info.warnings)
    points = read_points(info, CRS.from_epsg(26912), (ax.min() - 1, ay.min() - 1, ax.max() + 1, ay.max() + 1))
    np.testing.assert_allclose(np.sort(points.xyz[:, 2]), np.sort(z), atol=0.01)
    np.testing.assert_allclose(np.sort(points.xyz[:, 0]), np.sort(ax), atol=0.01)


def test_metric_crs_assumes_metres_with_a_warning(tmp_path, truth):
    lambert = CRS.from_epsg(2154)
    x, y, z = truth
    lx, ly = x - ORIGIN[0] + 700_000, y - ORIGIN[1] + 6_600_000
    path = tmp_path / "fr.las"
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.add_crs(lambert)
    header.offsets, header.scales = [700_000.0, 6_600_000.0, 0.0], [0.001, 0.001, 0.001]
    las = laspy.LasData(header)
    las.x, las.y, las.z = lx, ly, z
    las.classification = np.full(len(x), 2, np.uint8)
    las.write(path)
    info = inspect_lidar(path, None, LIMIT)
    assert info.height_unit.to_metre == 1.0 and info.height_unit.assumed
    assert "Lambert-93" in info.height_unit.source  # the manifest says it was assumed ...
    assert not any("vertical unit" in w for w in info.warnings)  # ... but metres on a metric CRS warn nobody
    assert info.z_range == pytest.approx((z.min(), z.max()), abs=0.001)


def test_las_geokeys_state_the_vertical_crs(tmp_path, truth):
    """LAS 1.2 keeps its CRS in GeoTIFF keys; laspy reads only the horizontal one, rs3d the vertical too."""
    path = _write_las(tmp_path / "old.las", FLORIDA_FT, US_FT, *truth, version="1.2", point_format=3)
    _with_geokeys(path, {4096: 6360})  # VerticalCSTypeGeoKey: NAVD88 height (ftUS)
    info, points = _read(path, truth)
    _assert_metres(info, points, truth)
    assert not info.height_unit.assumed and "NAVD88 height (ftUS)" in info.height_unit.source


def test_las_vertical_units_key_beats_the_horizontal_unit(tmp_path, truth):
    path = _write_las(tmp_path / "old.las", FLORIDA_FT, FT, *truth, version="1.2", point_format=3)
    _with_geokeys(path, {4099: 9002})  # VerticalUnitsGeoKey: international foot, though the CRS is in ftUS
    info, points = _read(path, truth)
    _assert_metres(info, points, truth)
    assert info.height_unit.name == "foot" and not info.height_unit.assumed


@pytest.mark.parametrize(("z_unit", "to_metre"), [("m", 1.0), ("ft", FT), ("us-ft", US_FT)])
def test_the_users_unit_wins_over_what_the_file_says(tmp_path, truth, z_unit, to_metre):
    crs = CRS.from_user_input("EPSG:2236+6360")  # states ftUS, but the heights are written in `z_unit`
    info, points = _read(_write_las(tmp_path / "wrong.las", crs, to_metre, *truth), truth, z_unit)
    _assert_metres(info, points, truth)
    assert info.height_unit.source == "the height unit you gave"
    if z_unit != "us-ft":
        assert any("states heights in US survey feet" in w and "as you gave it" in w for w in info.warnings)


def test_an_unknown_unit_is_refused_naming_the_allowed_ones(tmp_path, truth):
    path = _write_las(tmp_path / "us.las", FLORIDA_FT, US_FT, *truth)
    with pytest.raises(ConfigError, match="m, ft, us-ft"):
        inspect_lidar(path, None, LIMIT, "feet")
    with pytest.raises(ConfigError, match="m, ft, us-ft"):
        PipelineInputs(ortho=path, z_unit="yards")


def _ortho(path, crs, left, top, size_m, cell):
    """A small RGB orthophoto with some texture (rs3d refuses a blank one)."""
    n = int(size_m / cell)
    rgb = (np.indices((n, n)).sum(axis=0) % 7 * 30).astype(np.uint8)
    profile = dict(driver="GTiff", width=n, height=n, count=3, dtype="uint8", crs=crs)
    with rasterio.open(path, "w", transform=Affine(cell, 0, left, 0, -cell, top), **profile) as dst:
        dst.write(np.stack([rgb] * 3))
    return path


@pytest.mark.parametrize("ortho_in_feet", [False, True])
def test_feet_lidar_lands_on_a_metric_working_grid(tmp_path, truth, ortho_in_feet):
    x, y, _ = truth
    las = _write_las(tmp_path / "us.las", FLORIDA_FT, US_FT, *truth)
    if ortho_in_feet:  # nothing metric: the working CRS is the UTM zone
        left, top = Transformer.from_crs(UTM, FLORIDA_FT, always_xy=True).transform(ORIGIN[0], ORIGIN[1] + 40)
        ortho = _ortho(tmp_path / "o.tif", FLORIDA_FT, left, top, 40 / US_FT, 1.0)
    else:
        ortho = _ortho(tmp_path / "o.tif", UTM, ORIGIN[0], ORIGIN[1] + 40, 40, 0.25)
    ortho_info = inspect_raster(ortho, "orthophoto", None, LIMIT)
    grid = working_grid(ortho_info, None, inspect_lidar(las, None, LIMIT), PipelineConfig())
    assert all(axis.unit_name == "metre" for axis in grid.crs.axis_info[:2])
    west, south, east, north = Transformer.from_crs(grid.crs, UTM, always_xy=True).transform_bounds(*grid.bounds)
    assert east - west == pytest.approx(x.max() - x.min(), abs=1.0)  # 40 m, not 40 / 0.3048 = 131 "m"
    assert north - south == pytest.approx(y.max() - y.min(), abs=1.0)


def _dsm(path, crs, heights, tags=None, units=None):
    profile = dict(driver="GTiff", width=20, height=20, count=1, dtype="float32", crs=crs, nodata=-9999.0)
    transform = Affine(3.0, 0, 1_000_000.0, 0, -3.0, 800_000.0)  # read back on its own grid: any place will do
    with rasterio.open(path, "w", transform=transform, **profile) as dst:
        dst.write(heights[np.newaxis].astype(np.float32))
        if tags:
            dst.update_tags(**tags)
        if units:
            dst.units = (units,)
    return path


@pytest.fixture(scope="module")
def dsm_truth():
    return 130.0 + np.add.outer(np.arange(20.0), np.arange(20.0))  # metres


def _dsm_on_own_grid(info):
    grid = Grid(info.crs, info.transform, info.width, info.height)
    return read_onto_grid(info, grid, Resampling.nearest)[0]


@pytest.mark.parametrize(
    ("crs", "stored_to_metre", "unit", "assumed"),
    [
        ("EPSG:2236+6360", US_FT, "US survey foot", False),
        ("EPSG:2236", US_FT, "US survey foot", True),
        ("EPSG:2222", FT, "foot", True),
        ("EPSG:2154", 1.0, "metre", True),
    ],
)
def test_dsm_heights_come_out_in_metres(tmp_path, dsm_truth, crs, stored_to_metre, unit, assumed):
    path = _dsm(tmp_path / "dsm.tif", CRS.from_user_input(crs).to_wkt(), dsm_truth / stored_to_metre)
    info = inspect_raster(path, "DSM", None, LIMIT)
    assert (info.height_unit.name, info.height_unit.assumed) == (unit, assumed)
    np.testing.assert_allclose(_dsm_on_own_grid(info), dsm_truth, atol=0.01)
    # An assumed unit is a warning, except metres: nearly every metric file states no vertical CRS.
    assert any("states no vertical unit" in w for w in info.warnings) == (assumed and stored_to_metre != 1.0)


def test_dsm_override_and_band_unit(tmp_path, dsm_truth):
    metric = CRS.from_epsg(2154).to_wkt()
    feet = _dsm(tmp_path / "ft.tif", metric, dsm_truth / FT, units="ft")  # the band says feet, the CRS metres
    info = inspect_raster(feet, "DSM", None, LIMIT)
    assert info.height_unit.name == "foot" and not info.height_unit.assumed
    np.testing.assert_allclose(_dsm_on_own_grid(info), dsm_truth, atol=0.01)
    us = _dsm(tmp_path / "us.tif", metric, dsm_truth / US_FT)
    info = inspect_raster(us, "DSM", None, LIMIT, z_unit="us-ft")
    np.testing.assert_allclose(_dsm_on_own_grid(info), dsm_truth, atol=0.01)
    assert any("read in US survey feet as you gave it" in w for w in info.warnings)


def test_a_dsm_rs3d_wrote_in_metres_ignores_the_users_unit(tmp_path, dsm_truth):
    """A registered or stereo DSM is already converted: a --z-unit meant for the user's LiDAR must not apply."""
    path = _dsm(tmp_path / "registered.tif", CRS.from_epsg(2236).to_wkt(), dsm_truth, tags=HEIGHTS_IN_METRES)
    info = inspect_raster(path, "DSM", None, LIMIT, z_unit="us-ft")
    assert info.height_unit.to_metre == 1.0
    np.testing.assert_allclose(_dsm_on_own_grid(info), dsm_truth, atol=0.001)


def test_z_unit_travels_with_the_inputs(tmp_path):
    ortho = tmp_path / "o.tif"
    ortho.write_bytes(b"")
    inputs = PipelineInputs(ortho=ortho, z_unit="us-ft")
    assert inputs.to_argv()[-2:] == ["--z-unit", "us-ft"]
    assert PipelineInputs.from_dict(inputs.to_dict(tmp_path), tmp_path) == inputs
    assert PipelineInputs.from_dict(PipelineInputs(ortho=ortho).to_dict(tmp_path), tmp_path).z_unit is None
