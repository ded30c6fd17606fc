"""Template context for every page: whether the header offers a sign-up link, where the app's scripts are."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def accounts(request: HttpRequest) -> dict[str, Any]:
    """``allow_signup``: RS3D_ALLOW_SIGNUP."""
    return {"allow_signup": settings.RS3D_ALLOW_SIGNUP}


def app_scripts(request: HttpRequest) -> dict[str, Any]:
    """``app_js``: the static folder of the pages' entry modules (``{% static app_js|add:'main.js' %}``).

    The bundles built from the current ``frontend/src`` (``RS3D_APP_BUNDLE_STATIC``: one file per page); with
    DEBUG the modules of ``frontend/src`` themselves, so an edit shows at the next reload, without a build.
    """
    return {"app_js": "rs3d/" if settings.DEBUG else f"{settings.RS3D_APP_BUNDLE_STATIC}/"}
