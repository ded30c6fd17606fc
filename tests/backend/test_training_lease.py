"""Faults: a training worker killed mid-run is detected through its heartbeat, like a reconstruction's.

"Train on this area" runs ``python -m reconstruction finetune`` under a worker that stamps the model
version's heartbeat (backend.models_registry.lease). Here the worker is really SIGKILLed while the child
trains; a worker with a short lease then fails the version with the stage it stopped at, no half model is
usable or left on disk, and a retry trains a usable version.
"""

import signal
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from backend.areas.models import Area
from backend.areas.uploads import AreaUpload, create_area
from backend.models_registry.catalog import model_choices
from backend.models_registry.lease import fail_lost_trainings
from backend.models_registry.models import ModelVersion
from backend.models_registry.services import retry_training, start_training
from devtools.processes import stop_processes
from tests.backend.children import child_env, processes_mentioning, start_worker, wait_for
from tests.backend.conftest import listing


def _montpellier_area(montpellier: Path, owner) -> Area:
    ortho_path, lidar_path = montpellier / "ortho_rgb_20cm.tif", montpellier / "lidar_77055_627760.laz"
    with ortho_path.open("rb") as ortho, lidar_path.open("rb") as lidar:
        upload = AreaUpload(name="Montpellier", ortho=File(ortho, ortho_path.name), lidar=File(lidar, lidar_path.name))
        area, _ = create_area(upload, owner=owner)
    return area


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_training_worker_killed_mid_run_is_detected_and_the_retry_trains(montpellier, media_root, tmp_path, user):
    area = _montpellier_area(montpellier, user)
    version = start_training(area, user, steps=5000)  # far longer than the test: it is killed mid-run
    marker = str(version.partial_weights_file)  # named by this training's finetune child only
    logs = tmp_path / "logs"
    logs.mkdir()
    worker = start_worker(child_env(tmp_path), logs / "worker-a.log")
    try:
        wait_for(
            lambda: ModelVersion.objects.filter(pk=version.pk, stage="finetune", progress__gt=0).exists(),
            120,
            "the first training steps",
            worker,
        )
        assert processes_mentioning(marker)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    wait_for(lambda: not processes_mentioning(marker), 10, "the finetune child dying with its worker")
    version.refresh_from_db()
    assert version.status == "running"  # nobody knows yet

    # A new worker with a 3 s lease finds the training silent and fails it, at start-up or on its next check.
    worker = start_worker(child_env(tmp_path, RS3D_JOB_LEASE_SECONDS="3"), logs / "worker-b.log")
    try:
        wait_for(
            lambda: ModelVersion.objects.get(pk=version.pk).status == "failed", 60, "the lost training failing", worker
        )
        version.refresh_from_db()
        assert "The worker stopped responding at the 'finetune' stage of the training" in version.error
        assert "No model was saved; retry the training." in version.error
        assert version.finished is not None and not version.is_usable and version.weights == ""
        assert DBTaskResult.objects.get(pk=version.task_id).status == "FAILED"
        assert not any(name.endswith(".pt") for name in listing(media_root / "models"))  # no half model on disk
        assert str(version.pk) not in dict(model_choices(user))  # nor offered for reconstruction

        with transaction.atomic():  # queued when this block commits, with a short run for the test
            retry = retry_training(version)
            ModelVersion.objects.filter(pk=retry.pk).update(steps=1)
        wait_for(
            lambda: ModelVersion.objects.get(pk=retry.pk).status in ("succeeded", "failed"), 180, "the retry", worker
        )
    finally:
        stop_processes(worker, timeout=30)
    retry.refresh_from_db()
    assert retry.status == "succeeded" and retry.is_usable, retry.error
    assert retry.area_id == area.pk and retry.owner == user
    assert (media_root / retry.weights).is_file() and listing(media_root / "models") == {".partial", f"{retry.pk}.pt"}
    assert str(retry.pk) in dict(model_choices(user))
    assert ModelVersion.objects.get(pk=version.pk).status == "failed"  # the lost one keeps its reason


@pytest.mark.django_db
def test_a_silent_training_fails_once_and_a_live_one_keeps_running(settings, user, media_root):
    settings.RS3D_JOB_LEASE_SECONDS = 5
    area = Area.objects.create(name="Rows only", owner=user)
    silent_since = timezone.now() - timedelta(seconds=6)
    lost = ModelVersion.objects.create(
        area=area, owner=user, status="running", stage="finetune", started=silent_since, heartbeat=silent_since
    )
    lost.partial_weights_file.parent.mkdir(parents=True)
    lost.partial_weights_file.write_bytes(b"half a model")
    fresh = ModelVersion.objects.create(area=area, status="running", started=timezone.now(), heartbeat=timezone.now())
    mine = ModelVersion.objects.create(area=area, status="running", started=silent_since, heartbeat=silent_since)

    assert fail_lost_trainings(exclude={mine.pk}) == [lost.pk]  # the fresh one, and this process's own, keep running
    lost.refresh_from_db()
    assert lost.status == "failed" and "at the 'finetune' stage of the training" in lost.error
    assert not lost.partial_weights_file.exists()
    assert fail_lost_trainings(exclude={mine.pk}) == []  # once only
    assert ModelVersion.objects.get(pk=fresh.pk).status == "running"
    with pytest.raises(ValueError, match="Only a failed training can be retried"):
        retry_training(fresh)
