"""Background tasks (Django Tasks API); thin wrappers over :mod:`backend.jobs.services` and `.chips`."""

from django_tasks import task

from backend.jobs import chips, services


@task()
def reconstruct_area(job_id: int) -> None:
    """Run the reconstruction job ``job_id`` (a large area: plan its chips and queue them)."""
    services.run_job(job_id)


@task()
def reconstruct_chip(job_id: int, index: int) -> None:
    """Run chip ``index`` of the chipped job ``job_id``."""
    chips.run_chip(job_id, index)


@task()
def merge_chips(job_id: int) -> None:
    """Merge the chips of the job ``job_id`` and publish the result."""
    chips.merge_chips(job_id)
