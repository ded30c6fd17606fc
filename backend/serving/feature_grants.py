"""Who may read an area's features, remembered per credential as the data gate remembers files.

Deciding costs more than answering once the answer is kept (:mod:`backend.serving.feature_answers`): a
SpatiaLite connection (the extension and the schema read again for each request), the user's session or
token, then the area. May a credential read an area's features? Exactly when it may read the files of the
area's current version, which is what ``backend.serving.data_gate`` remembers for the file view. So the
features view records its "yes" there, in the same table under the same rules (a token's own grant, "anyone"
for a public area, a stored session until it expires), and also which version is current. A later request
of that credential is answered without the database while the grant generation (``backend.serving.grants``)
is the one read before the checks: every change that can revoke access, publish or delete a version bumps it,
so the next request after it is decided again from the rows. No refusal is ever remembered.

On only where the data gate is (``RS3D_DATA_GATE``: on in the embedded mode, off in scale mode unless every
web process sees the stamp file at once); with it off every request is decided from the database.
"""

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

from backend.areas.models import Area, Publication
from backend.serving import data_gate, grants
from backend.serving.feature_answers import PublicationKey


@dataclass(frozen=True)
class Remembered:
    """A remembered "yes" for this request's credential: what the features view needs of the area."""

    publication: PublicationKey
    current_id: int
    public: bool


@dataclass(frozen=True)
class _Current:
    """An area's current version, as read under ``generation``."""

    generation: int
    version: int
    publication: PublicationKey


_current: "OrderedDict[int, _Current]" = OrderedDict()
_lock = threading.Lock()


def publication_key(publication: Publication) -> PublicationKey:
    """The key of a publication's kept answers: its id and creation time (an id alone may be given again)."""
    return (publication.pk, publication.created.timestamp())


def generation() -> int | None:
    """The grant generation to read *before* deciding (None: nothing is remembered in this mode)."""
    return grants.current() if data_gate._config().enabled else None


def recall(headers: Mapping[str, str], area_id: int, current_generation: int | None) -> Remembered | None:
    """The remembered "yes" for the credential in ``headers`` (lower-case names) on area ``area_id``.

    None: decide from the database. ``current_generation`` is :func:`generation`, read by the caller.
    """
    if current_generation is None:
        return None
    with _lock:
        current = _current.get(area_id)
    if current is None or current.generation != current_generation:
        return None
    try:
        grant = data_gate._grant(dict(headers), area_id, current.version, data_gate._config())
    except UnicodeEncodeError:  # a header no HTTP server would pass: let DRF refuse it
        return None
    if grant is None:
        return None
    return Remembered(current.publication, current.publication[0], grant.public)


def credential_headers(request: HttpRequest) -> dict[str, str]:
    """The headers :func:`recall` reads, from a Django request."""
    return {name: request.META.get(f"HTTP_{name.upper()}", "") for name in ("authorization", "cookie")}


def remember(request: HttpRequest, area: Area, decided_under: int | None) -> None:
    """Record the view's "yes" for this request's credential (call once ``area`` was found visible to it).

    ``decided_under`` must be :func:`generation` read before the credential and the area were checked.
    """
    publication = area.current
    if decided_under is None or publication is None:
        return
    public = area.visibility == Area.Visibility.PUBLIC
    folder = publication.folder.resolve()
    data_gate.remember(request, area.pk, publication.version, folder=folder, public=public, generation=decided_under)
    with _lock:
        _current[area.pk] = _Current(decided_under, publication.version, publication_key(publication))
        _current.move_to_end(area.pk)
        while len(_current) > settings.RS3D_DATA_GATE_GRANTS:
            _current.popitem(last=False)


def reads_session(authorization: str) -> bool:
    """Whether DRF's authentication reads the session for this Authorization header (no token in it).

    SessionAuthentication runs when TokenAuthentication found no token; reading the session makes the answer
    vary on Cookie, and an answer from memory must vary the same way.
    """
    return data_gate._token_credential(authorization.encode("latin-1")) is None


def as_if_authenticated(request: HttpRequest) -> None:
    """Leave on ``request`` what DRF's authentication would have left on it (see :func:`reads_session`)."""
    if reads_session(request.META.get("HTTP_AUTHORIZATION", "")):
        request.session.accessed = True


def forget_all() -> None:
    """Drop every remembered current version of this process (the grants themselves: ``data_gate.forget_all``)."""
    with _lock:
        _current.clear()
