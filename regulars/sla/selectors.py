"""Reads of the SLA context: a ticket's promise, a plan's published targets, supplier reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import BooleanField, Count, F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from regulars.accounts.models import User
from regulars.core.errors import NotFound
from regulars.customers.models import SupportPlan
from regulars.sla.business_time import WEEKDAYS, holiday_names
from regulars.sla.clocks import PolicyBook
from regulars.sla.models import (
    AT_RISK_CONDITION,
    TARGETS,
    BusinessCalendar,
    SlaPolicy,
    Supplier,
    SupplierWait,
    TicketSla,
)
from regulars.sla.services import ticket_sla
from regulars.tickets.models import Priority
from regulars.tickets.selectors import get_ticket

TARGET_LABELS = {"first_reply": "First reply", "next_reply": "Next reply", "resolution": "Resolution"}


def get_calendar(public_id: str) -> BusinessCalendar:
    calendar = BusinessCalendar.objects.filter(public_id=public_id).first()
    if calendar is None:
        raise NotFound("No such calendar.")
    return calendar


def get_policy(public_id: str) -> SlaPolicy:
    policy = SlaPolicy.objects.select_related("plan", "calendar").filter(public_id=public_id).first()
    if policy is None:
        raise NotFound("No such policy.")
    return policy


def get_supplier(public_id: str) -> Supplier:
    supplier = Supplier.objects.select_related("calendar").filter(public_id=public_id).first()
    if supplier is None:
        raise NotFound("No such supplier.")
    return supplier


def get_plan(slug: str) -> SupportPlan:
    plan = SupportPlan.objects.filter(slug=slug).first()
    if plan is None:
        raise NotFound("No such plan.")
    return plan


def at_risk_ticket_ids() -> QuerySet[TicketSla, int]:
    """Ids of tickets with a running target at risk or breached, as the clocks job last set them.

    A subquery for ``Ticket.objects.filter(pk__in=...)``; callers still apply ``visible_tickets``.
    It reads the small ``sla_at_risk`` partial index, never the whole clocks table.
    """
    if connection.vendor == "sqlite":
        # SQLite uses a partial index only when the query repeats its condition with literal
        # values (bound parameters do not match), so the condition is spelled out here.
        risky = RawSQL(_AT_RISK_SQL, [], output_field=BooleanField())  # noqa: S611 (constants)
        return TicketSla.objects.filter(risky).values_list("ticket_id", flat=True)
    return TicketSla.objects.filter(AT_RISK_CONDITION).values_list("ticket_id", flat=True)


# The WHERE of the sla_at_risk index as SQLite stores it (models.AT_RISK_CONDITION).
_AT_RISK_SQL = (
    '"is_open" AND (("first_reply_at" IS NULL AND "first_reply_state" IN (\'at_risk\', \'breached\'))'
    " OR (\"next_reply_replied_at\" IS NULL AND \"next_reply_state\" IN ('at_risk', 'breached'))"
    " OR (\"resolution_state\" IN ('at_risk', 'breached') AND \"resolved_at\" IS NULL))"
)


def format_due(moment: datetime, zone: str, now: datetime) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    if 0 <= (local.date() - now.astimezone(ZoneInfo(zone)).date()).days < 7:
        day = local.strftime("%A")
    else:
        day = f"{local.strftime('%A')} {local.day} {local.strftime('%B')}"
    return f"{day} {local:%H:%M} ({zone})"


def promise_sentence(row: TicketSla, zone: str, now: datetime) -> str:
    """What the customer is told about their first reply, in their words."""
    if row.policy_id is None or row.first_reply_state == "none":
        return "We will reply as soon as we can."
    if row.first_reply_at is not None:
        return "We have replied."
    if row.first_reply_due is None:
        return "We will reply once we hear back from you."
    return f"We will reply by {format_due(row.first_reply_due, zone, now)}."


def ticket_promise(viewer: User, number: int, *, now: datetime | None = None) -> dict[str, Any]:
    """A ticket's targets, due times and states, as the API shows them (permission: get_ticket)."""
    now = now or timezone.now()
    ticket = get_ticket(viewer, number)
    row = ticket_sla(ticket, now=now)
    policy = (
        SlaPolicy.objects.select_related("calendar").filter(pk=row.policy_id).first()
        if row.policy_id is not None
        else None
    )
    zone = policy.calendar.time_zone if policy and policy.calendar else ticket.requester.time_zone or "UTC"
    targets = []
    for name in TARGETS:
        state = getattr(row, f"{name}_state")
        if state == "none":
            continue
        budget, business = policy.target(name) if policy else (None, False)
        targets.append(
            {
                "target": name,
                "minutes": int(budget.total_seconds() // 60) if budget else None,
                "business_time": business,
                "due_at": getattr(row, f"{name}_due"),
                "at_risk_at": getattr(row, f"{name}_at_risk_at") if viewer.is_agent else None,
                "state": state,
            }
        )
    return {
        "ticket": ticket.number,
        "policy": policy.name if policy and viewer.is_agent else None,
        "has_sla": policy is not None,
        "paused": row.is_paused,
        "time_zone": zone,
        "first_reply_due": row.first_reply_due,
        "promise": promise_sentence(row, zone, now),
        "targets": targets,
    }


@dataclass
class PlanRow:
    priority: str
    label: str
    targets: list[tuple[str, str]]


def describe_minutes(minutes: int, business: bool) -> str:
    if minutes % (60 * 24) == 0 and not business:
        amount = f"{minutes // (60 * 24)} day{'s' if minutes != 1440 else ''}"
    elif minutes % 60 == 0:
        amount = f"{minutes // 60} hour{'s' if minutes != 60 else ''}"
    else:
        amount = f"{minutes} minutes"
    return f"{amount} ({'business hours' if business else 'around the clock'})"


def plan_promises(plan: SupportPlan, *, year: int | None = None) -> dict[str, Any]:
    """What a plan promises: targets per priority (the policy a new ticket would get) and hours."""
    book = PolicyBook(
        list(SlaPolicy.objects.filter(is_active=True).filter(Q(plan=plan) | Q(plan__isnull=True)))
    )
    rows: list[PlanRow] = []
    calendars: dict[int, BusinessCalendar] = {}
    for priority, label in Priority.choices:
        policy = book.match(plan_id=plan.pk, priority=priority, channel="", ticket_type="question", tags=[])
        targets: list[tuple[str, str]] = []
        if policy is not None:
            for name in TARGETS:
                budget, business = policy.target(name)
                if budget is not None:
                    targets.append(
                        (TARGET_LABELS[name], describe_minutes(int(budget.total_seconds() // 60), business))
                    )
            if policy.calendar_id is not None:
                calendars.setdefault(policy.calendar_id, policy.calendar)  # type: ignore[arg-type]
        rows.append(PlanRow(priority, str(label), targets))
    year = year or timezone.now().year
    hours = []
    for calendar in calendars.values():
        days = [
            (
                day.capitalize(),
                ", ".join(f"{a}\N{EN DASH}{b}" for a, b in calendar.weekly_hours.get(day, [])) or "Closed",
            )
            for day in WEEKDAYS
        ]
        holidays = (
            holiday_names(calendar.holiday_country, calendar.holiday_subdivision, year)
            if calendar.holiday_country
            else []
        )
        closures = [
            (e.date, e.name or "Closed")
            for e in calendar.exceptions.all()
            if not e.hours and e.date.year == year
        ]
        hours.append({"calendar": calendar, "days": days, "closed_on": sorted([*holidays, *closures])})
    return {"plan": plan, "rows": rows, "hours": hours, "year": year}


def suppliers_by_breaches(since: datetime, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Suppliers ranked by how many waits started since ``since`` missed their targets."""
    now = now or timezone.now()
    response_missed = Q(waits__response_due_at__isnull=False) & (
        Q(waits__responded_at__gt=F("waits__response_due_at"))
        | Q(waits__responded_at__isnull=True, waits__response_due_at__lt=now)
    )
    resolution_missed = Q(waits__resolution_due_at__isnull=False) & (
        Q(waits__resolved_at__gt=F("waits__resolution_due_at"))
        | Q(waits__resolved_at__isnull=True, waits__resolution_due_at__lt=now)
    )
    recent = Q(waits__started_at__gte=since)
    rows = (
        Supplier.objects.annotate(
            waits_count=Count("waits", filter=recent),
            response_breaches=Count("waits", filter=recent & response_missed),
            resolution_breaches=Count("waits", filter=recent & resolution_missed),
            open_waits=Count("waits", filter=recent & ~Q(waits__state=SupplierWait.State.RESOLVED)),
        )
        .filter(waits_count__gt=0)
        .order_by("name")
    )
    result: list[dict[str, Any]] = [
        {
            "supplier": s.public_id,
            "name": s.name,
            "waits": s.waits_count,
            "open": s.open_waits,
            "response_breaches": s.response_breaches,
            "resolution_breaches": s.resolution_breaches,
            "breaches": s.response_breaches + s.resolution_breaches,
        }
        for s in rows
    ]
    result.sort(key=lambda r: (-r["breaches"], r["name"]))
    return result
