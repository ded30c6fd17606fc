"""ASGI entry point: HTTP through Django and its gates (published files, features answers), websockets via Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
django_http = get_asgi_application()  # set up Django before importing consumers

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from django.urls import re_path  # noqa: E402

from backend.jobs.routing import websocket_urlpatterns  # noqa: E402
from backend.serving.data_gate import DataGate  # noqa: E402
from backend.serving.features_gate import FeaturesGate  # noqa: E402

try:
    settings.SECRET_KEY  # noqa: B018 - Django raises when it is empty (no RS3D_SECRET_KEY without DEBUG)
except ImproperlyConfigured as err:
    raise ImproperlyConfigured(
        "rs3d will not serve without a secret key: set RS3D_SECRET_KEY to a long random string (for example "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`), or RS3D_DEBUG=1 for a local demo."
    ) from err


class NoSuchSocket(AsyncWebsocketConsumer):
    """Any other websocket path: accepted, then closed with 4404 (as a job one may not see), nothing logged.

    Without it Channels' router raises "No route found" and the server logs a traceback for every such request.
    """

    async def connect(self) -> None:
        """Close at once: there is nothing to follow here."""
        await self.accept()
        await self.close(code=4404)


application = ProtocolTypeRouter(
    {
        # Published files, and kept features answers, that a viewer was already allowed: answered from the
        # views' remembered "yes" without Django (data_gate, features_gate).
        "http": DataGate(FeaturesGate(django_http)),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter([*websocket_urlpatterns, re_path(r"", NoSuchSocket.as_asgi())]))
        ),
    }
)
