"""On-call: rotations and overrides, who is on call now, escalation policies, incidents, drills.

Agents read everything here; admins change rotations and policies and start drills; any agent
may acknowledge an incident. Customers get 403.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from django.db.models import Prefetch
from django.http import HttpRequest
from django.utils import timezone
from ninja import Path, Router, Schema, Status
from pydantic import Field, StringConstraints

from regulars.api.auth import require_admin, require_agent, viewer
from regulars.api.errors import responses
from regulars.api.paging import DEFAULT_LIMIT, CursorParam, Limit, decode_cursor, encode_cursor, split_page
from regulars.api.refs import agent_ref, agents_ref, team_ref
from regulars.api.types import Printable, PublicId, ShortText
from regulars.core.errors import NotFound, ValidationFailed
from regulars.sla.models import BusinessCalendar
from regulars.sla.oncall import services
from regulars.sla.oncall.models import (
    Drill,
    EscalationLevel,
    EscalationPolicy,
    Incident,
    Page,
    Rotation,
    RotationOverride,
)
from regulars.sla.oncall.selectors import (
    get_incident,
    get_policy,
    get_rotation,
    on_call,
    visible_drills,
    visible_incidents,
    visible_policies,
    visible_rotations,
)

router = Router(tags=["on-call"])

RotationId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^rot_[0-9a-z]+$")]
PolicyId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^esc_[0-9a-z]+$")]
IncidentId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^inc_[0-9a-z]+$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=120), Printable]
TimeZone = Annotated[str, StringConstraints(min_length=1, max_length=64), Printable]
Url = Annotated[str, StringConstraints(max_length=500), Printable]
HHMM = Annotated[str, StringConstraints(pattern=r"^\d\d:\d\d$")]
Minutes = Annotated[int, Field(ge=1, le=24 * 60)]
MAX_LIST = 200


# --- schemas -------------------------------------------------------------------------------------


class OverrideIn(Schema):
    agent_id: PublicId
    starts_at: datetime
    ends_at: datetime
    reason: ShortText = ""


class OverrideOut(Schema):
    id: str
    agent_id: str
    starts_at: datetime
    ends_at: datetime
    reason: str


class RotationIn(Schema):
    name: Name
    participants: Annotated[list[PublicId], Field(min_length=1, max_length=100)]
    cadence: Literal["daily", "weekly"] = "weekly"
    handoff_time: time
    handoff_weekday: Annotated[int, Field(ge=0, le=6)] = 0
    starts_on: date
    time_zone: TimeZone = "UTC"
    team_id: PublicId | None = None


class RotationOut(Schema):
    id: str
    name: str
    team_id: str | None
    time_zone: str
    cadence: str
    handoff_time: time
    handoff_weekday: int
    starts_on: date
    participants: list[str]
    overrides: list[OverrideOut]


class RotationList(Schema):
    items: list[RotationOut]


class OnCallOut(Schema):
    rotation_id: str
    rotation: str
    agent_id: str | None
    agent: str | None
    starts_at: datetime
    ends_at: datetime
    override: bool


class OnCallNow(Schema):
    at: datetime
    items: list[OnCallOut]


class LevelIn(Schema):
    rotation_id: PublicId | None = None
    agent_id: PublicId | None = None
    repage_after_minutes: Minutes = 5
    move_up_after_minutes: Minutes = 15


class LevelOut(Schema):
    position: int
    rotation_id: str | None
    agent_id: str | None
    repage_after_minutes: int
    move_up_after_minutes: int


class PolicyIn(Schema):
    name: Name
    levels: Annotated[list[LevelIn], Field(min_length=1, max_length=20)]
    time_zone: TimeZone = "UTC"
    business_hours: dict[
        Literal["0", "1", "2", "3", "4", "5", "6"], Annotated[list[tuple[HHMM, HHMM]], Field(max_length=12)]
    ] = {}
    team_id: PublicId | None = None
    calendar_id: PublicId | None = None
    is_default: bool = False
    webhook_url: Url = ""
    final_page_limit: Annotated[int, Field(ge=1, le=100)] = 6


class PolicyOut(Schema):
    id: str
    name: str
    team_id: str | None
    calendar_id: str | None
    is_default: bool
    time_zone: str
    business_hours: dict[str, list[list[str]]]
    webhook_url: str
    final_page_limit: int
    levels: list[LevelOut]


class PolicyList(Schema):
    items: list[PolicyOut]


class PageOut(Schema):
    id: str
    level: int
    attempt: int
    channel: str
    recipient_id: str
    due_at: datetime
    sent_at: datetime | None
    outcome: str
    tries: int


class IncidentOut(Schema):
    id: str
    ticket: int
    policy_id: str
    state: str
    triggered_at: datetime
    current_level: int
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    acknowledged_via: str
    exhausted_at: datetime | None
    pages: list[PageOut] | None = None


class IncidentPage(Schema):
    items: list[IncidentOut]
    next_cursor: str | None


class DrillIn(Schema):
    policy_id: PublicId
    deadline_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 30


class DrillOut(Schema):
    id: str
    policy_id: str
    ticket: int
    state: str
    started_at: datetime
    deadline_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    seconds: int | None
    failed_at: datetime | None


class DrillPage(Schema):
    items: list[DrillOut]
    next_cursor: str | None


# --- shaping -------------------------------------------------------------------------------------


def rotation_out(rotation: Rotation) -> dict[str, Any]:
    return {
        "id": rotation.public_id,
        "name": rotation.name,
        "team_id": rotation.team.public_id if rotation.team else None,
        "time_zone": rotation.time_zone,
        "cadence": rotation.cadence,
        "handoff_time": rotation.handoff_time,
        "handoff_weekday": rotation.handoff_weekday,
        "starts_on": rotation.starts_on,
        "participants": [p.agent.public_id for p in rotation.participants.all()],
        "overrides": [
            {
                "id": o.public_id,
                "agent_id": o.agent.public_id,
                "starts_at": o.starts_at,
                "ends_at": o.ends_at,
                "reason": o.reason,
            }
            for o in rotation.overrides.all()
        ],
    }


def _rotations() -> Any:
    return Rotation.objects.select_related("team").prefetch_related(
        "participants__agent", Prefetch("overrides", queryset=_overrides())
    )


def _overrides() -> Any:
    return RotationOverride.objects.select_related("agent").order_by("-starts_at")


def policy_out(policy: EscalationPolicy) -> dict[str, Any]:
    return {
        "id": policy.public_id,
        "name": policy.name,
        "team_id": policy.team.public_id if policy.team else None,
        "calendar_id": policy.calendar.public_id if policy.calendar else None,
        "is_default": policy.is_default,
        "time_zone": policy.time_zone,
        "business_hours": policy.business_hours,
        "webhook_url": policy.webhook_url,
        "final_page_limit": policy.final_page_limit,
        "levels": [
            {
                "position": lv.position,
                "rotation_id": lv.rotation.public_id if lv.rotation else None,
                "agent_id": lv.agent.public_id if lv.agent else None,
                "repage_after_minutes": lv.repage_after_minutes,
                "move_up_after_minutes": lv.move_up_after_minutes,
            }
            for lv in policy.levels.all()
        ],
    }


_LEVELS = Prefetch(
    "levels", queryset=EscalationLevel.objects.select_related("rotation", "agent").order_by("position")
)


def incident_out(incident: Incident, *, pages: list[Page] | None = None) -> dict[str, Any]:
    return {
        "id": incident.public_id,
        "ticket": incident.ticket.number,
        "policy_id": incident.policy.public_id,
        "state": incident.state,
        "triggered_at": incident.triggered_at,
        "current_level": incident.current_level,
        "acknowledged_at": incident.acknowledged_at,
        "acknowledged_by": incident.acknowledged_by.public_id if incident.acknowledged_by else None,
        "acknowledged_via": incident.acknowledged_via,
        "exhausted_at": incident.exhausted_at,
        "pages": None
        if pages is None
        else [
            {
                "id": p.public_id,
                "level": p.level,
                "attempt": p.attempt,
                "channel": p.channel,
                "recipient_id": p.recipient.public_id,
                "due_at": p.due_at,
                "sent_at": p.sent_at,
                "outcome": p.outcome,
                "tries": p.tries,
            }
            for p in pages
        ],
    }


def drill_out(drill: Drill) -> dict[str, Any]:
    return {
        "id": drill.public_id,
        "policy_id": drill.policy.public_id,
        "ticket": drill.ticket.number,
        "state": drill.state,
        "started_at": drill.started_at,
        "deadline_at": drill.deadline_at,
        "acknowledged_at": drill.acknowledged_at,
        "acknowledged_by": drill.acknowledged_by.public_id if drill.acknowledged_by else None,
        "seconds": drill.seconds,
        "failed_at": drill.failed_at,
    }


def _rotation_ref(user: Any, public_id: str, field: str) -> Rotation:
    try:
        return get_rotation(user, public_id)
    except NotFound:
        raise ValidationFailed(f"No such rotation: {public_id}.", fields={field: "not found"}) from None


def _policy_ref(user: Any, public_id: str, field: str) -> EscalationPolicy:
    try:
        return get_policy(user, public_id)
    except NotFound:
        raise ValidationFailed(f"No such policy: {public_id}.", fields={field: "not found"}) from None


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        raise ValidationFailed("Times need a UTC offset.", fields={field: "naive"})
    return value


# --- rotations -----------------------------------------------------------------------------------


@router.get("/sla/oncall/rotations", response=responses({200: RotationList}), summary="List rotations")
def list_rotations(request: HttpRequest) -> dict[str, Any]:
    user = viewer(request)
    require_agent(user)
    visible_rotations(user)
    return {"items": [rotation_out(r) for r in _rotations().order_by("name")[:MAX_LIST]]}


@router.post(
    "/sla/oncall/rotations", response=responses({201: RotationOut}), summary="Create a rotation (admins)"
)
def create_rotation(request: HttpRequest, payload: RotationIn) -> Status[dict[str, Any]]:
    user = viewer(request)
    require_admin(user)
    rotation = services.create_rotation(
        name=payload.name,
        participants=agents_ref(user, payload.participants, "participants"),
        cadence=payload.cadence,
        handoff_time=payload.handoff_time,
        handoff_weekday=payload.handoff_weekday,
        starts_on=payload.starts_on,
        time_zone=payload.time_zone,
        team=team_ref(user, payload.team_id, "team_id"),
        actor=user,
    )
    return Status(201, rotation_out(_rotations().get(pk=rotation.pk)))


@router.get(
    "/sla/oncall/rotations/{rotation_id}", response=responses({200: RotationOut}), summary="Get a rotation"
)
def read_rotation(request: HttpRequest, rotation_id: RotationId) -> dict[str, Any]:
    user = viewer(request)
    require_agent(user)
    return rotation_out(_rotations().get(pk=get_rotation(user, rotation_id).pk))


@router.post(
    "/sla/oncall/rotations/{rotation_id}/overrides",
    response=responses({201: OverrideOut}),
    summary="Someone covers a stretch (admins)",
)
def add_override(
    request: HttpRequest, rotation_id: RotationId, payload: OverrideIn
) -> Status[dict[str, Any]]:
    user = viewer(request)
    require_admin(user)
    rotation = get_rotation(user, rotation_id)
    agent = agent_ref(user, payload.agent_id, "agent_id")
    assert agent is not None
    override = services.add_override(
        rotation,
        agent=agent,
        starts_at=_aware(payload.starts_at, "starts_at"),
        ends_at=_aware(payload.ends_at, "ends_at"),
        reason=payload.reason,
        actor=user,
    )
    return Status(
        201,
        {
            "id": override.public_id,
            "agent_id": agent.public_id,
            "starts_at": override.starts_at,
            "ends_at": override.ends_at,
            "reason": override.reason,
        },
    )


@router.get(
    "/sla/oncall/now", response=responses({200: OnCallNow}), summary="Who is on call now, per rotation"
)
def who_is_on_call_now(request: HttpRequest) -> dict[str, Any]:
    user = viewer(request)
    require_agent(user)
    now = timezone.now()
    items = []
    for rotation in visible_rotations(user).order_by("name")[:MAX_LIST]:
        shift = on_call(rotation, now)
        items.append(
            {
                "rotation_id": rotation.public_id,
                "rotation": rotation.name,
                "agent_id": shift.agent.public_id if shift.agent else None,
                "agent": str(shift.agent) if shift.agent else None,
                "starts_at": shift.starts_at,
                "ends_at": shift.ends_at,
                "override": shift.override is not None,
            }
        )
    return {"at": now, "items": items}


# --- escalation policies -------------------------------------------------------------------------


@router.get("/sla/oncall/policies", response=responses({200: PolicyList}), summary="List escalation policies")
def list_policies(request: HttpRequest) -> dict[str, Any]:
    user = viewer(request)
    require_agent(user)
    qs = visible_policies(user).select_related("team", "calendar").prefetch_related(_LEVELS).order_by("name")
    return {"items": [policy_out(p) for p in qs[:MAX_LIST]]}


@router.post(
    "/sla/oncall/policies",
    response=responses({201: PolicyOut}),
    summary="Create an escalation policy (admins)",
)
def create_policy(request: HttpRequest, payload: PolicyIn) -> Status[dict[str, Any]]:
    """The last level must be a named, active agent (`chain_must_end_in_a_person` otherwise)."""
    user = viewer(request)
    require_admin(user)
    levels = []
    for i, level in enumerate(payload.levels):
        field = f"levels.{i}"
        levels.append(
            services.LevelSpec(
                rotation=_rotation_ref(user, level.rotation_id, field) if level.rotation_id else None,
                agent=agent_ref(user, level.agent_id, field) if level.agent_id else None,
                repage_after_minutes=level.repage_after_minutes,
                move_up_after_minutes=level.move_up_after_minutes,
            )
        )
    policy = services.create_escalation_policy(
        name=payload.name,
        levels=levels,
        time_zone=payload.time_zone,
        business_hours={day: [list(span) for span in spans] for day, spans in payload.business_hours.items()},
        team=team_ref(user, payload.team_id, "team_id"),
        is_default=payload.is_default,
        webhook_url=payload.webhook_url,
        final_page_limit=payload.final_page_limit,
        calendar=_calendar_ref(payload.calendar_id),
        actor=user,
    )
    return Status(201, policy_out(EscalationPolicy.objects.prefetch_related(_LEVELS).get(pk=policy.pk)))


def _calendar_ref(public_id: str | None) -> BusinessCalendar | None:
    if public_id is None:
        return None
    calendar = BusinessCalendar.objects.filter(public_id=public_id).first()
    if calendar is None:
        raise ValidationFailed("No such calendar.", fields={"calendar_id": "not found"})
    return calendar


@router.get("/sla/oncall/policies/{policy_id}", response=responses({200: PolicyOut}), summary="Get a policy")
def read_policy(request: HttpRequest, policy_id: PolicyId) -> dict[str, Any]:
    user = viewer(request)
    require_agent(user)
    policy = get_policy(user, policy_id)
    return policy_out(
        EscalationPolicy.objects.select_related("team").prefetch_related(_LEVELS).get(pk=policy.pk)
    )


# --- incidents -----------------------------------------------------------------------------------


_INCIDENT_RELATED = ("ticket", "policy", "acknowledged_by")


@router.get("/sla/oncall/incidents", response=responses({200: IncidentPage}), summary="List incidents")
def list_incidents(
    request: HttpRequest,
    state: Literal["triggered", "acknowledged", "resolved"] | None = None,
    cursor: CursorParam = None,
    limit: Limit = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Newest first."""
    user = viewer(request)
    require_agent(user)
    qs = visible_incidents(user).select_related(*_INCIDENT_RELATED).order_by("-id")
    if state:
        qs = qs.filter(state=state)
    if cursor:
        (last_id,) = decode_cursor(cursor, (int,))
        qs = qs.filter(id__lt=last_id)
    rows, more = split_page(list(qs[: limit + 1]), limit)
    return {
        "items": [incident_out(i) for i in rows],
        "next_cursor": encode_cursor([rows[-1].pk]) if more else None,
    }


def _incident_with_pages(incident: Incident) -> dict[str, Any]:
    incident = Incident.objects.select_related(*_INCIDENT_RELATED).get(pk=incident.pk)
    pages = list(incident.pages.select_related("recipient").order_by("due_at", "id"))
    return incident_out(incident, pages=pages)


@router.get(
    "/sla/oncall/incidents/{incident_id}",
    response=responses({200: IncidentOut}),
    summary="Get an incident with every page",
)
def read_incident(request: HttpRequest, incident_id: IncidentId) -> dict[str, Any]:
    user = viewer(request)
    require_agent(user)
    return _incident_with_pages(get_incident(user, incident_id))


@router.post(
    "/sla/oncall/incidents/{incident_id}/ack",
    response=responses({200: IncidentOut}),
    summary="Acknowledge: paging stops",
)
def acknowledge(request: HttpRequest, incident_id: IncidentId) -> dict[str, Any]:
    """Acknowledging an incident someone already acknowledged changes nothing."""
    user = viewer(request)
    require_agent(user)
    incident = services.acknowledge_incident(
        get_incident(user, incident_id), by=user, now=timezone.now(), via="api"
    )
    return _incident_with_pages(incident)


# --- drills --------------------------------------------------------------------------------------


@router.get("/sla/oncall/drills", response=responses({200: DrillPage}), summary="List drills")
def list_drills(
    request: HttpRequest, cursor: CursorParam = None, limit: Limit = DEFAULT_LIMIT
) -> dict[str, Any]:
    """Newest first; failed drills stay listed with state `failed`."""
    user = viewer(request)
    require_agent(user)
    qs = visible_drills(user).select_related("policy", "ticket", "acknowledged_by").order_by("-id")
    if cursor:
        (last_id,) = decode_cursor(cursor, (int,))
        qs = qs.filter(id__lt=last_id)
    rows, more = split_page(list(qs[: limit + 1]), limit)
    return {
        "items": [drill_out(d) for d in rows],
        "next_cursor": encode_cursor([rows[-1].pk]) if more else None,
    }


@router.post("/sla/oncall/drills", response=responses({201: DrillOut}), summary="Start a drill now (admins)")
def start_drill(request: HttpRequest, payload: DrillIn) -> Status[dict[str, Any]]:
    user = viewer(request)
    require_admin(user)
    policy = _policy_ref(user, payload.policy_id, "policy_id")
    drill = services.start_drill(
        policy, now=timezone.now(), actor=user, deadline_minutes=payload.deadline_minutes
    )
    return Status(
        201, drill_out(Drill.objects.select_related("policy", "ticket", "acknowledged_by").get(pk=drill.pk))
    )
