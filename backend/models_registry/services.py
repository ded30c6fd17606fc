"""Queue "Train on this area" and run it: the finetune child, its progress, the new version's scores."""

import json
import logging
import os
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from backend.areas.models import Area, Source
from backend.areas.permissions import AnyUser
from backend.models_registry.catalog import DEFAULT_MODEL
from backend.models_registry.models import ModelVersion
from backend.runtime.dbretry import retry_db
from backend.runtime.diskspace import DiskFull, is_disk_full
from backend.runtime.lease import beat, heartbeat_seconds, lease_seconds
from backend.runtime.runner import finetune_process
from reconstruction import Cancelled, RS3DError

logger = logging.getLogger(__name__)

#: Optimiser steps a user may ask for, and the default.
MIN_STEPS, MAX_STEPS, DEFAULT_STEPS = 10, 5000, 300

#: The held-out scores the area page and the API show, in this order.
SCORES = ("miou", "height_mae_m")

#: How many leases a worker keeps trying to save a training's outcome while the database is unreachable.
_OUTCOME_PATIENCE = 5

_ACTIVE: set[int] = set()  # versions this process is training


class CannotTrain(ValueError):  # noqa: N818 - reads as the reason
    """The area lacks what training needs; str() says what."""


def can_train_on(area: Area) -> bool:
    """Whether ``area`` has the one orthophoto and one LiDAR file that fine-tuning reads."""
    try:
        training_files(area)
    except CannotTrain:
        return False
    return True


def training_files(area: Area) -> tuple[Path, Path]:
    """The orthophoto and LiDAR files fine-tuning reads.

    Raises:
        CannotTrain: the area lacks one of them, or holds several tiles of one (fine-tuning reads one file each).
    """
    files = area.input_files()
    ortho, lidar = files.get(Source.Kind.ORTHO, []), files.get(Source.Kind.LIDAR, [])
    if not lidar or not ortho:
        raise CannotTrain(
            f"Training needs an area with an orthophoto and a LiDAR point cloud; this one has no "
            f"{'LiDAR' if not lidar else 'orthophoto'}."
        )
    if len(ortho) > 1 or len(lidar) > 1:
        raise CannotTrain(
            f"Training reads one orthophoto file and one LiDAR file; this area holds {len(ortho)} orthophoto and "
            f"{len(lidar)} LiDAR tiles. Train on an area of one tile."
        )
    return ortho[0], lidar[0]


def start_training(area: Area, owner: AnyUser, steps: int = DEFAULT_STEPS) -> ModelVersion:
    """Create a queued version trained on ``area`` and enqueue it once the surrounding transaction commits.

    Raises:
        CannotTrain: the area has no LiDAR (or no orthophoto), or several tiles of one.
    """
    from backend.models_registry.tasks import train_model  # the task module imports this one

    training_files(area)  # raises CannotTrain with the reason
    version = ModelVersion.objects.create(
        area=area, owner=owner if owner.is_authenticated else None, steps=steps, base=DEFAULT_MODEL
    )

    def enqueue() -> None:
        result = train_model.enqueue(version.pk)
        ModelVersion.objects.filter(pk=version.pk).update(task_id=str(result.id))

    transaction.on_commit(enqueue)
    return version


def retry_training(version: ModelVersion) -> ModelVersion:
    """Queue a new training like the failed ``version`` (same area, owner and steps); the old one keeps its reason.

    Raises:
        ValueError: the version did not fail.
        CannotTrain: its area was deleted or lost its LiDAR.
    """
    if version.status != ModelVersion.Status.FAILED:
        raise ValueError(
            f"Only a failed training can be retried; model {version.pk} is {version.get_status_display()}."
        )
    if version.area is None:
        raise CannotTrain("The area this model was trained on was deleted; train on another area.")
    return start_training(version.area, version.owner or AnonymousUser(), steps=version.steps)


def active_training_ids() -> frozenset[int]:
    """Versions this process is training now (alive whatever their heartbeat says)."""
    return frozenset(_ACTIVE)


def run_training(version_id: int) -> None:
    """Train a queued version to the end; a failure is stored as its ``error``, never raised.

    Running it again, or for a version another worker took, does nothing: only a queued one starts. The
    child writes the weights to :attr:`ModelVersion.partial_weights_file`; they are renamed into place only
    once training succeeded, so a failed, killed or lost run leaves no usable half model. The worker stamps
    the version's heartbeat meanwhile (:mod:`backend.models_registry.lease`).
    """
    now = timezone.now()
    if not ModelVersion.objects.filter(pk=version_id, status=ModelVersion.Status.QUEUED).update(
        status=ModelVersion.Status.RUNNING, message="Starting", stage="start", started=now, heartbeat=now
    ):
        return
    version = ModelVersion.objects.select_related("area").get(pk=version_id)
    partial = version.partial_weights_file
    _ACTIVE.add(version.pk)
    try:
        if version.area is None:
            raise CannotTrain("The area of this model was deleted; train on another area.")
        files = training_files(version.area)
        partial.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            report_path = Path(scratch) / "report.json"
            finetune_process(
                *files,
                partial,
                report_path,
                version.steps,
                version.area.epsg,
                _Progress(version.pk),
                on_tick=lambda: _beat(version.pk),
                tick_seconds=heartbeat_seconds(),
            )
            report = json.loads(report_path.read_text())
        _beat(version.pk)  # still ours: not declared lost while the child ran
        _succeed(version, partial, report)
    except Cancelled:
        logger.warning("training of model version %s was declared lost while it ran; its result is dropped", version.pk)
    except DiskFull:
        _fail(version, _disk_full_error(version))
    except (RS3DError, CannotTrain) as err:
        _fail(version, str(err))
    except Exception as err:
        if is_disk_full(err):
            _fail(version, _disk_full_error(version))
        else:
            logger.exception("training of model version %s crashed", version.pk)
            _fail(version, "An internal error stopped the training. This is a bug in rs3d; the server log has details.")
    finally:
        _ACTIVE.discard(version.pk)
        partial.unlink(missing_ok=True)


def held_out_rows(version: ModelVersion) -> list[dict[str, float | str | None]]:
    """The held-out east block's scores before and after, one row per score, for pages and the API."""
    before, after = version.card.get("before", {}), version.card.get("after", {})
    titles = {"miou": "mIoU", "height_mae_m": "height MAE (m)"}
    return [{"score": titles[key], "before": before.get(key), "after": after.get(key)} for key in SCORES]


def _disk_full_error(version: ModelVersion) -> str:
    lead = "The training could not write its files; no model was saved."
    return str(DiskFull(version.weights_file.parent, lead))


def _beat(version_id: int) -> None:
    """Stamp the heartbeat; stop the run if the version was declared lost meanwhile."""
    if not retry_db(lambda: beat(ModelVersion, version_id), f"model version {version_id}'s heartbeat"):
        raise Cancelled("The training is no longer running.")


def _succeed(version: ModelVersion, partial: Path, report: dict) -> None:
    """Move the weights into place, then record the version as ready (unless it was declared lost meanwhile)."""
    out = version.weights_file
    os.replace(partial, out)

    def record() -> int:
        return ModelVersion.objects.filter(pk=version.pk, status=ModelVersion.Status.RUNNING).update(
            status=ModelVersion.Status.SUCCEEDED,
            name=report["name"],
            version=report["version"],
            weights=out.relative_to(settings.MEDIA_ROOT).as_posix(),
            card={"before": report["before"], "after": report["after"]},
            progress=1.0,
            message="Finished",
            finished=timezone.now(),
        )

    if not retry_db(record, f"model version {version.pk}'s result", patience=_OUTCOME_PATIENCE * lease_seconds()):
        out.unlink(missing_ok=True)


def _fail(version: ModelVersion, error: str) -> None:
    """Record the failure, unless the version was declared lost meanwhile (that reason stays)."""
    version.weights_file.unlink(missing_ok=True)

    def record() -> int:
        return ModelVersion.objects.filter(pk=version.pk, status=ModelVersion.Status.RUNNING).update(
            status=ModelVersion.Status.FAILED, error=error, message="Failed", finished=timezone.now()
        )

    retry_db(record, f"model version {version.pk}'s failure", patience=_OUTCOME_PATIENCE * lease_seconds())


class _Progress:
    """``on_progress`` of the finetune child: stage, progress, message and heartbeat, at most every half second.

    After the last step the child scores the held-out block and writes the weights: stage ``evaluate``.
    """

    def __init__(self, version_id: int, interval: float = 0.5) -> None:
        self.version_id = version_id
        self.interval = interval
        self._last = 0.0

    def __call__(self, stage: str, fraction: float, message: str) -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - self._last < self.interval:
            return
        self._last = now
        stage, message = ("evaluate", "Scoring the held-out block") if fraction >= 1.0 else (stage, message[:500])
        rows = ModelVersion.objects.filter(pk=self.version_id, status=ModelVersion.Status.RUNNING)
        fields = {"stage": stage, "progress": round(fraction, 4), "message": message, "heartbeat": timezone.now()}
        retry_db(lambda: rows.update(**fields), f"model version {self.version_id}'s progress")
