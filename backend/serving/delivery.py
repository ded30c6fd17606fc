"""Deliver a published file over HTTP: content type, precompressed encodings, ETag/304, byte ranges, streaming.

Published versions never change, so every representation (identity, ``.br``, ``.gz`` written at publish time
by ``backend.areas.publish.precompress``) has a strong ETag from its file's path, size and mtime. Callers
check permissions first: nothing here knows who may read what. ``plan_file`` decides the answer from the
method and headers alone; ``serve_file`` (the Django view's) and ``backend.serving.data_gate`` both send it.
Behind nginx with ``RS3D_X_ACCEL_REDIRECT`` set, ``to_nginx`` turns a plan's bytes into an X-Accel-Redirect
(docs/nginx.md): the app still decides everything, nginx only sends the chosen file.
"""

import asyncio
import hashlib
import mimetypes
import os
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO
from urllib.parse import quote

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import http_date, parse_etags, parse_http_date_safe, quote_etag
from django.utils.log import log_response

from backend.areas.publish import COMPRESSIBLE, PRECOMPRESSED

#: What every file a job writes is served as (by suffix; ``.city.json`` checked first).
CONTENT_TYPES = {
    ".city.json": "application/city+json",
    ".json": "application/json",
    ".geojson": "application/geo+json",
    ".gltf": "model/gltf+json",
    ".glb": "model/gltf-binary",
    ".b3dm": "application/octet-stream",
    ".pnts": "application/octet-stream",
    ".bin": "application/octet-stream",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".laz": "application/vnd.laszip",
    ".las": "application/vnd.las",
    ".gpkg": "application/geopackage+sqlite3",
    ".zip": "application/zip",
    ".csv": "text/csv; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/xml",
    ".html": "text/html; charset=utf-8",
}
#: Preference among encodings the client weighs equally (and over identity).
_PREFERENCE = ("br", "gzip")
_CHUNK = 1 << 16
_RANGE = re.compile(r"^bytes=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)
#: The headers nginx writes itself for the file it sends on an X-Accel-Redirect (``to_nginx`` leaves them out).
_NGINX_SETS = frozenset({"Content-Length", "Content-Range", "Accept-Ranges"})


@dataclass(frozen=True)
class _Representation:
    """One stored form of a file: its path on disk, its Content-Encoding (None: identity), size and mtime."""

    path: str
    encoding: str | None
    size: int
    mtime: int

    @classmethod
    def of(cls, path: str, encoding: str | None, stat: os.stat_result | None = None) -> "_Representation":
        stat = os.stat(path) if stat is None else stat
        return cls(path, encoding, stat.st_size, int(stat.st_mtime))

    @property
    def etag(self) -> str:
        """Strong ETag, distinct per representation (the ``-br``/``-gzip`` tag also shows which one)."""
        digest = hashlib.blake2b(f"{self.path}:{self.size}:{self.mtime}".encode(), digest_size=10).hexdigest()
        return quote_etag(f"{digest}-{self.encoding}" if self.encoding else digest)


def content_type(path: Path) -> str:
    """The Content-Type for a published file, by suffix; Python's table, then octet-stream, otherwise."""
    return _content_type(path.name)


def _content_type(name: str) -> str:
    name = name.lower()
    for suffix, kind in CONTENT_TYPES.items():
        if name.endswith(suffix):
            return kind
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def is_precompressed_copy(path: Path) -> bool:
    """Whether ``path`` is the ``.br``/``.gz`` copy of a compressible file beside it (not a file of its own)."""
    original = path.with_suffix("")
    return (
        path.suffix.lower() in PRECOMPRESSED.values() and original.suffix.lower() in COMPRESSIBLE and original.is_file()
    )


@dataclass(frozen=True)
class Plan:
    """What to answer for one file: status, headers (in order), and which bytes of which file follow.

    Computed from the method and request headers alone (no Django request), so that the Django view and
    ``backend.serving.data_gate`` answer alike. ``path`` is None when no body follows (304, 412, 416);
    a HEAD's plan carries the GET's ``length`` (its Content-Length) and the caller sends no body.
    """

    status: int
    headers: list[tuple[str, str]]
    path: str | None = None
    start: int = 0
    length: int = 0


def plan_file(
    method: str,
    headers: Mapping[str, str],
    path: str | Path,
    *,
    cache_control: str,
    stat: os.stat_result | None = None,
) -> Plan:
    """The answer to a GET or HEAD for ``path``: negotiated encoding, validators, a byte range.

    Args:
        method: "GET" or "HEAD".
        headers: the request headers by lower-case name (Accept-Encoding, If-Match, If-None-Match,
            If-Modified-Since, If-Unmodified-Since, Range, If-Range); a missing one is absent.
        path: an existing file the caller may read.
        cache_control: the Cache-Control value of every answer that carries the file's validators.
        stat: ``os.stat(path)`` when the caller has it (one system call less).

    Returns:
        200 (whole representation), 206 (one byte range of the identity bytes), 304/412 (preconditions,
        decided as Django's ``get_conditional_response`` decides them) or 416.
    """
    identity = _Representation.of(str(path), None, stat)
    name = os.path.basename(identity.path)
    encodings = _precompressed(identity.path) if os.path.splitext(name)[1].lower() in COMPRESSIBLE else {}
    byte_range = _requested_range(headers, identity) if method == "GET" else None
    if byte_range is not None:  # a range counts in the identity bytes: never in a compressed copy
        chosen = identity
    else:
        encoding = _negotiate(headers.get("accept-encoding", ""), tuple(encodings))
        chosen = encodings[encoding] if encoding else identity

    etag, last_modified = chosen.etag, http_date(chosen.mtime)
    vary = [("Vary", "Accept-Encoding")] if encodings else []
    precondition = _preconditions(method, headers, etag, chosen.mtime)
    if precondition == 304:  # the headers Django's _not_modified copies, in its order
        return Plan(304, [("Cache-Control", cache_control), ("ETag", etag), ("Last-Modified", last_modified), *vary])
    if precondition == 412:
        return Plan(412, [])

    start, length, status = 0, chosen.size, 200
    extra: list[tuple[str, str]] = [("Content-Encoding", chosen.encoding)] if chosen.encoding else []
    if byte_range is not None:
        satisfiable = _satisfiable(byte_range, chosen.size)
        if satisfiable is None:
            return Plan(416, [("Content-Range", f"bytes */{chosen.size}")])
        start, length, status = *satisfiable, 206
        extra.append(("Content-Range", f"bytes {start}-{start + length - 1}/{chosen.size}"))
    common = [
        ("Content-Type", _content_type(name)),
        ("ETag", etag),
        ("Last-Modified", last_modified),
        ("Cache-Control", cache_control),
        ("Accept-Ranges", "bytes"),
        *vary,
    ]
    return Plan(status, [*common, *extra, ("Content-Length", str(length))], chosen.path, start, length)


def to_nginx(plan: Plan, method: str, headers: Mapping[str, str], *, prefix: str, media_root: str) -> Plan:
    """``plan`` with its bytes left to nginx: no body, ``X-Accel-Redirect: <prefix><file under media_root>``.

    nginx's ``internal`` location for ``prefix`` (an alias of MEDIA_ROOT, docs/nginx.md) then sends the very
    file the plan chose (the ``.br``/``.gz`` copy or the plain file) with the headers this answer carries. Only
    where nginx sends exactly the plan's bytes: a GET's 200, and its 206 (nginx cuts the client's own Range,
    which the plan found to be one satisfiable range of the plain file). Everything else keeps ``plan``, the
    app's own answer: HEAD, 304/412/416 (no bytes), and the rare requests nginx would judge by its own
    validators, not the app's (If-Match, If-Range, or a Range the plan ignores); so is a file outside
    ``media_root`` (realpath, no trailing slash) or any ``prefix`` that is empty (the setting off).
    """
    if not prefix or method != "GET" or plan.path is None or plan.status not in (200, 206):
        return plan
    if "if-match" in headers or "if-range" in headers or (plan.status == 200 and "range" in headers):
        return plan
    if not plan.path.startswith(media_root + "/"):
        return plan
    relative = plan.path[len(media_root) + 1 :]
    if any(part in ("", ".", "..") for part in relative.split("/")):  # resolved paths have none; never pass one
        return plan
    # nginx percent-decodes the header once (and would take a raw "?" as the start of arguments).
    redirect = prefix + quote(relative, safe="/")
    # nginx sends its own Content-Length, Content-Range (cutting the Range) and Accept-Ranges.
    kept = [(name, value) for name, value in plan.headers if name not in _NGINX_SETS]
    return Plan(200, [*kept, ("X-Accel-Redirect", redirect), ("Content-Length", "0")])


def serve_file(request: HttpRequest, path: Path, *, cache_control: str) -> HttpResponseBase:
    """Django's answer to a GET or HEAD for ``path``, as ``plan_file`` plans it; the body is streamed.

    With ``RS3D_X_ACCEL_REDIRECT`` set, ``to_nginx`` may leave the bytes to nginx instead.

    Args:
        request: the GET or HEAD request.
        path: an existing file the user may read.
        cache_control: the Cache-Control value of every answer that carries the file's validators.
    """
    assert request.method is not None
    plan = plan_file(request.method, request.headers, path, cache_control=cache_control)
    if prefix := settings.RS3D_X_ACCEL_REDIRECT:
        media_root = os.path.realpath(settings.MEDIA_ROOT)
        plan = to_nginx(plan, request.method, request.headers, prefix=prefix, media_root=media_root)
    response: HttpResponseBase
    if plan.status == 304:
        response = HttpResponseNotModified()
    elif plan.status == 412:
        response = HttpResponse(status=412)
        log_response("Precondition Failed: %s", request.path, response=response, request=request)
    elif plan.path is None or request.method == "HEAD":
        response = HttpResponse(status=plan.status)
    else:
        file = open(plan.path, "rb")  # noqa: SIM115 - the response's body closes it
        file.seek(plan.start)
        body = _AsyncBody(file, plan.length) if isinstance(request, ASGIRequest) else _SyncBody(file, plan.length)
        response = StreamingHttpResponse(body, status=plan.status)
    for name, value in plan.headers:
        response[name] = value
    return response


def _preconditions(method: str, headers: Mapping[str, str], etag: str, mtime: int) -> int | None:
    """304, 412 or None (go on), by the steps of Django's ``get_conditional_response`` (RFC 9110 13.2.2)."""
    if_match = parse_etags(headers.get("if-match", ""))
    if_unmodified_since = _date(headers.get("if-unmodified-since"))
    if_none_match = parse_etags(headers.get("if-none-match", ""))
    if_modified_since = _date(headers.get("if-modified-since"))
    if if_match and not (if_match == ["*"] or (not etag.startswith("W/") and etag in if_match)):
        return 412
    if not if_match and if_unmodified_since and not (mtime and mtime <= if_unmodified_since):
        return 412
    if if_none_match and (if_none_match == ["*"] or etag.strip("W/") in (e.strip("W/") for e in if_none_match)):
        return 304 if method in ("GET", "HEAD") else 412
    if not if_none_match and if_modified_since and mtime and mtime <= if_modified_since and method in ("GET", "HEAD"):
        return 304
    return None


def _date(value: str | None) -> int | None:
    return parse_http_date_safe(value) if value else None


def _precompressed(path: str) -> dict[str, _Representation]:
    """Content-Encoding -> precompressed copy, for the copies publish wrote beside ``path`` (one stat each)."""
    found = {}
    for encoding, suffix in PRECOMPRESSED.items():
        try:
            stat = os.stat(path + suffix)
        except OSError:
            continue
        if S_ISREG(stat.st_mode):
            found[encoding] = _Representation.of(path + suffix, encoding, stat)
    return found


def _negotiate(accept_encoding: str, available: tuple[str, ...]) -> str | None:
    """The encoding to send among ``available`` (None: identity), by the client's q-values, then br > gzip.

    Hand-written: Django parses Accept (``HttpRequest.accepts``) but not Accept-Encoding's q-values, and
    GZipMiddleware's regex treats ``gzip;q=0`` as acceptance. Identity, always acceptable, wins only when
    the client lists it with a strictly higher q; when nothing is acceptable it is sent anyway (RFC 9110
    12.5.3 allows this over a 406).
    """
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        if not coding:
            continue
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    weight = 0.0
        weights[{"x-gzip": "gzip"}.get(coding.lower(), coding.lower())] = weight
    wildcard = weights.get("*", 0.0)
    ranked = sorted(
        (c for c in _PREFERENCE if c in available and weights.get(c, wildcard) > 0),
        key=lambda c: -weights.get(c, wildcard),  # stable: br before gzip at equal weight
    )
    if ranked and weights.get(ranked[0], wildcard) >= weights.get("identity", 0.0):
        return ranked[0]
    return None


def _requested_range(headers: Mapping[str, str], identity: _Representation) -> tuple[str, str] | None:
    """The single ``bytes=first-last`` range asked for, if it applies; None serves the whole representation.

    Hand-written: Django has no Range parser (FileResponse ignores Range). A multi-range, another unit or
    bad syntax is ignored (RFC 9110 14.2 lets a server send 200 with the whole file); so is a range whose
    If-Range names another representation or date.
    """
    match = _RANGE.match(headers.get("range", ""))
    if match is None or match.groups() == ("", ""):
        return None
    if match[1] and match[2] and int(match[2]) < int(match[1]):
        return None
    if if_range := headers.get("if-range", "").strip():
        if if_range.startswith(('"', "W/")):
            # If-Range needs a strong match (RFC 9110 13.1.5): a weak tag never matches.
            if if_range.startswith("W/") or parse_etags(if_range) != [identity.etag]:
                return None
        elif parse_http_date_safe(if_range) != identity.mtime:
            return None
    return match[1], match[2]


def _satisfiable(byte_range: tuple[str, str], size: int) -> tuple[int, int] | None:
    """(start, length) of ``first-last``, ``first-`` or ``-suffix`` within ``size`` bytes; None: 416."""
    first, last = byte_range
    if not first:  # the last N bytes
        suffix = int(last)
        return (max(size - suffix, 0), min(suffix, size)) if suffix > 0 and size > 0 else None
    start = int(first)
    if start >= size:
        return None
    end = min(int(last), size - 1) if last else size - 1
    return start, end - start + 1


class _FileBody:
    """``length`` bytes of an open file from its current position, in chunks; closing closes the file."""

    def __init__(self, file: BinaryIO, length: int) -> None:
        self._file = file
        self._left = length

    def _read(self) -> bytes:
        chunk = self._file.read(min(_CHUNK, self._left))
        self._left -= len(chunk)
        return chunk

    def close(self) -> None:
        """Close the file (Django calls this when the response is done or the client went away)."""
        self._file.close()


class _SyncBody(_FileBody):
    """The body for a WSGI-style handler (the test client)."""

    def __iter__(self) -> Iterator[bytes]:
        while self._left > 0 and (chunk := self._read()):
            yield chunk


class _AsyncBody(_FileBody):
    """The body under ASGI (uvicorn), read on a worker thread.

    A sync iterator would make Django's ASGI handler read the whole file into a list before sending it
    (``StreamingHttpResponse.__aiter__`` in Django 5.2): a 1 GB LAZ would take 1 GB of memory.
    """

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self._left > 0 and (chunk := await asyncio.to_thread(self._read)):
            yield chunk
