"""Features answers kept in memory per published version and query: a version never changes, nor do its answers.

One features request costs a spatial query, the GeoJSON text and its gzip: about 25 ms for a quarter of
the demo city, most of a request. Every viewer of an area asks the same few queries (its roads, water and
land use), so the first request of a (version, query) pays that once and the next ones send the bytes kept
from it, already gzipped. Entries are keyed by the publication's id *and* creation time (an id alone could
name another version after a rolled-back transaction), at most ``RS3D_FEATURES_CACHE_BYTES`` per process;
the least recently used go first. Who may read them is decided elsewhere (the view, or a remembered
decision: :mod:`backend.serving.feature_grants`): this module never looks at the request's user.

The gzip is made once per answer, as Django's ``GZipMiddleware`` makes it per response (same rules: bodies
under 200 bytes and bodies gzip would not shrink go as they are), but without its random filler against
BREACH: that attack reads a secret reflected next to attacker-chosen text, and a features answer echoes
nothing of its request.
"""

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse, QueryDict
from django.middleware.gzip import re_accepts_gzip

from backend.areas.features import Condition

#: The per-process budget when settings name none (bodies as kept: gzip where it is smaller).
DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
#: GZipMiddleware leaves shorter bodies as they are.
_MIN_GZIP = 200
#: The publication a cached answer belongs to: its id and its creation time (epoch seconds).
PublicationKey = tuple[int, float]


class BadQuery(ValueError):
    """A query parameter that is not what it should be; ``param`` names it (the API answers 400)."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class FeatureQuery:
    """A features query in a normal form: the same filters written differently share one entry."""

    classes: tuple[str, ...]  # sorted, each once; empty: every class
    bbox: tuple[float, float, float, float] | None
    point: tuple[float, float] | None
    conditions: tuple[Condition, ...]

    @classmethod
    def parse(cls, params: QueryDict) -> "FeatureQuery":
        """Read ``class`` (or ``kind``; one or more, comma-separated), ``bbox``, ``point`` and ``where`` (repeatable).

        Raises:
            BadQuery: a parameter is malformed or out of range (the message says how to write it).
        """
        try:
            conditions = tuple(Condition.parse(text) for text in params.getlist("where"))
        except ValueError as err:
            raise BadQuery("where", str(err)) from err
        return cls(
            classes=_classes(params.get("class") or params.get("kind")),
            bbox=_bbox(params.get("bbox")),
            point=_point(params.get("point")),
            conditions=conditions,
        )

    def key(self) -> tuple[object, ...]:
        """What makes two queries the same answer (conditions are combined with "and": their order is not)."""
        return (self.classes, self.bbox, self.point, tuple(sorted(self.conditions, key=repr)))


@dataclass(frozen=True)
class Answer:
    """One query's answer as it goes on the wire."""

    body: bytes  # gzip bytes when ``gzipped``, else the GeoJSON text
    gzipped: bool
    compressible: bool  # GZipMiddleware would have looked at it (so the answer varies on Accept-Encoding)

    @classmethod
    def from_text(cls, text: str) -> "Answer":
        """Encode ``text`` once, as GZipMiddleware would for each response."""
        plain = text.encode()
        if len(plain) < _MIN_GZIP:
            return cls(plain, gzipped=False, compressible=False)
        packed = gzip.compress(plain, compresslevel=9, mtime=0)
        if len(packed) >= len(plain):
            return cls(plain, gzipped=False, compressible=True)
        return cls(packed, gzipped=True, compressible=True)

    def plain(self) -> bytes:
        """The GeoJSON text's bytes (unpacked for the rare client that takes no gzip)."""
        return gzip.decompress(self.body) if self.gzipped else self.body


def _classes(text: str | None) -> tuple[str, ...]:
    """``road,water`` as ("road", "water"): sorted and each once, so that the same classes share one answer."""
    if not text:
        return ()
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise BadQuery("class", "Give class as one class name or several separated by commas: class=road,water.")
    return tuple(sorted(set(names)))


def _point(text: str | None) -> tuple[float, float] | None:
    if not text:
        return None
    try:
        lon, lat = (float(v) for v in text.split(","))
    except ValueError as err:
        raise BadQuery("point", "Give point as longitude,latitude in degrees.") from err
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise BadQuery("point", "point must be within -180..180 / -90..90 degrees.")
    return (lon, lat)


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError as err:
        raise BadQuery("bbox", "Give bbox as west,south,east,north in degrees.") from err
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise BadQuery("bbox", "bbox must be west<east and south<north, within -180..180 / -90..90.")
    return (west, south, east, north)


_answers: "OrderedDict[tuple[PublicationKey, tuple[object, ...]], Answer]" = OrderedDict()
_size = 0
_lock = threading.Lock()


def cached(publication: PublicationKey, query: FeatureQuery) -> Answer | None:
    """The kept answer to ``query`` on ``publication``, if there is one."""
    key = (publication, query.key())
    with _lock:
        found = _answers.get(key)
        if found is not None:
            _answers.move_to_end(key)
        return found


def answer(publication: PublicationKey, query: FeatureQuery, compute: Callable[[], str]) -> Answer:
    """The kept answer to ``query`` on ``publication``, else ``compute()``'s text, encoded and kept.

    ``compute`` may raise (a name the version does not have): nothing is kept then.
    """
    global _size
    if (found := cached(publication, query)) is not None:
        return found
    key = (publication, query.key())
    made = Answer.from_text(compute())  # outside the lock: other queries need not wait for this one
    budget = getattr(settings, "RS3D_FEATURES_CACHE_BYTES", DEFAULT_CACHE_BYTES)
    if len(made.body) > budget // 4:  # one huge answer must not push out every other area's
        return made
    with _lock:
        if key not in _answers:
            _answers[key] = made
            _size += len(made.body)
        while _size > budget:
            _, dropped = _answers.popitem(last=False)
            _size -= len(dropped.body)
    return made


def kept_bytes() -> int:
    """Bytes of answers this process keeps now."""
    return _size


def forget_all() -> None:
    """Drop every kept answer of this process."""
    global _size
    with _lock:
        _answers.clear()
        _size = 0


def etag(current_id: int | None, query_string: str) -> str:
    """The ETag of an answer: the current version and the query string as sent (it names this URL's answer)."""
    return '"' + hashlib.sha1(f"{current_id}?{query_string}".encode()).hexdigest() + '"'


def encoded(found: Answer, accept_encoding: str, *, etag: str, public: bool) -> tuple[bytes, dict[str, str]]:
    """The body to send for ``found`` and its headers: gzip when the client takes it, the ETag, revalidation.

    Headers as the view's own response after GZipMiddleware: ``Vary: Accept-Encoding`` on any body it would
    have looked at, and a weak ETag on a gzipped one (the bytes differ from the identity answer's).
    """
    gzipped = found.gzipped and bool(re_accepts_gzip.search(accept_encoding))
    headers = {
        "Content-Type": "application/geo+json",
        "ETag": "W/" + etag if gzipped else etag,
        # Revalidate each time: a new version changes the answer.
        "Cache-Control": "public, no-cache" if public else "private, no-cache",
    }
    if found.compressible:
        headers["Vary"] = "Accept-Encoding"
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return (found.body if gzipped else found.plain()), headers


def respond(request: HttpRequest, found: Answer, *, etag: str, public: bool) -> HttpResponse:
    """The Django response for ``found`` (see :func:`encoded`)."""
    body, headers = encoded(found, request.META.get("HTTP_ACCEPT_ENCODING", ""), etag=etag, public=public)
    return HttpResponse(body, headers=headers)
