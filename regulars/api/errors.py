"""Every failure answers with the same JSON shape: ``{"error": {"code", "message", "fields"}}``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from regulars.core.errors import DomainError


class ErrorBody(Schema):
    code: str
    message: str
    fields: dict[str, str] = {}


class ErrorOut(Schema):
    error: ErrorBody


ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 422, 429)


def responses(ok: dict[int, Any]) -> dict[int, Any]:
    """The ``response=`` of an operation: its successes plus every error it can answer with."""
    return {**ok, **dict.fromkeys(ERROR_STATUSES, ErrorOut)}


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"

    def __init__(self, retry_after: int):
        super().__init__("Too many requests; slow down.")
        self.retry_after = retry_after


def error_response(
    api: NinjaAPI,
    request: HttpRequest,
    status: int,
    code: str,
    message: str,
    fields: dict[str, str] | None = None,
) -> HttpResponse:
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return api.create_response(request, body, status=status)


def _field_name(loc: list[Any] | tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    # ninja reports ("body", "<param name>", "field", ...) and ("query"|"path", "field", ...)
    if parts and parts[0] == "body":
        parts = parts[2:] or parts[1:]
    elif parts and parts[0] in ("query", "path", "header", "cookie", "form", "file"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def install_error_handlers(api: NinjaAPI) -> None:
    def handle(request: HttpRequest, exc: Exception | type[Exception]) -> HttpResponse:
        if isinstance(exc, DomainError):
            response = error_response(api, request, exc.status, exc.code, exc.message, exc.fields)
            if isinstance(exc, RateLimited):
                response["Retry-After"] = str(exc.retry_after)
            return response
        if isinstance(exc, ValidationError):
            fields: dict[str, str] = {}
            for err in exc.errors:
                fields.setdefault(_field_name(err.get("loc", ())), str(err.get("msg", "invalid")))
            return error_response(api, request, 422, "validation_failed", "The request is not valid.", fields)
        if isinstance(exc, AuthenticationError):
            return error_response(api, request, 401, "unauthenticated", "Sign in or send a valid token.")
        if isinstance(exc, Throttled):
            return error_response(api, request, 429, "rate_limited", "Too many requests; slow down.")
        if isinstance(exc, HttpError):
            return _http_error(api, request, exc)
        if isinstance(exc, RequestDataTooBig):
            return error_response(api, request, 413, "payload_too_large", "The request body is too large.")
        if isinstance(exc, Http404):
            return error_response(api, request, 404, "not_found", "Not found.")
        raise exc  # anything else is a bug: let Django log it and answer 500

    for exc_class in (DomainError, ValidationError, HttpError, Http404, RequestDataTooBig):
        api.add_exception_handler(exc_class, handle)


def _http_error(api: NinjaAPI, request: HttpRequest, exc: HttpError) -> HttpResponse:
    status = exc.status_code
    message = str(exc.message)
    if status == 400 and message.startswith("Cannot parse request body"):
        return error_response(api, request, 400, "invalid_json", "The request body is not valid JSON.")
    if status == 403 and "CSRF" in message:
        return error_response(api, request, 403, "csrf_failed", "CSRF check failed.")
    codes = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
    return error_response(api, request, status, codes.get(status, "error"), message)
