"""A job run end to end in the test process's worker role, then the API and pages that show its result."""

import gzip
import json

import pytest
from django.contrib.gis.geos import GEOSGeometry

from backend.areas.models import Area, Feature
from backend.jobs.models import Job
from backend.jobs.services import run_job
from reconstruction import STAGES
from tests.backend.conftest import TEST_SECRET_KEY, listing
from tests.conftest import generated_city

pytestmark = pytest.mark.django_db


def _upload(api, scene_files, with_dsm=True):
    files = {"ortho": scene_files["ortho"].open("rb")}
    if with_dsm:
        files["dsm"] = scene_files["dsm"].open("rb")
    try:
        response = api.post("/api/areas/", {"name": "Test town", **files}, format="multipart")
    finally:
        for handle in files.values():
            handle.close()
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def finished_area(api, scene_files, replayed_runs):
    """The generated city uploaded and reconstructed (the run itself is real once per session: replayed_runs)."""
    body = _upload(api, scene_files)
    run_job(body["job"]["id"])
    return body


def test_job_publishes_a_version_with_layers_and_features(api, finished_area, media_root):
    job = api.get(f"/api/jobs/{finished_area['job']['id']}/").json()
    assert job["status"] == "succeeded" and job["progress"] == 1.0 and job["version"] == 1
    area = api.get(f"/api/areas/{finished_area['id']}/").json()
    assert area["status"] == "ready" and area["version"] == 1 and area["crs"] == "EPSG:32631"
    layers = {item["name"]: item for item in area["layers"]}
    assert set(layers) == {"pointcloud", "buildings", "terrain", "trees", "roads"}
    assert all(layers[name]["kind"] == "mesh" for name in ("buildings", "terrain", "trees", "roads"))
    layer, buildings = layers["pointcloud"], layers["buildings"]
    assert buildings["tileset_url"].endswith("/tiles/buildings/tileset.json")
    glb_tileset = json.loads(b"".join(api.get(buildings["tileset_url"]).streaming_content))
    assert glb_tileset["asset"]["version"] == "1.1"
    assert layer["kind"] == "pointcloud" and layer["tileset_url"].endswith("/tiles/pointcloud/tileset.json")
    # The rules' classes, plus road and water where the model refines ground cells.
    assert {"2", "6"} <= set(layer["classes"]) <= {"1", "2", "3", "5", "6", "9", "11"}
    assert area["height_source"] == "dsm" and area["model"]["name"] == "citynet-v1"
    tileset = api.get(layer["tileset_url"])
    assert tileset.status_code == 200 and tileset["Content-Type"] == "application/json"
    assert "immutable" in tileset["Cache-Control"]
    assert json.loads(b"".join(tileset.streaming_content))["root"]["children"]
    west, south, east, north = area["bbox_wgs84"]
    assert west < east and south < north and area["height_offset_m"] < -100  # ground is ~170 m high
    assert api.get(area["imagery"]["url"])["Content-Type"] == "image/png"
    names = listing(media_root / "areas" / str(area["id"]))
    assert "v1/manifest.json" in names and not any(".staging/" in n for n in names)


def test_job_logs_every_stage(finished_area):
    job = Job.objects.get(pk=finished_area["job"]["id"])
    stages = list(dict.fromkeys(job.events.values_list("stage", flat=True)))
    # Every stage of the pipeline that has work here, in order (no stereo pair, nothing to register).
    names = [name for name, _ in STAGES if name not in ("stereo", "register")]
    assert [stage for stage in stages if stage in (name for name, _ in STAGES)] == names


def test_features_are_geojson_filterable_by_class_and_bbox(api, finished_area):
    url = f"/api/areas/{finished_area['id']}/features/"
    everything = api.get(url).json()
    assert everything["type"] == "FeatureCollection"
    classes = {f["properties"]["class"] for f in everything["features"]}
    assert {"building", "tree", "road", "land_use"} <= classes
    assert classes <= {"building", "tree", "low_vegetation", "road", "water", "land_use"}
    roads = api.get(url, {"class": "road"}).json()["features"]
    assert all(f["properties"]["grade"] in {"primary", "secondary", "local"} for f in roads)
    buildings = api.get(url, {"class": "building"}).json()["features"]
    assert buildings and all(f["properties"]["class"] == "building" for f in buildings)
    assert all(f["properties"]["height_m"] > 2 for f in buildings)
    assert len(buildings) == Feature.objects.filter(kind="building").count()
    west, south, east, north = api.get(f"/api/areas/{finished_area['id']}/").json()["bbox_wgs84"]
    half = api.get(url, {"bbox": f"{west},{south},{(west + east) / 2},{north}"}).json()["features"]
    assert 0 < len(half) < len(everything["features"])
    assert api.get(url, {"bbox": "1,2,3"}).status_code == 400


def test_orthophoto_only_reconstructs_and_names_the_model(api, scene_files):
    body = _upload(api, scene_files, with_dsm=False)
    run_job(body["job"]["id"])
    job = api.get(f"/api/jobs/{body['job']['id']}/").json()
    assert job["status"] == "succeeded", job["error"]
    assert any("predicted from the orthophoto by citynet-v1 1.0" in w for w in job["warnings"])
    area = api.get(f"/api/areas/{body['id']}/").json()
    assert area["status"] == "ready" and area["height_source"] == "predicted"
    assert area["model"]["name"] == "citynet-v1" and area["model"]["version"] == "1.0"
    buildings = api.get(area["features_url"], {"class": "building"}).json()["features"]
    assert buildings and all(0 < f["properties"]["class_confidence"] <= 1 for f in buildings)


def test_second_run_publishes_version_two_and_keeps_the_first(api, finished_area, scene_files, media_root):
    from backend.jobs.services import start_job

    area = Area.objects.get(pk=finished_area["id"])
    job = start_job(area)
    run_job(job.pk)
    area.refresh_from_db()
    assert area.current.version == 2
    assert (media_root / "areas" / str(area.pk) / "v1" / "manifest.json").is_file()


def test_cancelled_job_does_not_run(api, scene_files):
    body = _upload(api, scene_files)
    assert api.post(f"/api/jobs/{body['job']['id']}/cancel/").json()["status"] == "cancelled"
    run_job(body["job"]["id"])
    assert Job.objects.get(pk=body["job"]["id"]).status == Job.Status.CANCELLED
    assert Area.objects.get(pk=body["id"]).current is None


def test_data_urls_never_leave_the_version_folder(web, finished_area):
    base = f"/areas/{finished_area['id']}/data/1/"
    assert web.get(base + "manifest.json").status_code == 200
    for path in ("../sources/dsm/dsm.tif", "..%2F..%2Fdb.sqlite3", "/etc/passwd", "nothing.json"):
        assert web.get(base + path).status_code == 404
    assert web.get(f"/areas/{finished_area['id']}/data/9/manifest.json").status_code == 404


def test_pages_render(web, finished_area):
    assert "Test town" in web.get("/").content.decode()
    page = web.get(f"/areas/{finished_area['id']}/view/").content.decode()
    assert 'id="rs3d-config"' in page and f"/api/areas/{finished_area['id']}/" in page
    assert "Test town" in web.get(f"/areas/{finished_area['id']}/").content.decode()
    assert web.get("/areas/new/").status_code == 200
    assert web.get("/areas/999/view/").status_code == 404


def test_openapi_schema_and_docs(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/areas/", "/api/areas/{id}/", "/api/areas/{id}/features/", "/api/jobs/{id}/"} <= set(paths)
    assert client.get("/api/docs/").status_code == 200


def test_backend_never_loads_the_native_geo_stack():
    import os
    import subprocess
    import sys

    code = (
        "import os, sys, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'backend.settings'; django.setup();"
        "import backend.urls, backend.asgi, backend.jobs.services, backend.jobs.tasks, backend.areas.publish;"
        "print(','.join(m for m in ('shapely', 'rasterio', 'pyogrio', 'laspy', 'torch') if m in sys.modules))"
    )
    env = {**os.environ, "RS3D_SECRET_KEY": TEST_SECRET_KEY}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert done.stdout.strip() == ""


def test_features_filter_by_attribute_conditions_and_point(api, finished_area):
    url = f"/api/areas/{finished_area['id']}/features/"
    buildings = api.get(url, {"class": "building"}).json()["features"]
    heights = sorted(f["properties"]["height_m"] for f in buildings)
    middle = heights[len(heights) // 2]
    tall = api.get(url, {"class": "building", "where": f"height_m>={middle}"}).json()["features"]
    assert sorted(f["properties"]["height_m"] for f in tall) == [h for h in heights if h >= middle]
    both = api.get(url, {"where": [f"height_m>={middle}", f"height_m<{heights[-1]}"]}).json()["features"]
    assert both and all(middle <= f["properties"]["height_m"] < heights[-1] for f in both)
    kind = buildings[0]["properties"]["building_type"]
    same = api.get(url, {"where": f"building_type={kind}"}).json()["features"]
    assert same and all(f["properties"]["building_type"] == kind for f in same)
    other = api.get(url, {"class": "building", "where": f"building_type!={kind}"}).json()["features"]
    assert len(same) + len(other) == len(buildings)
    # A point inside a building finds that building, and the land-use block it stands in.
    inside = GEOSGeometry(json.dumps(buildings[0]["geometry"])).point_on_surface
    here = api.get(url, {"point": f"{inside.x},{inside.y}"}).json()["features"]
    assert [f["id"] for f in here if f["properties"]["class"] == "building"] == [buildings[0]["id"]]
    assert [f["properties"]["class"] for f in here].count("land_use") <= 1
    for bad in ("height_m>>3", "height_m>=tall", "1x=3"):
        response = api.get(url, {"where": bad})
        assert response.status_code == 400 and "where" in response.json()
    assert api.get(url, {"point": "500,1"}).status_code == 400


def test_features_are_compressed_and_revalidated_without_a_query(api, finished_area, django_assert_max_num_queries):
    url = f"/api/areas/{finished_area['id']}/features/"
    plain = api.get(url, {"class": "building"})
    assert plain["Content-Type"] == "application/geo+json" and "Content-Encoding" not in plain
    zipped = api.get(url, {"class": "building"}, HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Encoding"] == "gzip" and len(zipped.content) < len(plain.content) / 2
    assert gzip.decompress(zipped.content) == plain.content
    with django_assert_max_num_queries(3):  # session, user, area: not the features
        again = api.get(url, {"class": "building"}, HTTP_IF_NONE_MATCH=plain["ETag"])
    assert again.status_code == 304
    other_query = api.get(url, {"class": "tree"}, HTTP_IF_NONE_MATCH=plain["ETag"])
    assert other_query.status_code == 200 and other_query["ETag"] != plain["ETag"]
    asked = api.get(url, {"class": "building"}, HTTP_ACCEPT="application/geo+json")  # its own media type
    assert asked.status_code == 200 and asked.content == plain.content
    assert api.get(url, HTTP_ACCEPT="text/csv").status_code == 406


@pytest.fixture(scope="module")
def lidar_city(tmp_path_factory) -> dict:
    """A generated town's coloured, classified LiDAR at 4 returns per m² (what a national programme ships)."""
    return generated_city(tmp_path_factory.mktemp("lidar-city"), size_m=120, seed=4, lidar_density=4)


def test_a_lidar_file_alone_becomes_a_complete_area_with_an_orthophoto_from_its_colours(api, lidar_city):
    with lidar_city["lidar"].open("rb") as points:
        response = api.post("/api/areas/", {"name": "Points town", "lidar": points}, format="multipart")
    assert response.status_code == 201, response.json()
    run_job(response.json()["job"]["id"])
    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert job.status == Job.Status.SUCCEEDED, job.error
    area = api.get(f"/api/areas/{response.json()['id']}/").json()
    assert area["imagery"]["source"] == "lidar colours" and area["imagery"]["tiles_url"]
    assert {"pointcloud", "buildings", "terrain"} <= {layer["name"] for layer in area["layers"]}
    assert area["height_source"] == "lidar"
    buildings = api.get(area["features_url"], {"class": "building"}).json()["features"]
    assert len(buildings) >= 3 and all(2.5 < b["properties"]["height_m"] < 40 for b in buildings)
    # The cell size came from the density (4 returns per m²: 1 m cells), and the log says so.
    manifest = Area.objects.get(pk=area["id"]).current.manifest
    assert manifest["grid"]["cell_size"]["resolution_m"] == 1.0
    assert job.events.filter(message__contains="points/m").exists()
