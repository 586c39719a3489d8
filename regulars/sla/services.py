"""Writes of the SLA context: calendars, policies, ticket clocks, events, suppliers.

Ticket clocks are derived, never edited: ``sync_ticket_slas`` reads a ticket's messages and
status history (the source of truth) and stores the anchors; ``clocks.compute`` turns anchors
into due times. Event handlers, the periodic reconcile and the full recompute all call the same
functions, so a missed event is repaired on the next run rather than drifting.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from regulars.accounts.models import User
from regulars.accounts.services import record_audit
from regulars.core import events
from regulars.core.errors import Conflict, Forbidden, ValidationFailed
from regulars.customers.models import Customer, Organisation
from regulars.sla.business_time import WEEKDAYS, add_business_time, parse_day_hours
from regulars.sla.clocks import BIT, TARGET_BITS, Outcome, Pause, PolicyBook, compute, parse_pauses
from regulars.sla.models import (
    TARGETS,
    BusinessCalendar,
    CalendarException,
    SlaEventLog,
    SlaPolicy,
    SlaSyncState,
    Supplier,
    SupplierWait,
    TargetState,
    TicketSla,
)
from regulars.tickets.models import (
    Channel,
    Message,
    Priority,
    Status,
    StatusCategory,
    Ticket,
    TicketEvent,
    TicketType,
)

logger = logging.getLogger(__name__)

# The customer's clock stops while we wait on the customer (pending), while an agent put the
# ticket on hold, and once it is solved or closed. Waiting on a supplier is NOT a pause: the
# customer's clock keeps running against us unless an agent chooses "on hold".
PAUSED_CATEGORIES = frozenset(
    {StatusCategory.PENDING, StatusCategory.ON_HOLD, StatusCategory.SOLVED, StatusCategory.CLOSED}
)
RECONCILE_OVERLAP = timedelta(minutes=5)  # covers transactions that committed after a run started
SYNC_KEY = "tickets"


# --- calendars -------------------------------------------------------------------------------


def _check_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"Unknown time zone {name!r}.", fields={"time_zone": "unknown"}) from None
    return name


def _check_weekly(hours: Any) -> dict[str, list[list[str]]]:
    if not isinstance(hours, dict) or set(hours) - set(WEEKDAYS):
        raise ValidationFailed(
            "Weekly hours map mon..sun to [[HH:MM, HH:MM], ...].", fields={"weekly_hours": "invalid"}
        )
    cleaned: dict[str, list[list[str]]] = {}
    for day, pairs in hours.items():
        try:
            parse_day_hours([tuple(p) for p in pairs])
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(f"{day}: {exc}", fields={f"weekly_hours.{day}": "invalid"}) from None
        cleaned[day] = [[str(a), str(b)] for a, b in pairs]
    return cleaned


def _check_holidays(country: str, subdivision: str) -> None:
    if not country:
        if subdivision:
            raise ValidationFailed(
                "A subdivision needs a country.", fields={"holiday_subdivision": "invalid"}
            )
        return
    supported = holidays_lib.list_supported_countries()
    if country not in supported:
        raise ValidationFailed(f"No holidays known for {country!r}.", fields={"holiday_country": "unknown"})
    if subdivision and subdivision not in supported[country]:
        raise ValidationFailed(
            f"{country} has no subdivision {subdivision!r}.", fields={"holiday_subdivision": "unknown"}
        )


def _set_exceptions(calendar: BusinessCalendar, exceptions: Iterable[dict[str, Any]]) -> None:
    rows = []
    for item in exceptions:
        try:
            hours = item.get("hours") or []
            parse_day_hours([tuple(p) for p in hours])
            rows.append(
                CalendarException(
                    calendar=calendar, date=item["date"], name=item.get("name", ""), hours=hours
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationFailed(f"Bad exception: {exc}", fields={"exceptions": "invalid"}) from None
    if len({r.date for r in rows}) != len(rows):
        raise ValidationFailed("One exception per date.", fields={"exceptions": "duplicate date"})
    calendar.exceptions.all().delete()
    CalendarException.objects.bulk_create(rows)


def _require_admin(actor: User | None) -> None:
    if actor is not None and not actor.is_admin:
        raise Forbidden("Only admins may change service levels.", code="admins_only")


@transaction.atomic
def create_calendar(
    *,
    name: str,
    time_zone: str = "UTC",
    weekly_hours: dict[str, list[list[str]]] | None = None,
    holiday_country: str = "",
    holiday_subdivision: str = "",
    exceptions: Iterable[dict[str, Any]] = (),
    actor: User | None = None,
) -> BusinessCalendar:
    _require_admin(actor)
    name = name.strip()
    if not name:
        raise ValidationFailed("A calendar needs a name.", fields={"name": "required"})
    if BusinessCalendar.objects.filter(name=name).exists():
        raise Conflict("A calendar with this name exists.", code="name_taken")
    _check_holidays(holiday_country, holiday_subdivision)
    calendar = BusinessCalendar.objects.create(
        name=name,
        time_zone=_check_time_zone(time_zone),
        weekly_hours=_check_weekly(weekly_hours or {}),
        holiday_country=holiday_country,
        holiday_subdivision=holiday_subdivision,
    )
    _set_exceptions(calendar, exceptions)
    record_audit(actor, "sla.calendar_created", "calendar", calendar.public_id, name=name)
    return calendar


@transaction.atomic
def update_calendar(
    calendar: BusinessCalendar, *, actor: User | None = None, **changes: Any
) -> BusinessCalendar:
    _require_admin(actor)
    allowed = {"name", "time_zone", "weekly_hours", "holiday_country", "holiday_subdivision", "exceptions"}
    if set(changes) - allowed:
        raise ValidationFailed(
            "Unknown fields.", fields={k: "unknown" for k in sorted(set(changes) - allowed)}
        )
    calendar = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
    fields: list[str] = []
    if "name" in changes:
        name = str(changes["name"]).strip()
        if not name:
            raise ValidationFailed("A calendar needs a name.", fields={"name": "required"})
        if BusinessCalendar.objects.filter(name=name).exclude(pk=calendar.pk).exists():
            raise Conflict("A calendar with this name exists.", code="name_taken")
        calendar.name = name
        fields.append("name")
    if "time_zone" in changes:
        calendar.time_zone = _check_time_zone(changes["time_zone"])
        fields.append("time_zone")
    if "weekly_hours" in changes:
        calendar.weekly_hours = _check_weekly(changes["weekly_hours"])
        fields.append("weekly_hours")
    for key in ("holiday_country", "holiday_subdivision"):
        if key in changes:
            setattr(calendar, key, changes[key] or "")
            fields.append(key)
    _check_holidays(calendar.holiday_country, calendar.holiday_subdivision)
    if "exceptions" in changes:
        _set_exceptions(calendar, changes["exceptions"] or [])
    calendar.save(update_fields=[*fields, "updated_at"])
    record_audit(actor, "sla.calendar_updated", "calendar", calendar.public_id, fields=sorted(changes))
    request_full_recompute()
    return calendar


# --- policies --------------------------------------------------------------------------------

POLICY_FIELDS = frozenset(
    {"name", "position", "is_active", "plan", "priority", "channel", "conditions", "calendar",
     "first_reply_minutes", "first_reply_business", "next_reply_minutes", "next_reply_business",
     "resolution_minutes", "resolution_business", "at_risk_share"}
)  # fmt: skip


def _apply_policy_fields(policy: SlaPolicy, changes: dict[str, Any]) -> None:
    unknown = set(changes) - POLICY_FIELDS
    if unknown:
        raise ValidationFailed("Unknown fields.", fields={k: "unknown" for k in sorted(unknown)})
    for key, value in changes.items():
        setattr(policy, key, value)
    policy.name = (policy.name or "").strip()
    if not policy.name:
        raise ValidationFailed("A policy needs a name.", fields={"name": "required"})
    if SlaPolicy.objects.filter(name=policy.name).exclude(pk=policy.pk).exists():
        raise Conflict("A policy with this name exists.", code="name_taken")
    if policy.priority and policy.priority not in Priority.values:
        raise ValidationFailed("Unknown priority.", fields={"priority": "invalid"})
    if policy.channel and policy.channel not in Channel.values:
        raise ValidationFailed("Unknown channel.", fields={"channel": "invalid"})
    conditions = policy.conditions or {}
    if not isinstance(conditions, dict) or set(conditions) - {"ticket_types", "tags"}:
        raise ValidationFailed("Conditions may name ticket_types and tags.", fields={"conditions": "invalid"})
    if set(conditions.get("ticket_types") or []) - set(TicketType.values):
        raise ValidationFailed("Unknown ticket type.", fields={"conditions.ticket_types": "invalid"})
    policy.conditions = conditions
    if not 0 < policy.at_risk_share < 1:
        raise ValidationFailed("The at-risk share is between 0 and 1.", fields={"at_risk_share": "invalid"})
    for target in TARGETS:
        minutes = getattr(policy, f"{target}_minutes")
        if minutes is not None and minutes <= 0:
            raise ValidationFailed("Targets are positive minutes.", fields={f"{target}_minutes": "invalid"})


@transaction.atomic
def create_policy(*, actor: User | None = None, **fields: Any) -> SlaPolicy:
    _require_admin(actor)
    policy = SlaPolicy()
    _apply_policy_fields(policy, fields)
    policy.save()
    record_audit(actor, "sla.policy_created", "sla_policy", policy.public_id, name=policy.name)
    request_full_recompute()
    return policy


@transaction.atomic
def update_policy(policy: SlaPolicy, *, actor: User | None = None, **changes: Any) -> SlaPolicy:
    _require_admin(actor)
    policy = SlaPolicy.objects.select_for_update().get(pk=policy.pk)
    _apply_policy_fields(policy, changes)
    policy.save(update_fields=[*changes, "updated_at"])
    record_audit(actor, "sla.policy_updated", "sla_policy", policy.public_id, fields=sorted(changes))
    request_full_recompute()
    return policy


@transaction.atomic
def delete_policy(policy: SlaPolicy, *, actor: User | None = None) -> None:
    _require_admin(actor)
    record_audit(actor, "sla.policy_deleted", "sla_policy", policy.public_id, name=policy.name)
    policy.delete()
    request_full_recompute()


def request_full_recompute() -> None:
    """Ask the next periodic run to recompute every open ticket (a policy or calendar changed)."""
    state, _ = SlaSyncState.objects.get_or_create(key=SYNC_KEY)
    if not state.full_recompute_requested:
        state.full_recompute_requested = True
        state.save(update_fields=["full_recompute_requested"])


# --- ticket clocks: anchors from the source of truth -----------------------------------------


@dataclass
class Anchors:
    first_reply_at: datetime | None = None
    next_reply_cycle: int = 0
    next_reply_from: datetime | None = None
    next_reply_replied_at: datetime | None = None
    pauses: list[Pause] = field(default_factory=list)


def _replies(anchors: Anchors, replies: Sequence[tuple[str, datetime]]) -> None:
    awaiting = False
    for author_type, at in replies:
        if author_type == Message.AuthorType.AGENT:
            if anchors.first_reply_at is None:
                anchors.first_reply_at = at
            elif awaiting:
                anchors.next_reply_replied_at, awaiting = at, False
        elif (
            author_type == Message.AuthorType.CUSTOMER and anchors.first_reply_at is not None and not awaiting
        ):
            anchors.next_reply_cycle += 1
            anchors.next_reply_from, anchors.next_reply_replied_at, awaiting = at, None, True


def _pauses(changes: Sequence[tuple[str, datetime]], current: str, updated_at: datetime) -> list[Pause]:
    """Pause periods from the status categories a ticket went through, in order."""
    pauses: list[Pause] = []
    paused_since: datetime | None = None
    last = None
    for category, at in [*changes, (current, updated_at)]:
        if category == last:
            continue
        last = category
        if category in PAUSED_CATEGORIES and paused_since is None:
            paused_since = at
        elif category not in PAUSED_CATEGORIES and paused_since is not None:
            pauses.append((paused_since, at))
            paused_since = None
    if paused_since is not None:
        pauses.append((paused_since, None))
    return pauses


def _anchors_for(tickets: Sequence[Ticket]) -> dict[int, Anchors]:
    ids = [t.pk for t in tickets]
    category_of = dict(Status.objects.values_list("slug", "category"))
    replies: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    for ticket_id, author_type, created_at in (
        Message.objects.filter(ticket_id__in=ids, kind=Message.Kind.REPLY)
        .order_by("created_at", "id")
        .values_list("ticket_id", "author_type", "created_at")
    ):
        replies[ticket_id].append((author_type, created_at))
    changes: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    for ticket_id, action, new, created_at in (
        TicketEvent.objects.filter(ticket_id__in=ids)
        .filter(Q(action="created") | Q(field="status"))
        .order_by("id")
        .values_list("ticket_id", "action", "new", "created_at")
    ):
        if action == "created" and isinstance(new, dict):
            slug = new.get("status")
        elif action == "merged_into":
            slug = "__closed__"
        else:
            slug = new if isinstance(new, str) else None
        category = StatusCategory.CLOSED if slug == "__closed__" else category_of.get(str(slug))
        if category:
            changes[ticket_id].append((category, created_at))
    result = {}
    for ticket in tickets:
        anchors = Anchors()
        _replies(anchors, replies[ticket.pk])
        anchors.pauses = _pauses(changes[ticket.pk], ticket.status_category, ticket.updated_at)
        result[ticket.pk] = anchors
    return result


def _serialise_pauses(pauses: Sequence[Pause]) -> list[list[str | None]]:
    return [[start.isoformat(), end.isoformat() if end else None] for start, end in pauses]


def _apply_outcome(row: TicketSla, outcome: Outcome, now: datetime) -> None:
    row.policy_id = outcome.policy_id
    for name, clock in outcome.targets.items():
        setattr(row, f"{name}_due", clock.due)
        setattr(row, f"{name}_at_risk_at", clock.at_risk_at)
        setattr(row, f"{name}_state", clock.state)
    row.is_paused = outcome.is_paused
    row.elapsed_business = outcome.elapsed_business
    row.next_check_at = outcome.next_check_at
    row.computed_at = now


def _compute_row(book: PolicyBook, row: TicketSla, now: datetime) -> Outcome:
    return compute(
        book,
        now=now,
        plan_id=row.plan_id,
        priority=row.priority,
        channel=row.channel,
        ticket_type=row.ticket_type,
        tags=row.tags,
        started_at=row.started_at,
        first_reply_at=row.first_reply_at,
        next_reply_from=row.next_reply_from,
        next_reply_replied_at=row.next_reply_replied_at,
        resolved_at=row.resolved_at,
        pauses=parse_pauses(row.pauses),
        notified=row.notified,
    )


def _plan_id(customer: Customer) -> int | None:
    if customer.plan_id is not None:
        return customer.plan_id
    return customer.organisation.plan_id if customer.organisation is not None else None


def sync_ticket_slas(
    ticket_ids: Iterable[int], *, now: datetime | None = None, book: PolicyBook | None = None
) -> int:
    """Re-derive the clocks of these tickets from their messages and history. Idempotent."""
    now = now or timezone.now()
    ids = sorted({i for i in ticket_ids if i is not None})
    if not ids:
        return 0
    book = book or PolicyBook()
    done = 0
    for offset in range(0, len(ids), 500):
        chunk = ids[offset : offset + 500]
        with transaction.atomic():
            tickets = list(
                Ticket.objects.filter(pk__in=chunk).select_related("requester__organisation").order_by("pk")
            )
            tags: dict[int, list[str]] = defaultdict(list)
            for ticket_id, name in Ticket.tags.through.objects.filter(ticket_id__in=chunk).values_list(
                "ticket_id", "tag__name"
            ):
                tags[ticket_id].append(name)
            anchors = _anchors_for(tickets)
            existing = {
                row.ticket_id: row
                for row in TicketSla.objects.select_for_update().filter(ticket_id__in=chunk)
            }
            for ticket in tickets:
                row = existing.get(ticket.pk) or TicketSla(ticket=ticket, started_at=ticket.created_at)
                a = anchors[ticket.pk]
                if row.next_reply_cycle != a.next_reply_cycle:
                    row.notified &= ~TARGET_BITS["next_reply"]  # a new round may be announced again
                row.is_open = ticket.status_category != StatusCategory.CLOSED
                row.priority, row.channel, row.ticket_type = (
                    ticket.priority,
                    ticket.channel,
                    ticket.ticket_type,
                )
                row.plan_id = _plan_id(ticket.requester)
                row.tags = sorted(tags[ticket.pk])
                row.started_at = ticket.created_at
                row.first_reply_at = a.first_reply_at
                row.next_reply_cycle = a.next_reply_cycle
                row.next_reply_from = a.next_reply_from
                row.next_reply_replied_at = a.next_reply_replied_at
                row.resolved_at = ticket.solved_at
                row.pauses = _serialise_pauses(a.pauses)
                _apply_outcome(row, _compute_row(book, row, now), now)
                row.save()  # a full row: every field here is derived together
                done += 1
    return done


def ticket_sla(ticket: Ticket, *, now: datetime | None = None) -> TicketSla:
    """The ticket's clocks, creating them if an event was missed."""
    row = TicketSla.objects.filter(ticket=ticket).first()
    if row is None:
        sync_ticket_slas([ticket.pk], now=now)
        row = TicketSla.objects.get(ticket=ticket)
    return row


# --- the full recompute (policy or calendar changed; the bench) ------------------------------

_FULL_FIELDS = (
    "ticket_id", "policy_id", "plan_id", "priority", "channel", "ticket_type", "tags", "started_at",
    "first_reply_at", "next_reply_from", "next_reply_replied_at", "resolved_at", "pauses", "notified",
    "first_reply_due", "first_reply_at_risk_at", "first_reply_state", "next_reply_due",
    "next_reply_at_risk_at", "next_reply_state", "resolution_due", "resolution_at_risk_at",
    "resolution_state", "is_paused", "next_check_at",
)  # fmt: skip
_WRITTEN = (
    "policy_id", "first_reply_due", "first_reply_at_risk_at", "first_reply_state", "next_reply_due",
    "next_reply_at_risk_at", "next_reply_state", "resolution_due", "resolution_at_risk_at",
    "resolution_state", "is_paused", "next_check_at", "elapsed_business", "computed_at",
)  # fmt: skip


def _outcome_values(outcome: Outcome) -> dict[str, Any]:
    values: dict[str, Any] = {"policy_id": outcome.policy_id}
    for name, clock in outcome.targets.items():
        values[f"{name}_due"] = clock.due
        values[f"{name}_at_risk_at"] = clock.at_risk_at
        values[f"{name}_state"] = clock.state
    values["is_paused"] = outcome.is_paused
    values["next_check_at"] = outcome.next_check_at
    return values


_DURATION = models.DurationField()


def _db_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, timedelta):
        return _DURATION.get_db_prep_value(value, connection)
    return value


def _reader() -> Any:
    """Fast datetime reading for raw rows: SQLite gives naive UTC text, PostgreSQL datetimes."""

    def from_text(value: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value.astimezone(UTC) if isinstance(value, datetime) else None
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    return from_text


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def recompute_open_slas(
    *, now: datetime | None = None, batch: int = 5000, book: PolicyBook | None = None
) -> dict[str, int]:
    """Recompute due times and states of every open ticket from its stored anchors.

    Reads this table only (no joins), computes in memory and writes only the rows whose due
    times, states or policy changed, so a pass that finds nothing new costs reads and arithmetic.
    """
    now = now or timezone.now()
    book = book or PolicyBook()
    seen = changed = 0
    last = 0
    set_clause = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in _WRITTEN)
    sql = f"UPDATE {TicketSla._meta.db_table} SET {set_clause} WHERE ticket_id = %s"  # noqa: S608 (fixed names)
    table = TicketSla._meta.db_table
    columns = ", ".join(connection.ops.quote_name(c) for c in _FULL_FIELDS)
    select = (
        f"SELECT {columns} FROM {table} WHERE is_open = %s AND ticket_id > %s "  # noqa: S608 (fixed names)
        "ORDER BY ticket_id LIMIT %s"
    )
    as_dt = _reader()
    dt_columns = [c for c in _FULL_FIELDS if c.endswith(("_at", "_due", "_from"))]
    while True:
        with connection.cursor() as cursor:
            cursor.execute(select, [True, last, batch])
            raw = cursor.fetchall()
        if not raw:
            break
        last = raw[-1][0]
        updates = []
        for values_row in raw:
            row = dict(zip(_FULL_FIELDS, values_row, strict=True))
            for c in dt_columns:
                row[c] = as_dt(row[c])
            seen += 1
            kwargs: dict[str, Any] = {
                "plan_id": row["plan_id"],
                "priority": row["priority"],
                "channel": row["channel"],
                "ticket_type": row["ticket_type"],
                "tags": _json(row["tags"]),
                "started_at": row["started_at"],
                "first_reply_at": row["first_reply_at"],
                "next_reply_from": row["next_reply_from"],
                "next_reply_replied_at": row["next_reply_replied_at"],
                "resolved_at": row["resolved_at"],
                "pauses": parse_pauses(_json(row["pauses"])) if row["pauses"] not in (None, "[]", []) else [],
                "notified": row["notified"],
            }
            outcome = compute(book, now=now, with_elapsed=False, **kwargs)
            values = _outcome_values(outcome)
            if any(row[k] != v for k, v in values.items()):
                values["elapsed_business"] = compute(book, now=now, **kwargs).elapsed_business
                values["computed_at"] = now
                updates.append([_db_value(values[c]) for c in _WRITTEN] + [row["ticket_id"]])
        if updates:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(sql, updates)
            changed += len(updates)
    return {"seen": seen, "changed": changed}


# --- the periodic reconcile: only what changed since the watermark ---------------------------


def reconcile_changed(*, now: datetime | None = None, book: PolicyBook | None = None) -> int:
    """Sync tickets (and the tickets of customers and organisations) updated since the last run.

    Work is proportional to what changed, not to open tickets. The watermark trails by a few
    minutes so a transaction that committed late is not skipped; syncing twice is harmless.
    """
    now = now or timezone.now()
    state, _ = SlaSyncState.objects.get_or_create(key=SYNC_KEY)
    since = (state.watermark - RECONCILE_OVERLAP) if state.watermark else None
    tickets = Ticket.objects.all()
    if since is not None:
        changed_customers = Customer.objects.filter(updated_at__gt=since).values("pk")
        changed_orgs = Organisation.objects.filter(updated_at__gt=since).values("pk")
        tickets = tickets.filter(
            Q(updated_at__gt=since)
            | (
                ~Q(status_category=StatusCategory.CLOSED)
                & (Q(requester__in=changed_customers) | Q(requester__organisation__in=changed_orgs))
            )
        )
    ids = list(tickets.values_list("pk", flat=True))
    count = sync_ticket_slas(ids, now=now, book=book)
    state.watermark = now
    state.save(update_fields=["watermark"])
    return count


# --- at-risk and breach events, exactly once -------------------------------------------------


def _stop(row: TicketSla, target: str) -> datetime | None:
    return {
        "first_reply": row.first_reply_at,
        "next_reply": row.next_reply_replied_at,
        "resolution": row.resolved_at,
    }[target]


def _fire(row: TicketSla, target: str, kind: str, due: datetime | None) -> bool:
    cycle = row.next_reply_cycle if target == "next_reply" else 0
    try:
        with transaction.atomic():
            SlaEventLog.objects.create(
                ticket_id=row.ticket_id, target=target, kind=kind, cycle=cycle, due_at=due
            )
            events.emit(f"sla.{kind}", ticket_id=row.ticket_id, target=target, cycle=cycle, due_at=due)
    except IntegrityError:
        return False  # someone (another worker, an earlier run) already announced it
    return True


def raise_due_events(*, now: datetime | None = None) -> list[tuple[int, str, str]]:
    """Raise ``sla.at_risk`` / ``sla.breached`` for every threshold passed and not yet announced.

    It compares stored thresholds with ``now``, not with the previous run, so breaches that
    happened while nothing was running are raised when it comes back. An at-risk warning whose
    breach has already happened is skipped: the breach says more.
    """
    now = now or timezone.now()
    fired: list[tuple[int, str, str]] = []
    last = 0
    while True:
        rows = list(
            TicketSla.objects.filter(next_check_at__lte=now, ticket_id__gt=last).order_by("ticket_id")[:1000]
        )
        if not rows:
            return fired
        last = rows[-1].ticket_id
        for row in rows:
            with transaction.atomic():
                row = TicketSla.objects.select_for_update().get(pk=row.pk)
                checks: list[datetime] = []
                for target in TARGETS:
                    due: datetime | None = getattr(row, f"{target}_due")
                    risk: datetime | None = getattr(row, f"{target}_at_risk_at")
                    stop = _stop(row, target)
                    breach_bit, risk_bit = BIT[(target, "breached")], BIT[(target, "at_risk")]
                    if due is None or row.notified & breach_bit:
                        continue
                    late = stop > due if stop is not None else now >= due
                    if late:
                        if _fire(row, target, "breached", due):
                            fired.append((row.ticket_id, target, "breached"))
                        row.notified |= breach_bit | risk_bit
                        setattr(row, f"{target}_state", TargetState.BREACHED)
                        continue
                    if stop is not None:
                        continue
                    if risk is not None and not row.notified & risk_bit and now >= risk:
                        if _fire(row, target, "at_risk", due):
                            fired.append((row.ticket_id, target, "at_risk"))
                        row.notified |= risk_bit
                        setattr(row, f"{target}_state", TargetState.AT_RISK)
                    checks.append(due)
                    if risk is not None and not row.notified & risk_bit:
                        checks.append(risk)
                row.next_check_at = min(checks) if checks else None
                row.save(update_fields=["notified", "next_check_at", *(f"{t}_state" for t in TARGETS)])


def run_clocks(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic job: reconcile what changed, recompute all if asked, raise due events."""
    now = now or timezone.now()
    book = PolicyBook()
    result = {"synced": reconcile_changed(now=now, book=book)}
    state = SlaSyncState.objects.get(key=SYNC_KEY)
    if state.full_recompute_requested:
        # Clear the flag first: a change made while we recompute asks again and is not lost.
        SlaSyncState.objects.filter(pk=state.pk).update(full_recompute_requested=False)
        result.update(recompute_open_slas(now=now, book=book))
    result["events"] = len(raise_due_events(now=now))
    return result


# --- suppliers -------------------------------------------------------------------------------


@transaction.atomic
def create_supplier(
    *,
    name: str,
    contact_email: str = "",
    calendar: BusinessCalendar | None = None,
    response_minutes: int | None = None,
    resolution_minutes: int | None = None,
    actor: User | None = None,
) -> Supplier:
    _require_admin(actor)
    name = name.strip()
    if not name:
        raise ValidationFailed("A supplier needs a name.", fields={"name": "required"})
    if Supplier.objects.filter(name=name).exists():
        raise Conflict("A supplier with this name exists.", code="name_taken")
    for key, value in (("response_minutes", response_minutes), ("resolution_minutes", resolution_minutes)):
        if value is not None and value <= 0:
            raise ValidationFailed("Targets are positive minutes.", fields={key: "invalid"})
    supplier = Supplier.objects.create(
        name=name,
        contact_email=contact_email,
        calendar=calendar,
        response_minutes=response_minutes,
        resolution_minutes=resolution_minutes,
    )
    record_audit(actor, "sla.supplier_created", "supplier", supplier.public_id, name=name)
    return supplier


def _supplier_due(supplier: Supplier, start: datetime, minutes: int | None) -> datetime | None:
    if not minutes:
        return None
    spec = supplier.calendar.spec() if supplier.calendar is not None else None
    if spec is None:
        return start + timedelta(minutes=minutes)
    return add_business_time(spec, start, timedelta(minutes=minutes))


def _require_full_agent(actor: User) -> None:
    if not actor.is_agent or actor.role == "light_agent":
        raise Forbidden("Only agents may track supplier waits.", code="agents_only")


@transaction.atomic
def start_supplier_wait(
    ticket: Ticket, supplier: Supplier, *, actor: User, reference: str = "", now: datetime | None = None
) -> SupplierWait:
    """The ticket now waits on ``supplier``. This does not pause the customer's SLA: put the
    ticket on hold for that, a deliberate choice by an agent."""
    _require_full_agent(actor)
    now = now or timezone.now()
    if not supplier.is_active:
        raise Conflict("This supplier is inactive.", code="supplier_inactive")
    if (
        SupplierWait.objects.filter(ticket=ticket, supplier=supplier)
        .exclude(state=SupplierWait.State.RESOLVED)
        .exists()
    ):
        raise Conflict("This ticket already waits on this supplier.", code="already_waiting")
    wait = SupplierWait.objects.create(
        ticket=ticket,
        supplier=supplier,
        reference=reference,
        started_at=now,
        response_due_at=_supplier_due(supplier, now, supplier.response_minutes),
        resolution_due_at=_supplier_due(supplier, now, supplier.resolution_minutes),
        created_by=actor,
    )
    record_audit(
        actor, "sla.supplier_wait_started", "ticket", str(ticket.number), supplier=supplier.public_id
    )
    events.emit("sla.supplier_wait_started", ticket_id=ticket.pk, wait_id=wait.pk)
    return wait


@transaction.atomic
def record_supplier_response(wait: SupplierWait, *, actor: User, now: datetime | None = None) -> SupplierWait:
    _require_full_agent(actor)
    wait = SupplierWait.objects.select_for_update().get(pk=wait.pk)
    if wait.responded_at is None:
        wait.responded_at = now or timezone.now()
        if wait.state == SupplierWait.State.WAITING:
            wait.state = SupplierWait.State.RESPONDED
        wait.save(update_fields=["responded_at", "state", "updated_at"])
        record_audit(actor, "sla.supplier_responded", "ticket", str(wait.ticket.number), wait=wait.public_id)
    return wait


@transaction.atomic
def resolve_supplier_wait(wait: SupplierWait, *, actor: User, now: datetime | None = None) -> SupplierWait:
    _require_full_agent(actor)
    wait = SupplierWait.objects.select_for_update().get(pk=wait.pk)
    if wait.state == SupplierWait.State.RESOLVED:
        return wait
    now = now or timezone.now()
    wait.resolved_at = now
    wait.responded_at = wait.responded_at or now  # a resolution is also a response
    wait.state = SupplierWait.State.RESOLVED
    wait.save(update_fields=["resolved_at", "responded_at", "state", "updated_at"])
    record_audit(actor, "sla.supplier_wait_resolved", "ticket", str(wait.ticket.number), wait=wait.public_id)
    events.emit("sla.supplier_wait_resolved", ticket_id=wait.ticket_id, wait_id=wait.pk)
    return wait
