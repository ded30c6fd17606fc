"""Template context for every page: whether the header offers a sign-up link, where the app's scripts are."""

from functools import cache
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest

#: The site's icon, written into every page as a ``data:`` URL (``site_icon``).
FAVICON = "frontend/src/ui/favicon.svg"


def accounts(request: HttpRequest) -> dict[str, Any]:
    """``allow_signup``: RS3D_ALLOW_SIGNUP."""
    return {"allow_signup": settings.RS3D_ALLOW_SIGNUP}


def app_scripts(request: HttpRequest) -> dict[str, Any]:
    """``app_js``: the static folder of the pages' entry modules (``{% static app_js|add:'main.js' %}``).

    The bundles built from the current ``frontend/src`` (``RS3D_APP_BUNDLE_STATIC``: one file per page, the
    viewer's with the part of Cesium it uses, and the viewer page's style sheets as one ``viewer/page.css``);
    with DEBUG the modules of ``frontend/src`` themselves, so an edit shows at the next reload, without a build.
    ``app_bundled`` says which, for pages that link other files when unbundled.
    """
    bundled = not settings.DEBUG
    return {"app_js": f"{settings.RS3D_APP_BUNDLE_STATIC}/" if bundled else "rs3d/", "app_bundled": bundled}


@cache
def _icon_url(path: str) -> str:
    with open(settings.BASE_DIR / path, encoding="utf-8") as svg:
        return "data:image/svg+xml," + quote(svg.read().strip(), safe="/:=")


def site_icon(request: HttpRequest) -> dict[str, Any]:
    """``favicon``: the site's icon as a ``data:`` URL (191 bytes), so no page asks for it separately."""
    return {"favicon": _icon_url(FAVICON)}
