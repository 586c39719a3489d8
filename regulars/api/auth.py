"""Who is calling: a bearer token (scripts, integrations) or a browser session (with CSRF).

Each way of signing in also spends the caller's request budget, so the budget is per token, per
user, or (for calls that sign in neither way) per client IP.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer

from regulars.accounts.models import ApiToken, Role, User
from regulars.accounts.services import authenticate_token
from regulars.api.ratelimit import check_rate, client_ip
from regulars.core import fastsql
from regulars.core.errors import Forbidden

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class BearerToken(HttpBearer):
    """``Authorization: Bearer rg_<prefix>_<secret>``. GET needs scope read, other methods write."""

    def __call__(self, request: HttpRequest) -> User | None:
        # HttpBearer's own, reading the one header from META: ``request.headers`` would copy
        # every header on each call.
        value = request.META.get("HTTP_AUTHORIZATION")
        if not value:
            return None
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.authenticate(request, token)

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        if not token or "\x00" in token:
            return None
        # One check of "has anything been committed since" for the whole request: the token and
        # the answer after it (e.g. a page of tickets) share it (``request.unchanged_memo``).
        unchanged = fastsql.unchanged_memo()
        api_token = authenticate_token(token.strip(), unchanged=unchanged)
        if api_token is None:
            return None
        request.unchanged_memo = unchanged  # type: ignore[attr-defined]
        check_rate(f"token:{api_token.pk}")
        needed = "read" if request.method in SAFE_METHODS else "write"
        if needed not in api_token.scopes:
            raise Forbidden(f"This token lacks the {needed} scope.", code="insufficient_scope")
        request.api_token = api_token  # type: ignore[attr-defined]
        return api_token.user


class BrowserSession(APIKeyCookie):
    """The desk's own session cookie. CSRF is checked on unsafe methods, as for any Django form."""

    param_name: str = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        # Only check CSRF when a session is actually in use, so a failed bearer token reports
        # 401 rather than a confusing CSRF failure.
        if not getattr(request, "user", None) or not request.user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = getattr(request, "user", None)
        if key is None or user is None or not user.is_authenticated or not user.is_active:
            return None
        assert isinstance(user, User)
        check_rate(f"user:{user.pk}")
        return user


def anonymous_budget(request: HttpRequest) -> None:
    """Last in the chain: never signs anyone in, but spends the client IP's budget."""
    check_rate(f"ip:{client_ip(request)}")
    return None


AUTH: list[Any] = [BearerToken(), BrowserSession(), anonymous_budget]


def viewer(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


def token_of(request: HttpRequest) -> ApiToken | None:
    return getattr(request, "api_token", None)


def require_agent(user: User) -> None:
    if not user.is_agent:
        raise Forbidden("Only agents may do this.", code="agents_only")


def require_full_agent(user: User) -> None:
    """Admins and agents; light agents only read and write internal notes."""
    require_agent(user)
    if user.role == Role.LIGHT_AGENT:
        raise Forbidden("Light agents may not change this.", code="light_agent")


def require_admin(user: User) -> None:
    if not user.is_admin:
        raise Forbidden("Only admins may do this.", code="admins_only")
