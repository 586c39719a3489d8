"""The site root sends each person where they work: agents to the desk, everyone else to the portal."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse


def home(request: HttpRequest) -> HttpResponseRedirect:
    if request.user.is_authenticated and getattr(request.user, "is_agent", False):
        return HttpResponseRedirect(reverse("desk:home"))
    return HttpResponseRedirect(reverse("portal:home"))
