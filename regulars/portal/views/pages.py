"""Portal pages for signed-in customers: their tickets, the conversation, reply, solve, rate,
attachments and contact preferences. Views parse input and call services; the permission
policy is ``tickets.selectors`` (someone else's ticket or file is a 404, never a 403)."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from regulars.accounts.models import User
from regulars.core.errors import DomainError, NotFound
from regulars.customers.models import ContactChannel, Customer
from regulars.customers.services import update_contact_preferences
from regulars.portal.forms import PreferencesForm, RatingForm, ReplyForm, add_domain_error, uploads
from regulars.portal.views.access import customer_required, portal_customer
from regulars.tickets.attachments import download_response
from regulars.tickets.models import Channel, SatisfactionRating, StatusCategory, Ticket
from regulars.tickets.selectors import (
    LIST_RELATED,
    get_attachment,
    get_ticket,
    visible_messages,
    visible_tickets,
)
from regulars.tickets.services import default_status, post_message, rate_ticket, update_ticket

ATTACHMENT_ID = re.compile(r"att_[0-9a-z]{1,36}")
# Larger numbers cannot be ticket numbers (a 64-bit column) and would overflow the query.
MAX_NUMBER = 2**63 - 1

PAGE_SIZE = 25
DONE = (StatusCategory.SOLVED, StatusCategory.CLOSED)


def _ticket(user: User, number: int) -> Ticket:
    if number > MAX_NUMBER:
        raise NotFound("No such ticket.")
    return get_ticket(user, number)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Customers land on their tickets; everyone else on the ways in."""
    if portal_customer(request) is not None:
        return redirect("portal:tickets")
    return render(request, "portal/home.html")


@require_GET
@customer_required
def ticket_list(request: HttpRequest, user: User, customer: Customer) -> HttpResponse:
    qs = visible_tickets(user).select_related(*LIST_RELATED).order_by("-id")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    plan = customer.effective_plan
    return render(
        request,
        "portal/tickets.html",
        {
            "customer": customer,
            "page": page,
            "organisation_wide": bool(
                plan and plan.organisation_wide_visibility and customer.organisation_id
            ),
        },
    )


def _ticket_page(
    request: HttpRequest,
    user: User,
    customer: Customer,
    ticket: Ticket,
    *,
    reply_form: ReplyForm | None = None,
    rating_form: RatingForm | None = None,
    status: int = 200,
) -> HttpResponse:
    rating = SatisfactionRating.objects.filter(ticket=ticket).first()
    is_requester = ticket.requester_id == customer.pk
    if rating_form is None:
        initial = {"score": rating.score, "comment": rating.comment} if rating else {}
        rating_form = RatingForm(initial=initial)
    context: dict[str, Any] = {
        "customer": customer,
        "ticket": ticket,
        "conversation": list(visible_messages(user, ticket)),
        "reply_form": reply_form or ReplyForm(),
        "rating_form": rating_form,
        "rating": rating,
        "is_requester": is_requester,
        "is_done": ticket.status_category in DONE,
        "is_closed": (ticket.status_category == StatusCategory.CLOSED or ticket.merged_into_id is not None)
        and not (reply_form is not None and reply_form.errors),
        # A refused rating or reply is answered on its form, even where the form is not offered.
        "may_rate": (is_requester and ticket.status_category in DONE) or bool(rating_form.errors),
    }
    return render(request, "portal/ticket.html", context, status=status)


@require_GET
@customer_required
def ticket_detail(request: HttpRequest, user: User, customer: Customer, number: int) -> HttpResponse:
    return _ticket_page(request, user, customer, _ticket(user, number))


@require_POST
@customer_required
def reply(request: HttpRequest, user: User, customer: Customer, number: int) -> HttpResponse:
    ticket = _ticket(user, number)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            post_message(
                ticket,
                author=user,
                body=form.cleaned_data["body"],
                public=True,
                channel=Channel.WEB,
                attachments=uploads(form.cleaned_data["attachments"]),
            )
        except DomainError as error:
            add_domain_error(form, error)
            return _ticket_page(request, user, customer, ticket, reply_form=form, status=error.status)
        messages.success(request, "Your reply was added.")
        return redirect("portal:ticket", number=ticket.number)
    return _ticket_page(request, user, customer, ticket, reply_form=form, status=422)


@require_POST
@customer_required
def mark_solved(request: HttpRequest, user: User, customer: Customer, number: int) -> HttpResponse:
    ticket = _ticket(user, number)
    try:
        update_ticket(ticket, actor=user, status=default_status(StatusCategory.SOLVED))
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("portal:ticket", number=ticket.number)
    messages.success(request, "Thank you: your ticket is marked as solved. Replying reopens it.")
    return redirect("portal:ticket", number=ticket.number)


@require_POST
@customer_required
def rate(request: HttpRequest, user: User, customer: Customer, number: int) -> HttpResponse:
    ticket = _ticket(user, number)
    form = RatingForm(request.POST)
    if form.is_valid():
        try:
            rate_ticket(
                ticket, actor=user, score=form.cleaned_data["score"], comment=form.cleaned_data["comment"]
            )
        except DomainError as error:
            add_domain_error(form, error)
            return _ticket_page(request, user, customer, ticket, rating_form=form, status=error.status)
        messages.success(request, "Thank you for rating our service.")
        return redirect("portal:ticket", number=ticket.number)
    return _ticket_page(request, user, customer, ticket, rating_form=form, status=422)


@require_GET
@customer_required
def attachment(request: HttpRequest, user: User, customer: Customer, public_id: str) -> FileResponse:
    """Always a download, never rendered inline, so an uploaded HTML or SVG file cannot run
    script in our origin."""
    if not ATTACHMENT_ID.fullmatch(public_id):
        raise NotFound("No such attachment.")  # also keeps NUL bytes away from PostgreSQL
    found = get_attachment(user, public_id)
    return download_response(found)


@require_http_methods(["GET", "POST"])
@customer_required
def preferences(request: HttpRequest, user: User, customer: Customer) -> HttpResponse:
    plan = customer.effective_plan
    named_contact = bool(plan and plan.named_contact)
    status = 200
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            try:
                update_contact_preferences(customer, actor=user, **form.cleaned_data)
            except DomainError as error:
                add_domain_error(form, error)
                status = error.status
            else:
                messages.success(request, "Your preferences were saved.")
                return HttpResponseRedirect(request.path)
        else:
            status = 422
    else:
        form = PreferencesForm(
            initial={
                "preferred_contact": customer.preferred_contact
                if customer.preferred_contact != ContactChannel.CHAT
                else ContactChannel.EMAIL,
                "callback_phone": customer.callback_phone,
                "personal_contact": customer.personal_contact,
            }
        )
    return render(
        request,
        "portal/preferences.html",
        {
            "customer": customer,
            "form": form,
            "named_contact": named_contact,
            "chosen_contact": form["preferred_contact"].value(),
            "chosen_personal": form["personal_contact"].value(),
        },
        status=status,
    )


urlpatterns: list[URLPattern] = [
    path("", home, name="home"),
    path("tickets/", ticket_list, name="tickets"),
    path("tickets/<int:number>/", ticket_detail, name="ticket"),
    path("tickets/<int:number>/reply/", reply, name="reply"),
    path("tickets/<int:number>/solved/", mark_solved, name="mark_solved"),
    path("tickets/<int:number>/rating/", rate, name="rate"),
    path("attachments/<str:public_id>/", attachment, name="attachment"),
    path("preferences/", preferences, name="preferences"),
]
