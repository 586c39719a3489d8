"""Verbs of on-call: rotations, overrides, escalation policies, incidents, pages, drills.

Every function that depends on the clock takes ``now``; the event handlers and periodic tasks
are the only places that read the real clock.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from croniter import croniter
from django.db import IntegrityError, transaction
from django.db.models import F

from regulars.accounts.models import Role, Team, User
from regulars.accounts.services import record_audit
from regulars.core import events
from regulars.core.errors import Conflict, Forbidden, ValidationFailed
from regulars.customers.models import Customer
from regulars.customers.services import create_customer, find_customer_by_identity
from regulars.sla.business_time import is_open
from regulars.sla.models import BusinessCalendar
from regulars.sla.oncall.models import (
    Cadence,
    Drill,
    DrillPlan,
    DrillState,
    EscalationLevel,
    EscalationPolicy,
    Incident,
    IncidentState,
    OnCallContact,
    Page,
    PageChannel,
    PageOutcome,
    Rotation,
    RotationOverride,
    RotationParticipant,
)
from regulars.sla.oncall.notify import alert_admins, send_page, webhook_target
from regulars.sla.oncall.schedule import clean_business_hours, in_business_hours, zone
from regulars.sla.oncall.selectors import who_is_on_call
from regulars.tickets.models import Priority, StatusCategory, Ticket, TicketType
from regulars.tickets.selectors import visible_tickets
from regulars.tickets.services import default_status, open_ticket, update_ticket

logger = logging.getLogger(__name__)

PAGEABLE_ROLES = frozenset({Role.ADMIN, Role.AGENT})
MAX_MINUTES = 24 * 60
DRILL_EMAIL = "drill@regulars.invalid"
DRILL_TAG = "drill"
CLOSED_CATEGORIES = (StatusCategory.SOLVED, StatusCategory.CLOSED)


def _pageable(user: User | None) -> bool:
    return user is not None and user.is_active and user.role in PAGEABLE_ROLES


def _check_url(url: str, field_name: str) -> str:
    url = url.strip()
    if url and not url.lower().startswith(("http://", "https://")):
        raise ValidationFailed("Webhook URLs start with http:// or https://.", fields={field_name: "invalid"})
    if len(url) > 500:
        raise ValidationFailed("Webhook URL too long.", fields={field_name: "too long"})
    return url


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 120:
        raise ValidationFailed("A name of 1 to 120 characters is needed.", fields={"name": "invalid"})
    return name


# --- rotations -----------------------------------------------------------------------------------


@transaction.atomic
def create_rotation(
    *,
    name: str,
    participants: Sequence[User],
    handoff_time: time,
    starts_on: date,
    cadence: str = Cadence.WEEKLY,
    handoff_weekday: int = 0,
    time_zone: str = "UTC",
    team: Team | None = None,
    actor: User | None = None,
) -> Rotation:
    """A rotation whose participants take turns in the order given."""
    name = _check_name(name)
    zone(time_zone)
    if cadence not in Cadence.values:
        raise ValidationFailed("Cadence is daily or weekly.", fields={"cadence": "invalid"})
    if not 0 <= handoff_weekday <= 6:
        raise ValidationFailed("Weekdays are 0 (Monday) to 6.", fields={"handoff_weekday": "invalid"})
    if not participants:
        raise ValidationFailed("A rotation needs at least one person.", fields={"participants": "required"})
    if len({p.pk for p in participants}) != len(participants):
        raise ValidationFailed("Each person appears once.", fields={"participants": "duplicate"})
    if any(not _pageable(p) for p in participants):
        raise ValidationFailed(
            "Participants are active agents or admins.", fields={"participants": "not an agent"}
        )
    if Rotation.objects.filter(name=name).exists():
        raise Conflict("A rotation with this name exists.", code="duplicate_name", fields={"name": "taken"})
    rotation = Rotation.objects.create(
        name=name,
        team=team,
        time_zone=time_zone,
        cadence=cadence,
        handoff_time=handoff_time.replace(second=0, microsecond=0),
        handoff_weekday=handoff_weekday,
        starts_on=starts_on,
    )
    RotationParticipant.objects.bulk_create(
        RotationParticipant(rotation=rotation, agent=p, position=i) for i, p in enumerate(participants)
    )
    record_audit(
        actor,
        "rotation.created",
        "rotation",
        rotation.public_id,
        participants=[p.public_id for p in participants],
    )
    return rotation


@transaction.atomic
def add_override(
    rotation: Rotation,
    *,
    agent: User,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
    actor: User | None = None,
) -> RotationOverride:
    """``agent`` covers ``rotation`` from ``starts_at`` to ``ends_at`` (newest override wins)."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValidationFailed("Times need a UTC offset.", fields={"starts_at": "naive"})
    try:
        # PostgreSQL refuses odd offsets (+23:57); UTC is what is stored anyway.
        starts_at, ends_at = starts_at.astimezone(UTC), ends_at.astimezone(UTC)
    except OverflowError:
        raise ValidationFailed("The time is out of range.", fields={"starts_at": "out of range"}) from None
    if starts_at >= ends_at:
        raise ValidationFailed("An override ends after it starts.", fields={"ends_at": "before start"})
    if not _pageable(agent):
        raise ValidationFailed(
            "Only active agents or admins can be on call.", fields={"agent": "not an agent"}
        )
    override = RotationOverride.objects.create(
        rotation=rotation,
        agent=agent,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason.strip()[:250],
        created_by=actor,
    )
    record_audit(
        actor,
        "rotation.override_added",
        "rotation",
        rotation.public_id,
        agent=agent.public_id,
        starts_at=starts_at.isoformat(),
        ends_at=ends_at.isoformat(),
    )
    return override


@transaction.atomic
def set_oncall_webhook(agent: User, *, url: str, actor: User | None = None) -> OnCallContact:
    """Where ``agent``'s pages are also POSTed (empty to stop)."""
    contact, _ = OnCallContact.objects.get_or_create(agent=agent)
    contact.webhook_url = _check_url(url, "webhook_url")
    contact.save(update_fields=["webhook_url"])
    record_audit(actor, "oncall.webhook_set", "agent", agent.public_id, has_url=bool(contact.webhook_url))
    return contact


# --- escalation policies -------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelSpec:
    """One level as asked for: a rotation or a named agent, and its timings in minutes."""

    rotation: Rotation | None = None
    agent: User | None = None
    repage_after_minutes: int = 5
    move_up_after_minutes: int = 15


@transaction.atomic
def create_escalation_policy(
    *,
    name: str,
    levels: Sequence[LevelSpec],
    time_zone: str = "UTC",
    business_hours: dict[str, list[list[str]]] | None = None,
    team: Team | None = None,
    is_default: bool = False,
    webhook_url: str = "",
    final_page_limit: int = 6,
    calendar: BusinessCalendar | None = None,
    actor: User | None = None,
) -> EscalationPolicy:
    """A policy whose chain always ends at a named, active person."""
    name = _check_name(name)
    zone(time_zone)
    hours = clean_business_hours(business_hours or {})
    if not levels:
        raise ValidationFailed("A policy needs at least one level.", fields={"levels": "required"})
    for i, spec in enumerate(levels):
        key = f"levels.{i}"
        if (spec.rotation is None) == (spec.agent is None):
            raise ValidationFailed(
                "Each level pages a rotation or a named agent.", fields={key: "one target"}
            )
        if spec.agent is not None and not _pageable(spec.agent):
            raise ValidationFailed("Only active agents or admins can be paged.", fields={key: "not an agent"})
        for minutes, label in (
            (spec.repage_after_minutes, "repage"),
            (spec.move_up_after_minutes, "move up"),
        ):
            if not 1 <= minutes <= MAX_MINUTES:
                raise ValidationFailed(
                    f"The {label} delay is 1 to {MAX_MINUTES} minutes.", fields={key: label}
                )
    last = levels[-1]
    if last.agent is None or not _pageable(last.agent):
        raise ValidationFailed(
            "The last level must be a named, active person, so the chain always ends in a human.",
            code="chain_must_end_in_a_person",
            fields={f"levels.{len(levels) - 1}": "not a named person"},
        )
    if not 1 <= final_page_limit <= 100:
        raise ValidationFailed(
            "Page the final person 1 to 100 times.", fields={"final_page_limit": "out of range"}
        )
    if EscalationPolicy.objects.filter(name=name).exists():
        raise Conflict("A policy with this name exists.", code="duplicate_name", fields={"name": "taken"})
    if team is not None and EscalationPolicy.objects.filter(team=team).exists():
        raise Conflict("This team already has a policy.", code="team_has_policy", fields={"team": "taken"})
    if is_default and EscalationPolicy.objects.filter(is_default=True).exists():
        raise Conflict(
            "There is already a default policy.", code="default_exists", fields={"is_default": "taken"}
        )
    policy = EscalationPolicy.objects.create(
        name=name,
        team=team,
        is_default=is_default,
        time_zone=time_zone,
        business_hours=hours,
        webhook_url=_check_url(webhook_url, "webhook_url"),
        final_page_limit=final_page_limit,
        calendar=calendar,
    )
    EscalationLevel.objects.bulk_create(
        EscalationLevel(
            policy=policy,
            position=i + 1,
            rotation=spec.rotation,
            agent=spec.agent,
            repage_after_minutes=spec.repage_after_minutes,
            move_up_after_minutes=spec.move_up_after_minutes,
        )
        for i, spec in enumerate(levels)
    )
    record_audit(
        actor, "escalation_policy.created", "escalation_policy", policy.public_id, levels=len(levels)
    )
    return policy


def policy_for_ticket(ticket: Ticket) -> EscalationPolicy | None:
    """The ticket's team's policy, else the default one."""
    if ticket.team_id is not None:
        policy = EscalationPolicy.objects.filter(team_id=ticket.team_id).first()
        if policy is not None:
            return policy
    return EscalationPolicy.objects.filter(is_default=True).first()


# --- incidents and the escalation chain ---------------------------------------------------------


@dataclass
class Outcome:
    """What one pass did: pages to send now, and alerts to mail once the rows are committed."""

    page_ids: list[int] = field(default_factory=list)
    alerts: list[tuple[str, str]] = field(default_factory=list)


def consider_ticket(ticket_id: int, *, now: datetime, notify: bool = True) -> Incident | None:
    """Open an incident if this is an urgent ticket outside business hours. Safe to call twice."""
    if not notify:
        return None  # a blocked customer never pages anyone
    ticket = Ticket.objects.select_related("requester").filter(pk=ticket_id).first()
    if ticket is None or ticket.priority != Priority.URGENT or ticket.status_category in CLOSED_CATEGORIES:
        return None
    if ticket.is_flagged or ticket.requester.is_blocked:
        return None
    if Incident.objects.filter(ticket=ticket).exists():
        return None
    policy = policy_for_ticket(ticket)
    if policy is None:
        logger.warning("urgent ticket #%s has no escalation policy to page", ticket.number)
        return None
    if _open_for_business(policy, now):
        return None
    outcome = Outcome()
    incident = trigger_incident(ticket, policy, now=now, outcome=outcome)
    _finish(outcome, now)
    return incident


def _open_for_business(policy: EscalationPolicy, now: datetime) -> bool:
    """Inside business hours: by the shared calendar (holidays included) when the policy has
    one, else by the policy's own weekly hours."""
    if policy.calendar is not None:
        return is_open(policy.calendar.spec(), now)
    return in_business_hours(policy.business_hours, policy.time_zone, now)


@transaction.atomic
def trigger_incident(
    ticket: Ticket, policy: EscalationPolicy, *, now: datetime, outcome: Outcome | None = None
) -> Incident:
    """Create the ticket's incident (once) and claim the first page. Send with ``_finish``."""
    outcome = outcome if outcome is not None else Outcome()
    existing = Incident.objects.filter(ticket=ticket).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                ticket=ticket, policy=policy, triggered_at=now, level_started_at=now
            )
    except IntegrityError:  # another process triggered it a moment ago
        return Incident.objects.get(ticket=ticket)
    record_audit(
        None,
        "incident.triggered",
        "incident",
        incident.public_id,
        ticket=ticket.number,
        policy=policy.public_id,
    )
    events.emit("sla_oncall.incident_triggered", incident_id=incident.pk, ticket_id=ticket.pk)
    _advance(incident, now, outcome)
    return incident


def _recipient(level: EscalationLevel, at: datetime) -> User | None:
    person = level.agent if level.agent is not None else who_is_on_call(level.rotation, at)  # type: ignore[arg-type]
    return person if _pageable(person) else None


def _advance(incident: Incident, now: datetime, outcome: Outcome) -> None:
    """Bring a locked, triggered incident up to ``now``: move up levels and claim due pages.

    The schedule is computed from ``level_started_at``, so every step has one exact due time;
    after downtime the missed re-pages of a level collapse into its latest one.
    """
    policy = incident.policy
    levels = list(policy.levels.select_related("rotation", "agent").order_by("position"))
    before = (incident.current_level, incident.level_started_at, incident.exhausted_at)
    while True:
        position = incident.current_level
        level = levels[position - 1]
        final = position == len(levels)
        start = incident.level_started_at
        move_up = timedelta(minutes=level.move_up_after_minutes)
        if not final and now >= start + move_up:
            incident.current_level, incident.level_started_at = position + 1, start + move_up
            continue
        every = timedelta(minutes=level.repage_after_minutes)
        attempt = (now - start) // every + 1
        if final and attempt > policy.final_page_limit:
            attempt = policy.final_page_limit
            if now >= start + every * policy.final_page_limit:
                _exhausted(incident, now, outcome, "was paged the most times allowed and did not acknowledge")
        due = start + every * (attempt - 1)
        person = _recipient(level, due)
        if person is None:
            if not final:  # nobody to page here (an empty rotation, a deactivated agent): go up now
                incident.current_level = position + 1
                continue
            _exhausted(incident, now, outcome, "is no longer an active agent and cannot be paged")
            break
        _claim_pages(incident, position, attempt, person, due, outcome)
        break
    if (incident.current_level, incident.level_started_at, incident.exhausted_at) != before:
        incident.save(update_fields=["current_level", "level_started_at", "exhausted_at", "updated_at"])


def _claim_pages(
    incident: Incident, level: int, attempt: int, person: User, due: datetime, outcome: Outcome
) -> None:
    if Page.objects.filter(incident=incident, level=level, attempt=attempt).exists():
        return
    targets = [(PageChannel.EMAIL, person.email)]
    hook = webhook_target(incident.policy.webhook_url, person)
    if hook:
        targets.append((PageChannel.WEBHOOK, hook))
    for channel, target in targets:
        try:
            with transaction.atomic():
                page = Page.objects.create(
                    incident=incident,
                    level=level,
                    attempt=attempt,
                    channel=channel,
                    recipient=person,
                    target=target,
                    due_at=due,
                )
        except IntegrityError:  # a concurrent run claimed this step; it sends, we do not
            continue
        outcome.page_ids.append(page.pk)


def _exhausted(incident: Incident, now: datetime, outcome: Outcome, why: str) -> None:
    if incident.exhausted_at is not None:
        return
    incident.exhausted_at = now
    final = incident.policy.levels.order_by("-position").select_related("agent").first()
    who = final.agent if final is not None and final.agent is not None else "the final person"
    ticket = incident.ticket
    record_audit(None, "incident.exhausted", "incident", incident.public_id, ticket=ticket.number)
    events.emit("sla_oncall.escalation_exhausted", incident_id=incident.pk, ticket_id=ticket.pk)
    outcome.alerts.append(
        (
            f"Nobody acknowledged urgent ticket #{ticket.number}",
            f"Incident {incident.public_id} for ticket #{ticket.number} ({ticket.subject}) reached the end of "
            f"escalation policy {incident.policy.name}: {who} {why}. Someone must take it now.",
        )
    )


def deliver(page_ids: Sequence[int], now: datetime) -> None:
    """Send claimed pages, outside any transaction, recording each outcome."""
    for page in Page.objects.filter(pk__in=page_ids).select_related(
        "incident__ticket", "incident__policy", "recipient__oncall_contact"
    ):
        try:
            send_page(page)
        except Exception as exc:
            logger.warning("page %s failed: %s", page.public_id, exc)
            page.outcome, page.error = PageOutcome.FAILED, f"{type(exc).__name__}: {exc}"[:500]
            page.save(update_fields=["outcome", "error"])
        else:
            page.outcome, page.sent_at, page.error = PageOutcome.SENT, now, ""
            page.save(update_fields=["outcome", "sent_at", "error"])


def _finish(outcome: Outcome, now: datetime) -> None:
    deliver(outcome.page_ids, now)
    for subject, body in outcome.alerts:
        alert_admins(subject, body, now=now)


def _retry_failed(now: datetime) -> list[int]:
    """Claim failed pages of live incidents for another try (a conditional update, so once)."""
    claimed = []
    candidates = Page.objects.filter(
        outcome=PageOutcome.FAILED, tries__lt=Page.MAX_TRIES, incident__state=IncidentState.TRIGGERED
    ).values_list("pk", flat=True)
    for pk in list(candidates):
        if Page.objects.filter(pk=pk, outcome=PageOutcome.FAILED).update(
            outcome=PageOutcome.SENDING, tries=F("tries") + 1
        ):
            claimed.append(pk)
    return claimed


def escalate(now: datetime) -> int:
    """The every-minute job: re-page, move up the chain, retry failed sends. Returns pages sent.

    Each incident is advanced in its own transaction under a row lock; page rows are committed
    before anything is sent, so running twice (or on two machines) sends each step once.
    """
    outcome = Outcome()
    for pk in list(Incident.objects.filter(state=IncidentState.TRIGGERED).values_list("pk", flat=True)):
        with transaction.atomic():
            incident = (
                Incident.objects.select_for_update(of=("self",))
                .select_related("policy", "ticket")
                .filter(pk=pk, state=IncidentState.TRIGGERED)
                .first()
            )
            if incident is None:
                continue
            if incident.ticket.status_category in CLOSED_CATEGORIES:
                incident.state, incident.resolved_at = IncidentState.RESOLVED, now
                incident.save(update_fields=["state", "resolved_at", "updated_at"])
                record_audit(
                    None, "incident.resolved", "incident", incident.public_id, reason="ticket solved"
                )
                continue
            _advance(incident, now, outcome)
    outcome.page_ids.extend(_retry_failed(now))
    _finish(outcome, now)
    return len(outcome.page_ids)


@transaction.atomic
def acknowledge_incident(incident: Incident, *, by: User, now: datetime, via: str = "api") -> Incident:
    """``by`` takes the incident: paging stops. Acknowledging twice changes nothing."""
    if not (by.is_active and by.is_agent):
        raise Forbidden("Only agents may acknowledge.", code="agents_only")
    incident = Incident.objects.select_for_update(of=("self",)).select_related("ticket").get(pk=incident.pk)
    if incident.state != IncidentState.TRIGGERED:
        return incident
    incident.state, incident.acknowledged_at = IncidentState.ACKNOWLEDGED, now
    incident.acknowledged_by, incident.acknowledged_via = by, via
    incident.save(
        update_fields=["state", "acknowledged_at", "acknowledged_by", "acknowledged_via", "updated_at"]
    )
    record_audit(
        by, "incident.acknowledged", "incident", incident.public_id, via=via, level=incident.current_level
    )
    events.emit("sla_oncall.incident_acknowledged", incident_id=incident.pk, user_id=by.pk)
    drill = Drill.objects.select_for_update().filter(ticket=incident.ticket).first()
    if drill is not None and drill.acknowledged_at is None:
        _finish_drill(drill, by=by, now=now)
    return incident


# --- drills --------------------------------------------------------------------------------------


def _drill_customer(actor: User | None) -> Customer:
    customer = find_customer_by_identity("email", DRILL_EMAIL)
    if customer is None:
        customer = create_customer(name="Regulars drill", emails=[DRILL_EMAIL], actor=actor)
    return customer


def _finish_drill(drill: Drill, *, by: User, now: datetime) -> None:
    drill.acknowledged_at, drill.acknowledged_by = now, by
    drill.seconds = max(0, int((now - drill.started_at).total_seconds()))
    if drill.state == DrillState.RUNNING:
        drill.state = DrillState.PASSED
    drill.save(update_fields=["acknowledged_at", "acknowledged_by", "seconds", "state"])
    record_audit(by, "drill.acknowledged", "drill", drill.public_id, seconds=drill.seconds)
    # The synthetic ticket has done its job; solve it so it never sits in a real queue.
    ticket = drill.ticket
    solver = by
    if not visible_tickets(by).filter(pk=ticket.pk).exists():
        solver = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("id").first() or by
    update_ticket(ticket, actor=solver, status=default_status(StatusCategory.SOLVED))


def start_drill(
    policy: EscalationPolicy,
    *,
    now: datetime,
    actor: User | None = None,
    plan: DrillPlan | None = None,
    slot: datetime | None = None,
    deadline_minutes: int = 30,
) -> Drill:
    """Send a synthetic urgent ticket through the real escalation path, and page now.

    A drill pages whatever the hour (it tests the path, not the clock). Raises ``Conflict`` when
    the plan's slot already has its drill.
    """
    if actor is not None and not actor.is_admin:
        raise Forbidden("Only admins may start a drill.", code="admins_only")
    outcome = Outcome()
    try:
        with transaction.atomic():
            ticket = open_ticket(
                subject="Drill: is anyone there? (after-hours self-test)",
                body=(
                    "This is a scheduled test of the after-hours path. Acknowledge the page to pass the drill; "
                    "the ticket is then solved automatically."
                ),
                requester=_drill_customer(actor),
                actor=actor,
                priority=Priority.URGENT,
                priority_reason="on-call drill",
                ticket_type=TicketType.TASK,
                team=policy.team,
                tags=[DRILL_TAG],
            )
            drill = Drill.objects.create(
                plan=plan,
                slot=slot,
                policy=policy,
                ticket=ticket,
                started_at=now,
                deadline_at=now + timedelta(minutes=deadline_minutes),
                started_by=actor,
            )
            record_audit(actor, "drill.started", "drill", drill.public_id, ticket=ticket.number)
            trigger_incident(ticket, policy, now=now, outcome=outcome)
    except IntegrityError:
        raise Conflict("This drill already ran.", code="drill_exists") from None
    _finish(outcome, now)
    return drill


def run_drill_plans(now: datetime) -> list[Drill]:
    """Start each active plan's drill for its latest slot, once; slots older than the deadline are skipped."""
    started = []
    for plan in DrillPlan.objects.filter(is_active=True).select_related("policy").order_by("id"):
        local = now.astimezone(zone(plan.time_zone))
        slot: datetime = croniter(plan.cron, local).get_prev(datetime)
        if croniter.match(plan.cron, local.replace(second=0, microsecond=0)):
            slot = local.replace(second=0, microsecond=0)
        if slot < plan.created_at or now - slot >= timedelta(minutes=plan.deadline_minutes):
            continue
        if Drill.objects.filter(plan=plan, slot=slot).exists():
            continue
        try:
            started.append(
                start_drill(
                    plan.policy, now=now, plan=plan, slot=slot, deadline_minutes=plan.deadline_minutes
                )
            )
        except Conflict:
            continue  # another worker started it
    return started


def check_drills(now: datetime) -> list[Drill]:
    """Fail each running drill whose deadline passed: a row, an event and an email to every admin."""
    failed = []
    for drill in Drill.objects.filter(state=DrillState.RUNNING, deadline_at__lte=now).select_related(
        "ticket"
    ):
        with transaction.atomic():
            if not Drill.objects.filter(pk=drill.pk, state=DrillState.RUNNING).update(
                state=DrillState.FAILED, failed_at=now
            ):
                continue
            record_audit(None, "drill.failed", "drill", drill.public_id, ticket=drill.ticket.number)
            events.emit("sla_oncall.drill_failed", drill_id=drill.pk, ticket_id=drill.ticket_id)
        drill.refresh_from_db()
        failed.append(drill)
        alert_admins(
            "On-call drill FAILED: nobody acknowledged",
            f"Drill {drill.public_id} started at {drill.started_at.isoformat()} (ticket #{drill.ticket.number}) "
            f"was not acknowledged by {drill.deadline_at.isoformat()}. After-hours customers would have reached "
            "nobody. Check the rotation, the escalation policy and everyone's notification settings.",
            now=now,
        )
    return failed
