"""``/api/jobs/``: a job's state, cancelling it and retrying it (the area's owner or staff)."""

from django.db import transaction
from django.db.models import QuerySet
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from backend.api.serializers import JobSerializer
from backend.api.throttles import UploadRateLimited
from backend.areas.permissions import can_edit, visible_areas
from backend.jobs.lease import expire_if_lost
from backend.jobs.models import Job
from backend.jobs.services import AreaBusy, cancel_job, retry_job


class JobViewSet(UploadRateLimited, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reconstruction jobs of the areas the user may see (others answer 404)."""

    serializer_class = JobSerializer

    def get_queryset(self) -> QuerySet[Job]:
        """Jobs of visible areas."""
        return Job.objects.filter(area__in=visible_areas(self.request.user)).order_by("-created")

    def get_object(self) -> Job:
        """The job, failed first if its worker stopped sending heartbeats (see backend.jobs.lease)."""
        return expire_if_lost(super().get_object())

    upload_rate_actions = ("retry",)  # a retry runs the reconstruction again

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Ask a queued or running job to stop; the worker stops at its next progress report."""
        job = self.get_object()
        if not can_edit(request.user, job.area):
            raise PermissionDenied("Only the owner of this area can cancel its jobs.")
        return Response(JobSerializer(cancel_job(job)).data)

    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        """Run a failed or cancelled job's area again as a new job; the old job keeps its log.

        Idempotent while the run it queued is active: an area has at most one queued or running job.

        - **201** and the new job: a run was queued.
        - **200** and the area's queued or running job: nothing was queued, because a run is already
          on its way (a second click, a client repeating its request). Follow the job returned either way.
        - **400**: the job itself is still queued or running, or it succeeded.
        - **429**: the user's upload rate is used up; retries count as uploads (``RS3D_UPLOAD_RATE``).
        """
        job = self.get_object()
        if not can_edit(request.user, job.area):
            raise PermissionDenied("Only the owner of this area can retry its jobs.")
        try:
            with transaction.atomic():
                new = retry_job(job)
        except ValueError as err:
            raise ValidationError({"status": [str(err)]}) from err
        except AreaBusy as busy:
            return Response(JobSerializer(busy.job).data, status=status.HTTP_200_OK)
        return Response(JobSerializer(new).data, status=status.HTTP_201_CREATED)
