"""Desk views: the ticket workspace.

One page holds the conversation, the composers, the ticket's properties, the customer panel and
the Insights panel (category, articles, mood, similar tickets). Small endpoints change one thing
each; they answer an htmx request with the re-rendered fragment and a plain form post with a
redirect back, so every control works without script.
Every read goes through ``tickets.selectors`` (and ``insights.selectors``); every write through
``tickets.services`` (and ``insights.services``, ``insights.misdirected``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_POST

from regulars.accounts.models import Role, Team, User
from regulars.core.errors import DomainError, NotFound
from regulars.core.models import CustomFieldDefinition
from regulars.desk.access import agent, agent_required
from regulars.desk.forms_insights import CategoryForm, NotForUsForm
from regulars.desk.forms_tickets import (
    AssigneeForm,
    CustomFieldsForm,
    EscalateForm,
    MergeForm,
    NoteForm,
    PriorityForm,
    ReplyForm,
    StatusForm,
    TagsForm,
    TeamForm,
    agent_choices,
    uploads_of,
)
from regulars.desk.models import TicketPresence
from regulars.desk.selectors_insights import insight_panel
from regulars.desk.selectors_tickets import customer_panel, is_full_agent, others_present
from regulars.desk.services_presence import note_presence
from regulars.insights.misdirected import mark_not_for_us
from regulars.insights.models import Category, SisterBrand
from regulars.insights.selectors import brands_for, categories_for
from regulars.insights.services import correct_category
from regulars.insights.similar import similar_tickets
from regulars.tickets import services
from regulars.tickets.attachments import download_response
from regulars.tickets.models import UNSOLVED_CATEGORIES, Message, StatusCategory, Tag, Ticket
from regulars.tickets.selectors import get_attachment, get_ticket, visible_messages

# How often an open ticket page asks for new messages and refreshes presence. Presence older
# than desk.services_presence.PRESENCE_WINDOW (several polls) is ignored.
POLL_SECONDS = 5
# How many similar open and solved tickets the Insights panel lists, each.
SIMILAR_TICKETS = 5


def _ticket_or_404(viewer: User, number: int) -> Ticket:
    try:
        return get_ticket(viewer, number)
    except NotFound:
        raise Http404("No such ticket.") from None


def _tag_names(ticket: Ticket) -> list[str]:
    return sorted(Tag.objects.filter(tickets=ticket).values_list("name", flat=True))


def _ticket_definitions() -> list[CustomFieldDefinition]:
    return list(
        CustomFieldDefinition.objects.filter(target=CustomFieldDefinition.Target.TICKET).order_by("label")
    )


def _properties_context(viewer: User, ticket: Ticket, **extra: Any) -> dict[str, Any]:
    definitions = _ticket_definitions()
    tag_names = _tag_names(ticket)
    return {
        "ticket": ticket,
        "can_change": is_full_agent(viewer) and ticket.status_category != StatusCategory.CLOSED,
        "status_form": StatusForm(initial={"status": ticket.status.slug}, prefix="status"),
        "priority_form": PriorityForm(initial={"priority": ticket.priority}, prefix="priority"),
        "assignee_form": AssigneeForm(
            initial={"assignee": ticket.assignee.public_id if ticket.assignee else None}, prefix="assignee"
        ),
        "team_form": TeamForm(
            initial={"team": ticket.team.public_id if ticket.team else None}, prefix="team"
        ),
        "tags_form": TagsForm(initial={"tags": ", ".join(tag_names)}, prefix="tags"),
        "tag_names": tag_names,
        "fields_form": CustomFieldsForm(
            definitions, initial=CustomFieldsForm.initial_for(definitions, ticket.custom_fields), prefix="cf"
        )
        if definitions
        else None,
        "field_values": [(d.label, ticket.custom_fields.get(d.key)) for d in definitions],
        **extra,
    }


def _conversation(viewer: User, ticket: Ticket) -> list[Message]:
    return list(visible_messages(viewer, ticket))


def _refusal(error: DomainError) -> str:
    """The message of a change the rules refused; a permission refusal is a 403 page instead."""
    if error.status == 403:
        raise PermissionDenied(error.message)
    return error.message


def _back(ticket: Ticket, anchor: str = "") -> HttpResponseRedirect:
    url = reverse("desk:ticket", args=[ticket.number])
    return HttpResponseRedirect(f"{url}#{anchor}" if anchor else url)


def _share_choices(context: dict[str, Any]) -> None:
    """Read agents and teams once for the four selects that list them (the assignee and team
    forms and the escalation form), instead of one query per select as each renders."""
    agents = [(a.public_id, a.name or a.email) for a in agent_choices()]
    teams = [(t.public_id, t.name) for t in Team.objects.order_by("name").only("public_id", "name")]
    context["assignee_form"].fields["assignee"].choices = [("", "Nobody"), *agents]
    context["team_form"].fields["team"].choices = [("", "No team"), *teams]
    context["escalate_form"].fields["team"].choices = teams
    context["escalate_form"].fields["assignee"].choices = [("", "The team's queue"), *agents]


def _active_categories(viewer: User) -> QuerySet[Category]:
    return categories_for(viewer).filter(active=True)


def _active_brands(viewer: User) -> QuerySet[SisterBrand]:
    return brands_for(viewer).filter(active=True).order_by("name")


def _insights_context(viewer: User, ticket: Ticket, **extra: Any) -> dict[str, Any]:
    """The Insights panel and, for full agents, its two forms. Light agents see the same facts
    and no form (the services refuse them anyway)."""
    insights = insight_panel(viewer, ticket)
    full = is_full_agent(viewer) and ticket.merged_into_id is None
    category_form = None
    if full:
        triage = insights.triage
        current = insights.category or (triage.predicted_category if triage is not None else None)
        categories = _active_categories(viewer)
        category_form = CategoryForm(
            categories=categories,
            initial={"category": current.public_id if current is not None else None},
            prefix="category",
        )
        category_form.show(list(categories))
    # "Not for us" solves the ticket: offered on open tickets, and on any the model flagged
    # that is not closed yet, until a person has decided.
    not_for_us_form = None
    if (
        full
        and ticket.status_category != StatusCategory.CLOSED
        and not insights.confirmed_not_for_us
        and (insights.misdirected or ticket.status_category in UNSOLVED_CATEGORIES)
    ):
        guess = insights.brand_guess
        not_for_us_form = NotForUsForm(
            brands=_active_brands(viewer),
            initial={"brand": guess.public_id if guess is not None and guess.active else None, "reply": True},
            prefix="notforus",
        )
    return {
        "ticket": ticket,
        "insights": insights,
        "category_form": category_form,
        "not_for_us_form": not_for_us_form,
        **extra,
    }


@require_GET
@agent_required
def ticket_view(request: HttpRequest, number: int) -> HttpResponse:
    viewer = agent(request)
    ticket = _ticket_or_404(viewer, number)
    conversation = _conversation(viewer, ticket)
    context = _properties_context(viewer, ticket)
    context.update(_insights_context(viewer, ticket))
    context.update(
        {
            "section": "queues",
            "conversation": conversation,
            "last_message": conversation[-1].public_id if conversation else "",
            "poll_seconds": POLL_SECONDS,
            "present": others_present(ticket, viewer),
            "panel": customer_panel(viewer, ticket.requester_id, exclude_ticket=ticket),
            "can_reply": viewer.role != Role.LIGHT_AGENT,
            "can_edit_customer": is_full_agent(viewer),
            "can_write": ticket.merged_into_id is None and ticket.status_category != StatusCategory.CLOSED,
            "reply_form": ReplyForm(prefix="reply"),
            "note_form": NoteForm(prefix="note"),
            "escalate_form": EscalateForm(prefix="escalate"),
            "merge_form": MergeForm(prefix="merge"),
        }
    )
    _share_choices(context)
    return render(request, "desk/ticket.html", context)


@require_GET
@agent_required
def ticket_messages(request: HttpRequest, number: int) -> HttpResponse:
    """Messages after ``after`` (a message's public id), for the page's poll. 204 when none."""
    viewer = agent(request)
    ticket = _ticket_or_404(viewer, number)
    qs = visible_messages(viewer, ticket)
    after = request.GET.get("after", "")[:40]
    if after:
        last = Message.objects.filter(ticket=ticket, public_id=after).values_list("pk", flat=True).first()
        if last is not None:
            qs = qs.filter(pk__gt=last)
    new = list(qs[:200])
    if not new:
        return HttpResponse(status=204)
    return render(
        request,
        "desk/partials/ticket_new_messages.html",
        {
            "ticket": ticket,
            "conversation": new,
            "last_message": new[-1].public_id,
            "poll_seconds": POLL_SECONDS,
        },
    )


@require_POST
@agent_required
def presence(request: HttpRequest, number: int) -> HttpResponse:
    viewer = agent(request)
    ticket = _ticket_or_404(viewer, number)
    state = request.POST.get("state", TicketPresence.State.VIEWING)
    if state in TicketPresence.State.values:
        note_presence(ticket, viewer, state)
    return render(request, "desk/partials/ticket_presence.html", {"present": others_present(ticket, viewer)})


def _post_message(request: HttpRequest, number: int, *, public: bool) -> HttpResponse:
    viewer = agent(request)
    ticket = _ticket_or_404(viewer, number)
    form = (ReplyForm if public else NoteForm)(
        request.POST, request.FILES, prefix="reply" if public else "note"
    )
    if not form.is_valid():
        messages.error(
            request, "Write something before sending." if "body" in form.errors else form.errors.as_text()
        )
        return _back(ticket)
    try:
        message = services.post_message(
            ticket,
            author=viewer,
            body=form.cleaned_data["body"],
            public=public,
            channel=ticket.channel,
            attachments=uploads_of(form.cleaned_data["attachments"]),
        )
    except DomainError as error:
        messages.error(request, _refusal(error))
        return _back(ticket)
    messages.success(request, "Reply sent." if public else "Note added.")
    return _back(ticket, message.public_id)


@require_POST
@agent_required
def post_reply(request: HttpRequest, number: int) -> HttpResponse:
    return _post_message(request, number, public=True)


@require_POST
@agent_required
def post_note(request: HttpRequest, number: int) -> HttpResponse:
    return _post_message(request, number, public=False)


def _changes(what: str, request: HttpRequest) -> dict[str, Any]:
    """Parse one property form into ``update_ticket`` changes; ValueError carries the message."""
    data = request.POST
    if what == "status":
        status_form = StatusForm(data, prefix="status")
        if not status_form.is_valid():
            raise ValueError("Choose a status.")
        return {"status": status_form.cleaned_data["status"]}
    if what == "priority":
        priority_form = PriorityForm(data, prefix="priority")
        if not priority_form.is_valid():
            raise ValueError("Choose a priority and say why.")
        return {
            "priority": priority_form.cleaned_data["priority"],
            "priority_reason": priority_form.cleaned_data["reason"],
        }
    if what == "assignee":
        assignee_form = AssigneeForm(data, prefix="assignee")
        if not assignee_form.is_valid():
            raise ValueError("Choose an agent.")
        return {"assignee": assignee_form.cleaned_data["assignee"]}
    if what == "team":
        team_form = TeamForm(data, prefix="team")
        if not team_form.is_valid():
            raise ValueError("Choose a team.")
        return {"team": team_form.cleaned_data["team"]}
    if what == "tags":
        tags_form = TagsForm(data, prefix="tags")
        if not tags_form.is_valid():
            raise ValueError("Tags are at most 2,000 characters.")
        return {"tags": tags_form.cleaned_data["tags"]}
    if what == "fields":
        fields_form = CustomFieldsForm(_ticket_definitions(), data, prefix="cf")
        if not fields_form.is_valid():
            raise ValueError("Some fields are not valid: " + fields_form.errors.as_text())
        return {"custom_fields": fields_form.values()}
    raise Http404("No such property.")


_SAVED = {
    "status": "Status saved.",
    "priority": "Priority changed.",
    "assignee": "Assignee saved.",
    "team": "Team saved.",
    "tags": "Tags saved.",
    "fields": "Fields saved.",
}


@require_POST
@agent_required
def change_property(request: HttpRequest, number: int, what: str) -> HttpResponse:
    viewer = agent(request)
    ticket = _ticket_or_404(viewer, number)
    notice, error = "", ""
    try:
        services.update_ticket(ticket, actor=viewer, **_changes(what, request))
        notice = _SAVED[what]
    except ValueError as exc:
        error = str(exc)
    except DomainError as exc:
        error = _refusal(exc)
    if not request.htmx:  # type: ignore[attr-defined]
        if error:
            messages.error(request, error)
        else:
            messages.success(request, notice)
        return _back(ticket, "ticket-properties")
    fresh = _ticket_or_404(viewer, number)
    context = _properties_context(viewer, fresh, notice=notice, error=error)
    return render(request, "desk/partials/ticket_properties_changed.html", context)


@require_POST
@agent_required
def escalate(request: HttpRequest, number: int) -> HttpResponse:
    viewer = agent(request)
    ticket = _ticket_or_404(viewer, number)
    form = EscalateForm(request.POST, prefix="escalate")
    if not form.is_valid():
        messages.error(
            request,
            "Say why you escalate." if "reason" in form.errors else "Choose the team to escalate to.",
        )
        return _back(ticket, "escalate")
    try:
        services.escalate_ticket(
            ticket,
            actor=viewer,
            team=form.cleaned_data["team"],
            assignee=form.cleaned_data["assignee"],
            reason=form.cleaned_data["reason"],
        )
    except DomainError as exc:
        messages.error(request, _refusal(exc))
        return _back(ticket, "escalate")
    messages.success(request, f"Escalated to {form.cleaned_data['team'].name}.")
    return _back(ticket)


@require_POST
@agent_required
def merge(request: HttpRequest, number: int) -> HttpResponse:
    viewer = agent(request)
    ticket = _ticket_or_404(viewer, number)
    form = MergeForm(request.POST, prefix="merge")
    if not form.is_valid():
        messages.error(request, "Give the number of the ticket to merge into.")
        return _back(ticket, "merge")
    try:
        target = get_ticket(viewer, form.cleaned_data["into"])
    except NotFound:
        messages.error(request, f"There is no ticket #{form.cleaned_data['into']} you can see.")
        return _back(ticket, "merge")
    try:
        services.merge_tickets(ticket, target, actor=viewer)
    except DomainError as exc:
        messages.error(request, _refusal(exc))
        return _back(ticket, "merge")
    messages.success(request, f"Ticket #{ticket.number} was merged into this ticket.")
    return _back(target)


@require_POST
@agent_required
def categorise(request: HttpRequest, number: int) -> HttpResponse:
    """Choose or confirm a ticket's category. Answers htmx with the category part of the Insights
    panel and, out of band, the properties and badges (the category's priority may apply)."""
    viewer = agent(request)
    ticket = _ticket_or_404(viewer, number)
    form = CategoryForm(request.POST, categories=_active_categories(viewer), prefix="category")
    notice, error = "", ""
    if form.is_valid():
        chosen: Category = form.cleaned_data["category"]
        try:
            correct_category(ticket, chosen, actor=viewer)
            notice = f"Category set to {chosen.name}."
        except DomainError as exc:
            error = _refusal(exc)
    else:
        error = "Choose one of the active categories."
    if not request.htmx:  # type: ignore[attr-defined]
        if error:
            messages.error(request, error)
        else:
            messages.success(request, notice)
        return _back(ticket, "ticket-insights")
    fresh = _ticket_or_404(viewer, number)
    context = _properties_context(viewer, fresh)
    context.update(_insights_context(viewer, fresh, insight_notice=notice, insight_error=error))
    return render(request, "desk/partials/insight_category_changed.html", context)


@require_POST
@agent_required
def not_for_us(request: HttpRequest, number: int) -> HttpResponse:
    """Say a ticket is not for us: the polite reply (optional), the forward to the sister brand,
    the tag and the solved status, all in ``insights.misdirected.mark_not_for_us``. A plain post
    with a redirect, like escalate and merge: the whole page changes."""
    viewer = agent(request)
    ticket = _ticket_or_404(viewer, number)
    form = NotForUsForm(request.POST, brands=_active_brands(viewer), prefix="notforus")
    if not form.is_valid():
        messages.error(request, "Choose one of the sister brands, or none.")
        return _back(ticket, "ticket-insights")
    brand: SisterBrand | None = form.cleaned_data["brand"]
    reply: bool = form.cleaned_data["reply"]
    try:
        mark_not_for_us(ticket, actor=viewer, brand=brand, reply=reply)
    except DomainError as exc:
        messages.error(request, _refusal(exc))
        return _back(ticket, "ticket-insights")
    where = f" (meant for {brand.name})" if brand is not None else ""
    told = "the customer got the polite reply" if reply else "no reply was sent"
    messages.success(request, f"Marked not for us{where}: {told} and the ticket is solved.")
    return _back(ticket)


@require_GET
@agent_required
def similar(request: HttpRequest, number: int) -> HttpResponse:
    """Similar open and solved tickets. Loaded by the panel after the page (htmx), because the
    search behind it costs more than the rest of the page; without script, a page of its own."""
    viewer = agent(request)
    ticket = _ticket_or_404(viewer, number)
    try:
        found = similar_tickets(viewer, number, limit=SIMILAR_TICKETS)
    except NotFound:
        raise Http404("No such ticket.") from None
    context = {"ticket": ticket, "similar": found, "section": "queues"}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "desk/partials/similar_tickets.html", context)
    return render(request, "desk/ticket_similar.html", context)


@require_GET
@agent_required
def attachment(request: HttpRequest, public_id: str) -> FileResponse:
    """Always a download, never rendered inline: an uploaded HTML or SVG file must not run
    script in our origin."""
    try:
        found = get_attachment(agent(request), public_id[:40])
    except NotFound:
        raise Http404("No such attachment.") from None
    return download_response(found)


def _property(what: str) -> URLPattern:
    return path(f"tickets/<int:number>/{what}/", change_property, {"what": what}, name=f"ticket_{what}")


urlpatterns: list[URLPattern] = [
    path("tickets/<int:number>/", ticket_view, name="ticket"),
    path("tickets/<int:number>/messages/", ticket_messages, name="ticket_messages"),
    path("tickets/<int:number>/presence/", presence, name="ticket_presence"),
    path("tickets/<int:number>/reply/", post_reply, name="ticket_reply"),
    path("tickets/<int:number>/note/", post_note, name="ticket_note"),
    path("tickets/<int:number>/escalate/", escalate, name="ticket_escalate"),
    path("tickets/<int:number>/merge/", merge, name="ticket_merge"),
    path("tickets/<int:number>/category/", categorise, name="ticket_category"),
    path("tickets/<int:number>/not-for-us/", not_for_us, name="ticket_not_for_us"),
    path("tickets/<int:number>/similar/", similar, name="ticket_similar"),
    *[_property(what) for what in _SAVED],
    path("attachments/<str:public_id>/", attachment, name="attachment"),
]
