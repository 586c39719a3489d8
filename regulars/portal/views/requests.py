"""Submitting a request: at once for a signed-in customer, after an emailed confirmation for
anyone else (so the form can neither mail arbitrary addresses nor open tickets in a stranger's
name)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET, require_http_methods

from regulars.accounts.models import User
from regulars.core.errors import DomainError
from regulars.portal import services
from regulars.portal.forms import AnonymousRequestForm, RequestForm, add_domain_error, uploads
from regulars.portal.views.access import client_address, link_not_valid, portal_customer
from regulars.tickets.models import Channel
from regulars.tickets.services import open_ticket

AUTH_BACKEND = "django.contrib.auth.backends.ModelBackend"


@require_http_methods(["GET", "POST"])
def new_request(request: HttpRequest) -> HttpResponse:
    customer = portal_customer(request)
    if request.user.is_authenticated and customer is None:
        return render(
            request,
            "regulars/error.html",
            {"status": 403, "message": "The portal is for customers. Agents work in the desk."},
            status=403,
        )
    form_class = RequestForm if customer is not None else AnonymousRequestForm
    if request.method != "POST":
        return render(request, "portal/request_form.html", {"form": form_class(), "customer": customer})
    form = form_class(request.POST, request.FILES)
    status = 422
    if form.is_valid():
        data = form.cleaned_data
        try:
            if customer is not None:
                # Signed-in customers are limited like anyone else, so a script holding a session
                # cannot flood the desk.
                if not services.allow("request_client", client_address(request)):
                    raise services.RateLimited(
                        "Too many requests were sent from here. Please try again later."
                    )
                ticket = open_ticket(
                    subject=data["subject"],
                    body=data["body"],
                    requester=customer,
                    actor=request.user if isinstance(request.user, User) else None,
                    channel=Channel.WEB,
                    attachments=uploads(data["attachments"]),
                )
                messages.success(request, f"Thank you. Your request is ticket #{ticket.number}.")
                return redirect("portal:ticket", number=ticket.number)
            submitted = services.submit_request(
                name=data["name"],
                email=data["email"],
                subject=data["subject"],
                body=data["body"],
                uploads=uploads(data["attachments"]),
                client=client_address(request),
            )
        except DomainError as error:
            add_domain_error(form, error)
            status = error.status
        else:
            request.session["portal_request_mailed"] = submitted.mailed
            return redirect("portal:request_sent")
    return render(request, "portal/request_form.html", {"form": form, "customer": customer}, status=status)


@require_GET
def request_sent(request: HttpRequest) -> HttpResponse:
    mailed = request.session.pop("portal_request_mailed", True)
    return render(request, "portal/request_sent.html", {"mailed": mailed})


@require_http_methods(["GET", "POST"])
def confirm_request(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button; only the POST opens the ticket, so a mail scanner that follows links
    cannot use up the link."""
    try:
        pending = services.pending_request(token)
        if request.method != "POST":
            return render(request, "portal/confirm_request.html", {"pending": pending})
        confirmation = services.confirm_request(token)
    except services.LinkNotValid as error:
        return link_not_valid(request, error, again_url="portal:new_request", again="Send a new request")
    ticket = confirmation.ticket
    if confirmation.user is not None:
        login(request, confirmation.user, backend=AUTH_BACKEND)  # rotates the session key
        messages.success(request, f"Thank you. Your request is ticket #{ticket.number}.")
        return redirect("portal:ticket", number=ticket.number)
    return render(request, "portal/request_confirmed.html", {"ticket": ticket})


urlpatterns: list[URLPattern] = [
    path("requests/new/", new_request, name="new_request"),
    path("requests/sent/", request_sent, name="request_sent"),
    path("requests/confirm/<str:token>/", confirm_request, name="confirm_request"),
]
