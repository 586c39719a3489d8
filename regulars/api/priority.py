"""Priority by issue and the fairness report: ``/api/v1/sla/priority/...``, ``/api/v1/sla/reports/...``.

Agents read the policy and any visible ticket's assessment; only admins change the policy.
The fairness report is for admins and agents; customers get 403.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Path, Query, Router, Schema
from pydantic import Field, StringConstraints

from regulars.api.auth import viewer
from regulars.api.errors import responses
from regulars.api.types import MAX_BIGINT, Printable, ShortText, Text, UtcDateTime
from regulars.sla.priority.models import PriorityPolicy, SeverityRule
from regulars.sla.priority.selectors import (
    FairnessReport,
    assessment_for,
    fairness_report,
    policy_for,
)
from regulars.sla.priority.services import update_policy

router = Router(tags=["priority"])

NumberPath = Annotated[int, Path(ge=1, le=MAX_BIGINT)]
SeverityName = Literal["low", "normal", "high", "critical"]
Key = Annotated[str, StringConstraints(max_length=64, pattern=r"^([a-z0-9][a-z0-9_\-]*)?$")]
TagName = Annotated[str, StringConstraints(max_length=64, pattern=r"^([a-z0-9][a-z0-9_\-:.]*)?$")]
Minutes = Annotated[int, Field(ge=0, le=60 * 24 * 7)]


# --- schemas ------------------------------------------------------------------------------------


class PrioritySeverityRuleSchema(Schema):
    name: Annotated[Text, Field(min_length=1, max_length=120)]
    severity: SeverityName
    ticket_type: Literal["", "question", "incident", "problem", "task"] = ""
    tag: TagName = ""
    custom_field: Key = ""
    custom_value: ShortText = ""


class FairnessBandIn(Schema):
    label: Annotated[Text, Field(min_length=1, max_length=40)]
    min: Annotated[Decimal, Field(ge=0, le=Decimal("1e12"))]


class PriorityPolicyOut(Schema):
    urgency_words: dict[str, SeverityName]
    impact_window_hours: int
    impact_several_customers: int
    impact_widespread_customers: int
    impact_custom_field: str
    org_wide_tags: list[str]
    stated_urgency_field: str
    stated_urgency_tag_prefix: str
    scoring_table: dict[str, str]
    value_modifier_enabled: bool
    value_modifier_min_lifetime_value: Decimal
    fairness_bands: list[FairnessBandIn]
    fairness_gap_percent: int
    fairness_gap_minutes: int
    fairness_min_tickets: int
    minutes_per_agent_message: int
    severity_rules: list[PrioritySeverityRuleSchema]
    updated_at: dt.datetime


class PriorityPolicyIn(Schema):
    """Any subset of the settings; ``severity_rules``, when given, replaces the whole list."""

    urgency_words: (
        Annotated[dict[Annotated[Text, Field(max_length=100)], SeverityName], Field(max_length=200)] | None
    ) = None
    impact_window_hours: Annotated[int, Field(ge=1, le=720)] | None = None
    impact_several_customers: Annotated[int, Field(ge=2, le=1_000_000)] | None = None
    impact_widespread_customers: Annotated[int, Field(ge=2, le=1_000_000)] | None = None
    impact_custom_field: Key | None = None
    org_wide_tags: Annotated[list[TagName], Field(max_length=50)] | None = None
    stated_urgency_field: Key | None = None
    stated_urgency_tag_prefix: (
        Annotated[str, StringConstraints(max_length=32, pattern=r"^[a-z0-9_\-:.]*$")] | None
    ) = None
    scoring_table: (
        Annotated[
            dict[Annotated[str, StringConstraints(max_length=40), Printable], Annotated[str, Printable]],
            Field(max_length=100),
        ]
        | None
    ) = None
    value_modifier_enabled: bool | None = None
    value_modifier_min_lifetime_value: Annotated[Decimal, Field(ge=0, le=Decimal("1e12"))] | None = None
    fairness_bands: Annotated[list[FairnessBandIn], Field(max_length=20)] | None = None
    fairness_gap_percent: Annotated[int, Field(ge=0, le=1000)] | None = None
    fairness_gap_minutes: Minutes | None = None
    fairness_min_tickets: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    minutes_per_agent_message: Annotated[int, Field(ge=0, le=600)] | None = None
    severity_rules: Annotated[list[PrioritySeverityRuleSchema], Field(max_length=200)] | None = None


class PriorityAssessmentOut(Schema):
    ticket: int
    priority: str
    priority_reason: str
    policy_priority: str
    reason: str
    factors: dict[str, Any]
    assessed_at: dt.datetime
    stored: bool
    overridden_by: str | None
    overridden_at: dt.datetime | None


class FairnessRowOut(Schema):
    priority: str
    band: str
    tickets: int
    answered: int
    first_reply_median_minutes: float | None
    first_reply_p90_minutes: float | None
    resolved: int
    resolution_median_minutes: float | None
    resolution_p90_minutes: float | None
    agent_messages: int
    agent_minutes: int
    agent_minutes_per_ticket: float | None


class FairnessFlagOut(Schema):
    kind: Literal["unequal_service", "urgent_waits_longer"]
    priority: str
    band: str
    compared_priority: str
    compared_bands: list[str]
    median_minutes: float
    compared_median_minutes: dict[str, float]
    message: str


class FairnessBandOut(Schema):
    label: str
    min: str | None
    max: str | None


class FairnessOut(Schema):
    start: str
    end: str
    tickets: int
    band_source: Literal["quartiles", "configured"]
    bands: list[FairnessBandOut]
    minutes_per_agent_message: int
    thresholds: dict[str, int]
    rows: list[FairnessRowOut]
    flags: list[FairnessFlagOut]


class FairnessQuery(Schema):
    """Times without a zone are UTC. Defaults: the 30 days up to now."""

    start: UtcDateTime | None = None
    end: UtcDateTime | None = None
    gap_percent: Annotated[int, Field(ge=0, le=1000)] | None = None
    gap_minutes: Minutes | None = None
    min_tickets: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    minutes_per_message: Annotated[int, Field(ge=0, le=600)] | None = None


# --- helpers ------------------------------------------------------------------------------------


def _rule_out(rule: SeverityRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "severity": rule.severity,
        "ticket_type": rule.ticket_type,
        "tag": rule.tag,
        "custom_field": rule.custom_field,
        "custom_value": rule.custom_value,
    }


def _policy_out(policy: PriorityPolicy, rules: list[SeverityRule]) -> dict[str, Any]:
    fields = {name: getattr(policy, name) for name in PriorityPolicyOut.model_fields if hasattr(policy, name)}
    return {**fields, "severity_rules": [_rule_out(r) for r in rules]}


def _aware(value: dt.datetime) -> dt.datetime:
    return value if timezone.is_aware(value) else value.replace(tzinfo=dt.UTC)


def _report(request: HttpRequest, query: FairnessQuery) -> FairnessReport:
    end = _aware(query.end) if query.end else timezone.now()
    start = _aware(query.start) if query.start else end - dt.timedelta(days=30)
    return fairness_report(
        viewer(request),
        start,
        end,
        gap_percent=query.gap_percent,
        gap_minutes=query.gap_minutes,
        min_tickets=query.min_tickets,
        minutes_per_message=query.minutes_per_message,
    )


# --- endpoints ----------------------------------------------------------------------------------


@router.get(
    "/sla/priority/policy", response=responses({200: PriorityPolicyOut}), summary="Get the priority policy"
)
def read_policy(request: HttpRequest) -> dict[str, Any]:
    return _policy_out(*policy_for(viewer(request)))


@router.put(
    "/sla/priority/policy", response=responses({200: PriorityPolicyOut}), summary="Change the priority policy"
)
def change_policy(request: HttpRequest, payload: PriorityPolicyIn) -> dict[str, Any]:
    """Admins only; every change is written to the audit log."""
    data = payload.model_dump(exclude_unset=True, mode="python")
    rules = data.pop("severity_rules", None)
    changes = {k: v for k, v in data.items() if v is not None}
    if "fairness_bands" in changes:
        changes["fairness_bands"] = [
            {"label": b["label"], "min": str(b["min"])} for b in changes["fairness_bands"]
        ]
    update_policy(actor=viewer(request), changes=changes, rules=rules)
    return _policy_out(*policy_for(viewer(request)))


@router.get(
    "/sla/priority/tickets/{number}",
    response=responses({200: PriorityAssessmentOut}),
    summary="Why a ticket has its priority",
)
def read_assessment(request: HttpRequest, number: NumberPath) -> dict[str, Any]:
    view = assessment_for(viewer(request), number)
    return {
        "ticket": view.ticket_number,
        "priority": view.priority,
        "priority_reason": view.priority_reason,
        "policy_priority": view.policy_priority,
        "reason": view.reason,
        "factors": view.factors,
        "assessed_at": view.assessed_at,
        "stored": view.stored,
        "overridden_by": view.overridden_by,
        "overridden_at": view.overridden_at,
    }


@router.get("/sla/reports/fairness", response=responses({200: FairnessOut}), summary="Fairness report")
def read_fairness(request: HttpRequest, query: Query[FairnessQuery]) -> FairnessReport:
    """Service levels by priority and customer-value band, with flags for unequal service."""
    return _report(request, query)


CSV_COLUMNS = (
    "priority", "band", "tickets", "answered", "first_reply_median_minutes", "first_reply_p90_minutes",
    "resolved", "resolution_median_minutes", "resolution_p90_minutes", "agent_messages", "agent_minutes",
    "agent_minutes_per_ticket",
)  # fmt: skip


def _cell(value: Any) -> Any:
    # Band labels come from admins: never let a spreadsheet read a cell as a formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


@router.get(
    "/sla/reports/fairness.csv",
    response=responses({200: None}),
    summary="Fairness report as CSV",
    openapi_extra={
        "responses": {"200": {"description": "One row per priority and band, then the flags.",
                              "content": {"text/csv": {"schema": {"type": "string"}}}}}
    },
)  # fmt: skip
def download_fairness(request: HttpRequest, query: Query[FairnessQuery]) -> HttpResponse:
    report = _report(request, query)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*CSV_COLUMNS, "flags"])
    for row in report["rows"]:
        flags = [
            f["message"]
            for f in report["flags"]
            if f["band"] == row["band"] and f["priority"] == row["priority"]
        ]
        writer.writerow([*(_cell(row[c]) for c in CSV_COLUMNS), _cell(" | ".join(flags))])  # type: ignore[literal-required]
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    day = report["start"][:10]
    response["Content-Disposition"] = f'attachment; filename="fairness-{day}.csv"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
