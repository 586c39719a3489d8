"""Response headers every page gets: a Content-Security-Policy with no inline scripts."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.http import HttpRequest, HttpResponse

API_PREFIX = "/api/"

# Scripts and styles come only from our own static files: no inline <script>, no eval, no CDN,
# no external fonts. htmx is configured (in the base template) not to inject inline styles or
# evaluate attributes, so it runs under this policy unchanged.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# The Django admin ships inline style attributes; its scripts still come from static files only.
ADMIN_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = ADMIN_CSP if request.path.startswith("/admin/") else CSP
        response.setdefault("Referrer-Policy", "same-origin")
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


class DomainErrorPageMiddleware:
    """A refused request in the desk or the portal gets a readable page with the right status.

    Services raise ``DomainError`` subclasses; views that do not handle one themselves still
    answer 4xx with the message instead of a 500. The API has its own JSON handler.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from django.shortcuts import render

        from regulars.core.errors import DomainError

        if not isinstance(exception, DomainError) or request.path.startswith("/api/"):
            return None
        return render(
            request,
            "regulars/error.html",
            {"status": exception.status, "message": exception.message, "code": exception.code},
            status=exception.status,
        )


class MessageMiddleware(DjangoMessageMiddleware):
    """Django's flash messages for pages, none for the API: ``/api/`` answers JSON and never
    shows a message, and setting up the message storage (cookie and session backends) for each
    API request was 7 % of the CPU of a ticket list page. Without ``request._messages`` a stray
    ``messages.add_message`` in an API path raises ``MessageFailure`` instead of storing a
    message nobody would see."""

    def process_request(self, request: HttpRequest) -> None:
        if request.path_info.startswith(API_PREFIX):
            return
        super().process_request(request)
