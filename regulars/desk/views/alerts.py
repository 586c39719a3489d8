"""Desk views: emerging issues (the alerts the insight engine raises), the agent's alert
subscriptions, and turning an alert into a problem ticket.

Every read goes through ``insights.selectors`` (agents only; an alert's messages only on tickets
the viewer may see) and every write through ``insights.services``, as the API's alert endpoints
do. The counts on an alert are aggregates over every ticket; the messages and customers listed
are those the viewer may see.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_POST

from regulars.accounts.models import User
from regulars.api.paging import decode_cursor, encode_cursor
from regulars.core.errors import DomainError, NotFound, ValidationFailed
from regulars.desk.access import agent, agent_required
from regulars.desk.forms_alerts import AlertFilterForm, ProblemForm, SubscribeForm
from regulars.desk.selectors_tickets import is_full_agent
from regulars.desk.views.tickets import _refusal
from regulars.insights.models import AlertState, EmergingAlert
from regulars.insights.selectors import (
    alert_detail,
    alerts_for,
    get_alert,
    get_subscription,
    subscriptions_for,
)
from regulars.insights.services import (
    convert_alert_to_problem,
    subscribe_to_alerts,
    unsubscribe_from_alerts,
)
from regulars.tickets.models import StatusCategory
from regulars.tickets.selectors import visible_tickets

PAGE_SIZE = 25
MAX_SUBSCRIPTIONS_SHOWN = 100
# Open alerts first, then closed ones; each part newest first. The cursor is (part, last id).
SEGMENTS: dict[str, tuple[str, ...]] = {
    "all": (AlertState.OPEN, AlertState.CLOSED),
    "open": (AlertState.OPEN,),
    "closed": (AlertState.CLOSED,),
}


def _alerts_url(query: dict[str, str] | None = None) -> str:
    url = reverse("desk:alerts")
    return f"{url}?{urlencode(query)}" if query else url


def _alert_url(alert: EmergingAlert) -> str:
    return reverse("desk:alert", args=[alert.public_id])


def _alert_or_404(viewer: User, public_id: str) -> EmergingAlert:
    try:
        return get_alert(viewer, public_id[:40])
    except NotFound:
        raise Http404("No such alert.") from None


def _alert_page(viewer: User, state: str, cursor: str | None) -> tuple[list[EmergingAlert], str | None]:
    """A page of alerts in ``state``'s parts, by keyset: no OFFSET, no COUNT."""
    segments = SEGMENTS[state]
    index, last_id = 0, 0
    if cursor:
        index, last_id = decode_cursor(cursor, (int, int))
    if not 0 <= index < len(segments):
        raise ValidationFailed("The page link is not valid.", fields={"cursor": "invalid"})
    rows: list[EmergingAlert] = []
    for position in range(index, len(segments)):
        part = alerts_for(viewer, state=segments[position])
        if position == index and last_id:
            part = part.filter(id__lt=last_id)
        wanted = PAGE_SIZE - len(rows)
        found = list(part[: wanted + 1])
        rows += found[:wanted]
        if len(found) > wanted:
            # A page that ends exactly where a part ends starts the next page at that part's
            # beginning (last id 0), not below the previous part's last id.
            return rows, encode_cursor([position, rows[-1].id if wanted else 0])
    return rows, None


def _visible_problem_ids(viewer: User, alerts: list[EmergingAlert]) -> set[int]:
    """Problem tickets the viewer may open: the others are shown by number, without a link."""
    ids = {a.problem_id for a in alerts if a.problem_id is not None}
    if not ids:
        return set()
    return set(visible_tickets(viewer).filter(pk__in=ids).values_list("pk", flat=True))


@require_GET
@agent_required
def alert_list(request: HttpRequest) -> HttpResponse:
    viewer = agent(request)
    filter_form = AlertFilterForm(request.GET)
    state = filter_form.state_value()
    cursor = (request.GET.get("cursor") or "")[:200] or None
    try:
        alerts, next_cursor = _alert_page(viewer, state, cursor)
    except ValidationFailed:
        messages.error(request, "That page link is not valid; here is the first page.")
        cursor = None
        alerts, next_cursor = _alert_page(viewer, state, None)
    visible_problems = _visible_problem_ids(viewer, alerts)
    base = {} if state == "all" else {"state": state}
    return render(
        request,
        "desk/alerts.html",
        {
            "section": "alerts",
            "state": state,
            "filter_form": filter_form,
            "rows": [{"alert": a, "problem_visible": a.problem_id in visible_problems} for a in alerts],
            "first_url": _alerts_url(base) if cursor else None,
            "next_url": _alerts_url({**base, "cursor": next_cursor}) if next_cursor else None,
            "subscriptions": list(subscriptions_for(viewer)[:MAX_SUBSCRIPTIONS_SHOWN]),
            "subscribe_form": SubscribeForm(auto_id="subscribe_%s"),
        },
    )


@require_GET
@agent_required
def alert_view(request: HttpRequest, public_id: str) -> HttpResponse:
    viewer = agent(request)
    alert = _alert_or_404(viewer, public_id)
    found = alert_detail(viewer, alert)
    members = found.messages
    problem_visible = bool(_visible_problem_ids(viewer, [alert]))
    # Converting again links latecomers to an open problem ticket; a closed one is replaced.
    existing = alert.problem is not None and alert.problem.status_category != StatusCategory.CLOSED
    context: dict[str, Any] = {
        "section": "alerts",
        "alert": alert,
        "hours": found.hours,
        "members": members,
        "customers": found.customers,
        "problem_visible": problem_visible,
        "links_to_existing": existing,
        # As convert_alert_to_problem decides: only full agents; a new problem ticket needs a
        # ticket of the alert they may see, an existing one must be a ticket they may see.
        "can_convert": is_full_agent(viewer) and (problem_visible if existing else bool(members)),
        "problem_form": ProblemForm(auto_id="problem_%s"),
    }
    return render(request, "desk/alert.html", context)


def _tickets(n: int) -> str:
    return f"{n} ticket{'' if n == 1 else 's'}"


@require_POST
@agent_required
def alert_problem(request: HttpRequest, public_id: str) -> HttpResponse:
    """Open a problem ticket for the alert (or link the latecomers to the one it has) and go to
    it. Light agents are refused by ``convert_alert_to_problem``: a 403 page."""
    viewer = agent(request)
    alert = _alert_or_404(viewer, public_id)
    form = ProblemForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A subject is at most 250 characters.")
        return HttpResponseRedirect(_alert_url(alert) + "#problem")
    try:
        result = convert_alert_to_problem(alert, actor=viewer, subject=form.cleaned_data["subject"] or None)
    except DomainError as exc:
        messages.error(request, _refusal(exc))
        return HttpResponseRedirect(_alert_url(alert) + "#problem")
    number, linked = result.problem.number, len(result.linked)
    if result.created:
        messages.success(request, f"Problem ticket #{number} opened; {_tickets(linked)} linked.")
    else:
        more = f"{linked} more ticket{'' if linked == 1 else 's'}"
        messages.success(request, f"Problem ticket #{number} already existed; {more} linked.")
    return HttpResponseRedirect(reverse("desk:ticket", args=[number]))


@require_POST
@agent_required
def subscribe(request: HttpRequest) -> HttpResponse:
    viewer = agent(request)
    form = SubscribeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose what to hear about; a key is at most 100 characters.")
        return HttpResponseRedirect(_alerts_url() + "#subscriptions")
    try:
        _, created = subscribe_to_alerts(
            actor=viewer, dimension=form.cleaned_data["dimension"], key=form.cleaned_data["key"]
        )
    except DomainError as exc:
        messages.error(request, _refusal(exc))
        return HttpResponseRedirect(_alerts_url() + "#subscriptions")
    messages.success(
        request,
        "Subscribed: you will be told about new alerts."
        if created
        else "You were already subscribed to these alerts.",
    )
    return HttpResponseRedirect(_alerts_url() + "#subscriptions")


@require_POST
@agent_required
def unsubscribe(request: HttpRequest, public_id: str) -> HttpResponse:
    """Only one's own subscriptions; anyone else's is a 404, as in the API."""
    viewer = agent(request)
    try:
        subscription = get_subscription(viewer, public_id[:40])
    except NotFound:
        raise Http404("No such subscription.") from None
    try:
        unsubscribe_from_alerts(actor=viewer, subscription=subscription)
    except DomainError as exc:
        messages.error(request, _refusal(exc))
        return HttpResponseRedirect(_alerts_url() + "#subscriptions")
    messages.success(request, "Unsubscribed.")
    return HttpResponseRedirect(_alerts_url() + "#subscriptions")


urlpatterns: list[URLPattern] = [
    path("alerts/", alert_list, name="alerts"),
    path("alerts/subscriptions/", subscribe, name="alert_subscribe"),
    path("alerts/subscriptions/<str:public_id>/delete/", unsubscribe, name="alert_unsubscribe"),
    path("alerts/<str:public_id>/", alert_view, name="alert"),
    path("alerts/<str:public_id>/problem/", alert_problem, name="alert_problem"),
]
