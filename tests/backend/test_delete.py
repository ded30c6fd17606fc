"""Owners (and staff) delete an area or one version with its files; nobody else can, and a failure keeps all."""

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from backend.areas.models import Area, Publication, Source
from backend.areas.publish import publish
from backend.jobs.models import Job
from backend.models_registry.models import ModelVersion
from tests.backend.conftest import fake_run, listing

pytestmark = pytest.mark.django_db(transaction=True)  # files go once the delete has committed


def _area(owner: User, versions: int = 2, **fields) -> Area:
    """An area with an uploaded source file and ``versions`` published versions."""
    area = Area.objects.create(name="Old block", owner=owner, **fields)
    source = area.folder / "sources" / "ortho" / "ortho.tif"
    source.parent.mkdir(parents=True)
    source.write_bytes(b"II*\0" + bytes(2_000_000))
    Source.objects.create(
        area=area,
        kind="ortho",
        original_name="ortho.tif",
        path=source.relative_to(settings.MEDIA_ROOT).as_posix(),
        size=2_000_004,
    )
    for n in range(versions):
        publish(area, fake_run(area.folder / ".staging" / f"job-{n}"))
    Job.objects.create(area=area, status=Job.Status.SUCCEEDED)
    area.refresh_from_db()
    return area


def _client(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("owner", password="pw-owner-123")


@pytest.fixture
def other(django_user_model):
    return django_user_model.objects.create_user("other", password="pw-other-123")


def test_the_owner_deletes_an_area_with_its_files_and_nothing_else(owner, media_root):
    keep = _area(owner)
    gone = _area(owner)
    kept_files = listing(keep.folder)
    response = _client(owner).delete(f"/api/areas/{gone.pk}/")
    assert response.status_code == 204
    assert not gone.folder.exists()
    assert not Area.objects.filter(pk=gone.pk).exists()
    assert not Publication.objects.filter(area_id=gone.pk).exists() and not Job.objects.filter(area_id=gone.pk).exists()
    assert listing(keep.folder) == kept_files
    assert Area.objects.filter(pk=keep.pk).exists()


def test_others_cannot_delete_what_they_see_nor_find_what_they_do_not(owner, other, django_user_model):
    private = _area(owner)
    public = _area(owner, visibility=Area.Visibility.PUBLIC)
    assert _client(other).delete(f"/api/areas/{private.pk}/").status_code == 404
    answer = _client(other).delete(f"/api/areas/{public.pk}/")
    assert answer.status_code == 403 and "owner" in answer.json()["detail"]
    assert _client(other).delete(f"/api/areas/{public.pk}/versions/1/").status_code == 403
    assert Area.objects.count() == 2 and private.folder.exists() and (public.folder / "v1").exists()
    staff = django_user_model.objects.create_user("staff", password="pw-staff-123", is_staff=True)
    assert _client(staff).delete(f"/api/areas/{private.pk}/").status_code == 204


def test_an_area_in_use_is_kept_and_the_answer_says_what_to_do(owner):
    area = _area(owner)
    job = Job.objects.create(area=area, status=Job.Status.QUEUED)
    response = _client(owner).delete(f"/api/areas/{area.pk}/")
    assert response.status_code == 409 and f"Job {job.pk} is queued" in response.json()["detail"]
    job.status = Job.Status.CANCELLED
    job.save()
    ModelVersion.objects.create(area=area, owner=owner, status=ModelVersion.Status.RUNNING)
    response = _client(owner).delete(f"/api/areas/{area.pk}/")
    assert response.status_code == 409 and "training" in response.json()["detail"]
    assert area.folder.exists() and Area.objects.filter(pk=area.pk).exists()


def test_a_failing_delete_keeps_every_row_and_file(owner, monkeypatch):
    area = _area(owner)
    before = listing(area.folder)

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Area, "delete", broken)
    with pytest.raises(RuntimeError):
        _client(owner).delete(f"/api/areas/{area.pk}/")
    assert listing(area.folder) == before and Area.objects.filter(pk=area.pk).exists()


def test_deleting_the_current_version_falls_back_and_its_number_is_never_reused(owner):
    area = _area(owner, versions=2)
    assert area.current.version == 2
    client = _client(owner)
    assert client.delete(f"/api/areas/{area.pk}/versions/2/").status_code == 204
    area.refresh_from_db()
    assert area.current.version == 1 and area.status == Area.Status.READY
    assert not (area.folder / "v2").exists() and (area.folder / "v1").exists()
    assert client.delete(f"/api/areas/{area.pk}/versions/2/").status_code == 404
    assert publish(area, fake_run(area.folder / ".staging" / "job-9")).version == 3
    assert client.delete(f"/api/areas/{area.pk}/versions/1/").status_code == 204
    assert client.delete(f"/api/areas/{area.pk}/versions/3/").status_code == 204
    area.refresh_from_db()
    assert area.current is None and area.status == Area.Status.EMPTY
    assert client.get(f"/api/areas/{area.pk}/").status_code == 200


def test_the_page_asks_first_then_deletes_and_says_so(owner, other):
    area = _area(owner)
    page = Client()
    page.force_login(owner)
    shown = page.get(f"/areas/{area.pk}/").content.decode()
    assert f"/areas/{area.pk}/delete/" in shown and f"/areas/{area.pk}/versions/2/delete/" in shown
    confirm = page.get(f"/areas/{area.pk}/delete/").content.decode()
    assert "2 versions" in confirm and "2.0 MB" in confirm and "cannot be undone" in confirm
    assert area.folder.exists()  # asking deletes nothing
    stranger = Client()
    stranger.force_login(other)
    assert stranger.post(f"/areas/{area.pk}/delete/").status_code == 404
    assert f"/areas/{area.pk}/delete/" not in stranger.get("/").content.decode()
    response = page.post(f"/areas/{area.pk}/delete/", follow=True)
    assert response.redirect_chain[-1][0] == "/" and "were deleted" in response.content.decode()
    assert not area.folder.exists() and not Area.objects.filter(pk=area.pk).exists()


def test_the_page_refuses_an_area_in_use_and_keeps_it(owner):
    area = _area(owner)
    Job.objects.create(area=area, status=Job.Status.RUNNING)
    page = Client()
    page.force_login(owner)
    response = page.post(f"/areas/{area.pk}/delete/")
    assert response.status_code == 409 and "cancel it" in response.content.decode()
    assert area.folder.exists()


def test_the_page_deletes_one_version(owner):
    area = _area(owner)
    page = Client()
    page.force_login(owner)
    assert "the current one" in page.get(f"/areas/{area.pk}/versions/2/delete/").content.decode()
    response = page.post(f"/areas/{area.pk}/versions/2/delete/")
    assert response.status_code == 302 and response["Location"] == f"/areas/{area.pk}/"
    area.refresh_from_db()
    assert area.current.version == 1 and not (area.folder / "v2").exists()
