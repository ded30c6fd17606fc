"""Who may see and change an area: the one place every page, API view, file and websocket asks.

- **public** areas are visible to everyone, logged in or not;
- **shared** areas to their owner, the users in ``shared_users`` and the members of ``shared_groups``;
- **private** areas to their owner only.

Staff see every area. Only the owner (or staff) may change an area's sharing or cancel its jobs.
Callers answer "not found" for an area a user may not see, so guessing ids reveals nothing.
"""

from collections.abc import Iterable

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, Group
from django.db import transaction
from django.db.models import Q, QuerySet

from backend.areas.models import Area

AnyUser = AbstractBaseUser | AnonymousUser


def visible_areas(user: AnyUser, areas: QuerySet[Area] | None = None) -> QuerySet[Area]:
    """The areas (of ``areas``, default all) that ``user`` may see."""
    areas = Area.objects.all() if areas is None else areas
    if _is_staff(user):
        return areas
    rule = Q(visibility=Area.Visibility.PUBLIC)
    if user.is_authenticated:
        shared = Q(shared_users=user) | Q(shared_groups__in=Group.objects.filter(user=user))
        rule |= Q(owner=user) | (Q(visibility=Area.Visibility.SHARED) & shared)
    # The membership joins may repeat an area: select by id so each area comes once.
    return areas.filter(pk__in=Area.objects.filter(rule).values("pk"))


def can_view(user: AnyUser, area: Area) -> bool:
    """Whether ``user`` may see ``area``: its pages, files, features, jobs and progress."""
    return visible_areas(user).filter(pk=area.pk).exists()


def can_edit(user: AnyUser, area: Area) -> bool:
    """Whether ``user`` may change ``area``'s sharing and cancel its jobs: its owner or staff."""
    if not user.is_authenticated:
        return False
    return _is_staff(user) or (area.owner_id is not None and area.owner_id == user.pk)


def set_sharing(
    area: Area,
    visibility: str,
    users: Iterable[AbstractBaseUser] | None = None,
    groups: Iterable[Group] | None = None,
) -> None:
    """Set who sees ``area``; ``users``/``groups`` of None leave those lists as they are."""
    with transaction.atomic():
        area.visibility = visibility
        area.save(update_fields=["visibility"])
        if users is not None:
            area.shared_users.set(users)
        if groups is not None:
            area.shared_groups.set(groups)


def _is_staff(user: AnyUser) -> bool:
    return bool(user.is_authenticated and user.is_active and (user.is_staff or user.is_superuser))
