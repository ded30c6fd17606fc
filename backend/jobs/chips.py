"""Large areas: split a job into overlapping chips that several workers run, then merge and publish them.

An area wider or taller than ``RS3D_CHIP_SIZE_M`` is planned into chips (:func:`plan_chips`, from the
job's own task); each chip is one background task (:func:`run_chip`), taken by whichever worker is free,
on any machine that shares the media folder. The last chip to succeed queues :func:`merge_chips`, which
stitches the chips into an ordinary run's output, publishes it and finishes the job. In the job's staging
folder the plan is ``plan.json``, chip K writes ``chips/c<K>/`` and the merge writes ``out/``.

A chip that fails fails the job, naming the chip; the other chips then stop at their next heartbeat or
progress report and are marked cancelled, as they are when the user cancels the job. The staging folder
is removed by whichever of the job's tasks stops last after the job ended.
"""

import logging
import os
import shutil
import socket
from pathlib import Path

from django.conf import settings
from django.contrib.gis.gdal import GDALException, GDALRaster
from django.db import transaction
from django.utils import timezone

from backend.jobs.models import ChipRun, Job
from backend.jobs.notify import notify_job_changed
from backend.jobs.outcome import (
    ACTIVE_CHIPS,
    ACTIVE_JOBS,
    Published,
    beat_or_stop,
    failure,
    finish,
    publish_run,
    settle,
    staging_folder,
    time_limit,
)
from backend.jobs.progress import CHIPS_SHARE, ChipProgress, JobProgress
from backend.models_registry.catalog import run_argument
from backend.runtime.dbretry import retry_db
from backend.runtime.lease import beat, heartbeat_seconds
from backend.runtime.runner import merge_chips_process, plan_chips_process, run_chip_process
from reconstruction import Cancelled, PipelineInputs

logger = logging.getLogger(__name__)

#: The chip plan's file name in a chipped job's staging folder.
PLAN = "plan.json"


def chippable(inputs: PipelineInputs) -> bool:
    """Whether an area with ``inputs`` may be split into chips.

    Chipping must be on, no input may need the whole area at once, and a single orthophoto must be larger
    than one chip (the area is never larger than its orthophoto).
    """
    whole_area_only = bool(inputs.stereo) or inputs.second_image is not None or inputs.register_dsm
    if settings.RS3D_CHIP_SIZE_M <= 0 or whole_area_only:
        return False
    # Tiles (or no orthophoto: LiDAR alone) go to the plan, which knows the working grid they make together.
    return len(inputs.ortho) != 1 or not _fits_one_chip(inputs.ortho[0], settings.RS3D_CHIP_SIZE_M)


#: A GeoTIFF's first bytes (classic and BigTIFF, both byte orders).
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def _fits_one_chip(ortho: Path, chip_m: float) -> bool:
    """True when the orthophoto's sides, in metres of a projected CRS, are no longer than a chip.

    Reads the header in this process (GeoDjango's GDAL, milliseconds), sparing most jobs the plan child
    (1.5-2 s); a geographic, non-TIFF or unreadable orthophoto is left to the plan, which knows the working
    grid. The core cannot do this in-process: the worker's SpatiaLite has loaded the system GEOS and PROJ,
    and the core's wheels beside them abort the process. GeoDjango's GDAL opens any format, so it only
    sees a file that starts as a TIFF (which GDAL's GTiff driver claims) and that the upload check already
    accepted (the core's allow-listed opener), with only the sidecars that check accepted beside it: nothing it
    could point at.
    """
    try:
        with ortho.open("rb") as f:
            if f.read(4) not in _TIFF_MAGIC:
                return False
        raster = GDALRaster(str(ortho))
        srs = raster.srs
        if srs is None or not srs.projected or abs(srs.linear_units - 1.0) > 1e-9:
            return False
        width, height = abs(raster.scale.x) * raster.width, abs(raster.scale.y) * raster.height
    except (GDALException, OSError):
        return False
    return max(width, height) <= chip_m


def plan_chips(job: Job, inputs: PipelineInputs) -> int:
    """Plan the running job's chips into its staging folder and, if there are several, queue their tasks.

    With a single chip the staging folder is left empty for the ordinary whole run.

    Returns:
        How many chips the area needs.

    Raises:
        PipelineFailed, DiskFull, ProcessingError, Cancelled: as :func:`backend.runtime.runner.plan_chips_process`.
    """
    staging = staging_folder(job)
    staging.mkdir(parents=True, exist_ok=True)
    count = plan_chips_process(
        inputs,
        staging / PLAN,
        settings.RS3D_CHIP_SIZE_M,
        settings.RS3D_CHIP_MARGIN_M,
        JobProgress(job, share=lambda stage, fraction: 0.0),
        on_tick=lambda: beat_or_stop(job),
        tick_seconds=heartbeat_seconds(),
        time_limit=time_limit(job),
    )
    beat_or_stop(job)
    if count > 1:
        retry_db(lambda: _queue_chips(job, count), f"job {job.pk}'s chips")
        notify_job_changed(job.pk)
    else:
        shutil.rmtree(staging)  # the whole run writes there, and all of it is published
    return count


def run_chip(job_id: int, index: int) -> None:
    """Run chip ``index`` of a chipped job; the last chip to succeed queues the merge.

    Only a queued chip of a running job starts, so running it again does nothing. The chip beats its own
    heartbeat and the job's, and stops at its next beat or report once the job no longer runs (cancelled,
    failed by another chip, declared lost). A chip that fails fails the job, naming the chip.
    """
    job = Job.objects.select_related("area", "area__model_version").get(pk=job_id)
    now = timezone.now()
    taken = ChipRun.objects.filter(
        job_id=job.pk, index=index, status=ChipRun.Status.QUEUED, job__status=Job.Status.RUNNING
    ).update(status=ChipRun.Status.RUNNING, worker=_worker_name(), started=now, heartbeat=now)
    if not taken:
        logger.info("chip %s of job %s is not queued, or the job no longer runs; nothing to do", index, job.pk)
        _wind_up_if_over(job)
        return
    chip = ChipRun.objects.get(job_id=job.pk, index=index)
    notify_job_changed(job.pk)
    ACTIVE_CHIPS.add(chip.pk)
    try:
        _run_chip(job, chip)
    finally:
        ACTIVE_CHIPS.discard(chip.pk)
        _wind_up_if_over(job)


def merge_chips(job_id: int) -> None:
    """Stitch the chips of a job whose chips all succeeded, publish the result and finish the job.

    Only the first run of a running job's merge does anything. The outcome is recorded as for a whole run
    (:func:`backend.jobs.outcome.settle`).
    """
    job = Job.objects.select_related("area").get(pk=job_id)
    now = timezone.now()
    if not Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, merge_started__isnull=True).update(
        merge_started=now, heartbeat=now, stage="merge", message="Merging the chips"
    ):
        logger.info("job %s no longer runs, or another worker merges its chips; nothing to do", job.pk)
        _wind_up_if_over(job)
        return
    notify_job_changed(job.pk)
    ACTIVE_JOBS.add(job.pk)
    try:
        settle(job, lambda: _merge(job))
    finally:
        ACTIVE_JOBS.discard(job.pk)


def _queue_chips(job: Job, count: int) -> None:
    """Create the job's chip rows and queue one task per chip, all in one transaction.

    The task queue lives in the same database, so a worker that dies here leaves either all of it or none.
    """
    from backend.jobs.tasks import reconstruct_chip  # the task module imports this one

    with transaction.atomic():
        tasks = [str(reconstruct_chip.enqueue(job.pk, index).id) for index in range(count)]
        ChipRun.objects.bulk_create([ChipRun(job=job, index=index, task_id=tasks[index]) for index in range(count)])
        Job.objects.filter(pk=job.pk).update(
            stage="plan", message=f"Split into {count} chips; waiting for workers", heartbeat=timezone.now()
        )


def _run_chip(job: Job, chip: ChipRun) -> None:
    """Run the taken ``chip`` to its end; record how it ended in the chip and, when that decides it, the job."""
    count = ChipRun.objects.filter(job_id=job.pk).count()
    try:
        warnings = run_chip_process(
            staging_folder(job) / PLAN,
            chip.index,
            _chip_folder(job, chip.index),
            ChipProgress(job, chip, count),
            on_tick=lambda: _beat_chip(job, chip),
            tick_seconds=heartbeat_seconds(),
            model=run_argument(job.area.model, job.area.model_version),
            time_limit=time_limit(job),
        )
        _beat_chip(job, chip)
        retry_db(lambda: _chip_succeeded(job, chip, warnings), f"chip {chip.index} of job {job.pk}")
    except Exception as err:
        _chip_stopped(job, chip, count, *failure(job, err))
    notify_job_changed(job.pk)


def _chip_succeeded(job: Job, chip: ChipRun, warnings: list[str]) -> None:
    """Mark the chip succeeded; the job's last chip queues the merge, once, in the same transaction.

    The job's row lock makes two chips that finish together agree on which of them was the last; the
    task queue lives in the same database, so the merge is queued if and only if the last chip's success
    is recorded.

    Raises:
        Cancelled: the job no longer runs.
    """
    from backend.jobs.tasks import merge_chips as merge_task  # the task module imports this one

    with transaction.atomic():
        if Job.objects.select_for_update().get(pk=job.pk).status != Job.Status.RUNNING:
            raise Cancelled("The job is no longer running.")
        now = timezone.now()
        ChipRun.objects.filter(pk=chip.pk).update(
            status=ChipRun.Status.SUCCEEDED, progress=1.0, message="Done", warnings=warnings, finished=now
        )
        if ChipRun.objects.filter(job_id=job.pk).exclude(status=ChipRun.Status.SUCCEEDED).exists():
            return
        Job.objects.filter(pk=job.pk).update(
            stage="merge",
            progress=CHIPS_SHARE,
            message="Waiting for a worker to merge the chips",
            heartbeat=now,
            task_id=str(merge_task.enqueue(job.pk).id),
        )


def _chip_stopped(job: Job, chip: ChipRun, count: int, status: str, error: str) -> None:
    """Record a chip that did not succeed: its failure fails the job; a chip stopped by the job's end is cancelled."""
    failed = status == Job.Status.FAILED and finish(
        job, Job.Status.FAILED, error=f"chip {chip.index + 1} of {count} failed: {error}"
    )
    if status == Job.Status.CANCELLED:
        finish(job, Job.Status.CANCELLED, error=error)  # records nothing unless the user cancelled the job
    outcome = ChipRun.Status.FAILED if failed else ChipRun.Status.CANCELLED
    message = error if failed else "Stopped: the job ended."
    retry_db(
        lambda: ChipRun.objects.filter(pk=chip.pk, status=ChipRun.Status.RUNNING).update(
            status=outcome, message=message[:500], finished=timezone.now()
        ),
        f"chip {chip.index} of job {job.pk}'s outcome",
    )


def _merge(job: Job) -> Published:
    """Stitch the job's chips into ``out/`` of its staging folder and publish that."""
    chips = list(ChipRun.objects.filter(job_id=job.pk).order_by("index"))
    out = staging_folder(job) / "out"
    warnings = merge_chips_process(
        staging_folder(job) / PLAN,
        [_chip_folder(job, chip.index) for chip in chips],
        out,
        JobProgress(job, share=lambda stage, fraction: CHIPS_SHARE + (1 - CHIPS_SHARE) * fraction),
        on_tick=lambda: beat_or_stop(job),
        tick_seconds=heartbeat_seconds(),
        time_limit=time_limit(job),
    )
    chip_warnings = [warning for chip in chips for warning in chip.warnings]
    return publish_run(job, out, list(dict.fromkeys([*chip_warnings, *warnings])))


def _wind_up_if_over(job: Job) -> None:
    """Once the job ended, whatever the outcome, tidy it up; a running job is left alone.

    Records a cancel that no task saw yet, cancels the chips no worker took and removes the staging
    folder (the last of the job's tasks to stop removes what the others left).
    """
    status = retry_db(lambda: Job.objects.values_list("status", flat=True).get(pk=job.pk), f"job {job.pk}'s state")
    if status == Job.Status.RUNNING:
        return
    if status == Job.Status.CANCELLED:
        finish(job, Job.Status.CANCELLED, error="Cancelled at your request.")
    retry_db(lambda: ChipRun.cancel_queued(job.pk), f"job {job.pk}'s queued chips")
    shutil.rmtree(staging_folder(job), ignore_errors=True)
    notify_job_changed(job.pk)


def _beat_chip(job: Job, chip: ChipRun) -> None:
    """Stamp the chip's heartbeat and its job's; stop the chip if either no longer runs."""
    beat_or_stop(job)
    if not retry_db(lambda: beat(ChipRun, chip.pk), f"chip {chip.index} of job {job.pk}'s heartbeat"):
        raise Cancelled("The chip is no longer running.")


def _chip_folder(job: Job, index: int) -> Path:
    return staging_folder(job) / "chips" / f"c{index}"


def _worker_name() -> str:
    """``hostname:pid`` of this process, as a chip records who took it."""
    return f"{socket.gethostname()}:{os.getpid()}"
