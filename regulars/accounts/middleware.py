"""Admins must use two-factor sign-in before they can do anything else."""

from __future__ import annotations

from collections.abc import Callable

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

# Pages an admin without an authenticator may still reach: enrolment itself, sign-out, assets.
_OPEN_PREFIXES = ("/accounts/", "/static/", "/api/")
_SESSION_FLAG = "regulars_two_factor_ok"


class AdminsUseTwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            settings.REQUIRE_ADMIN_TWO_FACTOR
            and user.is_authenticated
            and getattr(user, "is_admin", False)
            and not request.path.startswith(_OPEN_PREFIXES)
            and not request.session.get(_SESSION_FLAG)
        ):
            # One query per session, not per request: the flag is set once TOTP is enrolled.
            if Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
                request.session[_SESSION_FLAG] = True
            else:
                return HttpResponseRedirect(reverse("mfa_activate_totp"))
        return self.get_response(request)
