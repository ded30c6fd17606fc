"""Security headers Django 5.2 does not set itself: Content-Security-Policy and Permissions-Policy.

Listed before WhiteNoise in ``MIDDLEWARE`` so that static files carry them too: a web worker (Cesium's
decoders under ``/static/cesium/Workers/``) runs under the policy of its own script's response, not the page's.
"""

from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase


class SecurityHeadersMiddleware:
    """Add ``RS3D_CONTENT_SECURITY_POLICY`` and ``RS3D_PERMISSIONS_POLICY`` to every response that has none.

    Sync and async capable, so that under ASGI it adds no thread switch to the file-serving views.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        """The view's response with the two headers (a view may set its own, stricter ones)."""
        if iscoroutinefunction(self):
            return self._acall(request)
        response = self.get_response(request)
        assert isinstance(response, HttpResponseBase)
        return _with_headers(response)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        assert not isinstance(response, HttpResponseBase)
        return _with_headers(await response)


def _with_headers(response: HttpResponseBase) -> HttpResponseBase:
    if policy := settings.RS3D_CONTENT_SECURITY_POLICY:
        response.headers.setdefault("Content-Security-Policy", policy)
    if policy := settings.RS3D_PERMISSIONS_POLICY:
        response.headers.setdefault("Permissions-Policy", policy)
    return response
