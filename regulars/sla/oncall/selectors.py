"""Reads: who is on call, and the on-call objects an agent may see (all of them; customers none)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from regulars.accounts.models import User
from regulars.core.errors import Forbidden, NotFound
from regulars.sla.oncall.models import Drill, EscalationPolicy, Incident, Rotation, RotationOverride
from regulars.sla.oncall.schedule import shift_at


@dataclass(frozen=True)
class OnCall:
    """Who covers ``rotation`` at an instant, from when until when, and whether by override."""

    rotation: Rotation
    agent: User | None
    starts_at: datetime
    ends_at: datetime
    override: RotationOverride | None


def on_call(rotation: Rotation, at: datetime) -> OnCall:
    """The person on call for ``rotation`` at ``at``: the newest override covering it, else the shift."""
    override = (
        RotationOverride.objects.filter(rotation=rotation, starts_at__lte=at, ends_at__gt=at)
        .select_related("agent")
        .order_by("-created_at", "-id")
        .first()
    )
    if override is not None:
        return OnCall(rotation, override.agent, override.starts_at, override.ends_at, override)
    shift = shift_at(
        time_zone=rotation.time_zone,
        cadence=rotation.cadence,
        handoff_time=rotation.handoff_time,
        handoff_weekday=rotation.handoff_weekday,
        starts_on=rotation.starts_on,
        at=at,
    )
    people = [p.agent for p in rotation.participants.select_related("agent").order_by("position")]
    agent = people[shift.index % len(people)] if people else None
    return OnCall(rotation, agent, shift.start, shift.end, None)


def who_is_on_call(rotation: Rotation, at: datetime) -> User | None:
    return on_call(rotation, at).agent


def _require_agent(viewer: User) -> None:
    if not (viewer.is_active and viewer.is_agent):
        raise Forbidden("Only agents may see on-call data.", code="agents_only")


def visible_rotations(viewer: User) -> QuerySet[Rotation]:
    _require_agent(viewer)
    return Rotation.objects.all()


def get_rotation(viewer: User, public_id: str) -> Rotation:
    rotation = visible_rotations(viewer).filter(public_id=public_id).first()
    if rotation is None:
        raise NotFound("No such rotation.")
    return rotation


def visible_policies(viewer: User) -> QuerySet[EscalationPolicy]:
    _require_agent(viewer)
    return EscalationPolicy.objects.all()


def get_policy(viewer: User, public_id: str) -> EscalationPolicy:
    policy = visible_policies(viewer).filter(public_id=public_id).first()
    if policy is None:
        raise NotFound("No such escalation policy.")
    return policy


def visible_incidents(viewer: User) -> QuerySet[Incident]:
    _require_agent(viewer)
    return Incident.objects.all()


def get_incident(viewer: User, public_id: str) -> Incident:
    incident = visible_incidents(viewer).filter(public_id=public_id).first()
    if incident is None:
        raise NotFound("No such incident.")
    return incident


def visible_drills(viewer: User) -> QuerySet[Drill]:
    _require_agent(viewer)
    return Drill.objects.all()
