"""Account pages: sign up (unless RS3D_ALLOW_SIGNUP=0) and the account page with the API token."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import BaseUserCreationForm
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token


class SignupForm(BaseUserCreationForm):
    """User name and password twice, checked like Django's UserCreationForm except that a taken name passes.

    Whether the name is free is the view's business, and it answers the same either way (see ``signup``).
    """

    def validate_unique(self) -> None:
        """Say nothing about names in use (UserCreationForm would answer "A user with that username exists")."""

    def name_taken(self) -> bool:
        """Whether an account has this name already, in any letter case (as UserCreationForm refuses)."""
        model = self._meta.model
        return model.objects.filter(username__iexact=self.cleaned_data["username"]).exists()


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account, then send to the login page; 404 when sign-up is turned off.

    The answer must not tell whether a user name exists, or sign-up becomes a list of the accounts to guess
    passwords for. Without e-mail there is no second channel to tell the real owner "that name is yours
    already", so a valid form gets one answer whatever the name: the same redirect to the login page with
    the same message ("if the name was free your account is ready; if your password does not work there,
    the name was taken: sign up with another"), after the same work (a free name's account is created, a
    taken name's password is hashed all the same, so both take the time of one password hash). Hence no
    automatic log-in after sign-up: being logged in would be the tell. The one extra step keeps it usable,
    and guessing names through the login page is throttled (backend.viewer.login_limits). Invalid forms
    (passwords that differ or are too weak) still say what is wrong, as they do not depend on the name.
    """
    if not settings.RS3D_ALLOW_SIGNUP:
        raise Http404("Sign-up is turned off on this server; ask an administrator for an account.")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                if form.name_taken():
                    make_password(form.cleaned_data["password1"])  # the same cost as creating the account
                else:
                    form.save()
        except IntegrityError:  # the same name signed up at the same moment: taken
            pass
        messages.info(
            request,
            f"If the user name '{form.cleaned_data['username']}' was free, your account is ready: log in "
            "with it. If your password does not work, the name was already taken: sign up again with another.",
        )
        login_url = reverse("viewer:login")
        next_url = _next_url(request)
        return redirect(f"{login_url}?{urlencode({'next': next_url})}" if next_url else login_url)
    return render(request, "registration/signup.html", {"form": form, "next": request.GET.get("next", "")})


@login_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    """The user's API token for scripts; POST creates it, or replaces it (the old one stops working)."""
    if request.method == "POST":
        Token.objects.filter(user=request.user).delete()
        Token.objects.create(user=request.user)
        return redirect("viewer:account")
    token = Token.objects.filter(user=request.user).first()
    api_url = request.build_absolute_uri("/api/areas/")
    return render(request, "registration/account.html", {"token": token, "api_url": api_url})


def _next_url(request: HttpRequest) -> str:
    """Where to go after logging in: the request's ``next`` when it is a URL of this site, else nowhere ("")."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""
