"""Background tasks (Django Tasks API); thin wrappers over :mod:`backend.models_registry.services`."""

from django_tasks import task

from backend.models_registry import services


@task()
def train_model(version_id: int) -> None:
    """Train the model version ``version_id`` on its area."""
    services.run_training(version_id)
