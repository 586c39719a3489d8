"""Desk views: the queues (mine, my teams, unassigned, at risk, all), saved filters, bulk actions.

Views parse input and call selectors and services; permission comes from ``visible_tickets`` and
``update_ticket``, never from here. Filtering and paging answer htmx requests with the results
partial only, and the same URLs work as plain links and form posts without JavaScript.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path, reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from regulars.accounts.models import Role
from regulars.core.errors import DomainError
from regulars.desk import services as desk_services
from regulars.desk.access import agent, agent_required
from regulars.desk.forms import BulkForm, SavedFilterForm, filters_query, parse_filters
from regulars.desk.models import SavedFilter
from regulars.desk.selectors import (
    QUEUES,
    default_queue,
    load_lookups,
    queue_page,
    saved_filters,
)
from regulars.tickets import services as ticket_services
from regulars.tickets.selectors import visible_tickets

RESULTS_ID = "queue-results"


def _queue_url(queue: str, query: str = "") -> str:
    url = reverse("desk:queue", args=[queue])
    return f"{url}?{query}" if query else url


def saved_filter_url(saved: SavedFilter) -> str:
    params = QueryDict(saved.query, mutable=True)
    queue = params.pop("queue", ["all"])[-1]
    return _queue_url(queue if queue in QUEUES else "all", params.urlencode())


@require_GET
@agent_required
def queue_view(request: HttpRequest, queue: str | None = None) -> HttpResponse:
    viewer = agent(request)
    queue = queue or default_queue(viewer)
    if queue not in QUEUES:
        raise Http404("No such queue.")
    lookups = load_lookups(viewer)
    form, filters = parse_filters(queue, request.GET.dict(), lookups)
    cursor = (request.GET.get("cursor") or "")[:200] or None
    page = queue_page(viewer, queue, filters, lookups, cursor=cursor)
    query = filters_query(filters, queue)
    here = _queue_url(queue, query)
    saved = saved_filters(viewer)
    full_path = request.get_full_path()
    for item in saved:
        item.url = saved_filter_url(item)  # type: ignore[attr-defined]
        item.current = item.url == full_path  # type: ignore[attr-defined]
    context: dict[str, Any] = {
        "section": "queues",
        "queue": queue,
        "queue_label": QUEUES[queue],
        "queues": [
            {"slug": slug, "label": label, "url": _queue_url(slug), "current": slug == queue}
            for slug, label in QUEUES.items()
        ],
        "form": form,
        "page": page,
        "here": here,
        "query": query,
        "first_url": here if cursor else None,
        "next_url": _queue_url(queue, filters_query(filters, queue, cursor=page.next_cursor))
        if page.next_cursor
        else None,
        "filtered": bool(query),
        "saved": saved,
        "save_form": SavedFilterForm(initial={"query": query, "queue": queue}, auto_id="save_%s"),
        "can_bulk": viewer.role != Role.LIGHT_AGENT,
        "bulk_form": BulkForm(lookups=lookups, initial={"next": here}, auto_id="bulk_%s"),
        "no_teams": queue == "teams" and not lookups.my_team_ids,
    }
    partial = request.htmx and request.htmx.target == RESULTS_ID  # type: ignore[attr-defined]
    template = "desk/partials/queue_results.html" if partial else "desk/queue.html"
    response = render(request, template, context)
    if partial:
        # The address bar shows the tidy URL (no empty fields), so it can be shared or saved.
        response["HX-Push-Url"] = _queue_url(queue, filters_query(filters, queue, cursor=cursor))
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


def _back(request: HttpRequest, candidate: str | None) -> HttpResponseRedirect:
    if (
        candidate
        and candidate.startswith("/desk/")
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return HttpResponseRedirect(candidate)
    return HttpResponseRedirect(reverse("desk:home"))


@require_POST
@agent_required
def bulk_view(request: HttpRequest) -> HttpResponse:
    """Apply one set of changes to each selected ticket, one transaction per ticket.

    Tickets the viewer may not see are left alone (and not named); each other ticket goes through
    ``update_ticket``, which refuses what the viewer may not change (light agents: everything).
    """
    viewer = agent(request)
    lookups = load_lookups(viewer)
    form = BulkForm(request.POST, lookups=lookups)
    if not form.is_valid():
        problems = [str(e) for errors in form.errors.values() for e in errors]
        messages.error(request, " ".join(problems))
        return _back(request, request.POST.get("next"))
    changes: dict[str, Any] = {}
    assignee = form.cleaned_data.get("assignee")
    if assignee == "none":
        changes["assignee"] = None
    elif assignee:
        changes["assignee"] = lookups.agents[lookups.agents_by_public_id[assignee]]
    status = form.status_object(lookups)
    if status is not None:
        changes["status"] = status
    tag = ""
    if form.cleaned_data.get("tag"):
        try:
            tag = ticket_services.normalise_tags([form.cleaned_data["tag"]])[0]
        except DomainError as error:
            messages.error(request, error.message)
            return _back(request, form.cleaned_data.get("next"))
    if not changes and not tag:
        messages.error(request, "Choose an assignee, a status or a tag to apply.")
        return _back(request, form.cleaned_data.get("next"))
    numbers: list[int] = form.cleaned_data["tickets"]
    tickets = list(
        visible_tickets(viewer).filter(number__in=numbers).prefetch_related("tags").order_by("number")
    )
    updated: list[int] = []
    refused: dict[str, list[int]] = defaultdict(list)
    for ticket in tickets:
        ticket_changes = dict(changes)
        if tag:
            names = [t.name for t in ticket.tags.all()]
            if tag not in names:
                ticket_changes["tags"] = [*names, tag]
        if not ticket_changes:
            updated.append(ticket.number)
            continue
        try:
            ticket_services.update_ticket(ticket, actor=viewer, **ticket_changes)
        except DomainError as error:
            refused[error.message].append(ticket.number)
        else:
            updated.append(ticket.number)
    if updated:
        messages.success(request, f"Updated {_tickets(len(updated))}.")
    for reason, refused_numbers in refused.items():
        listed = ", ".join(f"#{n}" for n in refused_numbers)
        messages.error(request, f"Not changed ({listed}): {reason}")
    missing = len(numbers) - len(tickets)
    if missing:
        messages.error(request, f"{_tickets(missing)} could not be found.")
    return _back(request, form.cleaned_data.get("next"))


def _tickets(n: int) -> str:
    return f"{n} ticket{'s' if n != 1 else ''}"


@require_POST
@agent_required
def save_filter_view(request: HttpRequest) -> HttpResponse:
    viewer = agent(request)
    form = SavedFilterForm(request.POST)
    queue = request.POST.get("queue") or "all"
    if queue not in QUEUES:
        queue = "all"
    if not form.is_valid():
        messages.error(request, "Give the filter a name (at most 80 characters).")
        return _back(request, _queue_url(queue, request.POST.get("query", "")))
    # Store only what the filter form understands, so a saved filter is always a valid queue.
    lookups = load_lookups(viewer)
    _, filters = parse_filters(queue, QueryDict(form.cleaned_data["query"] or "").dict(), lookups)
    query = "&".join(part for part in (urlencode({"queue": queue}), filters_query(filters, queue)) if part)
    try:
        saved = desk_services.save_filter(
            viewer, name=form.cleaned_data["name"], query=query, shared=form.cleaned_data["shared"]
        )
    except DomainError as error:
        messages.error(request, error.message)
        return _back(request, _queue_url(queue, filters_query(filters, queue)))
    messages.success(
        request,
        f"Saved the filter \N{LEFT DOUBLE QUOTATION MARK}{saved.name}\N{RIGHT DOUBLE QUOTATION MARK}.",
    )
    return HttpResponseRedirect(saved_filter_url(saved))


@require_POST
@agent_required
def delete_filter_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = agent(request)
    saved = get_object_or_404(SavedFilter.objects.filter(Q(owner=viewer) | Q(shared=True)), pk=pk)
    desk_services.delete_filter(saved, actor=viewer)
    messages.success(
        request,
        f"Deleted the filter \N{LEFT DOUBLE QUOTATION MARK}{saved.name}\N{RIGHT DOUBLE QUOTATION MARK}.",
    )
    return HttpResponseRedirect(reverse("desk:home"))


urlpatterns: list[URLPattern] = [
    path("", queue_view, name="home"),
    path("queues/<slug:queue>/", queue_view, name="queue"),
    path("bulk/", bulk_view, name="bulk"),
    path("filters/", save_filter_view, name="save_filter"),
    path("filters/<int:pk>/delete/", delete_filter_view, name="delete_filter"),
]
