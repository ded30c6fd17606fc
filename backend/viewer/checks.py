"""System check: the collected static files hold the app bundle and the Cesium that this code asks for.

Pages load ``static/<RS3D_APP_BUNDLE_STATIC>/main.js`` (the viewer's, with the part of Cesium it uses, and its
style sheet ``viewer/page.css``), a folder named after ``frontend/src`` as it is when the server starts, and
Cesium's Workers and Assets from ``static/<RS3D_CESIUM_STATIC>/`` (its bundled workers, made by the same build).
Code updated without ``scripts/setup.sh`` (which runs ``node frontend/build.mjs`` and ``collectstatic``) would
send pages whose scripts answer 404: the viewer would stay blank with nothing in the server's log.
``manage.py check``, ``runserver`` and ``rs3d_worker`` say so.
With DEBUG the pages load the modules of ``frontend/src`` through the finders, and nothing needs collecting.
"""

from typing import Any

from django.conf import settings
from django.core.checks import Warning, register

#: Files the pages need, each with the setting naming its folder.
NEEDED = (
    ("RS3D_APP_BUNDLE_STATIC", "main.js"),
    ("RS3D_APP_BUNDLE_STATIC", "viewer/page.css"),
    ("RS3D_CESIUM_STATIC", "Workers/createGeometry.js"),
)


@register()
def collected_scripts(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """A warning per script folder missing from STATIC_ROOT (production settings only)."""
    if settings.DEBUG:
        return []
    missing = [
        f"{getattr(settings, name)}/{file}"
        for name, file in NEEDED
        if not (settings.STATIC_ROOT / getattr(settings, name) / file).is_file()
    ]
    return [
        Warning(
            f"{path} is not among the collected static files ({settings.STATIC_ROOT}): pages would get 404 for it",
            hint="run scripts/setup.sh (or: node frontend/build.mjs && python manage.py collectstatic)",
            id="rs3d.W001",
        )
        for path in missing
    ]
