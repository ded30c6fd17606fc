"""Uploads must never reach beyond themselves: allow-listed drivers, no network, a file names only itself.

Every crafted file of ``tests/hostile_files.py`` goes through ``python -m reconstruction check``, exactly as
the web app's upload check runs it, and must be refused with its reason while a loopback listener, the
target of every URL in the corpus, hears nothing. The GDAL lock is also tested on its own, without our
checks in front of it: the drivers pyogrio registers, and requests GDAL would make.
"""

import json
import re
import subprocess
import sys
import textwrap

import geopandas as gpd
import pytest
import shapely

from reconstruction.errors import InputError
from reconstruction.gdal_env import VECTOR_DRIVERS
from reconstruction.io.user_files import sniff, user_path
from tests.hostile_files import Listener, build_corpus, build_sidecar_corpus, run_check, write_image

CLI_FLAG = {"stereo_1": "--stereo", "second_image": "--second-image"}


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.fixture
def victims(tmp_path, small_scene_files):
    """Stand-ins for another, private area's files on the server's disk."""
    gpkg = tmp_path / "private" / "buildings.gpkg"
    gpkg.parent.mkdir()
    gpd.GeoDataFrame({"id": [1]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:32631").to_file(gpkg, layer="buildings")
    return gpkg, small_scene_files["ortho"]


def test_every_crafted_file_is_refused_by_check_and_nothing_is_fetched(listener, victims, small_scene_files, tmp_path):
    ortho = small_scene_files["ortho"]
    for case in build_corpus(tmp_path / "corpus", listener, *victims):
        if case.field == "ortho":
            args = ["--ortho", case.path]
        elif case.field == "stereo_1":
            args = ["--stereo", case.path, ortho]
        else:
            args = ["--ortho", ortho, CLI_FLAG.get(case.field, f"--{case.field}"), case.path]
        code, report = run_check(*args)
        assert code == 2 and report["type"] == "error", (case.name, report)
        assert case.path.name in report["message"], (case.name, report["message"])
        assert str(tmp_path) not in report["message"], "messages name files, never server folders"
        assert re.search(case.reason, report["message"]), (case.name, report["message"])
    assert listener.requests == []


@pytest.mark.parametrize(
    "given",
    [
        "/vsicurl/{url}/buildings.gpkg",
        "/vsizip//vsicurl/{url}/a.zip/a.shp",
        "GPKG:{victim}:buildings",
        "WMS:{url}/wms",
        "{url}/buildings.geojson",
        "<OGRVRTDataSource/>",
    ],
)
def test_names_that_are_gdal_paths_urls_or_connection_strings_are_refused(listener, victims, small_scene_files, given):
    name = given.format(url=listener.url, victim=victims[0])
    code, report = run_check("--ortho", small_scene_files["ortho"], "--footprints", name)
    assert code == 2
    assert any(
        words in report["message"]
        for words in ("GDAL virtual path", "URL or a GDAL connection string", "inline content")
    ), report
    assert listener.requests == []


def test_a_geojson_whose_crs_is_a_link_does_not_make_gdal_fetch_it(listener, small_scene_files, tmp_path):
    link = {"type": "link", "properties": {"href": f"{listener.url}/crs.prj", "type": "proj4"}}
    box = [[[574000, 5096000], [574010, 5096000], [574010, 5096010], [574000, 5096000]]]
    feature = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": box}}
    path = tmp_path / "linked.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "crs": link, "features": [feature]}))
    run_check("--ortho", small_scene_files["ortho"], "--footprints", path, "--epsg", "32631")
    assert listener.requests == []  # before the lock, GDAL sent "GET /crs.prj" here


def test_gdal_itself_cannot_reach_the_network_once_reconstruction_io_is_imported(listener, tmp_path):
    """The lock alone, with none of our checks in front: every way GDAL knows to fetch fails locally."""
    link = {"type": "link", "properties": {"href": f"{listener.url}/crs", "type": "proj4"}}
    geojson = tmp_path / "link.geojson"
    geojson.write_text(json.dumps({"type": "FeatureCollection", "crs": link, "features": []}))
    script = textwrap.dedent(
        f"""
        import os
        os.environ["no_proxy"] = "127.0.0.1,localhost"  # a deployment's usual exemption must not reopen it
        import reconstruction.io
        import pyogrio, rasterio
        from rasterio.crs import CRS
        attempts = [
            lambda: rasterio.open("/vsicurl/{listener.url}/a.tif"),
            lambda: rasterio.open("/vsis3/bucket/a.tif"),
            lambda: pyogrio.read_info("/vsicurl/{listener.url}/a.geojson"),
            lambda: pyogrio.read_info("{listener.url}/a.geojson"),
            lambda: pyogrio.read_info("{geojson}"),
            lambda: CRS.from_user_input("{listener.url}/crs"),
        ]
        for attempt in attempts:
            try:
                attempt()
            except Exception:
                pass
        print(sorted(pyogrio.list_drivers()))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert listener.requests == []
    # Exactly our vector drivers: a new pyogrio with a driver we never named fails here first.
    assert set(json.loads(done.stdout.strip().splitlines()[-1].replace("'", '"'))) == VECTOR_DRIVERS


def test_a_raster_with_a_sidecar_gdal_would_open_as_a_dataset_is_refused(small_scene_files, tmp_path):
    from reconstruction.io import inspect_raster

    ortho = tmp_path / "ortho.tif"
    ortho.write_bytes(small_scene_files["ortho"].read_bytes())
    (tmp_path / "ortho.tif.ovr").write_text("<VRTDataset rasterXSize='1' rasterYSize='1'/>")
    with pytest.raises(InputError, match=r"Next to the orthophoto 'ortho.tif' lies 'ortho.tif.ovr'"):
        inspect_raster(ortho, "orthophoto", None, 10**9)
    (tmp_path / "ortho.tif.ovr").write_bytes(small_scene_files["dsm"].read_bytes())  # a real TIFF: fine
    assert inspect_raster(ortho, "orthophoto", None, 10**9).width > 0


@pytest.mark.parametrize(
    ("head", "suffix", "found"),
    [
        (b"II*\x00\x08\x00", ".tif", "GeoTIFF"),
        (b"\x00\x00\x00\x0cjP  \r\n\x87\n", ".jp2", "JPEG 2000"),
        (b"NITF02.10", ".ntf", "NITF"),
        (b"LASF\x00\x00", ".laz", "LAS/LAZ"),
        (b"SQLite format 3\x00" + b"\x00" * 52 + b"GPKG", ".gpkg", "GeoPackage"),
        (b"SQLite format 3\x00" + b"\x00" * 56, ".gpkg", "SQLite"),
        (b'\xef\xbb\xbf  {"type": "FeatureCollection"}', ".geojson", "GeoJSON"),
        (b'{"type": "FeatureCollection"}', ".txt", "JSON"),
        (b'  <?xml version="1.0"?><VRTDataset>', ".tif", "XML"),
        (b'id,wkt\n1,"POLYGON((0 0,1 0,1 1,0 0))" <OGRVRTDataSource>', ".csv", "GDAL pointer"),
        (b"id,wkt\n1,POINT (0 0)\n", ".csv", "CSV"),
        (b"PK\x03\x04\x14\x00", ".zip", "zipped Shapefile"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", ".jpg", "JPEG"),
    ],
)
def test_the_first_bytes_decide_the_format_not_the_name(tmp_path, head, suffix, found):
    path = tmp_path / f"file{suffix}"
    path.write_bytes(head)
    assert sniff(path) == found


def test_user_path_returns_an_absolute_regular_file(tmp_path, monkeypatch):
    (tmp_path / "a.tif").write_bytes(b"II*\x00")
    monkeypatch.chdir(tmp_path)
    assert user_path("a.tif", "orthophoto") == tmp_path / "a.tif"
    with pytest.raises(InputError, match="not a regular file"):
        user_path(tmp_path, "orthophoto")
    with pytest.raises(InputError, match="null byte"):
        user_path("a\0.tif", "orthophoto")


def test_every_hostile_sidecar_is_refused_by_check_and_nothing_is_fetched(listener, small_scene_files, tmp_path):
    cases = build_sidecar_corpus(tmp_path / "sidecars", listener, small_scene_files["ortho"])
    assert len(cases) == 12
    for case in cases:
        code, report = run_check("--ortho", case.path, "--epsg", "32631")
        assert code == 2 and report["type"] == "error", (case.name, report)
        assert case.path.name in report["message"], (case.name, report["message"])
        assert str(tmp_path) not in report["message"], "messages name files, never server folders"
        assert re.search(case.reason, report["message"]), (case.name, report["message"])
    assert listener.requests == []


def test_gdal_reads_no_georeferencing_sidecar_that_was_not_checked(small_scene_files, tmp_path):
    """A JPEG's MapInfo .tab would georeference it (GDAL's JPEG driver ignores GEOREF_SOURCES): refused."""
    from reconstruction.io import inspect_raster

    image = write_image(tmp_path / "photo.jpg", small_scene_files["ortho"], "JPEG")
    (tmp_path / "photo.jgw").write_text("0.5\n0\n0\n-0.5\n574000.25\n5096079.75\n")
    assert inspect_raster(image, "orthophoto", 32631, 10**9).transform.c == 574000
    (tmp_path / "photo.tab").write_text("!table\nDefinition Table\n")
    with pytest.raises(InputError, match=r"'photo.tab', a MapInfo georeferencing file, which rs3d does not read"):
        inspect_raster(image, "orthophoto", 32631, 10**9)
