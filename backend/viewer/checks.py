"""System check: the collected static files hold the app bundle and the Cesium that this code asks for.

Pages load ``static/<RS3D_APP_BUNDLE_STATIC>/main.js``, a folder named after ``frontend/src`` as it is when the
server starts, and Cesium from ``static/<RS3D_CESIUM_STATIC>/``. Code updated without ``scripts/setup.sh`` (which
runs ``node frontend/build.mjs`` and ``collectstatic``) would send pages whose scripts answer 404: the viewer
would stay blank with nothing in the server's log. ``manage.py check``, ``runserver`` and ``rs3d_worker`` say so.
With DEBUG the pages load the modules of ``frontend/src`` through the finders, and nothing needs collecting.
"""

from typing import Any

from django.conf import settings
from django.core.checks import Warning, register

#: Files every page needs, by the setting naming their folder.
NEEDED = {"RS3D_APP_BUNDLE_STATIC": "main.js", "RS3D_CESIUM_STATIC": "index.js"}


@register()
def collected_scripts(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """A warning per script folder missing from STATIC_ROOT (production settings only)."""
    if settings.DEBUG:
        return []
    missing = [
        f"{getattr(settings, name)}/{file}"
        for name, file in NEEDED.items()
        if not (settings.STATIC_ROOT / getattr(settings, name) / file).is_file()
    ]
    return [
        Warning(
            f"{path} is not among the collected static files ({settings.STATIC_ROOT}): pages would load no script",
            hint="run scripts/setup.sh (or: node frontend/build.mjs && python manage.py collectstatic)",
            id="rs3d.W001",
        )
        for path in missing
    ]
