"""Reads of the priority policy: the policy itself, one ticket's assessment, the fairness report.

The fairness report answers seed 002's question with numbers: within the same priority, do
customers who pay less wait longer? Per priority and customer-value band it gives ticket counts,
median and p90 first-reply and resolution times, and the agent time spent, and it flags the
patterns that mean unequal service.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypedDict

from django.db.models import (
    Case,
    Count,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from regulars.accounts.models import Role, User
from regulars.core.errors import Forbidden, ValidationFailed
from regulars.customers.models import Customer
from regulars.sla.priority.models import PriorityAssessment, PriorityPolicy, SeverityRule
from regulars.sla.priority.rules import PRIORITIES
from regulars.sla.priority.services import check_bands, evaluate, get_policy, reason_sentence
from regulars.tickets.models import Message, Ticket
from regulars.tickets.selectors import get_ticket, visible_tickets

QUARTILE_LABELS = ("low", "mid-low", "mid-high", "high")
MAX_REPORT_DAYS = 366 * 3


def _require_agent(viewer: User) -> None:
    if not viewer.is_active or not viewer.is_agent:
        raise Forbidden("Only agents may see the priority policy.", code="agents_only")


# --- policy and assessments ------------------------------------------------------------------


def policy_for(viewer: User) -> tuple[PriorityPolicy, list[SeverityRule]]:
    """Agents read the policy (so they can explain a priority); only admins change it."""
    _require_agent(viewer)
    return get_policy(), list(SeverityRule.objects.all())


@dataclass
class AssessmentView:
    ticket_number: int
    priority: str  # the ticket's priority now (an agent's override, if any)
    priority_reason: str
    policy_priority: str  # what the policy says
    reason: str
    factors: dict[str, Any]
    assessed_at: dt.datetime
    stored: bool  # False: computed for display, never applied (the ticket was not assessed yet)
    overridden_by: str | None = None
    overridden_at: dt.datetime | None = None


def assessment_for(viewer: User, number: int, *, now: dt.datetime | None = None) -> AssessmentView:
    """Why ticket ``number`` has its priority. Agents only; a ticket they cannot see is a 404."""
    _require_agent(viewer)
    ticket = get_ticket(viewer, number)
    stored = PriorityAssessment.objects.filter(ticket=ticket).select_related("overridden_by").first()
    if stored is not None:
        return AssessmentView(
            ticket_number=ticket.number,
            priority=ticket.priority,
            priority_reason=ticket.priority_reason,
            policy_priority=stored.priority,
            reason=stored.reason,
            factors=stored.factors,
            assessed_at=stored.assessed_at,
            stored=True,
            overridden_by=stored.overridden_by.public_id if stored.overridden_by else None,
            overridden_at=stored.overridden_at,
        )
    now = now or timezone.now()
    factors = evaluate(ticket, policy=get_policy(), rules=list(SeverityRule.objects.all()), now=now)
    return AssessmentView(
        ticket_number=ticket.number,
        priority=ticket.priority,
        priority_reason=ticket.priority_reason,
        policy_priority=factors.priority,
        reason=reason_sentence(factors),
        factors=dict(factors.as_json()),
        assessed_at=now,
        stored=False,
    )


# --- the fairness report ---------------------------------------------------------------------


@dataclass
class Band:
    label: str
    low: Decimal | None  # inclusive; None: no lower bound
    high: Decimal | None  # exclusive; None: no upper bound

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "min": str(self.low) if self.low is not None else None,
            "max": str(self.high) if self.high is not None else None,
        }


class FairnessRow(TypedDict):
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


class FairnessFlag(TypedDict):
    kind: str  # "unequal_service" | "urgent_waits_longer"
    priority: str
    band: str
    compared_priority: str
    compared_bands: list[str]
    median_minutes: float
    compared_median_minutes: dict[str, float]
    message: str


class FairnessReport(TypedDict):
    start: str
    end: str
    tickets: int
    band_source: str  # "quartiles" | "configured"
    bands: list[dict[str, Any]]
    minutes_per_agent_message: int
    thresholds: dict[str, int]
    rows: list[FairnessRow]
    flags: list[FairnessFlag]


@dataclass
class _Group:
    tickets: int = 0
    first_reply: list[float] = field(default_factory=list)
    resolution: list[float] = field(default_factory=list)
    agent_messages: int = 0


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (p=0.5 is the usual median)."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * p
    lower = int(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    value = sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * (position - lower)
    return round(value, 1)


def quartile_bands(tickets: QuerySet[Ticket]) -> list[Band]:
    """Quartiles of lifetime value among the distinct requesters of ``tickets``.

    Computed by the database (a count and three OFFSET reads of the sorted requesters), so no
    list of customers is loaded. Ties at an edge put every tied customer in the upper band.
    """
    requesters = Customer.objects.filter(pk__in=tickets.values("requester_id")).order_by("lifetime_value")
    values = requesters.values_list("lifetime_value", flat=True)
    n = requesters.count()
    if n == 0:
        return [Band(QUARTILE_LABELS[0], None, None)]
    edges = [values[n * k // 4] for k in (1, 2, 3)]
    lows: list[Decimal | None] = [None, *edges]
    highs: list[Decimal | None] = [*edges, None]
    return [Band(label, low, high) for label, low, high in zip(QUARTILE_LABELS, lows, highs, strict=True)]


def configured_bands(raw: list[dict[str, Any]]) -> list[Band]:
    bands = check_bands(raw)
    lows = [Decimal(b["min"]) for b in bands]
    return [
        Band(b["label"], None if i == 0 else lows[i], lows[i + 1] if i + 1 < len(lows) else None)
        for i, b in enumerate(bands)
    ]


def _band_case(bands: list[Band]) -> Case:
    whens = [
        When(requester__lifetime_value__lt=band.high, then=Value(i))
        for i, band in enumerate(bands)
        if band.high is not None
    ]
    return Case(*whens, default=Value(len(bands) - 1), output_field=IntegerField())


class MinutesBetween(Func):
    """``later - earlier`` in minutes, as a float, computed by the database in native code.

    Django's portable datetime subtraction calls back into Python once per row on SQLite (its
    ``django_timestamp_diff`` function), which dominated the report's time; julianday() and
    EXTRACT(EPOCH ...) keep the whole per-ticket computation inside the database.
    """

    arity = 2
    output_field = FloatField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 1440.0)",
            arg_joiner=") - julianday(",
            **extra,
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="(EXTRACT(EPOCH FROM (%(expressions)s)) / 60.0)",
            arg_joiner=" - ",
            **extra,
        )


def _say(minutes: float) -> str:
    minutes = round(minutes)
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _worse(lower: float, higher: float, percent: int, minutes: int) -> bool:
    return lower > higher * (1 + percent / 100) and lower - higher >= minutes


def fairness_report(
    viewer: User,
    start: dt.datetime,
    end: dt.datetime,
    *,
    bands: list[dict[str, Any]] | None = None,
    gap_percent: int | None = None,
    gap_minutes: int | None = None,
    min_tickets: int | None = None,
    minutes_per_message: int | None = None,
) -> FairnessReport:
    """Service levels by priority and customer-value band for tickets opened in [start, end).

    Admins and agents (not light agents, not customers). A scoped agent's report covers the
    tickets they may see. Merged tickets and tickets from blocked customers are left out (the
    latter are never answered, on purpose). The priority is each ticket's priority now.

    The database does the per-ticket work: the first agent public reply and the number of agent
    messages are correlated subqueries on the (ticket, id) message index, the band is a CASE on
    the requester's lifetime value, and durations are subtracted in SQL. Python then streams one
    small row per ticket to take medians and p90s, which SQLite cannot do in SQL.

    Agent time spent is an estimate: agent messages (replies and notes) x ``minutes_per_message``.
    Tickets carry no time-tracking signal yet.
    """
    if not viewer.is_active or viewer.role not in (Role.ADMIN, Role.AGENT):
        raise Forbidden("Only admins and agents may see the fairness report.", code="agents_only")
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValidationFailed("Give start and end with a time zone.", fields={"start": "naive datetime"})
    if end <= start:
        raise ValidationFailed("The period must end after it starts.", fields={"end": "before start"})
    if end - start > dt.timedelta(days=MAX_REPORT_DAYS):
        raise ValidationFailed("A report covers at most three years.", fields={"end": "period too long"})
    policy = get_policy()
    percent = policy.fairness_gap_percent if gap_percent is None else gap_percent
    gap = policy.fairness_gap_minutes if gap_minutes is None else gap_minutes
    least = policy.fairness_min_tickets if min_tickets is None else max(1, min_tickets)
    per_message = policy.minutes_per_agent_message if minutes_per_message is None else minutes_per_message

    tickets = visible_tickets(viewer).filter(
        created_at__gte=start, created_at__lt=end, merged_into__isnull=True, is_flagged=False
    )
    raw_bands = policy.fairness_bands if bands is None else bands
    band_list = configured_bands(raw_bands) if raw_bands else quartile_bands(tickets)

    agent_messages = Message.objects.filter(ticket=OuterRef("pk"), author_type=Message.AuthorType.AGENT)
    first_reply = agent_messages.filter(kind=Message.Kind.REPLY).order_by("id").values("created_at")[:1]
    counted = agent_messages.order_by().values("ticket").annotate(n=Count("id")).values("n")
    rows = (
        tickets.annotate(
            band=_band_case(band_list),
            first_reply_after=MinutesBetween(Subquery(first_reply), F("created_at")),
            resolved_after=MinutesBetween(F("solved_at"), F("created_at")),
            agent_messages=Coalesce(Subquery(counted, output_field=IntegerField()), Value(0)),
        )
        .order_by()
        .values_list("priority", "band", "first_reply_after", "resolved_after", "agent_messages")
    )
    groups: dict[tuple[str, int], _Group] = defaultdict(_Group)
    total = 0
    for priority, band, reply_after, resolved_after, messages in rows.iterator(chunk_size=5000):
        group = groups[(priority, band)]
        group.tickets += 1
        total += 1
        group.agent_messages += messages
        if reply_after is not None:
            group.first_reply.append(reply_after)
        if resolved_after is not None:
            group.resolution.append(resolved_after)

    report_rows: list[FairnessRow] = []
    medians: dict[tuple[str, int], tuple[float | None, int]] = {}
    for priority in reversed(PRIORITIES):
        for index, band in enumerate(band_list):
            found = groups.get((priority, index))
            if found is None:
                continue
            found.first_reply.sort()
            found.resolution.sort()
            median = percentile(found.first_reply, 0.5)
            medians[(priority, index)] = (median, len(found.first_reply))
            report_rows.append(
                {
                    "priority": priority,
                    "band": band.label,
                    "tickets": found.tickets,
                    "answered": len(found.first_reply),
                    "first_reply_median_minutes": median,
                    "first_reply_p90_minutes": percentile(found.first_reply, 0.9),
                    "resolved": len(found.resolution),
                    "resolution_median_minutes": percentile(found.resolution, 0.5),
                    "resolution_p90_minutes": percentile(found.resolution, 0.9),
                    "agent_messages": found.agent_messages,
                    "agent_minutes": found.agent_messages * per_message,
                    "agent_minutes_per_ticket": round(found.agent_messages * per_message / found.tickets, 1),
                }
            )

    def median_of(priority: str, index: int) -> float | None:
        median, answered = medians.get((priority, index), (None, 0))
        return median if answered >= least else None

    flags: list[FairnessFlag] = []
    labels = [b.label for b in band_list]
    for priority in reversed(PRIORITIES):
        for i in range(len(band_list)):
            mine = median_of(priority, i)
            if mine is None:
                continue
            better = {
                labels[j]: theirs
                for j in range(i + 1, len(band_list))
                if (theirs := median_of(priority, j)) is not None and _worse(mine, theirs, percent, gap)
            }
            if better:
                against = _listing([f"{_say(m)} for the {label} band" for label, m in better.items()])
                flags.append(
                    {
                        "kind": "unequal_service",
                        "priority": priority,
                        "band": labels[i],
                        "compared_priority": priority,
                        "compared_bands": list(better),
                        "median_minutes": mine,
                        "compared_median_minutes": better,
                        "message": (
                            f"Unequal service for equal need: {priority}-priority tickets from customers in "
                            f"the {labels[i]} value band waited a median {_say(mine)} for a first reply, "
                            f"against {against}."
                        ),
                    }
                )
    for i in range(len(band_list)):
        urgent = median_of("urgent", i)
        if urgent is None:
            continue
        quicker = {
            labels[j]: theirs
            for j in range(i + 1, len(band_list))
            if (theirs := median_of("low", j)) is not None and _worse(urgent, theirs, percent, gap)
        }
        if quicker:
            against = _listing([f"{_say(m)} in the {label} band" for label, m in quicker.items()])
            flags.append(
                {
                    "kind": "urgent_waits_longer",
                    "priority": "urgent",
                    "band": labels[i],
                    "compared_priority": "low",
                    "compared_bands": list(quicker),
                    "median_minutes": urgent,
                    "compared_median_minutes": quicker,
                    "message": (
                        f"Customers in the {labels[i]} value band with urgent issues waited longer for a "
                        f"first reply (median {_say(urgent)}) than higher-value customers with low-priority "
                        f"issues ({against})."
                    ),
                }
            )

    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "tickets": total,
        "band_source": "configured" if raw_bands else "quartiles",
        "bands": [b.as_json() for b in band_list],
        "minutes_per_agent_message": per_message,
        "thresholds": {"gap_percent": percent, "gap_minutes": gap, "min_tickets": least},
        "rows": report_rows,
        "flags": flags,
    }
