"""An ASGI fast path for the features API: a kept answer for a remembered credential, without Django.

Once an answer is kept (:mod:`backend.serving.feature_answers`) and the credential's "yes" remembered
(:mod:`backend.serving.feature_grants`), what is left of a features request is Django's request cycle itself:
under ASGI, on two shared cores, it holds the endpoint near 200-300 requests/s. ``FeaturesGate`` (wrapped
around Django's HTTP app in ``backend.asgi``, like ``backend.serving.data_gate.DataGate``) answers a GET of
``/api/areas/<id>/features/`` from those two alone: the same body and the same headers as the view and the
middleware (a test holds them equal), and the same 304 to a matching If-None-Match. Anything it cannot answer
from memory goes to Django unchanged: an unseen or revoked credential, a query not answered yet, a malformed
one (Django's 400), a ``format`` or an ``Accept`` the API's negotiation would refuse, other conditional
headers, HEAD, a host Django would refuse. No refusal is ever remembered.

One difference stays, by design: a request for a public area that carries a session cookie the server no
longer knows (expired, or from another installation) gets the answer without Django's ``Set-Cookie`` that
deletes the dead cookie (the next answer Django gives deletes it). Body, status, permissions, ETag and the
other headers are the same.
"""

import re
from typing import Any

from django.http import HttpRequest, QueryDict
from django.utils.cache import get_conditional_response

from backend.serving import data_gate, feature_answers, feature_grants, grants

#: The features action's route (``/api/areas/<pk>/features/``; DRF's router puts the slash last).
ROUTE = re.compile(r"/api/areas/([0-9]+)/features/\Z")
#: What DRF's view adds to every answer of the action: its methods, and Accept (it has two renderers).
_ALLOW = "GET, HEAD, OPTIONS"
_CONDITIONS = ("if-none-match", "if-match", "if-unmodified-since", "if-modified-since")
Scope = dict[str, Any]


class FeaturesGate:
    """ASGI wrapper: answer features requests from memory when it can, pass everything else to ``app``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Send the kept answer (or its 304) when there is one for this request, else hand it to Django."""
        answer = _answer(scope) if data_gate._candidate(scope) and scope["method"] == "GET" else None
        if answer is None:
            await self.app(scope, receive, send)
            return
        status, headers, body = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _answer(scope: Scope) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
    """Status, headers and body from memory; None: ask Django."""
    match = ROUTE.match(scope["path"])
    if match is None:
        return None
    headers = data_gate.request_headers(scope)
    config = data_gate._config()
    secure = data_gate._is_secure(scope, headers, config)
    if not data_gate._host_allowed(headers, config) or (config.ssl_redirect and not secure):
        return None
    if not _negotiates(headers.get("accept")):
        return None
    try:
        query_string = scope.get("query_string", b"").decode()  # as Django reads it: UTF-8, strict
    except UnicodeDecodeError:
        return None
    params = QueryDict(query_string)
    if "format" in params:  # DRF's format override: its negotiation decides (404 for an unknown one)
        return None
    remembered = feature_grants.recall(headers, int(match[1]), grants.generation(config.stamp))
    if remembered is None:
        return None
    etag = feature_answers.etag(remembered.current_id, query_string)
    vary = ["Accept", "Cookie"] if feature_grants.reads_session(headers.get("authorization", "")) else ["Accept"]
    revalidated = _revalidated(headers, etag)
    if revalidated == 304:
        return 304, _wire({"Vary": ", ".join(vary), "Allow": _ALLOW, "Content-Length": "0"}, config, secure), b""
    if revalidated is not None:  # 412: Django answers (and logs) it
        return None
    try:
        query = feature_answers.FeatureQuery.parse(params)
    except feature_answers.BadQuery:
        return None
    found = feature_answers.cached(remembered.publication, query)
    if found is None:
        return None
    body, out = feature_answers.encoded(found, headers.get("accept-encoding", ""), etag=etag, public=remembered.public)
    out["Vary"] = ", ".join([*filter(None, [out.get("Vary")]), *vary])
    out |= {"Allow": _ALLOW, "Content-Length": str(len(body))}
    return 200, _wire(out, config, secure), body


def _revalidated(headers: dict[str, str], etag: str) -> int | None:
    """The status Django's conditional checks give this request for ``etag`` (304, 412); None: send the body."""
    if not any(name in headers for name in _CONDITIONS):
        return None
    request = HttpRequest()
    request.method = "GET"
    request.META = {f"HTTP_{name.upper().replace('-', '_')}": headers[name] for name in _CONDITIONS if name in headers}
    response = get_conditional_response(request, etag=etag)
    return None if response is None else response.status_code


def _negotiates(accept: str | None) -> bool:
    """Whether DRF's content negotiation surely accepts this Accept header (else it may answer 406: Django)."""
    if accept is None:
        return True
    return any(part.split(";", 1)[0].strip() == "*/*" for part in accept.split(","))


def _wire(headers: dict[str, str], config: Any, secure: bool) -> list[tuple[bytes, bytes]]:
    """``headers`` plus what the middleware adds to every answer (SecurityMiddleware's and the like)."""
    out = headers | config.stack_headers[secure]
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in out.items()]
