"""The insight engine: ``/api/v1/insights/...``.

Agents read categories, a ticket's prediction and mood, and the triage and misdirected queues,
and correct a ticket's category (full agents). Admins create categories and see the models.
Agents read emerging-issue alerts, subscribe to them and see a ticket's similar tickets; full
agents turn an alert into a problem ticket. Customers get 403.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field

from regulars.api.auth import require_admin, require_full_agent, viewer
from regulars.api.errors import responses
from regulars.api.paging import DEFAULT_LIMIT, CursorParam, Limit, decode_cursor, encode_cursor, split_page
from regulars.api.refs import team_ref
from regulars.api.types import MAX_BIGINT, PublicId, Text
from regulars.core.errors import ValidationFailed
from regulars.insights.models import AlertSubscription, Category, EmergingAlert, TicketTriage, TriageModel
from regulars.insights.selectors import (
    SentimentSummary,
    alert_messages,
    alerts_for,
    categories_for,
    get_alert,
    get_subscription,
    misdirected_queue,
    models_for,
    subscriptions_for,
    ticket_insight,
    triage_queue,
)
from regulars.insights.services import (
    convert_alert_to_problem,
    correct_category,
    create_category,
    subscribe_to_alerts,
    unsubscribe_from_alerts,
)
from regulars.insights.similar import SimilarTicket, similar_tickets
from regulars.tickets.selectors import get_ticket

router = Router(tags=["insights"])

NumberPath = Annotated[int, Path(ge=1, le=MAX_BIGINT)]


class CategoryOut(Schema):
    id: str
    name: str
    description: str
    team_id: str | None
    default_priority: str
    active: bool


class CategoryIn(Schema):
    name: Annotated[Text, Field(min_length=1, max_length=100)]
    description: Annotated[Text, Field(max_length=2000)] = ""
    team_id: PublicId | None = None
    default_priority: Annotated[str, Field(pattern=r"^(low|normal|high|urgent)$")] = "normal"


class CategoryChoiceIn(Schema):
    category_id: PublicId


class AlternativeOut(Schema):
    category: str
    confidence: float


class SentimentOut(Schema):
    messages: int
    counts: dict[str, int]
    latest: str | None
    lowest_compound: float | None
    average_compound: float | None
    max_urgency: int
    signals: list[str]


class TriageOut(Schema):
    ticket: int
    category: str | None
    predicted_category: str | None
    confidence: float | None
    in_scope_score: float | None
    alternatives: list[AlternativeOut]
    routed: bool
    routed_team_id: str | None
    misdirected: bool
    brand_guess: str | None
    model_id: str | None
    triaged_at: dt.datetime | None
    corrected_by: str | None
    corrected_at: dt.datetime | None


class TicketInsightOut(TriageOut):
    sentiment: SentimentOut


class TriagePage(Schema):
    items: list[TriageOut]
    next_cursor: str | None


class ModelOut(Schema):
    id: str
    backend: str
    version: int
    state: str
    progress: str
    trained_at: dt.datetime | None
    labels: list[str]
    metrics: dict[str, Any]
    in_scope_threshold: float | None


def _category_out(c: Category) -> dict[str, Any]:
    return {
        "id": c.public_id,
        "name": c.name,
        "description": c.description,
        "team_id": c.team.public_id if c.team else None,
        "default_priority": c.default_priority,
        "active": c.active,
    }


def _triage_out(number: int, t: TicketTriage | None) -> dict[str, Any]:
    if t is None:
        return {"ticket": number, "category": None, "predicted_category": None, "confidence": None,
                "in_scope_score": None, "alternatives": [], "routed": False, "routed_team_id": None,
                "misdirected": False, "brand_guess": None, "model_id": None, "triaged_at": None,
                "corrected_by": None, "corrected_at": None}  # fmt: skip
    return {
        "ticket": number,
        "category": t.category.name if t.category else None,
        "predicted_category": t.predicted_category.name if t.predicted_category else None,
        "confidence": t.confidence,
        "in_scope_score": t.in_scope_score,
        "alternatives": t.alternatives,
        "routed": t.routed,
        "routed_team_id": t.routed_team.public_id if t.routed_team else None,
        "misdirected": t.misdirected,
        "brand_guess": t.brand_guess.name if t.brand_guess else None,
        "model_id": t.model.public_id if t.model else None,
        "triaged_at": t.triaged_at,
        "corrected_by": t.corrected_by.public_id if t.corrected_by else None,
        "corrected_at": t.corrected_at,
    }


def _sentiment_out(s: SentimentSummary) -> dict[str, Any]:
    return {
        "messages": s.messages,
        "counts": s.counts,
        "latest": s.latest,
        "lowest_compound": s.lowest_compound,
        "average_compound": s.average_compound,
        "max_urgency": s.max_urgency,
        "signals": s.signals,
    }


def _page(qs: Any, cursor: str | None, limit: int) -> dict[str, Any]:
    if cursor:
        (last_id,) = decode_cursor(cursor, (int,))
        qs = qs.filter(id__lt=last_id)
    qs = qs.select_related("predicted_category", "routed_team", "model", "corrected_by")
    rows, more = split_page(list(qs[: limit + 1]), limit)
    return {
        "items": [_triage_out(t.ticket.number, t) for t in rows],
        "next_cursor": encode_cursor([rows[-1].id]) if more else None,
    }


@router.get("/categories", response=responses({200: list[CategoryOut]}), summary="List categories")
def list_categories(request: HttpRequest) -> list[dict[str, Any]]:
    """Agents; every category, switched off ones included."""
    return [_category_out(c) for c in categories_for(viewer(request))[:1000]]


@router.post("/categories", response=responses({201: CategoryOut}), summary="Create a category")
def add_category(request: HttpRequest, payload: CategoryIn) -> Status:
    """Admins only."""
    me = viewer(request)
    require_admin(me)  # before resolving the team, so a customer learns nothing about teams
    team = team_ref(me, payload.team_id)
    category = create_category(
        actor=me,
        name=payload.name,
        team=team,
        default_priority=payload.default_priority,
        description=payload.description,
    )
    return Status(201, _category_out(category))


@router.get(
    "/tickets/{number}",
    response=responses({200: TicketInsightOut}),
    summary="What the engine says about a ticket",
)
def read_ticket_insight(request: HttpRequest, number: NumberPath) -> dict[str, Any]:
    """Agents who may see the ticket: its predicted category, confidence, alternatives and mood."""
    found = ticket_insight(viewer(request), number)
    return {**_triage_out(found.ticket.number, found.triage), "sentiment": _sentiment_out(found.sentiment)}


@router.post(
    "/tickets/{number}/category", response=responses({200: TriageOut}), summary="Correct a ticket's category"
)
def choose_category(request: HttpRequest, number: NumberPath, payload: CategoryChoiceIn) -> dict[str, Any]:
    """Full agents. The choice is used at the next training once the ticket is solved."""
    me = viewer(request)
    ticket = get_ticket(me, number)
    category = Category.objects.filter(public_id=payload.category_id).first()
    if category is None:
        raise ValidationFailed("No such category.", fields={"category_id": "not found"})
    triage = correct_category(ticket, category, actor=me)
    return _triage_out(ticket.number, triage)


@router.get("/triage-queue", response=responses({200: TriagePage}), summary="Tickets waiting for a category")
def read_triage_queue(
    request: HttpRequest, cursor: CursorParam = None, limit: Limit = DEFAULT_LIMIT
) -> dict[str, Any]:
    """Agents; open tickets the model was not sure about, newest first."""
    return _page(triage_queue(viewer(request)), cursor, limit)


@router.get(
    "/misdirected", response=responses({200: TriagePage}), summary="Messages that are probably not for us"
)
def read_misdirected(
    request: HttpRequest, cursor: CursorParam = None, limit: Limit = DEFAULT_LIMIT
) -> dict[str, Any]:
    """Agents; open tickets below the in-scope threshold, with the best-guess sister brand."""
    return _page(misdirected_queue(viewer(request)), cursor, limit)


@router.get("/models", response=responses({200: list[ModelOut]}), summary="Trained triage models")
def list_models(request: HttpRequest) -> list[dict[str, Any]]:
    """Admins only; newest first, with their held-out scores and training progress."""
    rows: list[TriageModel] = list(models_for(viewer(request))[:100])
    return [
        {
            "id": m.public_id,
            "backend": m.backend,
            "version": m.version,
            "state": m.state,
            "progress": m.progress,
            "trained_at": m.trained_at,
            "labels": m.labels,
            "metrics": m.metrics,
            "in_scope_threshold": m.in_scope_threshold,
        }
        for m in rows
    ]


# --- emerging issues ---------------------------------------------------------------------------

AlertId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[a-z]+_[0-9a-z]+$")]
StateFilter = Annotated[str | None, Query(pattern=r"^(open|closed)$")]
DimensionFilter = Annotated[str | None, Query(pattern=r"^(category|keyword|channel)$")]
SimilarLimit = Annotated[int, Query(ge=1, le=20)]


class AlertBucketOut(Schema):
    hour: dt.datetime
    count: int
    expected: float


class AlertOut(Schema):
    id: str
    dimension: str
    key: str
    label: str
    state: str
    onset_hour: dt.datetime
    last_elevated_hour: dt.datetime
    detected_at: dt.datetime
    closed_at: dt.datetime | None
    current_count: int
    peak_count: int
    expected: float
    total_count: int
    ticket_count: int
    customer_count: int
    related_keys: list[str]
    problem_ticket: int | None


class AlertMessageOut(Schema):
    message_id: str
    ticket: int
    subject: str
    customer_id: str | None
    customer_name: str | None
    excerpt: str
    created_at: dt.datetime


class AlertCustomerOut(Schema):
    id: str
    name: str


class AlertDetailOut(AlertOut):
    hours: list[AlertBucketOut]
    messages: list[AlertMessageOut]
    customers: list[AlertCustomerOut]


class AlertPage(Schema):
    items: list[AlertOut]
    next_cursor: str | None


class ProblemIn(Schema):
    subject: Annotated[Text, Field(max_length=250)] | None = None


class ProblemOut(Schema):
    alert_id: str
    problem_ticket: int
    created: bool
    linked_tickets: list[int]


class SubscriptionIn(Schema):
    dimension: Annotated[str, Field(pattern=r"^(|category|keyword|channel)$")] = ""
    key: Annotated[Text, Field(max_length=100)] = ""


class SubscriptionOut(Schema):
    id: str
    dimension: str | None
    key: str | None
    created_at: dt.datetime


class SimilarTicketOut(Schema):
    ticket: int
    subject: str
    status_category: str
    created_at: dt.datetime
    score: float
    answer: str | None


class SimilarOut(Schema):
    ticket: int
    open: list[SimilarTicketOut]
    solved: list[SimilarTicketOut]


def _alert_out(a: EmergingAlert) -> dict[str, Any]:
    return {
        "id": a.public_id,
        "dimension": a.dimension,
        "key": a.key,
        "label": a.label,
        "state": a.state,
        "onset_hour": a.onset_bucket,
        "last_elevated_hour": a.last_elevated_bucket,
        "detected_at": a.detected_at,
        "closed_at": a.closed_at,
        "current_count": a.current_count,
        "peak_count": a.peak_count,
        "expected": a.expected,
        "total_count": a.total_count,
        "ticket_count": a.ticket_count,
        "customer_count": a.customer_count,
        "related_keys": list(a.related_keys or []),
        "problem_ticket": a.problem.number if a.problem else None,
    }


def _subscription_out(s: AlertSubscription) -> dict[str, Any]:
    return {
        "id": s.public_id,
        "dimension": s.dimension or None,
        "key": s.key or None,
        "created_at": s.created_at,
    }


@router.get("/alerts", response=responses({200: AlertPage}), summary="Emerging-issue alerts")
def list_alerts(
    request: HttpRequest,
    state: StateFilter = None,
    dimension: DimensionFilter = None,
    cursor: CursorParam = None,
    limit: Limit = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Agents; newest first. ``state``: open (still elevated) or closed."""
    qs = alerts_for(viewer(request), state=state, dimension=dimension)
    if cursor:
        (last_id,) = decode_cursor(cursor, (int,))
        qs = qs.filter(id__lt=last_id)
    rows, more = split_page(list(qs[: limit + 1]), limit)
    return {
        "items": [_alert_out(a) for a in rows],
        "next_cursor": encode_cursor([rows[-1].id]) if more else None,
    }


@router.get("/alerts/{alert_id}", response=responses({200: AlertDetailOut}), summary="One alert")
def read_alert(request: HttpRequest, alert_id: AlertId) -> dict[str, Any]:
    """Agents; the hours it was elevated, and its messages and customers on tickets the caller
    may see (the newest 100)."""
    me = viewer(request)
    alert = get_alert(me, alert_id)
    members = alert_messages(me, alert)
    customers: dict[str, str] = {}
    for m in members:
        if m.customer is not None:
            customers.setdefault(m.customer.public_id, m.customer.name)
    hours = [
        {"hour": dt.datetime.fromisoformat(at), "count": int(v[0]), "expected": float(v[1])}
        for at, v in sorted((alert.buckets or {}).items())
    ]
    messages = [
        {
            "message_id": m.message.public_id,
            "ticket": m.ticket.number,
            "subject": m.ticket.subject,
            "customer_id": m.customer.public_id if m.customer else None,
            "customer_name": m.customer.name if m.customer else None,
            "excerpt": m.message.body_text[:300],
            "created_at": m.message.created_at,
        }
        for m in members
    ]
    return {
        **_alert_out(alert),
        "hours": hours,
        "messages": messages,
        "customers": [{"id": k, "name": v} for k, v in customers.items()],
    }


@router.post(
    "/alerts/{alert_id}/problem",
    response=responses({200: ProblemOut, 201: ProblemOut}),
    summary="Turn an alert into a problem ticket",
)
def make_problem(request: HttpRequest, alert_id: AlertId, payload: ProblemIn) -> Status:
    """Full agents. Opens a problem ticket and links the customers' tickets (those the caller
    may see) so they can be answered together; 201. Again later: links the tickets that joined
    since to the same problem ticket; 200."""
    me = viewer(request)
    require_full_agent(me)
    alert = get_alert(me, alert_id)
    result = convert_alert_to_problem(alert, actor=me, subject=payload.subject)
    body = {
        "alert_id": alert.public_id,
        "problem_ticket": result.problem.number,
        "created": result.created,
        "linked_tickets": [t.number for t in result.linked],
    }
    return Status(201 if result.created else 200, body)


@router.get(
    "/alert-subscriptions", response=responses({200: list[SubscriptionOut]}), summary="My alert subscriptions"
)
def list_subscriptions(request: HttpRequest) -> list[dict[str, Any]]:
    """Agents; their own subscriptions only."""
    return [_subscription_out(s) for s in subscriptions_for(viewer(request))[:100]]


@router.post(
    "/alert-subscriptions",
    response=responses({200: SubscriptionOut, 201: SubscriptionOut}),
    summary="Subscribe to alerts",
)
def add_subscription(request: HttpRequest, payload: SubscriptionIn) -> Status:
    """Agents. No dimension: every alert; a dimension: its alerts; with a key: that series only.
    201 when new, 200 when the same subscription already existed."""
    row, created = subscribe_to_alerts(actor=viewer(request), dimension=payload.dimension, key=payload.key)
    return Status(201 if created else 200, _subscription_out(row))


@router.delete(
    "/alert-subscriptions/{subscription_id}", response=responses({204: None}), summary="Unsubscribe"
)
def remove_subscription(request: HttpRequest, subscription_id: AlertId) -> Status:
    """Agents; their own subscriptions only (anyone else's is 404)."""
    me = viewer(request)
    unsubscribe_from_alerts(actor=me, subscription=get_subscription(me, subscription_id))
    return Status(204, None)


@router.get("/tickets/{number}/similar", response=responses({200: SimilarOut}), summary="Similar tickets")
def read_similar(request: HttpRequest, number: NumberPath, limit: SimilarLimit = 5) -> dict[str, Any]:
    """Agents who may see the ticket: similar open tickets of the last 30 days (possible
    duplicates, the same incident) and similar solved tickets with their last answer, best
    first, among tickets the caller may see."""
    found = similar_tickets(viewer(request), number, limit=limit)

    def out(s: SimilarTicket) -> dict[str, Any]:
        return {"ticket": s.number, "subject": s.subject, "status_category": s.status_category,
                "created_at": s.created_at, "score": s.score, "answer": s.answer}  # fmt: skip

    return {
        "ticket": found.number,
        "open": [out(s) for s in found.open],
        "solved": [out(s) for s in found.solved],
    }
