"""Signing in by a one-time link sent by email, for customers who have no password (or forgot it)."""

from __future__ import annotations

from django.contrib.auth import login
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_http_methods

from regulars.portal import services
from regulars.portal.forms import SignInLinkForm
from regulars.portal.views.access import client_address, link_not_valid
from regulars.portal.views.requests import AUTH_BACKEND

SENT = "If we know this address, we sent a sign-in link to it. It works once, within {minutes} minutes."


@require_http_methods(["GET", "POST"])
def sign_in_link(request: HttpRequest) -> HttpResponse:
    """Always the same answer for a well-formed address, so nobody learns who has a login."""
    if request.method != "POST":
        return render(request, "portal/sign_in_link.html", {"form": SignInLinkForm()})
    form = SignInLinkForm(request.POST)
    if not form.is_valid():
        return render(request, "portal/sign_in_link.html", {"form": form}, status=422)
    try:
        services.send_sign_in_link(form.cleaned_data["email"], client=client_address(request))
    except services.RateLimited as error:
        form.add_error(None, error.message)
        return render(request, "portal/sign_in_link.html", {"form": form}, status=error.status)
    return render(
        request,
        "portal/sign_in_link.html",
        {"form": SignInLinkForm(), "sent": SENT.format(minutes=services.SIGN_IN_LINK_MAX_AGE // 60)},
    )


@require_http_methods(["GET", "POST"])
def sign_in_with_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button; only the POST signs in (and so uses up the link), so a mail scanner
    that follows links cannot spend it."""
    try:
        user = services.user_for_sign_in_token(token)
    except services.LinkNotValid as error:
        return _link_not_valid(request, error)
    if request.method != "POST":
        return render(request, "portal/sign_in_with_link.html", {"email": user.email})
    try:
        with transaction.atomic():
            # Checked again on the locked row, so two clicks at once cannot both sign in. login()
            # rotates the session key and sets last_login, which changes the token's state: the
            # link cannot be used again.
            user = services.user_for_sign_in_token(token, lock=True)
            login(request, user, backend=AUTH_BACKEND)
    except services.LinkNotValid as error:
        return _link_not_valid(request, error)
    return redirect("portal:tickets")


def _link_not_valid(request: HttpRequest, error: services.LinkNotValid) -> HttpResponse:
    return link_not_valid(request, error, again_url="portal:sign_in_link", again="Email me a new link")


urlpatterns: list[URLPattern] = [
    path("sign-in/link/", sign_in_link, name="sign_in_link"),
    path("sign-in/link/<str:token>/", sign_in_with_link, name="sign_in_with_link"),
]
