"""Failed log-ins are counted per account and per client address; past a limit even the right password waits.

Both login pages (the site's and Django admin's) use the forms below. Every failed ``authenticate`` (signal
``user_login_failed``) adds one to two counts in Django's cache, the user name's (whether or not such an
account exists, so a lock says nothing about which names exist) and the client address's. A count lives
``RS3D_LOGIN_WINDOW_S`` seconds from its first failure; while the account's count has reached
``RS3D_LOGIN_MAX_FAILURES`` or the address's ``RS3D_LOGIN_MAX_FAILURES_PER_ADDRESS``, the forms refuse before
checking the password, saying how long to wait. A successful log-in clears its account's count (not the
address's: one's own account must not reset the count of guesses at others). A limit of 0 turns it off.

The counts are in the cache: Redis in scale mode (shared by every web process), local memory in embedded
mode (one web process). While Redis is unreachable nothing is counted and nobody is locked out
(``backend.jobs.cache``). Locking an account is also what an attacker can do to its owner, for one window
at most; the address count stops one client guessing across many accounts.
"""

import hashlib
import math
import time
from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from redis.exceptions import RedisError


def client_address(request: HttpRequest) -> str:
    """The client's IP address: the connection's, or X-Forwarded-For's as ``RS3D_TRUSTED_PROXIES`` proxies wrote it.

    Each trusted proxy appends the address it received the request from, so the client is the N-th entry
    from the right; entries further left were written by the client and are not trusted.
    """
    proxies = settings.RS3D_TRUSTED_PROXIES
    if proxies > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return str(request.META.get("REMOTE_ADDR", ""))


def seconds_locked(request: HttpRequest | None, username: str) -> int:
    """How long log-ins to ``username`` from this request's client stay refused (0: not refused)."""
    counters = _counters(request, username)
    values = cache.get_many([key for key, _ in counters] + [f"{key}:until" for key, _ in counters])
    now = time.time()
    waits = [
        values.get(f"{key}:until", now + 1) - now
        for key, limit in counters
        if limit > 0 and values.get(key, 0) >= limit
    ]
    return math.ceil(max(waits)) if waits else 0


def record_failure(request: HttpRequest | None, username: str) -> None:
    """Count one failed log-in for ``username`` and for the request's client address."""
    window = settings.RS3D_LOGIN_WINDOW_S
    for key, limit in _counters(request, username):
        if limit <= 0:
            continue
        if cache.add(key, 1, window):  # the first failure opens the window
            cache.set(f"{key}:until", time.time() + window, window)
            continue
        try:
            cache.incr(key)
        except ValueError:  # the window closed between add and incr: this failure opens the next one
            cache.add(key, 1, window)
        except RedisError:  # Redis went away: not counted (the cache logs the outage once)
            pass


def clear_account(username: str) -> None:
    """Forget the failed log-ins counted for ``username`` (after it logged in)."""
    key, _ = _counters(None, username)[0]
    for name in (key, f"{key}:until"):
        cache.delete(name)  # one by one: the scale mode's cache softens delete() while Redis is down


def on_login_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **_: Any) -> None:
    """``user_login_failed`` receiver: count the failure."""
    record_failure(request, str(credentials.get(get_user_model().USERNAME_FIELD, "")))


def on_logged_in(sender: Any, request: HttpRequest | None, user: AbstractBaseUser, **_: Any) -> None:
    """``user_logged_in`` receiver: clear the account's count."""
    clear_account(user.get_username())


def _counters(request: HttpRequest | None, username: str) -> list[tuple[str, int]]:
    """(cache key, limit) of the account's count, then the address's when there is a request."""
    account = hashlib.sha256(username.casefold().encode()).hexdigest()
    counters = [(f"login-failures:account:{account}", settings.RS3D_LOGIN_MAX_FAILURES)]
    if request is not None:
        address = hashlib.sha256(client_address(request).encode()).hexdigest()
        counters.append((f"login-failures:address:{address}", settings.RS3D_LOGIN_MAX_FAILURES_PER_ADDRESS))
    return counters


class _RefuseWhileLocked:
    """Form mixin: refuse before the password is checked while the account or the address is locked."""

    request: HttpRequest | None
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        """Refuse with a message saying how long to wait; else the form's own checks (the password)."""
        username = self.cleaned_data.get("username")
        if username and (wait := seconds_locked(self.request, username)):
            minutes = max(1, math.ceil(wait / 60))
            raise ValidationError(
                f"Too many failed log-ins for this account or from your network. Wait {minutes} minute(s), "
                "then try again; if you forgot your password, ask an administrator of this server to reset it.",
                code="throttled",
            )
        return super().clean()  # type: ignore[misc]  # the form class this is mixed into


class LoginForm(_RefuseWhileLocked, AuthenticationForm):
    """The site's login form, throttled."""


class AdminLoginForm(_RefuseWhileLocked, AdminAuthenticationForm):
    """Django admin's login form, throttled the same way (the counts are shared)."""
