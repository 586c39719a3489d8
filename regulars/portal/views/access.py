"""Who may use the signed-in portal pages: customers with a portal login, nobody else."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from regulars.accounts.models import Role, User
from regulars.core.errors import DomainError
from regulars.customers.models import Customer
from regulars.customers.selectors import customer_of

CustomerView = Callable[..., HttpResponseBase]


def client_address(request: HttpRequest) -> str:
    # Behind a proxy, REMOTE_ADDR is set from the trusted header by the deployment's middleware.
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def link_not_valid(request: HttpRequest, error: DomainError, *, again_url: str, again: str) -> HttpResponse:
    """The page for an expired or used emailed link, with the way to ask for a new one."""
    return render(
        request,
        "portal/link_not_valid.html",
        {"message": error.message, "again_url": again_url, "again": again},
        status=error.status,
    )


def portal_customer(request: HttpRequest) -> Customer | None:
    """The customer the signed-in person acts as in the portal, or None."""
    user = request.user
    if not user.is_authenticated or not isinstance(user, User) or user.role != Role.CUSTOMER:
        return None
    return customer_of(user)


def customer_required(view: CustomerView) -> CustomerView:
    """Anonymous visitors go to sign in; agents are told the portal is for customers.

    The wrapped view gets ``(request, user, customer, ...)``.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        customer = portal_customer(request)
        if customer is None:
            return render(
                request,
                "regulars/error.html",
                {"status": 403, "message": "The portal is for customers. Agents work in the desk."},
                status=403,
            )
        assert isinstance(request.user, User)
        return view(request, request.user, customer, *args, **kwargs)

    return wrapper
