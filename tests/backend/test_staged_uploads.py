"""Resumable uploads: chunks in order, resuming after a break, then the area takes the staged files."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from backend.areas.models import Area, StagedUpload
from backend.areas.staging import MAX_OPEN_PER_USER

pytestmark = pytest.mark.django_db


def _start(api, name, size):
    return api.post("/api/uploads/", {"filename": name, "size": size}, format="json")


def _put(api, upload_id, data: bytes, first: int, total: int):
    last = first + len(data) - 1
    return api.put(
        f"/api/uploads/{upload_id}/",
        data,
        content_type="application/octet-stream",
        HTTP_CONTENT_RANGE=f"bytes {first}-{last}/{total}",
    )


def _send(api, path, chunk=64 * 1024) -> str:
    data = path.read_bytes()
    upload = _start(api, path.name, len(data)).json()
    for first in range(0, len(data), chunk):
        response = _put(api, upload["id"], data[first : first + chunk], first, len(data))
        assert response.status_code == 200, response.json()
    assert response.json()["complete"] is True
    return upload["id"]


def test_chunks_resume_where_the_server_stopped_and_the_bytes_are_exact(api):
    payload = bytes(range(256)) * 1000  # 256,000 bytes
    upload = _start(api, "../../etc/ortho.tif", len(payload))
    assert upload.status_code == 201
    body = upload.json()
    assert body["filename"] == "ortho.tif" and body["received"] == 0 and body["complete"] is False
    assert _put(api, body["id"], payload[:100_000], 0, len(payload)).json()["received"] == 100_000
    # The connection broke; the client sends the second chunk again from a wrong offset: 409 says where.
    conflict = _put(api, body["id"], payload[50_000:150_000], 50_000, len(payload))
    assert conflict.status_code == 409 and "resume from byte 100000" in conflict.json()["detail"]
    assert api.get(f"/api/uploads/{body['id']}/").json()["received"] == 100_000
    assert _put(api, body["id"], payload[100_000:], 100_000, len(payload)).json()["complete"] is True
    staged = StagedUpload.objects.get()
    assert staged.path.read_bytes() == payload


@pytest.mark.parametrize(
    ("content_range", "status", "words"),
    [
        (None, 400, "Content-Range"),
        ("bytes 0-9/11", 400, "announced as 10 bytes"),
        ("bytes 0-10/10", 400, "does not fit"),
        ("bytes 5-9/10", 409, "resume from byte 0"),
    ],
)
def test_bad_chunks_are_refused_with_what_to_do(api, content_range, status, words):
    upload_id = _start(api, "dsm.tif", 10).json()["id"]
    headers = {"HTTP_CONTENT_RANGE": content_range} if content_range else {}
    response = api.put(f"/api/uploads/{upload_id}/", b"0123456789", content_type="application/octet-stream", **headers)
    assert response.status_code == status and words in response.json()["detail"]
    assert StagedUpload.objects.get().received == 0


def test_sizes_and_the_number_of_open_uploads_are_limited(api, settings):
    settings.RS3D_MAX_UPLOAD_BYTES = 1000
    assert _start(api, "big.tif", 1001).status_code == 413
    assert "the limit is" in _start(api, "big.tif", 1001).json()["detail"]
    assert "is empty" in _start(api, "empty.tif", 0).json()["detail"]
    for _ in range(MAX_OPEN_PER_USER):
        assert _start(api, "a.tif", 10).status_code == 201
    refused = _start(api, "a.tif", 10)
    assert refused.status_code == 429 and "unfinished uploads" in refused.json()["detail"]


def test_uploads_are_private_to_their_owner(api, django_user_model):
    upload_id = _start(api, "ortho.tif", 10).json()["id"]
    other = APIClient()
    other.force_login(django_user_model.objects.create_user("bob", password="bob-pass-1234"))
    assert other.get(f"/api/uploads/{upload_id}/").status_code == 404
    assert _put(other, upload_id, b"0123456789", 0, 10).status_code == 404
    assert other.get("/api/uploads/").json()["count"] == 0
    assert APIClient().post("/api/uploads/", {"filename": "a", "size": 1}, format="json").status_code == 401
    # Nor can bob name alice's file in his own area upload.
    response = other.post("/api/areas/", {"name": "Stolen", "ortho_upload": upload_id}, format="multipart")
    assert response.status_code == 400 and "is waiting for you" in str(response.json())


def test_an_area_takes_staged_files_and_they_are_removed(api, scene_files, media_root):
    ortho, dsm = _send(api, scene_files["ortho"]), _send(api, scene_files["dsm"])
    response = api.post("/api/areas/", {"name": "Chunked", "ortho_upload": ortho, "dsm_upload": dsm})
    assert response.status_code == 201, response.json()
    area = Area.objects.get()
    stored = {s.kind: s for s in area.sources.all()}
    assert stored["ortho"].original_name == "ortho.tif"
    assert stored["ortho"].file.read_bytes() == scene_files["ortho"].read_bytes()
    assert StagedUpload.objects.count() == 0 and not list((media_root / "staged").iterdir())


def test_a_refused_area_keeps_the_staged_files_for_the_next_try(api, scene_files):
    ortho = _send(api, scene_files["ortho"])
    lidar = _send(api, scene_files["dsm"])  # a GeoTIFF where a LAS/LAZ belongs
    refused = api.post("/api/areas/", {"name": "Try 1", "ortho_upload": ortho, "lidar_upload": lidar})
    assert refused.status_code == 400 and Area.objects.count() == 0
    assert StagedUpload.objects.count() == 2  # nothing the planner sent is lost
    dsm = _send(api, scene_files["dsm"])
    accepted = api.post("/api/areas/", {"name": "Try 2", "ortho_upload": ortho, "dsm_upload": dsm})
    assert accepted.status_code == 201, accepted.json()
    assert set(StagedUpload.objects.values_list("id", flat=True)) == {uuid.UUID(lidar)}


def test_an_unfinished_upload_cannot_make_an_area(api, scene_files):
    upload_id = _start(api, "ortho.tif", 1000).json()["id"]
    _put(api, upload_id, b"x" * 10, 0, 1000)
    response = api.post("/api/areas/", {"name": "Early", "ortho_upload": upload_id})
    assert response.status_code == 400 and "only in part (10 of 1000 bytes)" in str(response.json())


def test_the_upload_form_takes_staged_files_too(web, api, scene_files):
    ortho, dsm = _send(api, scene_files["ortho"]), _send(api, scene_files["dsm"])
    page = web.get("/areas/new/")
    assert b'data-uploads-api="/api/uploads/"' in page.content and b"upload/main.js" in page.content
    response = web.post("/areas/new/", {"name": "Form chunked", "ortho_upload": ortho, "dsm_upload": dsm})
    assert response.status_code == 302 and "/jobs/" in response["Location"]
    assert Area.objects.get().name == "Form chunked" and StagedUpload.objects.count() == 0


def test_deleting_an_upload_removes_its_bytes(api):
    upload_id = _start(api, "ortho.tif", 10).json()["id"]
    path = StagedUpload.objects.get().path
    assert path.exists()
    assert api.delete(f"/api/uploads/{upload_id}/").status_code == 204
    assert not path.exists() and StagedUpload.objects.count() == 0


def test_uploads_untouched_for_a_day_expire(api, django_user_model):
    old_id = _start(api, "old.tif", 10).json()["id"]
    path = StagedUpload.objects.get().path
    StagedUpload.objects.filter(pk=old_id).update(updated=timezone.now() - timedelta(days=1, minutes=1))
    other = APIClient()
    other.force_login(django_user_model.objects.create_user("bob", password="bob-pass-1234"))
    _start(other, "new.tif", 10)  # anyone's new upload sweeps the expired ones
    assert not StagedUpload.objects.filter(pk=old_id).exists() and not path.exists()
