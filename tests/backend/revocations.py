"""Every change that can take access away, played against a gate: a grant must not outlive it.

Each scenario lets a credential read the area (``check.granted``: answered, the second time by the gate from
memory), changes who may see what, and expects the very next request to be refused by Django, not answered
from memory (``check.refused``). The data gate (published files) and the features gate run the same list, so
a revocation added here holds for both.
"""

from typing import Any, Protocol

from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.authtoken.models import Token

from backend.areas.models import Area, Publication

Headers = list[tuple[str, str]]


class Check(Protocol):
    """One gate's view of one area: a credential let in (from memory after the first time), or refused."""

    def granted(self, credential: Headers) -> None:
        """Assert 200 twice, the second answer from the gate."""

    def refused(self, credential: Headers, statuses: tuple[int, ...] = (404,)) -> None:
        """Assert one of ``statuses``, answered by Django."""


def session_of(user: Any) -> Headers:
    """A session cookie of ``user``."""
    client = Client()
    client.force_login(user)
    return [("Cookie", f"sessionid={client.cookies['sessionid'].value}")]


def token_of(user: Any) -> Headers:
    """An API token header of ``user``."""
    return [("Authorization", f"Token {Token.objects.get_or_create(user=user)[0].key}")]


def make_public(area: Area) -> None:
    """Anyone may see ``area``."""
    area.visibility = Area.Visibility.PUBLIC
    area.save(update_fields=["visibility"])


def public_made_private(check: "Check", area: Area, user: Any, bob: Any) -> None:
    make_public(area)
    check.granted([])
    area.visibility = Area.Visibility.PRIVATE
    area.save()
    check.refused([])


def unshared_user(check: "Check", area: Area, user: Any, bob: Any) -> None:
    area.visibility = Area.Visibility.SHARED
    area.save()
    area.shared_users.add(bob)
    credential = session_of(bob)
    check.granted(credential)
    area.shared_users.remove(bob)
    check.refused(credential)


def removed_from_group(check: "Check", area: Area, user: Any, bob: Any) -> None:
    group = Group.objects.create(name="planners")
    bob.groups.add(group)
    area.visibility = Area.Visibility.SHARED
    area.save()
    area.shared_groups.add(group)
    credential = token_of(bob)
    check.granted(credential)
    bob.groups.remove(group)
    check.refused(credential)


def group_deleted(check: "Check", area: Area, user: Any, bob: Any) -> None:
    group = Group.objects.create(name="planners")
    bob.groups.add(group)
    area.visibility = Area.Visibility.SHARED
    area.save()
    area.shared_groups.add(group)
    credential = session_of(bob)
    check.granted(credential)
    group.delete()
    check.refused(credential)


def deactivated_user(check: "Check", area: Area, user: Any, bob: Any) -> None:
    session, token = session_of(user), token_of(user)
    check.granted(session)
    check.granted(token)
    user.is_active = False
    user.save()
    check.refused(session)
    check.refused(token, (401,))


def password_change_ends_the_session(check: "Check", area: Area, user: Any, bob: Any) -> None:
    credential = session_of(user)
    check.granted(credential)
    user.set_password("another-pass-5678")
    user.save()
    check.refused(credential)


def logout(check: "Check", area: Area, user: Any, bob: Any) -> None:
    client = Client()
    client.force_login(user)
    credential = [("Cookie", f"sessionid={client.cookies['sessionid'].value}")]
    check.granted(credential)
    client.logout()
    check.refused(credential)


def token_deleted(check: "Check", area: Area, user: Any, bob: Any) -> None:
    credential = token_of(user)
    check.granted(credential)
    Token.objects.filter(user=user).delete()
    check.refused(credential, (401,))


def owner_changed(check: "Check", area: Area, user: Any, bob: Any) -> None:
    credential = session_of(user)
    check.granted(credential)
    area.owner = bob
    area.save(update_fields=["owner"])
    check.refused(credential)


def version_deleted(check: "Check", area: Area, user: Any, bob: Any) -> None:
    credential = session_of(user)
    check.granted(credential)
    Publication.objects.filter(area=area, version=1).delete()  # the row: the files are still there
    check.refused(credential)


def area_deleted(check: "Check", area: Area, user: Any, bob: Any) -> None:
    make_public(area)
    check.granted([])
    Area.objects.filter(pk=area.pk).delete()
    check.refused([])


#: Every scenario above, for ``pytest.mark.parametrize``.
REVOCATIONS = [
    public_made_private,
    unshared_user,
    removed_from_group,
    group_deleted,
    deactivated_user,
    password_change_ends_the_session,
    logout,
    token_deleted,
    owner_changed,
    version_deleted,
    area_deleted,
]
