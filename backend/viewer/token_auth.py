"""API tokens on the file views (``/areas/<id>/data/...``, thumbnails), with the API's own token check.

A script that reads an area through the API (``Authorization: Token <key>``) reads its files with the same
header. The token only says who asks: the view then applies the same visibility rules as for a session
(an area the token's user may not see answers 404), and an unknown or revoked token answers 401 as in the API.
"""

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import patch_vary_headers
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

P = ParamSpec("P")


def accepts_api_tokens(
    view: Callable[P, HttpResponseBase],
) -> Callable[P, HttpResponseBase]:
    """Let ``view`` act for the user of a valid ``Authorization: Token <key>`` header, else for the session's.

    Every answer that is not the same for everyone (``Cache-Control: public``) varies on Authorization,
    so that no cache hands one token's answer to another request.
    """

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        request = args[0]
        assert isinstance(request, HttpRequest)
        try:
            found = TokenAuthentication().authenticate(request)  # type: ignore[arg-type]  # reads only META
        except exceptions.AuthenticationFailed as err:
            refused = HttpResponse(
                f"{err.detail} Create a new token on your account page (/accounts/), or send none.",
                status=401,
                content_type="text/plain; charset=utf-8",
            )
            refused["WWW-Authenticate"] = "Token"
            return refused
        if found is not None:
            request.user = found[0]
        response = view(*args, **kwargs)
        if "public" not in response.get("Cache-Control", ""):
            patch_vary_headers(response, ("Authorization",))
        return response

    return wrapper
