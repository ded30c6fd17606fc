"""Cancel and retry a job, from the API and from the job page's buttons (the area's owner only)."""

import pytest
from django.test import Client

from backend.areas.models import Area
from backend.jobs.models import Job
from backend.jobs.services import start_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(user) -> Job:
    """A queued job of alice's area (nothing runs it in these tests)."""
    return start_job(Area.objects.create(name="Block", owner=user))


@pytest.fixture
def bob_client(django_user_model) -> Client:
    bob = django_user_model.objects.create_user("bob", password="bob-pass-1234")
    client = Client()
    client.force_login(bob)
    return client


def test_the_job_page_offers_cancel_while_queued_and_retry_once_cancelled(web, job):
    page = web.get(f"/jobs/{job.pk}/").content.decode()
    assert 'class="cancel-job inline" >' in page and 'class="retry-job inline" hidden' in page
    assert web.post(f"/jobs/{job.pk}/cancel/")["Location"] == f"/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    page = web.get(f"/jobs/{job.pk}/").content.decode()
    assert 'class="cancel-job inline" hidden' in page and 'class="retry-job inline" >' in page
    response = web.post(f"/jobs/{job.pk}/retry/")
    new = Job.objects.exclude(pk=job.pk).get()
    assert response["Location"] == f"/jobs/{new.pk}/" and new.status == Job.Status.QUEUED and new.area_id == job.area_id
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED  # the old job keeps its state and log


def test_a_queued_job_cannot_be_retried(api, job):
    response = api.post(f"/api/jobs/{job.pk}/retry/")
    assert response.status_code == 400 and "Only a failed or cancelled job" in str(response.json())
    assert Job.objects.filter(area=job.area).count() == 1


def test_api_retry_of_a_failed_job_queues_a_new_one(api, job):
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error="boom")
    response = api.post(f"/api/jobs/{job.pk}/retry/")
    assert response.status_code == 201 and response.json()["status"] == "queued"
    assert response.json()["id"] != job.pk


def test_others_can_neither_cancel_nor_retry(bob_client, job):
    assert bob_client.post(f"/jobs/{job.pk}/cancel/").status_code == 404  # a private area's job: not found
    job.area.visibility = Area.Visibility.PUBLIC
    job.area.save(update_fields=["visibility"])
    assert bob_client.post(f"/jobs/{job.pk}/cancel/").status_code == 403
    assert bob_client.post(f"/jobs/{job.pk}/retry/").status_code == 403
    page = bob_client.get(f"/jobs/{job.pk}/").content.decode()
    assert "cancel-job" not in page and "retry-job" not in page
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED
