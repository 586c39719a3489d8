"""Who may use the desk: signed-in agents (admins, agents, light agents). Nobody else."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from regulars.accounts.models import User

# HttpResponseBase, not HttpResponse: attachment downloads are streamed (FileResponse).
View = Callable[..., HttpResponseBase]


def agent_required(view: View) -> View:
    """Anonymous people are sent to sign in; signed-in customers get a 403 page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not isinstance(user, User) or not user.is_agent or not user.is_active:
            raise PermissionDenied("The desk is for agents.")
        return view(request, *args, **kwargs)

    return wrapped


def agent(request: HttpRequest) -> User:
    """The signed-in agent (views are wrapped in ``agent_required``)."""
    assert isinstance(request.user, User)
    return request.user
