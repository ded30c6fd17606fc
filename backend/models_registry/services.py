"""Queue "Train on this area" and run it: the finetune child, its progress, the new version's scores."""

import json
import logging
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backend.areas.models import Area, Source
from backend.areas.permissions import AnyUser
from backend.jobs.runner import finetune_process
from backend.models_registry.catalog import DEFAULT_MODEL
from backend.models_registry.models import ModelVersion
from reconstruction import RS3DError

logger = logging.getLogger(__name__)

#: Optimiser steps a user may ask for, and the default.
MIN_STEPS, MAX_STEPS, DEFAULT_STEPS = 10, 5000, 300

#: The held-out scores the area page and the API show, in this order.
SCORES = ("miou", "height_mae_m")


class CannotTrain(ValueError):  # noqa: N818 - reads as the reason
    """The area lacks what training needs; str() says what."""


def can_train_on(area: Area) -> bool:
    """Whether ``area`` has the orthophoto and LiDAR that fine-tuning needs."""
    kinds = set(area.sources.values_list("kind", flat=True))
    return {Source.Kind.ORTHO, Source.Kind.LIDAR} <= kinds


def start_training(area: Area, owner: AnyUser, steps: int = DEFAULT_STEPS) -> ModelVersion:
    """Create a queued version trained on ``area`` and enqueue it once the surrounding transaction commits.

    Raises:
        CannotTrain: the area has no LiDAR (or no orthophoto).
    """
    from backend.models_registry.tasks import train_model  # the task module imports this one

    if not can_train_on(area):
        raise CannotTrain("Training needs an area with an orthophoto and a LiDAR point cloud; this one has no LiDAR.")
    version = ModelVersion.objects.create(
        area=area, owner=owner if owner.is_authenticated else None, steps=steps, base=DEFAULT_MODEL
    )

    def enqueue() -> None:
        result = train_model.enqueue(version.pk)
        ModelVersion.objects.filter(pk=version.pk).update(task_id=str(result.id))

    transaction.on_commit(enqueue)
    return version


def run_training(version_id: int) -> None:
    """Train a queued version to the end; a failure is stored as its ``error``, never raised.

    Running it again, or for a version another worker took, does nothing: only a queued one starts.
    """
    if not ModelVersion.objects.filter(pk=version_id, status=ModelVersion.Status.QUEUED).update(
        status=ModelVersion.Status.RUNNING, message="Starting"
    ):
        return
    version = ModelVersion.objects.select_related("area").get(pk=version_id)
    out = version.weights_file
    try:
        files = {s.kind: s.file for s in version.area.sources.all()} if version.area else {}
        if Source.Kind.LIDAR not in files:
            raise CannotTrain("The area of this model was deleted or has no LiDAR any more.")
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            report_path = Path(scratch) / "report.json"
            finetune_process(
                files[Source.Kind.ORTHO],
                files[Source.Kind.LIDAR],
                out,
                report_path,
                version.steps,
                version.area.epsg,
                _Progress(version.pk),
            )
            report = json.loads(report_path.read_text())
    except (RS3DError, CannotTrain) as err:
        _fail(version, out, str(err))
    except Exception:
        logger.exception("training of model version %s crashed", version.pk)
        _fail(
            version, out, "An internal error stopped the training. This is a bug in rs3d; the server log has details."
        )
    else:
        ModelVersion.objects.filter(pk=version.pk).update(
            status=ModelVersion.Status.SUCCEEDED,
            name=report["name"],
            version=report["version"],
            weights=out.relative_to(settings.MEDIA_ROOT).as_posix(),
            card={"before": report["before"], "after": report["after"]},
            progress=1.0,
            message="Finished",
            finished=timezone.now(),
        )


def held_out_rows(version: ModelVersion) -> list[dict[str, float | str | None]]:
    """The held-out east block's scores before and after, one row per score, for pages and the API."""
    before, after = version.card.get("before", {}), version.card.get("after", {})
    titles = {"miou": "mIoU", "height_mae_m": "height MAE (m)"}
    return [{"score": titles[key], "before": before.get(key), "after": after.get(key)} for key in SCORES]


def _fail(version: ModelVersion, out: Path, error: str) -> None:
    out.unlink(missing_ok=True)
    ModelVersion.objects.filter(pk=version.pk).update(
        status=ModelVersion.Status.FAILED, error=error, message="Failed", finished=timezone.now()
    )


class _Progress:
    """``on_progress`` of the finetune child: the version's progress and message, at most every half second."""

    def __init__(self, version_id: int, interval: float = 0.5) -> None:
        self.version_id = version_id
        self.interval = interval
        self._last = 0.0

    def __call__(self, _stage: str, fraction: float, message: str) -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - self._last < self.interval:
            return
        self._last = now
        ModelVersion.objects.filter(pk=self.version_id).update(progress=round(fraction, 4), message=message[:500])
