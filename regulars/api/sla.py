"""Service levels: calendars, policies, a ticket's clocks, suppliers and their report.

Agents read; admins change calendars, policies and suppliers; agents track supplier waits.
A ticket's clocks follow the ticket permission policy (customers see their own promise).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Path, Query, Router, Schema, Status

from regulars.api.auth import require_admin, require_agent, require_full_agent, viewer
from regulars.api.errors import responses
from regulars.api.types import Printable, PublicId, ShortText, TicketNumber
from regulars.core.errors import NotFound
from regulars.customers.models import SupportPlan
from regulars.sla import selectors, services
from regulars.sla.business_time import format_day_hours
from regulars.sla.models import BusinessCalendar, SlaPolicy, Supplier, SupplierWait
from regulars.tickets.selectors import get_ticket

router = Router(tags=["sla"])

CalendarId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^cal_[0-9a-z]+$")]
PolicyId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^slp_[0-9a-z]+$")]
WaitId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^swt_[0-9a-z]+$")]
HHMM = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")]
Interval = Annotated[list[HHMM], Field(min_length=2, max_length=2)]
DayHours = Annotated[list[Interval], Field(max_length=12)]
Minutes = Annotated[int, Field(ge=1, le=60 * 24 * 366)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Name = Annotated[ShortText, Field(min_length=1, max_length=120)]
Priority = Literal["", "low", "normal", "high", "urgent"]
Channel = Literal["", "email", "web", "chat", "phone", "social", "api"]
TicketType = Literal["question", "incident", "problem", "task"]


class ExceptionIn(Schema):
    date: date
    name: Annotated[ShortText, Field(max_length=120)] = ""
    hours: DayHours = Field(default_factory=list)


class CalendarIn(Schema):
    name: Name
    time_zone: Annotated[str, Field(min_length=1, max_length=64), Printable] = "UTC"
    weekly_hours: dict[Weekday, DayHours] = Field(default_factory=dict)
    holiday_country: Annotated[str, Field(max_length=8), Printable] = ""
    holiday_subdivision: Annotated[str, Field(max_length=16), Printable] = ""
    exceptions: Annotated[list[ExceptionIn], Field(max_length=500)] = Field(default_factory=list)


class CalendarPatch(Schema):
    name: Name | None = None
    time_zone: Annotated[str, Field(min_length=1, max_length=64), Printable] | None = None
    weekly_hours: dict[Weekday, DayHours] | None = None
    holiday_country: Annotated[str, Field(max_length=8), Printable] | None = None
    holiday_subdivision: Annotated[str, Field(max_length=16), Printable] | None = None
    exceptions: Annotated[list[ExceptionIn], Field(max_length=500)] | None = None


class CalendarOut(Schema):
    id: str
    name: str
    time_zone: str
    weekly_hours: dict[str, list[list[str]]]
    holiday_country: str
    holiday_subdivision: str
    exceptions: list[ExceptionIn]


class Conditions(Schema):
    ticket_types: Annotated[list[TicketType], Field(max_length=4)] = Field(default_factory=list)
    tags: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64), Printable]], Field(max_length=50)
    ] = Field(default_factory=list)


class PolicyIn(Schema):
    name: Name
    position: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    is_active: bool = True
    plan: Annotated[str, Field(max_length=64), Printable] | None = Field(
        None, description="Plan slug; empty for any plan."
    )
    priority: Priority = ""
    channel: Channel = ""
    conditions: Conditions = Field(default_factory=Conditions)
    calendar: PublicId | None = None
    first_reply_minutes: Minutes | None = None
    first_reply_business: bool = True
    next_reply_minutes: Minutes | None = None
    next_reply_business: bool = True
    resolution_minutes: Minutes | None = None
    resolution_business: bool = True
    at_risk_share: Annotated[float, Field(gt=0, lt=1)] = 0.75


class PolicyPatch(Schema):
    name: Name | None = None
    position: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    is_active: bool | None = None
    plan: Annotated[str, Field(max_length=64), Printable] | None = None
    priority: Priority | None = None
    channel: Channel | None = None
    conditions: Conditions | None = None
    calendar: PublicId | None = None
    first_reply_minutes: Minutes | None = None
    first_reply_business: bool | None = None
    next_reply_minutes: Minutes | None = None
    next_reply_business: bool | None = None
    resolution_minutes: Minutes | None = None
    resolution_business: bool | None = None
    at_risk_share: Annotated[float, Field(gt=0, lt=1)] | None = None


class PolicyOut(Schema):
    id: str
    name: str
    position: int
    is_active: bool
    plan: str | None
    priority: str
    channel: str
    conditions: dict[str, Any]
    calendar: str | None
    first_reply_minutes: int | None
    first_reply_business: bool
    next_reply_minutes: int | None
    next_reply_business: bool
    resolution_minutes: int | None
    resolution_business: bool
    at_risk_share: float


class TargetOut(Schema):
    target: str
    minutes: int | None
    business_time: bool
    due_at: datetime | None
    at_risk_at: datetime | None
    state: str


class TicketSlaOut(Schema):
    ticket: int
    has_sla: bool
    policy: str | None
    paused: bool
    time_zone: str
    first_reply_due: datetime | None
    promise: str
    targets: list[TargetOut]


class SupplierIn(Schema):
    name: Name
    contact_email: Annotated[str, Field(max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+$"), Printable] = ""
    calendar: PublicId | None = None
    response_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None


class SupplierOut(Schema):
    id: str
    name: str
    contact_email: str
    calendar: str | None
    response_minutes: int | None
    resolution_minutes: int | None
    is_active: bool


class WaitIn(Schema):
    supplier: PublicId
    reference: Annotated[ShortText, Field(max_length=200)] = ""


class WaitOut(Schema):
    id: str
    ticket: int
    supplier: str
    supplier_name: str
    reference: str
    state: str
    started_at: datetime
    response_due_at: datetime | None
    resolution_due_at: datetime | None
    responded_at: datetime | None
    resolved_at: datetime | None


class SupplierReportRow(Schema):
    supplier: str
    name: str
    waits: int
    open: int
    response_breaches: int
    resolution_breaches: int
    breaches: int


# --- shaping ---------------------------------------------------------------------------------


def calendar_out(calendar: BusinessCalendar) -> dict[str, Any]:
    return {
        "id": calendar.public_id,
        "name": calendar.name,
        "time_zone": calendar.time_zone,
        "weekly_hours": {day: format_day_hours(hours) for day, hours in zip(
            ("mon", "tue", "wed", "thu", "fri", "sat", "sun"), calendar.weekly(), strict=True) if hours},
        "holiday_country": calendar.holiday_country,
        "holiday_subdivision": calendar.holiday_subdivision,
        "exceptions": [{"date": e.date, "name": e.name, "hours": e.hours} for e in calendar.exceptions.all()],
    }  # fmt: skip


def policy_out(policy: SlaPolicy) -> dict[str, Any]:
    return {
        "id": policy.public_id,
        "name": policy.name,
        "position": policy.position,
        "is_active": policy.is_active,
        "plan": policy.plan.slug if policy.plan else None,
        "priority": policy.priority,
        "channel": policy.channel,
        "conditions": policy.conditions,
        "calendar": policy.calendar.public_id if policy.calendar else None,
        **{f"{t}_{k}": getattr(policy, f"{t}_{k}") for t in ("first_reply", "next_reply", "resolution")
           for k in ("minutes", "business")},
        "at_risk_share": policy.at_risk_share,
    }  # fmt: skip


def supplier_out(supplier: Supplier) -> dict[str, Any]:
    return {
        "id": supplier.public_id,
        "name": supplier.name,
        "contact_email": supplier.contact_email,
        "calendar": supplier.calendar.public_id if supplier.calendar else None,
        "response_minutes": supplier.response_minutes,
        "resolution_minutes": supplier.resolution_minutes,
        "is_active": supplier.is_active,
    }


def wait_out(wait: SupplierWait) -> dict[str, Any]:
    return {
        "id": wait.public_id,
        "ticket": wait.ticket.number,
        "supplier": wait.supplier.public_id,
        "supplier_name": wait.supplier.name,
        "reference": wait.reference,
        "state": wait.state,
        "started_at": wait.started_at,
        "response_due_at": wait.response_due_at,
        "resolution_due_at": wait.resolution_due_at,
        "responded_at": wait.responded_at,
        "resolved_at": wait.resolved_at,
    }


def _calendar_ref(public_id: str | None) -> BusinessCalendar | None:
    return selectors.get_calendar(public_id) if public_id else None


def _plan_ref(slug: str | None) -> SupportPlan | None:
    if not slug:
        return None
    plan = SupportPlan.objects.filter(slug=slug).first()
    if plan is None:
        raise NotFound("No such plan.", fields={"plan": "unknown"})
    return plan


def _policy(public_id: str) -> SlaPolicy:
    return selectors.get_policy(public_id)


# --- calendars -------------------------------------------------------------------------------


@router.get("/calendars", response=responses({200: list[CalendarOut]}), summary="List business calendars")
def list_calendars(request: HttpRequest) -> list[dict[str, Any]]:
    require_agent(viewer(request))
    return [calendar_out(c) for c in BusinessCalendar.objects.prefetch_related("exceptions").order_by("name")]


@router.post("/calendars", response=responses({201: CalendarOut}), summary="Create a business calendar")
def create_calendar(request: HttpRequest, payload: CalendarIn) -> Status[dict[str, Any]]:
    user = viewer(request)
    require_admin(user)
    data = payload.model_dump()
    calendar = services.create_calendar(actor=user, **data)
    return Status(201, calendar_out(calendar))


@router.get("/calendars/{calendar_id}", response=responses({200: CalendarOut}), summary="Get a calendar")
def read_calendar(request: HttpRequest, calendar_id: CalendarId) -> dict[str, Any]:
    require_agent(viewer(request))
    return calendar_out(selectors.get_calendar(calendar_id))


@router.patch("/calendars/{calendar_id}", response=responses({200: CalendarOut}), summary="Change a calendar")
def change_calendar(request: HttpRequest, calendar_id: CalendarId, payload: CalendarPatch) -> dict[str, Any]:
    user = viewer(request)
    require_admin(user)
    data = payload.model_dump(include=payload.model_fields_set)
    calendar = services.update_calendar(selectors.get_calendar(calendar_id), actor=user, **data)
    return calendar_out(calendar)


# --- policies --------------------------------------------------------------------------------


def _policy_changes(data: dict[str, Any]) -> dict[str, Any]:
    if "plan" in data:
        data["plan"] = _plan_ref(data["plan"])
    if "calendar" in data:
        data["calendar"] = _calendar_ref(data["calendar"])
    if "conditions" in data and data["conditions"] is not None:
        data["conditions"] = {k: v for k, v in data["conditions"].items() if v}
    return data


@router.get("/policies", response=responses({200: list[PolicyOut]}), summary="List SLA policies")
def list_policies(request: HttpRequest) -> list[dict[str, Any]]:
    require_agent(viewer(request))
    return [
        policy_out(p) for p in SlaPolicy.objects.select_related("plan", "calendar").order_by("position", "id")
    ]


@router.post("/policies", response=responses({201: PolicyOut}), summary="Create an SLA policy")
def create_policy(request: HttpRequest, payload: PolicyIn) -> Status[dict[str, Any]]:
    user = viewer(request)
    require_admin(user)
    policy = services.create_policy(actor=user, **_policy_changes(payload.model_dump()))
    return Status(201, policy_out(_policy(policy.public_id)))


@router.get("/policies/{policy_id}", response=responses({200: PolicyOut}), summary="Get an SLA policy")
def read_policy(request: HttpRequest, policy_id: PolicyId) -> dict[str, Any]:
    require_agent(viewer(request))
    return policy_out(_policy(policy_id))


@router.patch("/policies/{policy_id}", response=responses({200: PolicyOut}), summary="Change an SLA policy")
def change_policy(request: HttpRequest, policy_id: PolicyId, payload: PolicyPatch) -> dict[str, Any]:
    user = viewer(request)
    require_admin(user)
    data = payload.model_dump(include=payload.model_fields_set)
    for key in ("name", "position", "is_active", "priority", "channel", "at_risk_share", "conditions",
                "first_reply_business", "next_reply_business", "resolution_business"):  # fmt: skip
        if key in data and data[key] is None:
            del data[key]  # these cannot be emptied, only changed
    policy = services.update_policy(_policy(policy_id), actor=user, **_policy_changes(data))
    return policy_out(_policy(policy.public_id))


@router.delete("/policies/{policy_id}", response=responses({204: None}), summary="Delete an SLA policy")
def remove_policy(request: HttpRequest, policy_id: PolicyId) -> Status[None]:
    user = viewer(request)
    require_admin(user)
    services.delete_policy(_policy(policy_id), actor=user)
    return Status(204, None)


# --- a ticket's clocks -----------------------------------------------------------------------


@router.get(
    "/tickets/{number}", response=responses({200: TicketSlaOut}), summary="A ticket's SLA and promise"
)
def ticket_sla(request: HttpRequest, number: Annotated[TicketNumber, Path()]) -> dict[str, Any]:
    """Targets, due times and states; ``promise`` is the sentence the customer is shown."""
    return selectors.ticket_promise(viewer(request), number)


# --- suppliers -------------------------------------------------------------------------------


@router.get("/suppliers", response=responses({200: list[SupplierOut]}), summary="List suppliers")
def list_suppliers(request: HttpRequest) -> list[dict[str, Any]]:
    require_agent(viewer(request))
    return [supplier_out(s) for s in Supplier.objects.select_related("calendar").order_by("name")]


@router.post("/suppliers", response=responses({201: SupplierOut}), summary="Create a supplier")
def create_supplier(request: HttpRequest, payload: SupplierIn) -> Status[dict[str, Any]]:
    user = viewer(request)
    require_admin(user)
    data = payload.model_dump()
    data["calendar"] = _calendar_ref(data["calendar"])
    return Status(201, supplier_out(services.create_supplier(actor=user, **data)))


@router.get(
    "/tickets/{number}/supplier-waits",
    response=responses({200: list[WaitOut]}),
    summary="A ticket's supplier waits",
)
def list_waits(request: HttpRequest, number: Annotated[TicketNumber, Path()]) -> list[dict[str, Any]]:
    user = viewer(request)
    require_agent(user)
    ticket = get_ticket(user, number)
    waits = SupplierWait.objects.filter(ticket=ticket).select_related("supplier", "ticket").order_by("id")
    return [wait_out(w) for w in waits]


@router.post(
    "/tickets/{number}/supplier-waits",
    response=responses({201: WaitOut}),
    summary="Start waiting on a supplier",
)
def start_wait(
    request: HttpRequest, number: Annotated[TicketNumber, Path()], payload: WaitIn
) -> Status[dict[str, Any]]:
    """Does not pause the customer's SLA; put the ticket on hold for that."""
    user = viewer(request)
    require_full_agent(user)
    ticket = get_ticket(user, number)
    supplier = selectors.get_supplier(payload.supplier)
    wait = services.start_supplier_wait(ticket, supplier, actor=user, reference=payload.reference)
    return Status(201, wait_out(wait))


def _wait(request: HttpRequest, wait_id: str) -> SupplierWait:
    user = viewer(request)
    require_full_agent(user)
    wait = SupplierWait.objects.select_related("supplier", "ticket").filter(public_id=wait_id).first()
    if wait is None:
        raise NotFound("No such supplier wait.")
    get_ticket(user, wait.ticket.number)  # the same visibility as the ticket itself
    return wait


@router.post(
    "/supplier-waits/{wait_id}/response", response=responses({200: WaitOut}), summary="Supplier responded"
)
def supplier_responded(request: HttpRequest, wait_id: WaitId) -> dict[str, Any]:
    wait = services.record_supplier_response(_wait(request, wait_id), actor=viewer(request))
    return wait_out(SupplierWait.objects.select_related("supplier", "ticket").get(pk=wait.pk))


@router.post(
    "/supplier-waits/{wait_id}/resolve", response=responses({200: WaitOut}), summary="Supplier resolved"
)
def supplier_resolved(request: HttpRequest, wait_id: WaitId) -> dict[str, Any]:
    wait = services.resolve_supplier_wait(_wait(request, wait_id), actor=viewer(request))
    return wait_out(SupplierWait.objects.select_related("supplier", "ticket").get(pk=wait.pk))


@router.get(
    "/reports/suppliers", response=responses({200: list[SupplierReportRow]}), summary="Suppliers by breaches"
)
def supplier_report(
    request: HttpRequest, days: Annotated[int, Query(ge=1, le=3660)] = 90
) -> list[dict[str, Any]]:
    """Waits started in the last ``days`` days, suppliers with the most missed targets first."""
    require_agent(viewer(request))
    return selectors.suppliers_by_breaches(timezone.now() - timedelta(days=days))
