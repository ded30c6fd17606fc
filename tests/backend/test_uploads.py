"""Uploading areas through the API and the form: validation, and nothing left behind on refusal."""

import contextlib
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest
import rasterio
from affine import Affine
from django.core.files.uploadedfile import SimpleUploadedFile

from backend.areas.models import Area, Source
from backend.jobs.models import Job
from tests.backend.conftest import listing
from tests.conftest import BAD_LIDAR, sparse_lidar

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


def test_the_upload_page_asks_for_what_the_api_takes_with_the_same_limits(web, api, scene_files):
    page = web.get("/areas/new/").content.decode()
    schema = api.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    api_fields = set(schema["AreaCreate"]["properties"])
    files = {name for name in api_fields if name.endswith("_upload")}  # chunked: the page's script adds these
    for name in api_fields - files:
        assert f'name="{name}"' in page, f"the upload page has no field {name}"
    assert {name.removesuffix("_upload") for name in files} <= api_fields
    assert 'accept=".tif,.tiff,.jp2,image/tiff"' in page and 'min="1024"' in page and 'max="999999"' in page
    # The same bounds in both: an EPSG code the page refuses, the API refuses too (and the reverse).
    with scene_files["ortho"].open("rb") as ortho:
        response = web.post("/areas/new/", {"name": "Form", "ortho": ortho, "epsg": 12})
    assert response.status_code == 200 and "greater than or equal to 1024" in response.content.decode()


def test_an_unknown_model_is_refused_on_its_field_by_the_page_and_the_api(web, api, scene_files):
    with scene_files["ortho"].open("rb") as ortho:
        response = api.post("/api/areas/", {"name": "Api", "ortho": ortho, "model": "no-such-net"}, format="multipart")
    assert response.status_code == 400 and "no-such-net" in str(response.json()["model"])
    with scene_files["ortho"].open("rb") as ortho:
        response = web.post("/areas/new/", {"name": "Form", "ortho": ortho, "model": "no-such-net"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert Area.objects.count() == 0


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


@pytest.mark.parametrize(
    ("files", "field", "message"),
    [
        ({"dsm": "dsm"}, "ortho", "needs an orthophoto, a LiDAR point cloud"),
        ({"stereo_1": "ortho"}, "ortho", "needs an orthophoto, a LiDAR point cloud"),
        ({"ortho": "ortho", "stereo_1": "ortho"}, "stereo_2", "needs two images"),
        ({"ortho": "ortho", "stereo_3": "ortho"}, "stereo_3", "needs the first two"),
        ({"ortho": "ortho", "register_dsm": True}, "dsm", "needs a DSM file and a LiDAR"),
        ({"ortho": "ortho", "dsm": "dsm", "register_dsm": True}, "lidar", "needs a DSM file and a LiDAR"),
    ],
)
def test_source_combinations_that_cannot_make_an_area_are_refused(api, scene_files, media_root, files, field, message):
    handles = {k: scene_files[v].open("rb") for k, v in files.items() if isinstance(v, str)}
    data = {"name": "Combo", **handles, **{k: v for k, v in files.items() if not isinstance(v, str)}}
    try:
        response = api.post("/api/areas/", data, format="multipart")
    finally:
        for handle in handles.values():
            handle.close()
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert Area.objects.count() == 0 and listing(media_root) == set()


def test_second_image_and_dsm_alignment_are_stored_and_passed_to_the_run(api, scene_files, tmp_path):
    lidar = sparse_lidar(scene_files["dsm"], tmp_path / "sparse.las")
    with (
        scene_files["ortho"].open("rb") as ortho,
        scene_files["dsm"].open("rb") as dsm,
        lidar.open("rb") as points,
        scene_files["ortho"].open("rb") as second,
    ):
        data = {"name": "Aligned", "ortho": ortho, "dsm": dsm, "lidar": points, "second_image": second}
        response = api.post("/api/areas/", {**data, "register_dsm": True}, format="multipart")
    assert response.status_code == 201, response.json()
    area = Area.objects.get(pk=response.json()["id"])
    assert area.register_dsm
    kinds = set(area.sources.values_list("kind", flat=True))
    assert kinds == {Source.Kind.ORTHO, Source.Kind.DSM, Source.Kind.LIDAR, Source.Kind.SECOND_IMAGE}
    inputs = area.pipeline_inputs()
    assert inputs.second_image is not None and inputs.second_image.is_file() and inputs.register_dsm


def test_lidar_alone_makes_an_area_and_a_second_image_needs_an_orthophoto(api, scene_files, tmp_path, media_root):
    lidar = sparse_lidar(scene_files["dsm"], tmp_path / "alone.las")
    with lidar.open("rb") as points, scene_files["ortho"].open("rb") as second:
        refused = api.post("/api/areas/", {"name": "X", "lidar": points, "second_image": second}, format="multipart")
    assert refused.status_code == 400 and "add the orthophoto" in " ".join(refused.json()["second_image"])
    assert Area.objects.count() == 0 and listing(media_root) == set()
    with lidar.open("rb") as points:
        response = api.post("/api/areas/", {"name": "Points only", "lidar": points}, format="multipart")
    assert response.status_code == 201, response.json()
    area = Area.objects.get(pk=response.json()["id"])
    assert set(area.sources.values_list("kind", flat=True)) == {Source.Kind.LIDAR}
    inputs = area.pipeline_inputs()
    assert inputs.ortho == () and len(inputs.lidar) == 1


def test_a_height_unit_given_at_upload_reaches_the_check_and_the_run(api, scene_files, tmp_path):
    lidar = sparse_lidar(scene_files["dsm"], tmp_path / "sparse.las")
    with scene_files["ortho"].open("rb") as ortho, lidar.open("rb") as points:
        data = {"name": "Feet", "ortho": ortho, "lidar": points, "z_unit": "us-ft"}
        response = api.post("/api/areas/", data, format="multipart")
    assert response.status_code == 201, response.json()
    # The check (a child process, given the unit as --z-unit) read the heights in the unit given.
    assert any("US survey feet as you gave it" in w for w in response.json()["warnings"])
    area = Area.objects.get(pk=response.json()["id"])
    assert area.z_unit == "us-ft" and response.json()["z_unit"] == "us-ft"
    inputs = area.pipeline_inputs()
    assert inputs.z_unit == "us-ft"
    with scene_files["ortho"].open("rb") as ortho:
        refused = api.post("/api/areas/", {"name": "X", "ortho": ortho, "z_unit": "yards"}, format="multipart")
    assert refused.status_code == 400 and set(refused.json()) == {"z_unit"}


def test_a_stereo_pair_alone_makes_an_area(api, shared_data):
    pair = shared_data / "stereo" / "pleiades_pair"
    with (pair / "img_01.tif").open("rb") as first, (pair / "img_02.tif").open("rb") as second:
        response = api.post(
            "/api/areas/", {"name": "Reunion", "stereo_1": first, "stereo_2": second}, format="multipart"
        )
    assert response.status_code == 201, response.json()
    area = Area.objects.get(pk=response.json()["id"])
    inputs = area.pipeline_inputs()
    assert inputs.ortho == () and [p.name for p in inputs.stereo] == ["img_01.tif", "img_02.tif"]


def test_images_without_camera_models_are_refused_as_a_stereo_pair(api, scene_files, media_root):
    with scene_files["ortho"].open("rb") as first, scene_files["dsm"].open("rb") as second:
        response = api.post("/api/areas/", {"name": "NoRPC", "stereo_1": first, "stereo_2": second}, format="multipart")
    assert response.status_code == 400
    assert "RPC" in str(response.json())
    assert Area.objects.count() == 0 and listing(media_root) == set()


def test_files_are_checked_before_any_transaction_holds_the_database(api, scene_files, monkeypatch):
    """With SQLite a write transaction locks the database: checking inside one serialised uploads."""
    from django.db import connection

    from backend.areas import uploads

    outside = len(connection.atomic_blocks)  # the test's own transaction (pytest-django), if any
    depths = []
    real = uploads.check_inputs_process
    monkeypatch.setattr(
        uploads, "check_inputs_process", lambda inputs: depths.append(len(connection.atomic_blocks)) or real(inputs)
    )
    response = _post(api, ortho=scene_files["ortho"], dsm=scene_files["dsm"])
    assert response.status_code == 201 and Job.objects.filter(area_id=response.json()["id"]).count() == 1
    assert depths == [outside]


def test_sqlite_waits_for_a_lock_as_long_as_configured():
    """SpatiaLite resets SQLite's busy timeout to 5 s when it loads; the app sets it back."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("the busy timeout is SQLite's (the scale-mode pass runs on PostgreSQL)")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == round(1000 * connection.settings_dict["OPTIONS"]["timeout"])


def test_an_upload_survives_another_one_removing_the_shared_incoming_folder(tmp_path, monkeypatch):
    """Simultaneous uploads share ``incoming/``; one finishing may remove it while another creates its folder."""
    from pathlib import Path

    from backend.areas import uploads

    real = Path.mkdir
    failures = iter([True])

    def racing(self, *args, **kwargs):
        if next(failures, False):
            raise FileNotFoundError(self)  # the parent vanished between the two mkdirs
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", racing)
    uploads._mkdir(tmp_path / "incoming" / "abc" / "ortho")
    assert (tmp_path / "incoming" / "abc" / "ortho").is_dir()


# --- at most RS3D_MAX_CONCURRENT_CHECKS checks at once ---------------------------------------------------


@contextlib.contextmanager
def _checks_elsewhere(count: int) -> Iterator[threading.Event]:
    """``count`` check slots held by other threads (each with its own database connection) until the event."""
    from django.db import connection

    from backend.runtime.checkslots import check_slot

    release = threading.Event()
    holding = threading.Semaphore(0)

    def hold() -> None:
        try:
            with check_slot():
                holding.release()
                release.wait(30)
        finally:
            connection.close()

    threads = [threading.Thread(target=hold) for _ in range(count)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(count):
            assert holding.acquire(timeout=10), "a slot was not taken"
        yield release
    finally:
        release.set()
        for thread in threads:
            thread.join()


@pytest.fixture
def one_check_slot(settings, tmp_path):
    settings.RS3D_HOME = tmp_path  # the slots' lock files (embedded mode)
    settings.RS3D_MAX_CONCURRENT_CHECKS = 1
    settings.RS3D_CHECK_QUEUE_WAIT_S = 0.5


def test_an_upload_with_no_free_check_slot_is_refused_with_503_and_keeps_nothing(
    api, web, scene_files, media_root, one_check_slot
):
    with _checks_elsewhere(1):
        response = _post(api, ortho=scene_files["ortho"], dsm=scene_files["dsm"])
        assert response.status_code == 503 and response["Retry-After"] == "30"
        assert "busy checking other uploads (at most 1 at a time)" in response.json()["detail"]
        assert "send it again in about 30 s" in response.json()["detail"]
        with scene_files["ortho"].open("rb") as ortho:
            page = web.post("/areas/new/", {"name": "Form", "ortho": ortho})
        assert page.status_code == 503 and page["Retry-After"] == "30"
        assert "busy checking other uploads" in page.content.decode()
    assert Area.objects.count() == 0 and Job.objects.count() == 0 and listing(media_root) == set()
    assert _post(api, ortho=scene_files["ortho"], dsm=scene_files["dsm"]).status_code == 201  # the slot is free


def test_an_upload_waits_for_a_check_slot_to_come_free(api, scene_files, settings, one_check_slot):
    settings.RS3D_CHECK_QUEUE_WAIT_S = 30
    with _checks_elsewhere(1) as release:
        threading.Timer(1.0, release.set).start()
        started = time.monotonic()
        response = _post(api, ortho=scene_files["ortho"], dsm=scene_files["dsm"])
    assert response.status_code == 201 and time.monotonic() - started >= 1.0


def test_checks_beyond_the_cap_wait_for_a_slot(settings, tmp_path):
    from backend.runtime.checkslots import ChecksBusy, check_slot

    settings.RS3D_HOME = tmp_path
    settings.RS3D_MAX_CONCURRENT_CHECKS = 2
    settings.RS3D_CHECK_QUEUE_WAIT_S = 0.3
    with _checks_elsewhere(2):
        with pytest.raises(ChecksBusy), check_slot():
            pass
    with check_slot():  # free again
        pass
