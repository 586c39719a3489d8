"""The insight engine: ``/api/v1/insights/...``.

Agents read categories, a ticket's prediction and mood, and the triage and misdirected queues,
and correct a ticket's category (full agents). Admins create categories and see the models.
Customers get 403.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Router, Schema, Status
from pydantic import Field

from regulars.api.auth import require_admin, viewer
from regulars.api.errors import responses
from regulars.api.paging import DEFAULT_LIMIT, CursorParam, Limit, decode_cursor, encode_cursor, split_page
from regulars.api.refs import team_ref
from regulars.api.types import MAX_BIGINT, PublicId, Text
from regulars.core.errors import ValidationFailed
from regulars.insights.models import Category, TicketTriage, TriageModel
from regulars.insights.selectors import (
    SentimentSummary,
    categories_for,
    misdirected_queue,
    models_for,
    ticket_insight,
    triage_queue,
)
from regulars.insights.services import correct_category, create_category
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
