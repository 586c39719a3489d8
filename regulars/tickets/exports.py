"""CSV export of tickets, through the same permission policy as every other read path."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Protocol

from django.db.models import QuerySet

from regulars.accounts.models import User
from regulars.core.errors import Forbidden
from regulars.tickets.models import Ticket
from regulars.tickets.selectors import visible_tickets

EXPORT_COLUMNS = [
    "number", "subject", "status", "status_category", "priority", "priority_reason", "type", "channel",
    "requester", "organisation", "team", "assignee", "tags", "created_at", "updated_at", "solved_at",
]  # fmt: skip
_BATCH = 2000


class _Writable(Protocol):
    def write(self, s: str, /) -> object: ...


def _cell(value: str) -> str:
    # Spreadsheet programs run cells that start with these as formulas (CSV injection).
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def exportable_tickets(viewer: User) -> QuerySet[Ticket]:
    if not viewer.is_agent:
        raise Forbidden("Only agents can export tickets.")
    return (
        visible_tickets(viewer)
        .select_related("status", "requester", "organisation", "team", "assignee")
        .prefetch_related("tags")
        .order_by("id")
    )


def iter_ticket_rows(viewer: User) -> Iterator[list[str]]:
    """Rows in ticket order, read in keyset batches so memory stays flat on a million tickets."""
    qs = exportable_tickets(viewer)
    last_id = 0
    while True:
        batch = list(qs.filter(id__gt=last_id)[:_BATCH])
        if not batch:
            return
        for t in batch:
            yield [
                str(t.number), t.subject, t.status.name, t.status_category, t.priority, t.priority_reason,
                t.ticket_type, t.channel, t.requester.public_id, t.organisation.public_id if t.organisation else "",
                t.team.name if t.team else "", t.assignee.email if t.assignee else "",
                " ".join(sorted(tag.name for tag in t.tags.all())), t.created_at.isoformat(), t.updated_at.isoformat(),
                t.solved_at.isoformat() if t.solved_at else "",
            ]  # fmt: skip
        last_id = batch[-1].id


def write_tickets_csv(viewer: User, out: _Writable) -> int:
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for row in iter_ticket_rows(viewer):
        writer.writerow([_cell(v) for v in row])
        count += 1
    return count
