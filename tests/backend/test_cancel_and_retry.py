"""Cancel and retry a job, from the API and from the job page's buttons (the area's owner only)."""

import threading

import pytest
from django.db import connection
from django.test import Client

from backend.api.throttles import UploadRateThrottle
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


def test_api_retries_of_one_job_queue_one_run_and_answer_it_again(api, job):
    Job.objects.filter(pk=job.pk).update(status=Job.Status.CANCELLED)
    responses = [api.post(f"/api/jobs/{job.pk}/retry/") for _ in range(5)]
    assert [r.status_code for r in responses] == [201, 200, 200, 200, 200]
    assert len({r.json()["id"] for r in responses}) == 1  # every answer is the one queued run
    assert Job.objects.filter(area=job.area, status__in=Job.ACTIVE).count() == 1


def test_a_double_click_on_retry_queues_one_run_and_shows_it(web, job):
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error="boom")
    first, second = web.post(f"/jobs/{job.pk}/retry/"), web.post(f"/jobs/{job.pk}/retry/")
    new = Job.objects.exclude(pk=job.pk).get()
    assert first["Location"] == second["Location"] == f"/jobs/{new.pk}/"


def test_retries_count_against_the_upload_rate(api, web, job, monkeypatch):
    monkeypatch.setattr(UploadRateThrottle, "THROTTLE_RATES", {"uploads": "2/hour"})
    assert api.post("/api/areas/", {"name": "no files"}, format="multipart").status_code == 400  # one upload
    Job.objects.filter(pk=job.pk).update(status=Job.Status.CANCELLED)
    assert api.post(f"/api/jobs/{job.pk}/retry/").status_code == 201  # and one retry: the two allowed
    Job.objects.filter(area=job.area).update(status=Job.Status.CANCELLED)
    response = api.post(f"/api/jobs/{job.pk}/retry/")
    assert response.status_code == 429 and "new areas or job retries per hour" in response.json()["detail"]
    response = web.post(f"/jobs/{job.pk}/retry/")
    assert response.status_code == 429 and "Too many uploads" in response.content.decode()
    assert not Job.objects.filter(area=job.area, status__in=Job.ACTIVE).exists()


@pytest.mark.django_db(transaction=True)
def test_simultaneous_retries_queue_one_run(user):
    """Eight requests at once, each in its own thread, database connection and transaction."""
    job = Job.objects.create(area=Area.objects.create(name="Race", owner=user), status=Job.Status.CANCELLED)
    start = threading.Barrier(8)
    answers: list[int] = []

    def click() -> None:
        try:
            client = Client()
            client.force_login(user)
            start.wait()
            answers.append(client.post(f"/api/jobs/{job.pk}/retry/").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200] * 7 + [201]
    assert Job.objects.filter(area=job.area, status__in=Job.ACTIVE).count() == 1
