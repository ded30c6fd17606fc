"""``/api/jobs/``: a job's state, and cancelling it."""

from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from backend.api.serializers import JobSerializer
from backend.jobs.models import Job


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reconstruction jobs."""

    queryset = Job.objects.order_by("-created")
    serializer_class = JobSerializer

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Ask a queued or running job to stop; the worker stops at its next progress report."""
        job = self.get_object()
        if not job.is_finished:
            Job.objects.filter(pk=job.pk).exclude(status__in=Job.FINISHED).update(status=Job.Status.CANCELLED)
            job.refresh_from_db()
        return Response(JobSerializer(job).data)
