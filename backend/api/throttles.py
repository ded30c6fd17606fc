"""Rate limits and load refusals.

New areas and job retries per user (``DEFAULT_THROTTLE_RATES["uploads"]``, env RS3D_UPLOAD_RATE); uploads
refused while the server checks others (:class:`ChecksBusyError`).
"""

from rest_framework import status
from rest_framework.exceptions import APIException, Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, UserRateThrottle

_PERIODS = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}


class UploadRateThrottle(UserRateThrottle):
    """New areas and job retries per user (per address when anonymous); the API and the pages share the count.

    A retry runs the whole reconstruction again, as an upload does, so it counts as one.
    """

    scope = "uploads"

    def limit_message(self) -> str:
        """The limit in words, e.g. "Too many uploads: at most 30 new areas or job retries per hour per user."."""
        period = _PERIODS.get(self.duration, f"{self.duration} seconds")
        return f"Too many uploads: at most {self.num_requests} new areas or job retries per {period} per user."


class UploadRateLimited:
    """Viewset mixin: the actions named in ``upload_rate_actions`` count against :class:`UploadRateThrottle`.

    A refusal is 429 with the limit in words (DRF adds when to try again); other actions keep the
    viewset's own throttles.
    """

    upload_rate_actions: tuple[str, ...] = ()
    action: str | None

    def get_throttles(self) -> list[BaseThrottle]:
        """The upload rate for the named actions, else the viewset's usual throttles."""
        if self.action in self.upload_rate_actions:
            return [UploadRateThrottle()]
        return super().get_throttles()  # type: ignore[misc]

    def check_throttles(self, request: Request) -> None:
        """Refuse with 429 and say what the limit is."""
        for throttle in self.get_throttles():
            if not throttle.allow_request(request, self):  # type: ignore[arg-type]
                message = throttle.limit_message() if isinstance(throttle, UploadRateThrottle) else None
                raise Throttled(throttle.wait(), detail=message)


class ChecksBusyError(APIException):
    """503 with ``Retry-After: wait``: every upload-check slot stayed taken (see backend.runtime.checkslots)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "busy"

    def __init__(self, detail: str, wait: int) -> None:
        super().__init__(detail)
        self.wait = wait  # DRF's exception handler sends it as Retry-After
