"""The map you already have (footprints) and the model registry: choose a model, train one on an area."""

import json
import os
import subprocess
import sys

import pytest
from django.test import Client
from rest_framework.test import APIClient

from backend.areas.models import Area, Feature, Source
from backend.areas.permissions import set_sharing
from backend.jobs.models import Job
from backend.jobs.services import run_job
from backend.models_registry.catalog import shipped_models
from backend.models_registry.models import ModelVersion
from backend.models_registry.services import run_training
from tests.backend.conftest import TEST_SECRET_KEY, listing

pytestmark = pytest.mark.django_db

# Building outlines of a generated city's labels (ASPRS class 6) as WGS 84 GeoJSON, written in a child
# process like every geo file of these suites (the Django process must not load shapely).
_FOOTPRINTS_FROM_LABELS = """
import json, sys, numpy as np, rasterio
from rasterio.features import shapes
from rasterio.warp import transform_geom
with rasterio.open(sys.argv[1]) as src:
    labels, transform, crs = src.read(1), src.transform, src.crs
mask = labels == 6
features = [
    {"type": "Feature", "properties": {"id": i}, "geometry": transform_geom(crs, "EPSG:4326", geometry)}
    for i, (geometry, _) in enumerate(shapes(mask.astype(np.uint8), mask=mask, transform=transform))
]
open(sys.argv[2], "w").write(json.dumps({"type": "FeatureCollection", "features": features}))
"""


def _post(api, name="Block", **fields):
    handles = {key: value.open("rb") for key, value in fields.items() if hasattr(value, "open")}
    data = {"name": name, **{key: value for key, value in fields.items() if key not in handles}, **handles}
    try:
        return api.post("/api/areas/", data, format="multipart")
    finally:
        for handle in handles.values():
            handle.close()


def _client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def _area_with_sources(owner, *kinds: str) -> Area:
    """An area whose Source rows say which files it has (the files themselves are not needed here)."""
    area = Area.objects.create(name="Rows only", owner=owner)
    for kind in kinds:
        Source.objects.create(area=area, kind=kind, path=f"nowhere/{kind}", original_name=kind, size=1)
    return area


# --- footprints ------------------------------------------------------------------------------------


def test_footprints_are_stored_and_guide_the_buildings(api, scene_files, tmp_path):
    footprints = tmp_path / "cadastre.geojson"
    command = [sys.executable, "-c", _FOOTPRINTS_FROM_LABELS, str(scene_files["labels"]), str(footprints)]
    subprocess.run(command, check=True, capture_output=True)
    response = _post(api, ortho=scene_files["ortho"], dsm=scene_files["dsm"], footprints=footprints)
    assert response.status_code == 201, response.json()
    source = Source.objects.get(area_id=response.json()["id"], kind=Source.Kind.FOOTPRINTS)
    assert source.original_name == "cadastre.geojson" and source.file.is_file()
    run_job(response.json()["job"]["id"])
    assert Job.objects.get(pk=response.json()["job"]["id"]).status == Job.Status.SUCCEEDED
    buildings = Feature.objects.filter(kind="building")
    sources = [b.attributes.get("footprint_source") for b in buildings]
    assert sources and sources.count("map") >= 0.5 * len(sources), sources


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [2.0, 48.0]}}
                ],
            },  # noqa: E501
            "must be polygons",
        ),
        ("{not json at all", "cannot be read as a GeoJSON file"),
    ],
)
def test_bad_footprints_are_refused_with_the_reason_and_leave_nothing(
    api, scene_files, tmp_path, media_root, content, reason
):
    bad = tmp_path / "map.geojson"
    bad.write_text(content if isinstance(content, str) else json.dumps(content))
    before = listing(media_root)
    response = _post(api, ortho=scene_files["ortho"], dsm=scene_files["dsm"], footprints=bad)
    assert response.status_code == 400
    assert reason in str(response.json()) and "'map.geojson'" in str(response.json())
    assert Area.objects.count() == 0 and Source.objects.count() == 0 and Job.objects.count() == 0
    assert listing(media_root) == before


def test_upload_form_offers_footprints_and_models(web):
    page = web.get("/areas/new/").content.decode()
    assert 'name="footprints"' in page and 'name="model"' in page
    assert "citynet-v1 (default)" in page


# --- choosing a model -----------------------------------------------------------------------------


def test_shipped_models_are_listed_for_everyone(client):
    assert "citynet-v1" in shipped_models()
    models = client.get("/api/models/").json()
    assert {"id": "citynet-v1", "shipped": True, "name": "citynet-v1", "status": "succeeded"} in models
    assert client.get("/api/models/citynet-v1/").json()["shipped"] is True
    assert client.get("/api/models/no-such-model/").status_code == 404


@pytest.mark.parametrize("choice", ["citynet-v9", "12345"])
def test_unknown_model_is_refused_with_what_to_choose(api, scene_files, media_root, choice):
    response = _post(api, ortho=scene_files["ortho"], model=choice)
    assert response.status_code == 400
    message = " ".join(response.json()["model"])
    assert f"Unknown model '{choice}'" in message and "citynet-v1" in message and "/api/models/" in message
    assert Area.objects.count() == 0 and listing(media_root) == set()


def test_a_shipped_model_by_name_is_stored_and_run(api, scene_files):
    response = _post(api, ortho=scene_files["ortho"], model="citynet-v1")
    assert response.status_code == 201, response.json()
    assert Area.objects.get(pk=response.json()["id"]).model == "citynet-v1"


def test_an_unfinished_or_invisible_trained_model_cannot_be_chosen(api, user, bob, scene_files):
    queued = ModelVersion.objects.create(owner=user, area=_area_with_sources(user, "ortho", "lidar"))
    response = _post(api, ortho=scene_files["ortho"], model=str(queued.pk))
    assert response.status_code == 400 and "not ready" in str(response.json()["model"])
    ModelVersion.objects.filter(pk=queued.pk).update(status=ModelVersion.Status.SUCCEEDED, weights="models/x.pt")
    response = _post(_client(bob), ortho=scene_files["ortho"], model=str(queued.pk))  # bob cannot see it
    assert response.status_code == 400 and "Unknown model" in str(response.json()["model"])


# --- training: permissions and refusals (no training run) -----------------------------------------


def test_only_the_owner_trains_and_others_get_404_or_403(api, user, bob):
    area = _area_with_sources(user, "ortho", "lidar")
    url = f"/api/areas/{area.pk}/train/"
    assert _client(bob).post(url, {"steps": 10}).status_code == 404  # private: bob cannot see it
    assert APIClient().post(url, {"steps": 10}).status_code in (401, 403, 404)
    set_sharing(area, Area.Visibility.SHARED, users=[bob])
    response = _client(bob).post(url, {"steps": 10})
    assert response.status_code == 403 and "owner" in response.json()["detail"]
    assert ModelVersion.objects.count() == 0
    assert api.post(url, {"steps": 9}).status_code == 400
    assert api.post(url, {"steps": 5001}).status_code == 400
    response = api.post(url, {"steps": 10})
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "queued" and response.json()["steps"] == 10
    version = ModelVersion.objects.get()
    assert version.owner == user and version.area == area
    # Visible to whoever sees the area, not to others.
    assert _client(bob).get(f"/api/models/{version.pk}/").status_code == 200
    set_sharing(area, Area.Visibility.PRIVATE, users=[])
    assert _client(bob).get(f"/api/models/{version.pk}/").status_code == 404
    assert version.pk not in [m["id"] for m in _client(bob).get("/api/models/").json()]
    assert version.pk in [m["id"] for m in api.get("/api/models/").json()]


def test_an_area_without_lidar_cannot_be_trained_on(api, user):
    area = _area_with_sources(user, "ortho", "dsm")
    response = api.post(f"/api/areas/{area.pk}/train/", {"steps": 10})
    assert response.status_code == 400 and "LiDAR" in str(response.json())
    page = _client(user).get(f"/areas/{area.pk}/").content.decode()
    assert "Train a model on this area" not in page


def test_the_train_button_is_for_the_owner_and_needs_csrf(user, bob):
    area = _area_with_sources(user, "ortho", "lidar")
    set_sharing(area, Area.Visibility.SHARED, users=[bob])
    bob_web = Client()
    bob_web.force_login(bob)
    assert "Train a model on this area" not in bob_web.get(f"/areas/{area.pk}/").content.decode()
    assert bob_web.post(f"/areas/{area.pk}/train/", {"steps": 300}).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    page = strict.get(f"/areas/{area.pk}/")
    assert "Train a model on this area" in page.content.decode() and 'value="300"' in page.content.decode()
    assert strict.post(f"/areas/{area.pk}/train/", {"steps": 300}).status_code == 403  # no CSRF token
    token = page.cookies["csrftoken"].value
    response = strict.post(f"/areas/{area.pk}/train/", {"steps": 300, "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"].endswith(f"/areas/{area.pk}/#models")
    assert ModelVersion.objects.get().steps == 300
    page = strict.get(f"/areas/{area.pk}/").content.decode()
    assert "Queued" in page and "Models trained on this area" in page


def test_training_whose_area_lost_its_lidar_fails_with_a_reason(user, media_root):
    version = ModelVersion.objects.create(owner=user, area=_area_with_sources(user, "ortho"))
    run_training(version.pk)
    version.refresh_from_db()
    assert version.status == ModelVersion.Status.FAILED and "no LiDAR" in version.error
    assert not version.weights_file.exists()
    run_training(version.pk)  # only a queued version starts
    assert ModelVersion.objects.get(pk=version.pk).status == ModelVersion.Status.FAILED


# --- training for real, then reconstructing with the new model ------------------------------------


def test_train_on_montpellier_then_reconstruct_with_the_new_version(
    api, user, bob, montpellier, scene_files, media_root
):
    response = _post(
        api, name="Montpellier", ortho=montpellier / "ortho_rgb_20cm.tif", lidar=montpellier / "lidar_77055_627760.laz"
    )
    assert response.status_code == 201, response.json()
    area_id = response.json()["id"]
    response = api.post(f"/api/areas/{area_id}/train/", {"steps": 10})
    assert response.status_code == 202, response.json()
    version_id = response.json()["id"]
    ModelVersion.objects.filter(pk=version_id).update(steps=3)  # keep the test fast (the API's minimum is 10)
    run_training(version_id)

    version = ModelVersion.objects.get(pk=version_id)
    assert version.status == ModelVersion.Status.SUCCEEDED, version.error
    assert version.name == "citynet-v1" and version.version and version.progress == 1.0
    assert version.weights == f"models/{version_id}.pt" and (media_root / version.weights).is_file()
    for when in ("before", "after"):
        scores = version.card[when]
        assert 0 <= scores["miou"] <= 1 and scores["height_mae_m"] > 0
    detail = api.get(f"/api/models/{version_id}/").json()
    assert detail["status"] == "succeeded" and detail["held_out"]["after"]["miou"] == version.card["after"]["miou"]
    assert _client(bob).get(f"/api/models/{version_id}/").status_code == 404
    page = api.get(f"/areas/{area_id}/").content.decode()
    assert "Held-out east block" in page and f"{version.card['before']['miou']:.3f}" in page
    assert f"{version.card['after']['height_mae_m']:.3f}" in page

    # An orthophoto-only area reconstructed with the new version names it in its manifest and pages.
    response = _post(api, name="Imagery only", ortho=scene_files["ortho"], model=str(version_id))
    assert response.status_code == 201, response.json()
    area = Area.objects.get(pk=response.json()["id"])
    assert area.model_version_id == version_id
    run_job(response.json()["job"]["id"])
    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert job.status == Job.Status.SUCCEEDED, job.error
    used = api.get(f"/api/areas/{area.pk}/").json()["model"]
    assert used["name"] == "citynet-v1" and used["version"] == version.version
    assert f'data-model-version="{version.version}"' in api.get(f"/jobs/{job.pk}/").content.decode()
    assert f'data-model-version="{version.version}"' in api.get(f"/areas/{area.pk}/").content.decode()


def test_the_registry_never_loads_torch_in_the_backend():
    code = (
        "import os, sys, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'backend.settings'; django.setup();"
        "import backend.urls, backend.models_registry.tasks, backend.models_registry.catalog;"
        "from backend.models_registry.catalog import shipped_models; assert 'citynet-v1' in shipped_models();"
        "print(','.join(m for m in ('shapely', 'rasterio', 'pyogrio', 'torch') if m in sys.modules))"
    )
    env = {**os.environ, "RS3D_SECRET_KEY": TEST_SECRET_KEY}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert done.stdout.strip() == ""
