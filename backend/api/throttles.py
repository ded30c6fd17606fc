"""Rate limits: new areas per user (``DEFAULT_THROTTLE_RATES["uploads"]``, env RS3D_UPLOAD_RATE)."""

from rest_framework.throttling import UserRateThrottle

_PERIODS = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}


class UploadRateThrottle(UserRateThrottle):
    """New areas per user (per address when anonymous); the API and the upload form share the count."""

    scope = "uploads"

    def limit_message(self) -> str:
        """The limit in words, e.g. "Too many uploads: at most 30 new areas per hour per user."."""
        period = _PERIODS.get(self.duration, f"{self.duration} seconds")
        return f"Too many uploads: at most {self.num_requests} new areas per {period} per user."
