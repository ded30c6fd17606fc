"""Uploading areas through the API and the form: validation, and nothing left behind on refusal."""

import numpy as np
import pytest
import rasterio
from affine import Affine
from django.core.files.uploadedfile import SimpleUploadedFile

from backend.areas.models import Area, Source
from backend.jobs.models import Job
from tests.backend.conftest import listing
from tests.conftest import BAD_LIDAR

pytestmark = pytest.mark.django_db


def _post(api, name="Block", **files):
    handles = {key: path.open("rb") for key, path in files.items() if key != "epsg"}
    data = {"name": name, **handles}
    if "epsg" in files:
        data["epsg"] = files["epsg"]
    try:
        return api.post("/api/areas/", data, format="multipart")
    finally:
        for handle in handles.values():
            handle.close()


@pytest.mark.parametrize(("name", "message"), BAD_LIDAR)
def test_every_bad_lidar_is_refused_and_leaves_nothing(api, scene_files, shared_data, media_root, name, message):
    before = listing(media_root)
    response = _post(api, ortho=scene_files["ortho"], dsm=scene_files["dsm"], lidar=shared_data / "bad_inputs" / name)
    assert response.status_code == 400
    assert message in str(response.json())
    assert f"'{name}'" in str(response.json())  # the user's own file name, not a storage name
    assert Area.objects.count() == 0 and Source.objects.count() == 0 and Job.objects.count() == 0
    assert listing(media_root) == before


def test_geotiff_without_crs_is_refused_then_accepted_with_an_epsg_code(api, scene_files, tmp_path, media_root):
    with rasterio.open(scene_files["ortho"]) as src:
        data, transform = src.read(), src.transform
    plain = tmp_path / "no_crs.tif"
    with rasterio.open(
        plain,
        "w",
        driver="GTiff",
        width=data.shape[2],
        height=data.shape[1],
        count=3,
        dtype="uint8",
        transform=transform,
    ) as dst:
        dst.write(data)
    response = _post(api, ortho=plain, dsm=scene_files["dsm"])
    assert response.status_code == 400
    assert "carries no coordinate reference system" in str(response.json())
    assert listing(media_root) == set()
    response = _post(api, ortho=plain, dsm=scene_files["dsm"], epsg=32631)
    assert response.status_code == 201, response.json()
    assert any("as you gave it" in w for w in response.json()["warnings"])


def test_dsm_that_does_not_overlap_is_refused(api, scene_files, tmp_path):
    with rasterio.open(scene_files["dsm"]) as src:
        profile, data = src.profile, src.read()
    profile["transform"] = Affine(0.5, 0, 100000, 0, -0.5, 100000)
    far = tmp_path / "far.tif"
    with rasterio.open(far, "w", **profile) as dst:
        dst.write(data)
    response = _post(api, ortho=scene_files["ortho"], dsm=far)
    assert response.status_code == 400 and "does not overlap" in str(response.json())


def test_hostile_file_names_are_reduced_to_a_basename(api, scene_files, media_root):
    # What a hostile client may send as the file name.
    ortho = SimpleUploadedFile("../../../../etc/passwd.tif", scene_files["ortho"].read_bytes())
    with scene_files["dsm"].open("rb") as dsm:
        response = api.post("/api/areas/", {"name": "x", "ortho": ortho, "dsm": dsm}, format="multipart")
    assert response.status_code == 201, response.json()
    stored = Source.objects.get(kind="ortho").file
    assert stored.is_relative_to(media_root) and stored.name == "passwd.tif"


def test_missing_name_and_bad_epsg_are_form_errors(api, scene_files):
    with scene_files["ortho"].open("rb") as ortho:
        response = api.post("/api/areas/", {"ortho": ortho, "epsg": 12}, format="multipart")
    assert response.status_code == 400
    assert set(response.json()) == {"name", "epsg"}


def test_empty_file_is_refused(api, scene_files, tmp_path):
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    response = _post(api, ortho=empty, dsm=scene_files["dsm"])
    assert response.status_code == 400 and "empty" in str(response.json())


def test_upload_form_shows_the_reason_and_keeps_nothing(web, scene_files, shared_data, media_root):
    with scene_files["ortho"].open("rb") as ortho, (shared_data / "bad_inputs" / "no_crs.laz").open("rb") as lidar:
        response = web.post("/areas/new/", {"name": "Form", "ortho": ortho, "lidar": lidar})
    assert response.status_code == 200
    assert "carries no coordinate reference system" in response.content.decode()
    assert Area.objects.count() == 0 and listing(media_root) == set()


def test_upload_form_redirects_to_the_job_page(web, scene_files):
    with scene_files["ortho"].open("rb") as ortho, scene_files["dsm"].open("rb") as dsm:
        response = web.post("/areas/new/", {"name": "Form", "ortho": ortho, "dsm": dsm})
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    page = web.get(response["Location"]).content.decode()
    assert f'data-ws-url="/ws/jobs/{job.pk}/"' in page


def test_dsm_values_are_checked_not_just_the_header(api, scene_files, tmp_path):
    with rasterio.open(scene_files["dsm"]) as src:
        profile = src.profile
    bad = tmp_path / "nan.tif"
    with rasterio.open(bad, "w", **profile) as dst:
        dst.write(np.full((1, profile["height"], profile["width"]), np.nan, np.float32))
    response = _post(api, ortho=scene_files["ortho"], dsm=bad)
    assert response.status_code == 400 and "no valid heights" in str(response.json())
