"""Background tasks (Django Tasks API); thin wrappers over :mod:`backend.jobs.services`."""

from django_tasks import task

from backend.jobs import services


@task()
def reconstruct_area(job_id: int) -> None:
    """Run the reconstruction job ``job_id``."""
    services.run_job(job_id)
