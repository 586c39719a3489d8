"""The insight engine: ``/api/v1/insights/...``.

Agents read categories (with their knowledge articles), sister brands, a ticket's prediction
and mood, a customer's mood and offer gate, and the triage and misdirected queues; full agents
correct a ticket's category or say it is not for us. Admins create and change categories and
sister brands, start training and see the models.
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
from regulars.core.errors import NotFound, ValidationFailed
from regulars.insights.misdirected import create_sister_brand, mark_not_for_us, update_sister_brand
from regulars.insights.models import (
    AlertSubscription,
    Category,
    EmergingAlert,
    SisterBrand,
    TicketTriage,
    TriageModel,
)
from regulars.insights.selectors import (
    SentimentSummary,
    alert_detail,
    alerts_for,
    brands_for,
    categories_for,
    customer_mood,
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
    request_training,
    subscribe_to_alerts,
    unsubscribe_from_alerts,
    update_category,
)
from regulars.insights.similar import SimilarTicket, similar_tickets
from regulars.tickets.selectors import get_ticket

router = Router(tags=["insights"])

NumberPath = Annotated[int, Path(ge=1, le=MAX_BIGINT)]
PublicIdPath = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[a-z]+_[0-9a-z]+$")]
MoodDays = Annotated[int, Query(ge=1, le=365)]


class ArticleSchema(Schema):
    title: Annotated[Text, Field(min_length=1, max_length=200)]
    url: Annotated[Text, Field(min_length=1, max_length=500)]


PriorityName = Annotated[str, Field(pattern=r"^(low|normal|high|urgent)$")]


class CategoryOut(Schema):
    id: str
    name: str
    description: str
    team_id: str | None
    default_priority: str
    articles: list[ArticleSchema]
    active: bool


class CategoryIn(Schema):
    name: Annotated[Text, Field(min_length=1, max_length=100)]
    description: Annotated[Text, Field(max_length=2000)] = ""
    team_id: PublicId | None = None
    default_priority: PriorityName = "normal"
    articles: Annotated[list[ArticleSchema], Field(max_length=10)] = []


class CategoryPatch(Schema):
    name: Annotated[Text, Field(min_length=1, max_length=100)] | None = None
    description: Annotated[Text, Field(max_length=2000)] | None = None
    team_id: PublicId | None = None
    default_priority: PriorityName | None = None
    articles: Annotated[list[ArticleSchema], Field(max_length=10)] | None = None
    active: bool | None = None


class BrandOut(Schema):
    id: str
    name: str
    description: str
    contact: str
    forward_address: str
    reply_template: str
    active: bool


class BrandIn(Schema):
    name: Annotated[Text, Field(min_length=1, max_length=100)]
    description: Annotated[Text, Field(min_length=1, max_length=2000)]
    contact: Annotated[Text, Field(max_length=200)] = ""
    forward_address: Annotated[Text, Field(max_length=254)] = ""
    reply_template: Annotated[Text, Field(max_length=5000)] | None = None


class BrandPatch(Schema):
    name: Annotated[Text, Field(min_length=1, max_length=100)] | None = None
    description: Annotated[Text, Field(min_length=1, max_length=2000)] | None = None
    contact: Annotated[Text, Field(max_length=200)] | None = None
    forward_address: Annotated[Text, Field(max_length=254)] | None = None
    reply_template: Annotated[Text, Field(max_length=5000)] | None = None
    active: bool | None = None


class NotForUsIn(Schema):
    brand_id: PublicId | None = None
    reply: bool = True


class TrainIn(Schema):
    backend: Annotated[str, Field(pattern=r"^(light|embedding)$")] = "light"


class OfferGateOut(Schema):
    allowed: bool
    reasons: list[str]


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
    redirected_to: str | None
    model_id: str | None
    triaged_at: dt.datetime | None
    corrected_by: str | None
    corrected_at: dt.datetime | None


class TicketInsightOut(TriageOut):
    sentiment: SentimentOut
    articles: list[ArticleSchema]


class CustomerMoodOut(Schema):
    customer_id: str
    days: int
    sentiment: SentimentOut
    offers: OfferGateOut


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
        "articles": c.articles,
        "active": c.active,
    }


def _brand_out(b: SisterBrand) -> dict[str, Any]:
    return {"id": b.public_id, "name": b.name, "description": b.description, "contact": b.contact,
            "forward_address": b.forward_address, "reply_template": b.reply_template,
            "active": b.active}  # fmt: skip


def _triage_out(number: int, t: TicketTriage | None) -> dict[str, Any]:
    if t is None:
        return {"ticket": number, "category": None, "predicted_category": None, "confidence": None,
                "in_scope_score": None, "alternatives": [], "routed": False, "routed_team_id": None,
                "misdirected": False, "brand_guess": None, "redirected_to": None, "model_id": None, "triaged_at": None,
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
        "redirected_to": t.redirected_to.name if t.redirected_to else None,
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
    qs = qs.select_related(
        "category",
        "predicted_category",
        "routed_team",
        "brand_guess",
        "redirected_to",
        "model",
        "corrected_by",
    )
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
        articles=[a.model_dump() for a in payload.articles],
    )
    return Status(201, _category_out(category))


@router.patch(
    "/categories/{category_id}", response=responses({200: CategoryOut}), summary="Change a category"
)
def change_category(
    request: HttpRequest, category_id: PublicIdPath, payload: CategoryPatch
) -> dict[str, Any]:
    """Admins only. Send only the fields to change; ``team_id: null`` takes the team away."""
    me = viewer(request)
    require_admin(me)
    category = categories_for(me).filter(public_id=category_id).first()
    if category is None:
        raise NotFound("No such category.")
    changes: dict[str, Any] = {}
    for name in payload.model_fields_set:
        value = getattr(payload, name)
        if name == "team_id":
            changes["team"] = team_ref(me, value)
        elif name == "articles":
            if value is None:
                raise ValidationFailed(
                    "Send a list, empty to remove every article.", fields={"articles": "null"}
                )
            changes["articles"] = [a.model_dump() for a in value]
        elif value is None:
            raise ValidationFailed("This field cannot be null.", fields={name: "null"})
        else:
            changes[name] = value
    return _category_out(update_category(actor=me, category=category, **changes))


@router.get(
    "/sister-brands", response=responses({200: list[BrandOut]}), summary="List sister brands and partners"
)
def list_brands(request: HttpRequest) -> list[dict[str, Any]]:
    """Agents; where misdirected customers may have meant to write, switched off ones included."""
    return [_brand_out(b) for b in brands_for(viewer(request))[:1000]]


@router.post("/sister-brands", response=responses({201: BrandOut}), summary="Add a sister brand or partner")
def add_brand(request: HttpRequest, payload: BrandIn) -> Status:
    """Admins only. ``reply_template`` may use {brand}, {contact} and {customer}."""
    brand = create_sister_brand(actor=viewer(request), **payload.model_dump())
    return Status(201, _brand_out(brand))


@router.patch(
    "/sister-brands/{brand_id}", response=responses({200: BrandOut}), summary="Change a sister brand"
)
def change_brand(request: HttpRequest, brand_id: PublicIdPath, payload: BrandPatch) -> dict[str, Any]:
    """Admins only. Send only the fields to change."""
    me = viewer(request)
    require_admin(me)
    brand = brands_for(me).filter(public_id=brand_id).first()
    if brand is None:
        raise NotFound("No such sister brand.")
    changes = {name: getattr(payload, name) for name in payload.model_fields_set}
    nulls = sorted(name for name, value in changes.items() if value is None)
    if nulls:
        raise ValidationFailed("These fields cannot be null.", fields={name: "null" for name in nulls})
    return _brand_out(update_sister_brand(actor=me, brand=brand, **changes))


@router.get(
    "/tickets/{number}",
    response=responses({200: TicketInsightOut}),
    summary="What the engine says about a ticket",
)
def read_ticket_insight(request: HttpRequest, number: NumberPath) -> dict[str, Any]:
    """Agents who may see the ticket: its predicted category, confidence, alternatives and mood."""
    found = ticket_insight(viewer(request), number)
    category = found.triage.category if found.triage is not None else None
    return {
        **_triage_out(found.ticket.number, found.triage),
        "sentiment": _sentiment_out(found.sentiment),
        "articles": category.articles if category is not None else [],
    }


@router.post(
    "/tickets/{number}/not-for-us", response=responses({200: TriageOut}), summary="Say a ticket is not for us"
)
def not_for_us(request: HttpRequest, number: NumberPath, payload: NotForUsIn) -> dict[str, Any]:
    """Full agents. Answers the customer politely (the sister brand's template, or the generic
    reply without a brand; ``reply: false`` sends nothing), forwards the message to the brand's
    address when it has one, tags and solves the ticket, and keeps it as an out-of-scope example
    for the next training. Saying it again changes nothing."""
    me = viewer(request)
    require_full_agent(me)
    ticket = get_ticket(me, number)
    brand = None
    if payload.brand_id is not None:
        brand = brands_for(me).filter(public_id=payload.brand_id).first()
        if brand is None:
            raise ValidationFailed("No such sister brand.", fields={"brand_id": "not found"})
    triage = mark_not_for_us(ticket, actor=me, brand=brand, reply=payload.reply)
    return _triage_out(ticket.number, triage)


@router.get(
    "/customers/{customer_id}/mood",
    response=responses({200: CustomerMoodOut}),
    summary="A customer's sentiment and whether offers are welcome",
)
def read_customer_mood(
    request: HttpRequest, customer_id: PublicIdPath, days: MoodDays = 30
) -> dict[str, Any]:
    """Agents who may see the customer: how their messages read over ``days`` days (on tickets
    the caller sees), and the empathy gate every rule that makes offers must pass."""
    mood = customer_mood(viewer(request), customer_id, days=days)
    return {
        "customer_id": mood.customer.public_id,
        "days": days,
        "sentiment": _sentiment_out(mood.sentiment),
        "offers": {"allowed": mood.gate.allowed, "reasons": mood.gate.reasons},
    }


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
    return [_model_out(m) for m in rows]


@router.post("/models", response=responses({202: ModelOut}), summary="Train a new triage model")
def train(request: HttpRequest, payload: TrainIn) -> Status:
    """Admins only. Queues a training run in the worker on agents' decisions on solved tickets;
    202 with the new model row, whose ``progress`` and ``state`` show how it goes. The model
    replaces the active one only if it scores at least as well on held-out data."""
    row = request_training(actor=viewer(request), backend=payload.backend)
    return Status(202, _model_out(row))


@router.get("/models/{model_id}", response=responses({200: ModelOut}), summary="One triage model")
def read_model(request: HttpRequest, model_id: PublicIdPath) -> dict[str, Any]:
    """Admins only."""
    row = models_for(viewer(request)).filter(public_id=model_id).first()
    if row is None:
        raise NotFound("No such model.")
    return _model_out(row)


def _model_out(m: TriageModel) -> dict[str, Any]:
    return {
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
    found = alert_detail(me, get_alert(me, alert_id))
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
        for m in found.messages
    ]
    return {
        **_alert_out(found.alert),
        "hours": [{"hour": h.at, "count": h.count, "expected": h.expected} for h in found.hours],
        "messages": messages,
        "customers": [{"id": c.public_id, "name": c.name} for c in found.customers],
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
