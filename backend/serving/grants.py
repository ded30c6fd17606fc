"""The grant generation: one number every web process reads in a ``stat``, changed by anything that can revoke.

``backend.serving.data_gate`` replays the file view's own "yes" only while the generation it was recorded under
is still current. The number is the modification time (in ns) of a stamp file under MEDIA_ROOT, set
explicitly (never left to the clock's tick) so that two bumps always give two numbers. Every change that can
take access away (or give it) bumps it: at once, and again when its transaction commits, so that a "yes"
recorded from the old rows in between is dropped too. The receivers are connected in ``ViewerConfig.ready``.

Bumping more often than needed only costs a database query on the next request of each viewer; missing one
would replay a revoked "yes", so every path that changes these rows must send the model signals (no
``QuerySet.update`` on Area, User, Group, Token, Session or Publication).
"""

import os
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

STAMP = ".data-grants"
#: Area fields that decide who sees it; a save that names only other fields changes no grant.
_AREA_ACCESS_FIELDS = frozenset({"visibility", "owner", "owner_id"})
#: User fields a save may name without changing what the user may see (the login's own write).
_HARMLESS_USER_FIELDS = frozenset({"last_login"})


def _stamp() -> Path:
    return Path(settings.MEDIA_ROOT) / STAMP


def generation(stamp: str | None = None) -> int | None:
    """The current generation (of ``stamp``, default MEDIA_ROOT's); None when there is no stamp yet."""
    try:
        return os.stat(_stamp() if stamp is None else stamp).st_mtime_ns
    except FileNotFoundError:
        return None


def current() -> int:
    """The current generation, creating the stamp first if there is none."""
    found = generation()
    if found is None:
        bump()
        found = generation()
    assert found is not None
    return found


def bump() -> None:
    """Give the generation a value it never had (monotonic: the clock, or one more than before)."""
    path = _stamp()
    try:
        old = os.stat(path).st_mtime_ns
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        old = 0
    new = max(time.time_ns(), old + 1)
    os.utime(path, ns=(new, new))
    if os.stat(path).st_mtime_ns == old:  # a file system that keeps coarser times than ns
        os.utime(path, ns=(old + 2_000_000_000, old + 2_000_000_000))


def bump_now_and_on_commit(using: str | None = None) -> None:
    """Bump now (the change is under way) and after its transaction commits (the change is visible)."""
    bump()
    transaction.on_commit(bump, using=using)


# --- signal receivers -------------------------------------------------------------------------------------


def on_change(sender: type, using: str | None = None, **kwargs: Any) -> None:
    """post_save/post_delete/m2m_changed/Group, Token, Session, Publication, and user_logged_out: bump."""
    if kwargs.get("action", "post_").startswith("pre_"):  # m2m_changed: the post_ half bumps
        return
    bump_now_and_on_commit(using)


def on_area_saved(sender: type, using: str | None = None, update_fields: Any = None, **kwargs: Any) -> None:
    """An Area saved: bump unless the save named only fields that decide nothing about access."""
    if update_fields is not None and not _AREA_ACCESS_FIELDS & set(update_fields):
        return
    bump_now_and_on_commit(using)


def on_user_saved(sender: type, using: str | None = None, update_fields: Any = None, **kwargs: Any) -> None:
    """A user saved (active flag, staff, password and so the session hash): bump, except a login's write."""
    if update_fields is not None and set(update_fields) <= _HARMLESS_USER_FIELDS:
        return
    bump_now_and_on_commit(using)


def connect() -> None:
    """Connect every receiver (from ``ViewerConfig.ready``)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.contrib.auth.signals import user_logged_out
    from django.contrib.sessions.models import Session
    from django.db.models.signals import m2m_changed, post_delete, post_save
    from rest_framework.authtoken.models import Token

    from backend.areas.models import Area, Publication

    user = get_user_model()
    post_save.connect(on_area_saved, sender=Area, dispatch_uid="rs3d-grants-area-save")
    post_save.connect(on_user_saved, sender=user, dispatch_uid="rs3d-grants-user-save")
    post_save.connect(on_change, sender=Publication, dispatch_uid="rs3d-grants-publication-save")
    for model in (Area, user, Group, Token, Session, Publication):
        post_delete.connect(on_change, sender=model, dispatch_uid=f"rs3d-grants-delete-{model.__name__}")
    for through in (Area.shared_users.through, Area.shared_groups.through, user.groups.through):
        m2m_changed.connect(on_change, sender=through, dispatch_uid=f"rs3d-grants-m2m-{through.__name__}")
    user_logged_out.connect(on_change, dispatch_uid="rs3d-grants-logout")
