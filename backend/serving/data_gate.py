"""A fast path for published files in front of Django: it replays the ``area_data`` view's own "yes".

After its permission checks pass, the view records a grant: (credential, area id, version) -> the version's
folder, the cache scope and until when it holds. The credential is "anyone" for a public area, else a digest
of the API token header or of the session cookie. ``DataGate`` (the ASGI wrapper around Django's HTTP app in
``backend.asgi``) answers a GET or HEAD of ``/areas/<id>/data/<version>/<path>`` from such a grant without
Django's request cycle (no database, no middleware): the same per-file checks as the view, the same plan
(``delivery.plan_file``) and the same headers the middleware adds. Anything it cannot answer from a grant
goes to Django unchanged: an unseen credential, a revoked or expired grant, a missing file, a 412/416, a
host Django would refuse. No refusal is ever remembered. With ``RS3D_X_ACCEL_REDIRECT`` set, its answer hands the
file to nginx as the view's does (``delivery.to_nginx``).

A grant is only good under the generation (``backend.serving.grants``) current when the view *started* its
checks, and a session's grant only until the session expires; every change that can revoke access bumps the
generation, so the next request after it goes to Django. Grants live in each process, at most
``RS3D_DATA_GATE_GRANTS`` of them (least recently used go first).
"""

import asyncio
import functools
import hashlib
import math
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISLNK, S_ISREG
from typing import Any, BinaryIO

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, parse_cookie
from django.http.request import split_domain_port, validate_host

from backend.serving import grants
from backend.serving.delivery import Plan, is_precompressed_copy, plan_file, to_nginx

#: Django's ``areas/<int:area_id>/data/<int:version>/<path:path>``.
ROUTE = re.compile(r"/areas/([0-9]+)/data/([0-9]+)/(.+)\Z", re.DOTALL)
#: Bodies up to this size are read in the event loop (one read of a cached file); larger ones on a thread.
_INLINE = 256 * 1024
_CHUNK = 1 << 16
Scope = dict[str, Any]


@dataclass(frozen=True)
class Grant:
    """The view's "yes" for one credential, area and version."""

    folder: Path  # the publication's folder, resolved
    public: bool  # Cache-Control public (a public area) or private
    session: bool  # decided by the session (so Django's answer varies on Cookie)
    expires: float  # epoch seconds
    generation: int


_grants: "OrderedDict[tuple[str, int, int], Grant]" = OrderedDict()
_lock = threading.Lock()


def remember(request: HttpRequest, area_id: int, version: int, *, folder: Path, public: bool, generation: int) -> None:
    """Record the view's "yes" for this request's credential (call once the view's own checks passed).

    ``generation`` must be ``grants.current()`` read before the checks, so that a change committed while they
    ran leaves the grant stale.
    """
    if not settings.RS3D_DATA_GATE:
        return
    token = _token_credential(request.META.get("HTTP_AUTHORIZATION", "").encode("latin-1"))
    session, expires = False, math.inf
    if token is not None:  # the view ran, so DRF accepted the token
        credential = token
    elif public:
        credential = "anyone"
    else:
        cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if not cookie or not request.user.is_authenticated or request.session.session_key != cookie:
            return
        if (expires_at := _session_expiry(cookie)) is None:
            return
        credential, session, expires = _digest("session", cookie), True, expires_at
    grant = Grant(folder, public, session, expires, generation)
    with _lock:
        _grants[(credential, area_id, version)] = grant
        _grants.move_to_end((credential, area_id, version))
        while len(_grants) > settings.RS3D_DATA_GATE_GRANTS:
            _grants.popitem(last=False)


def _session_expiry(key: str) -> float | None:
    """When the stored session ends (the row's own date: ``get_expiry_date`` counts from now); None: unknown.

    Only the database store's sessions are remembered (cached_db's cache may outlive its row, a signed cookie
    has no row): for the others every request goes to Django.
    """
    from django.contrib.sessions.models import Session

    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        return None
    found = Session.objects.filter(session_key=key).values_list("expire_date", flat=True).first()
    return found.timestamp() if found else None


def forget_all() -> None:
    """Drop every grant of this process."""
    with _lock:
        _grants.clear()


class DataGate:
    """ASGI wrapper: answer published files from grants, pass everything else to ``app``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Serve from a grant when one answers this request, else hand it to Django."""
        answer, file = None, None
        if _candidate(scope):
            try:
                answer = _answer(scope)
                if answer is not None and answer[0].path is not None and scope["method"] == "GET":
                    file = open(answer[0].path, "rb")  # noqa: SIM115 - closed after the body is sent
            except OSError:  # gone or unreadable since: Django says what that means
                answer = None
        if answer is None:
            await self.app(scope, receive, send)
            return
        plan, headers = answer
        await send({"type": "http.response.start", "status": plan.status, "headers": headers})
        if file is None:
            await send({"type": "http.response.body", "body": b""})
            return
        with file:
            await _send_file(file, plan, send)


@dataclass(frozen=True)
class _Config:
    """The settings the hot path reads, read once (a Django setting is a lazy attribute lookup each time)."""

    enabled: bool
    stamp: str
    session_cookie: str
    ssl_redirect: bool
    proxy_ssl_header: tuple[str, str] | None  # lower-case header name, value
    forwarded_host: bool
    allowed_hosts: list[str]
    stack_headers: dict[bool, dict[str, str]]  # by request.is_secure()
    x_accel_redirect: str  # the nginx location prefix, or "" (bytes sent here)
    media_root: str  # realpath


@functools.cache
def _config() -> _Config:
    proxy = None
    if settings.SECURE_PROXY_SSL_HEADER:
        header, value = settings.SECURE_PROXY_SSL_HEADER  # Django raises on a malformed one as well
        proxy = (header.removeprefix("HTTP_").replace("_", "-").lower(), value)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return _Config(
        enabled=settings.RS3D_DATA_GATE,
        stamp=os.path.join(settings.MEDIA_ROOT, grants.STAMP),
        session_cookie=settings.SESSION_COOKIE_NAME,
        ssl_redirect=settings.SECURE_SSL_REDIRECT,
        proxy_ssl_header=proxy,
        forwarded_host=settings.USE_X_FORWARDED_HOST,
        allowed_hosts=list(allowed),
        stack_headers={secure: _stack_headers(secure) for secure in (False, True)},
        x_accel_redirect=settings.RS3D_X_ACCEL_REDIRECT,
        media_root=os.path.realpath(settings.MEDIA_ROOT),
    )


@receiver(setting_changed)
def _settings_changed(**kwargs: Any) -> None:
    _config.cache_clear()  # tests change settings


def _candidate(scope: Scope) -> bool:
    return (
        scope["type"] == "http"
        and scope.get("method") in ("GET", "HEAD")
        and not scope.get("root_path")
        and _config().enabled
    )


def request_headers(scope: Scope) -> dict[str, str]:
    """The request's headers as Django's META holds them: lower-case names, repeats joined with commas."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").lower()
        if "_" in name:  # Django drops these (no spoofing between _ and -)
            continue
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


def _answer(scope: Scope) -> tuple[Plan, list[tuple[bytes, bytes]]] | None:
    """The plan and response headers for this request from a current grant; None: ask Django."""
    match = ROUTE.match(scope["path"])
    if match is None:
        return None
    headers = request_headers(scope)
    config = _config()
    secure = _is_secure(scope, headers, config)
    if not _host_allowed(headers, config) or (config.ssl_redirect and not secure):
        return None
    grant = _grant(headers, int(match[1]), int(match[2]), config)
    if grant is None:
        return None
    path = match[3]
    if "\x00" in path:
        return None
    # As the view: inside the folder, a regular file, not a .br/.gz copy of a file beside it.
    target, stat = _inside(str(grant.folder), path)
    if target is None or stat is None:
        return None
    if target.endswith((".br", ".gz")) and is_precompressed_copy(Path(target)):
        return None
    cache_control = "public, max-age=31536000, immutable" if grant.public else "private, max-age=31536000, immutable"
    plan = plan_file(scope["method"], headers, target, cache_control=cache_control, stat=stat)
    if plan.status not in (200, 206, 304):  # 412, 416: rare; Django answers them (and logs the 412)
        return None
    if config.x_accel_redirect:  # as serve_file: nginx sends the bytes
        plan = to_nginx(plan, scope["method"], headers, prefix=config.x_accel_redirect, media_root=config.media_root)
    return plan, _response_headers(plan, grant, config.stack_headers[secure])


def _inside(folder: str, path: str) -> tuple[str | None, os.stat_result | None]:
    """``folder/path`` and its stat if it is a regular file reached through no link, ``..`` or ``.``.

    What the view's ``resolve()`` + ``is_relative_to`` + ``is_file`` accept, minus the paths with a link,
    ``.`` or ``..`` somewhere (published versions have none): those go to Django, which resolves them.
    One ``lstat`` per component, as ``os.path.realpath`` would do, without its bookkeeping.
    """
    parts = path.split("/")
    if "" in parts or "." in parts or ".." in parts:
        return None, None
    current = folder
    stat = None
    for part in parts:
        current = f"{current}/{part}"
        stat = os.lstat(current)  # OSError (no such file): the caller hands the request to Django
        if S_ISLNK(stat.st_mode):
            return None, None
    return (current, stat) if stat is not None and S_ISREG(stat.st_mode) else (None, None)


def _grant(headers: dict[str, str], area_id: int, version: int, config: _Config) -> Grant | None:
    """The current grant for this request's credential, if the view recorded one."""
    generation = grants.generation(config.stamp)
    if generation is None:
        return None
    token = _token_credential(headers.get("authorization", "").encode("latin-1"))
    if token is not None:
        keys = [token]
    else:
        keys = ["anyone"]
        if cookie := parse_cookie(headers.get("cookie", "")).get(config.session_cookie):
            keys.append(_digest("session", cookie))
    now = time.time()
    with _lock:
        for key in keys:
            grant = _grants.get((key, area_id, version))
            if grant is None:
                continue
            if grant.generation != generation or grant.expires <= now:
                del _grants[(key, area_id, version)]
                continue
            _grants.move_to_end((key, area_id, version))
            return grant
    return None


def _token_credential(authorization: bytes) -> str | None:
    """A digest of an ``Authorization: Token ...`` header, split as DRF's TokenAuthentication splits it."""
    words = authorization.split()
    if not words or words[0].lower() != b"token":
        return None
    return _digest("token", authorization.decode("latin-1"))


def _digest(kind: str, secret: str) -> str:
    return f"{kind}:{hashlib.blake2b(secret.encode('utf-8', 'surrogateescape'), digest_size=20).hexdigest()}"


def _is_secure(scope: Scope, headers: dict[str, str], config: _Config) -> bool:
    """``request.is_secure()`` as Django answers it."""
    if config.proxy_ssl_header is not None:
        name, secure_value = config.proxy_ssl_header
        if (value := headers.get(name)) is not None:
            return value.split(",", 1)[0].strip() == secure_value
    return scope.get("scheme", "http") == "https"


def _host_allowed(headers: dict[str, str], config: _Config) -> bool:
    """Whether Django's ``get_host`` (CommonMiddleware calls it) would accept this request's Host."""
    if config.forwarded_host or "host" not in headers:
        return False  # rare set-ups: Django decides
    domain, _ = split_domain_port(headers["host"])
    return bool(domain) and validate_host(domain, config.allowed_hosts)


def _response_headers(plan: Plan, grant: Grant, stack: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """The plan's headers plus what Django's middleware adds to the view's answer (a test holds them equal)."""
    out = dict(plan.headers)
    # backend.viewer.token_auth: an answer not for everyone varies on Authorization; SessionMiddleware: a
    # request decided by the session varies on Cookie.
    vary = [v for v in out.pop("Vary", "").split(", ") if v]
    vary += [] if grant.public else ["Authorization"]
    vary += ["Cookie"] if grant.session and not grant.public else []
    if vary:
        out["Vary"] = ", ".join(vary)
    if plan.status == 304:  # CommonMiddleware: a non-streaming answer gets its length
        out["Content-Length"] = "0"
    out.update(stack)
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in out.items()]


def _stack_headers(secure: bool) -> dict[str, str]:
    """SecurityMiddleware's, SecurityHeadersMiddleware's and XFrameOptionsMiddleware's headers."""
    out: dict[str, str] = {}
    if settings.X_FRAME_OPTIONS:
        out["X-Frame-Options"] = settings.X_FRAME_OPTIONS.upper()
    if policy := settings.RS3D_CONTENT_SECURITY_POLICY:
        out["Content-Security-Policy"] = policy
    if policy := settings.RS3D_PERMISSIONS_POLICY:
        out["Permissions-Policy"] = policy
    if settings.SECURE_HSTS_SECONDS and secure:
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        hsts += "; includeSubDomains" if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS else ""
        out["Strict-Transport-Security"] = hsts + ("; preload" if settings.SECURE_HSTS_PRELOAD else "")
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        out["X-Content-Type-Options"] = "nosniff"
    if referrer := settings.SECURE_REFERRER_POLICY:
        out["Referrer-Policy"] = referrer if isinstance(referrer, str) else ",".join(referrer)
    if coop := settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        out["Cross-Origin-Opener-Policy"] = coop
    return out


async def _send_file(file: BinaryIO, plan: Plan, send: Any) -> None:
    """The plan's bytes of the open ``file``: at once when small, else in chunks read on a worker thread."""
    file.seek(plan.start)
    left = plan.length
    if left <= _INLINE:
        await send({"type": "http.response.body", "body": file.read(left)})
        return
    while left > 0:
        chunk = await asyncio.to_thread(file.read, min(_CHUNK, left))
        if not chunk:
            break
        left -= len(chunk)
        await send({"type": "http.response.body", "body": chunk, "more_body": left > 0})
    if left > 0:  # the file shrank: end the body (the client sees a short read)
        await send({"type": "http.response.body", "body": b""})
