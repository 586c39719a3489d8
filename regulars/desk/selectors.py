"""Reads for the desk's queues: which tickets a queue shows, a page at a time.

Every queue starts from ``visible_tickets(viewer)``, the one permission policy. Pages are keyset
paged (never OFFSET, never COUNT(*)) and rows come as plain values with the small tables (statuses,
teams, agents) looked up from one query each, so a page costs the same few queries at any size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone

from regulars.accounts.models import AGENT_ROLES, Role, Team, User
from regulars.api.paging import decode_cursor, encode_cursor
from regulars.core.errors import ValidationFailed
from regulars.customers.models import Customer
from regulars.desk.models import SavedFilter
from regulars.sla.selectors import at_risk_ticket_ids
from regulars.tickets.models import UNSOLVED_CATEGORIES, Priority, Status, StatusCategory, Ticket
from regulars.tickets.selectors import visible_tickets

PAGE_SIZE = 50

QUEUES: dict[str, str] = {
    "mine": "Mine",
    "teams": "My teams",
    "unassigned": "Unassigned",
    "at-risk": "At risk",
    "all": "All tickets",
}
SORTS: dict[str, str] = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "priority": "Priority, then newest",
    "status": "Status, then newest",
}
# Sorting by priority or status walks one value at a time (urgent first; new first), each part
# newest first along the queue's own index, instead of sorting every matching row by a computed
# rank. There is no "recently updated" sort: without a (team, updated_at) index it sorted a whole
# team's tickets per page (390 ms at 1M tickets on SQLite, see bench/RESULTS.md).
SEGMENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "priority": ("priority", (Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW)),
    "status": ("status_category", tuple(StatusCategory.values)),
}

_COLUMNS = (
    "id", "number", "subject", "status_id", "status_category", "priority", "channel",
    "requester_id", "team_id", "assignee_id", "updated_at",
)  # fmt: skip


def default_queue(viewer: User) -> str:
    # Light agents are never assigned tickets, so "mine" would always be empty for them.
    return "teams" if viewer.role == Role.LIGHT_AGENT else "mine"


@dataclass
class QueueFilters:
    """What the filter form asked for; blank means "any" (status blank: the queue's default)."""

    status: str = ""
    priority: str = ""
    team: str = ""
    assignee: str = ""
    tag: str = ""
    channel: str = ""
    sort: str = "newest"

    def default_status(self, queue: str) -> str:
        return "any" if queue == "all" else "unsolved"


@dataclass
class Lookups:
    """The small tables a queue page names things from, one query each."""

    statuses: dict[int, Status]
    teams: dict[int, Team]
    agents: dict[int, User]
    my_team_ids: list[int]

    @property
    def teams_by_public_id(self) -> dict[str, int]:
        return {t.public_id: pk for pk, t in self.teams.items()}

    @property
    def agents_by_public_id(self) -> dict[str, int]:
        return {a.public_id: pk for pk, a in self.agents.items()}

    @property
    def assignable(self) -> list[User]:
        """Who tickets can be assigned to: active full agents and admins."""
        return [a for a in self.agents.values() if a.is_active and a.role in (Role.ADMIN, Role.AGENT)]


def load_lookups(viewer: User) -> Lookups:
    agents = User.objects.filter(role__in=AGENT_ROLES).only(
        "id", "public_id", "name", "email", "role", "is_active"
    )
    return Lookups(
        statuses={s.pk: s for s in Status.objects.all()},
        teams={t.pk: t for t in Team.objects.order_by("name")},
        agents={a.pk: a for a in agents.order_by("name", "email")},
        my_team_ids=list(viewer.teams.values_list("id", flat=True)),
    )


@dataclass
class QueuePage:
    rows: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None


def _in_queue(qs: QuerySet[Ticket], viewer: User, queue: str, lookups: Lookups) -> QuerySet[Ticket]:
    if queue == "mine":
        return qs.filter(assignee_id=viewer.pk)
    if queue == "teams":
        return qs.filter(team_id__in=lookups.my_team_ids) if lookups.my_team_ids else qs.none()
    if queue == "unassigned":
        # Unassigned work waiting on my teams, and tickets no team has been given yet.
        return qs.filter(assignee__isnull=True).filter(
            Q(team_id__in=lookups.my_team_ids) | Q(team__isnull=True)
        )
    if queue == "at-risk":
        return qs.filter(pk__in=at_risk_ticket_ids())
    return qs


def _unsolved() -> Q | RawSQL:
    """Unsolved tickets, in the form that lets the database use the partial queue indexes.

    SQLite uses a partial index only when the query repeats its condition with the same literal
    values; with bound parameters it falls back to the plain team index and reads every solved
    ticket of the team too (page 20 of a team's urgent tickets: 100+ ms instead of a few).
    """
    if connection.vendor != "sqlite":
        return Q(status_category__in=UNSOLVED_CATEGORIES)
    listed = ", ".join(f"'{c}'" for c in UNSOLVED_CATEGORIES)  # fixed constants, never input
    return RawSQL(f'"tickets_ticket"."status_category" IN ({listed})', [], output_field=BooleanField())  # noqa: S611


def _with_status(qs: QuerySet[Ticket], status: str) -> QuerySet[Ticket]:
    if status == "any":
        return qs
    if status == "unsolved":
        return qs.filter(_unsolved())
    if status in UNSOLVED_CATEGORIES:
        # The unsolved condition stays in the query so the partial queue indexes still apply.
        return qs.filter(_unsolved()).filter(status_category=status)
    return qs.filter(status_category=status)


def filtered_tickets(viewer: User, queue: str, filters: QueueFilters, lookups: Lookups) -> QuerySet[Ticket]:
    """The queue's tickets with the filters applied, unordered; permission via ``visible_tickets``."""
    qs = _in_queue(visible_tickets(viewer), viewer, queue, lookups)
    qs = _with_status(qs, filters.status or filters.default_status(queue))
    if filters.priority:
        qs = qs.filter(priority=filters.priority)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.team == "none":
        qs = qs.filter(team__isnull=True)
    elif filters.team:
        team_id = lookups.teams_by_public_id.get(filters.team)
        qs = qs.filter(team_id=team_id) if team_id is not None else qs.none()
    if filters.assignee == "me":
        qs = qs.filter(assignee_id=viewer.pk)
    elif filters.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee:
        agent_id = lookups.agents_by_public_id.get(filters.assignee)
        qs = qs.filter(assignee_id=agent_id) if agent_id is not None else qs.none()
    if filters.tag:
        tagged = Ticket.tags.through.objects.filter(ticket_id=OuterRef("pk"), tag__name=filters.tag)
        qs = qs.filter(Exists(tagged))
    return qs


def _page_by_id(qs: QuerySet[Ticket], sort: str, cursor: str | None, limit: int) -> tuple[list[Any], bool]:
    if sort == "oldest":
        qs = qs.order_by("id")
        if cursor:
            qs = qs.filter(id__gt=decode_cursor(cursor, (int,))[0])
    else:
        qs = qs.order_by("-id")
        if cursor:
            qs = qs.filter(id__lt=decode_cursor(cursor, (int,))[0])
    rows = list(qs.values(*_COLUMNS)[: limit + 1])
    return rows[:limit], len(rows) > limit


def _page_by_segment(
    qs: QuerySet[Ticket], filters: QueueFilters, status: str, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    column, values = SEGMENTS[filters.sort]
    # Only the values the filters allow: a part that cannot match would still scan its index.
    if column == "priority" and filters.priority:
        values = (filters.priority,)
    elif column == "status_category" and status != "any":
        values = UNSOLVED_CATEGORIES if status == "unsolved" else (status,)
    index, last_id = 0, None
    if cursor:
        index, last_id = decode_cursor(cursor, (int, int))
    if not 0 <= index < len(values):
        raise ValidationFailed("The page link is not valid.", fields={"cursor": "invalid"})
    rows: list[dict[str, Any]] = []
    for position in range(index, len(values)):
        part = qs.filter(**{column: values[position]}).order_by("-id")
        if position == index and last_id:  # 0: from the part's newest ticket
            part = part.filter(id__lt=last_id)
        wanted = limit - len(rows)
        if wanted == 0:
            # The page filled up exactly at the end of the part before: the next page starts
            # this part from the top, not below the last id of another part.
            if part.exists():
                return rows, encode_cursor([position, 0])
            continue
        found = list(part.values(*_COLUMNS)[: wanted + 1])
        rows += found[:wanted]
        if len(found) > wanted:
            return rows, encode_cursor([position, rows[-1]["id"]])
    return rows, None


def queue_page(
    viewer: User,
    queue: str,
    filters: QueueFilters,
    lookups: Lookups,
    *,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> QueuePage:
    qs = filtered_tickets(viewer, queue, filters, lookups)
    if filters.sort in SEGMENTS:
        status = filters.status or filters.default_status(queue)
        rows, next_cursor = _page_by_segment(qs, filters, status, cursor, limit)
    else:
        rows, more = _page_by_id(qs, filters.sort, cursor, limit)
        next_cursor = encode_cursor([rows[-1]["id"]]) if more and rows else None
    return QueuePage(rows=_named(rows, lookups), next_cursor=next_cursor)


def _named(rows: list[dict[str, Any]], lookups: Lookups) -> list[dict[str, Any]]:
    # Requesters are looked up by id, not joined: see the note on the API's ticket list.
    requester_ids = {r["requester_id"] for r in rows}
    names = dict(Customer.objects.filter(pk__in=requester_ids).values_list("id", "name")) if rows else {}
    labels = dict(StatusCategory.choices)
    now = timezone.now()
    # One reverse() per page rather than per row: reversing was a tenth of the page's time.
    ticket_url = reverse("desk:ticket", args=[4242424242]).replace("4242424242", "{}")
    for row in rows:
        status = lookups.statuses.get(row["status_id"])
        team = lookups.teams.get(row["team_id"]) if row["team_id"] else None
        assignee = lookups.agents.get(row["assignee_id"]) if row["assignee_id"] else None
        row["requester"] = names.get(row["requester_id"]) or "Unnamed customer"
        row["status"] = status.name if status else labels.get(row["status_category"], "")
        row["team"] = team.name if team else ""
        row["assignee"] = (assignee.name or assignee.email) if assignee else ""
        row["priority_label"] = Priority(row["priority"]).label if row["priority"] in Priority.values else ""
        row["updated_ago"] = ago(now - row["updated_at"])
        row["url"] = ticket_url.format(row["number"])
    return rows


def ago(delta: dt.timedelta) -> str:
    """The one largest unit of ``delta`` ("5 minutes", "3 hours", "2 days"), as a queue shows it."""
    seconds = max(0, int(delta.total_seconds()))
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "under a minute"


def saved_filters(viewer: User) -> list[SavedFilter]:
    """The viewer's own filters and everyone's shared ones. What each shows is still limited by
    the viewer's own permissions, since the queue applies them."""
    return list(
        SavedFilter.objects.filter(Q(owner=viewer) | Q(shared=True))
        .select_related("owner")
        .only("id", "name", "query", "shared", "owner__id", "owner__name", "owner__email")
        .order_by("name", "id")
    )
