"""Fuzzing the upload validators: whatever the bytes, a validator accepts or raises InputError, nothing else.

Hypothesis mutates real files (a generated GeoTIFF, a real LAZ, a GeoPackage) by flipping, cutting
and splicing bytes, and also feeds pure noise. A crash, a hang or any exception other than
InputError is a bug: the upload form would show a server error instead of a reason. CI runs a small
number of examples; raise RS3D_FUZZ_EXAMPLES for a long run.
"""

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconstruction.config import Limits
from reconstruction.errors import InputError
from reconstruction.io import inspect_footprints, inspect_lidar, inspect_raster

EXAMPLES = int(os.environ.get("RS3D_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples every run: CI stays reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def mutations(draw, original: bytes) -> bytes:
    """A damaged copy: some bytes flipped, maybe cut short, maybe with a block repeated."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 20))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.booleans()) and data:
        a = draw(st.integers(0, len(data) - 1))
        data[a:a] = data[a : a + draw(st.integers(1, 4096))]
    return bytes(data)


def _accepts_or_refuses(check, data: bytes, path) -> None:
    path.write_bytes(data)
    try:
        check(path)
    except InputError:
        pass


@pytest.fixture(scope="module")
def samples(small_scene_files, shared_data, tmp_path_factory):
    import geopandas as gpd
    import shapely

    gpkg = tmp_path_factory.mktemp("fuzz") / "footprints.gpkg"
    gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 10, 10)], crs="EPSG:2154").to_file(gpkg)
    return {
        "ortho": small_scene_files["ortho"].read_bytes(),
        "dsm": small_scene_files["dsm"].read_bytes(),
        "laz": (shared_data / "bad_inputs" / "no_crs.laz").read_bytes(),
        "gpkg": gpkg.read_bytes(),
    }


@FUZZ
@given(data=st.data())
def test_raster_validator_never_crashes(samples, tmp_path, data):
    kind = data.draw(st.sampled_from(["ortho", "dsm"]))
    blob = data.draw(st.one_of(mutations(samples[kind]), st.binary(max_size=2048)))
    role = "orthophoto" if kind == "ortho" else "DSM"
    _accepts_or_refuses(lambda p: inspect_raster(p, role, 32631, Limits().max_raster_pixels), blob, tmp_path / "x.tif")


@FUZZ
@given(data=st.data())
def test_lidar_validator_never_crashes(samples, tmp_path, data):
    blob = data.draw(st.one_of(mutations(samples["laz"]), st.binary(max_size=2048)))
    _accepts_or_refuses(lambda p: inspect_lidar(p, 2154, Limits().max_lidar_points), blob, tmp_path / "x.laz")


@FUZZ
@given(data=st.data())
def test_footprint_validator_never_crashes(samples, tmp_path, data):
    blob = data.draw(st.one_of(mutations(samples["gpkg"]), st.binary(max_size=2048)))
    _accepts_or_refuses(lambda p: inspect_footprints(p, 2154), blob, tmp_path / "x.gpkg")
