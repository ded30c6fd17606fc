"""Template context for every page: whether the header offers a sign-up link."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def accounts(request: HttpRequest) -> dict[str, Any]:
    """``allow_signup``: RS3D_ALLOW_SIGNUP."""
    return {"allow_signup": settings.RS3D_ALLOW_SIGNUP}
