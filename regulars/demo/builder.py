"""Build the demo data set: through the real services when small, in bulk when large.

Both paths write from the same :mod:`regulars.demo.plan`, so the same seed gives the same data
either way. The service path is the reference: every row it writes obeys every rule because the
services wrote it. The bulk path exists because a million tickets through the services would
take hours; it writes the very rows the services would have written (ticket, status and its
category, tags, messages, search documents, history, audit) with multi-row inserts (SQLite) or
COPY (PostgreSQL), and ``regulars/demo/tests`` compare the two paths row by row.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from django.utils import timezone

from regulars.accounts.models import AuditLog, Team, User
from regulars.accounts.services import create_agent, create_team
from regulars.core.custom_fields import clean_custom_fields
from regulars.core.html import text_to_html
from regulars.core.models import SearchDocument
from regulars.customers.models import Customer, Identity, Organisation, SupportPlan
from regulars.customers.services import (
    create_customer,
    create_organisation,
    create_plan,
    normalise_identity,
)
from regulars.demo import plan as p
from regulars.tickets.models import Message, Status, StatusCategory, Tag, Ticket, TicketEvent
from regulars.tickets.services import open_ticket, post_message, update_ticket

BULK_THRESHOLD = 20_000
BATCH_SIZE = 2_000


class DemoDataExists(Exception):
    """The database already holds customers or tickets and appending was not asked for."""


@dataclass
class Summary:
    path: str
    organisations: int = 0
    customers: int = 0
    tickets: int = 0
    messages: int = 0
    seconds: float = 0.0
    agents: list[str] = field(default_factory=list)


Progress = Callable[[str], None]


def build(
    *,
    seed: int,
    customers: int,
    tickets: int,
    days: int = 90,
    now: datetime | None = None,
    append: bool = False,
    path: str = "auto",
    progress: Progress | None = None,
) -> Summary:
    """Write a demo data set. ``path`` is ``auto``, ``services`` or ``bulk``."""
    started = time.monotonic()
    say = progress or (lambda _msg: None)
    if customers < 1 or tickets < 0 or days < 1:
        raise ValueError("customers must be >= 1, tickets >= 0 and days >= 1")
    if not append and (Customer.objects.exists() or Ticket.objects.exists()):
        raise DemoDataExists(
            "This database already has customers or tickets. Use --append to add a demo data set "
            "beside them, or point REGULARS_VAR_DIR / DATABASE_URL at an empty database."
        )
    if path == "auto":
        path = "bulk" if max(customers, tickets) > BULK_THRESHOLD else "services"
    now = (now or timezone.now()).replace(microsecond=0)
    staff = _ensure_staff()
    people = p.plan_people(
        seed,
        customers,
        org_start=Organisation.objects.count() if append else 0,
        customer_start=Customer.objects.count() if append else 0,
    )
    specs = p.plan_tickets(seed, tickets, customers=people.customers, days=days, now=now)
    people_at = now - timedelta(days=days + 1)
    summary = Summary(path=path, agents=[a.email for a in p.AGENTS])
    if path == "services":
        _build_with_services(staff, people, specs, people_at, summary, say)
    elif path == "bulk":
        _BulkLoader(staff, seed, say).load(people, specs, people_at, summary)
    else:
        raise ValueError(f"unknown path {path!r}")
    summary.seconds = time.monotonic() - started
    return summary


# --- the people who answer ----------------------------------------------------------------------


@dataclass
class _Staff:
    plans: dict[str, SupportPlan]
    teams: dict[str, Team]
    agents: list[User]  # indexed like plan.AGENTS
    statuses: dict[str, Status]


def _ensure_staff() -> _Staff:
    """Plans, teams and agents through the services; reused when they already exist (appending)."""
    with transaction.atomic():
        plans = {}
        for position, (name, slug, named, org_wide) in enumerate(p.PLANS):
            found = SupportPlan.objects.filter(slug=slug).first()
            plans[slug] = found or create_plan(
                name=name,
                slug=slug,
                named_contact=named,
                organisation_wide_visibility=org_wide,
                position=position,
                description=f"The {name} support plan.",
            )
        teams = {}
        for name, description in p.TEAMS:
            teams[name] = Team.objects.filter(name=name).first() or create_team(
                name=name, description=description
            )
        agents = []
        new_ids = []
        for spec in p.AGENTS:
            user = User.objects.filter(email=spec.email).first()
            if user is None:
                user = create_agent(
                    email=spec.email, name=spec.name, role=spec.role, teams=[teams[t] for t in spec.teams]
                )
                if spec.scope != user.ticket_scope:
                    user.ticket_scope = spec.scope
                    user.save(update_fields=["ticket_scope"])
                new_ids.append(user.pk)
            agents.append(user)
        if new_ids:
            # One hash for every demo agent: hashing at full strength a dozen times takes seconds.
            User.objects.filter(pk__in=new_ids).update(password=make_password(p.DEMO_PASSWORD))
    statuses = {s.slug: s for s in Status.objects.all()}
    missing = {"new", "open", "pending", "on-hold", "solved", "closed"} - set(statuses)
    if missing:
        raise RuntimeError(f"The default statuses are missing: {sorted(missing)}; run migrate.")
    return _Staff(plans=plans, teams=teams, agents=agents, statuses=statuses)


# --- the reference path: the real services on a simulated clock -----------------------------------


@contextmanager
def _clock(at: datetime) -> Iterator[None]:
    """Make ``timezone.now()`` return ``at``, so rows written by the services carry demo dates.

    auto_now fields and the services both read ``django.utils.timezone.now``; replacing it for
    the duration of one service call is how a 90-day history is written in a few seconds. Only
    a management command does this, in a process of its own.
    """
    real = timezone.now
    timezone.now = lambda: at
    try:
        yield
    finally:
        timezone.now = real


def _build_with_services(
    staff: _Staff,
    people: p.PeoplePlan,
    specs: Iterable[p.TicketSpec],
    people_at: datetime,
    summary: Summary,
    say: Progress,
) -> None:
    agents = staff.agents
    # One outer transaction: on SQLite each service call then commits a savepoint, not a file sync.
    with transaction.atomic(), _clock(people_at):
        orgs = [
            create_organisation(
                name=o.name,
                domain=o.domain,
                plan=staff.plans[o.plan] if o.plan else None,
                owner=agents[o.owner] if o.owner is not None else None,
            )
            for o in people.organisations
        ]
        customers = []
        for c in people.customers:
            customers.append(
                create_customer(
                    name=c.name,
                    emails=[value for kind, value in c.identities if kind == "email"],
                    phones=[value for kind, value in c.identities if kind == "phone"],
                    identities=[
                        (kind, value) for kind, value in c.identities if kind not in ("email", "phone")
                    ],
                    organisation=orgs[c.org] if c.org is not None else None,
                    plan=staff.plans[c.plan] if c.plan else None,
                    lifetime_value=c.lifetime_value,
                    time_zone=c.time_zone,
                    language=c.language,
                )
            )
    summary.organisations, summary.customers = len(orgs), len(customers)
    say(f"{len(customers)} customers in {len(orgs)} organisations")
    with transaction.atomic():
        for spec in specs:
            requester = customers[spec.customer]
            with _clock(spec.opened_at):
                ticket = open_ticket(
                    subject=spec.subject,
                    body=spec.body,
                    requester=requester,
                    channel=spec.channel,
                    priority=spec.priority,
                    ticket_type=spec.ticket_type,
                    team=staff.teams[spec.team],
                    assignee=agents[spec.assignee] if spec.assignee is not None else None,
                    tags=spec.tags,
                )
            for m in spec.replies:
                with _clock(m.at):
                    if m.author == "customer":
                        post_message(
                            ticket, author=None, as_customer=requester, body=m.body, public=True,
                            channel=spec.channel,
                        )  # fmt: skip
                    else:
                        assert m.agent is not None
                        post_message(
                            ticket, author=agents[m.agent], body=m.body, public=m.author == "agent",
                            channel=spec.channel,
                        )  # fmt: skip
            with _clock(spec.status_at):
                # A no-op when the conversation already left the ticket in its final status.
                update_ticket(ticket, actor=agents[spec.actor], status=staff.statuses[spec.status])
            summary.tickets += 1
            summary.messages += 1 + len(spec.replies)


# --- the bulk path ----------------------------------------------------------------------------------

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _ulid(prefix: str, at: datetime, rng: random.Random) -> str:
    """A public id in the layout of :func:`regulars.core.ids.new_ulid`, time-ordered by ``at``
    and reproducible from the seed."""
    value = (int(at.timestamp() * 1000) << 80) | rng.getrandbits(80)
    chars = [""] * 26
    for i in range(25, -1, -1):
        chars[i] = _ALPHABET[value & 31]
        value >>= 5
    return f"{prefix}_{''.join(chars)}"


class _Rows:
    """Rows for one table: the columns we fill, plus every other concrete column at its model
    default (so a field added to a model later is still written correctly, or fails loudly here
    when it has no default)."""

    def __init__(self, model: type[models.Model], names: Sequence[str]) -> None:
        fields = {f.attname: f for f in model._meta.concrete_fields}
        unknown = set(names) - set(fields)
        if unknown:
            raise RuntimeError(f"{model.__name__} has no fields {sorted(unknown)}")
        self.table: str = model._meta.db_table
        tail_fields = [f for name, f in fields.items() if name not in names and not f.primary_key]
        tail: list[Any] = []
        for f in tail_fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                raise RuntimeError(f"{model.__name__}.{f.name} must be given")
            default = f.get_default()
            if default is None and not f.null:
                raise RuntimeError(f"{model.__name__}.{f.name} has no default; the demo must fill it")
            if isinstance(f, models.JSONField):
                tail.append(json.dumps(default))
            else:
                tail.append(f.get_db_prep_save(default, connection))
        self.columns: list[str] = [str(fields[n].column) for n in names] + [
            str(f.column) for f in tail_fields
        ]
        self.tail = tuple(tail)
        self.json_at = [i for i, n in enumerate(names) if isinstance(fields[n], models.JSONField)]
        self.time_at = [i for i, n in enumerate(names) if isinstance(fields[n], models.DateTimeField)]
        self.rows: list[tuple[Any, ...]] = []

    def add(self, *values: Any) -> None:
        self.rows.append(values)

    def flush(self) -> int:
        if not self.rows:
            return 0
        adapt = connection.ops.adapt_datetimefield_value
        sqlite = connection.vendor == "sqlite"
        out = []
        for row in self.rows:
            values = list(row)
            for i in self.json_at:
                values[i] = json.dumps(values[i])
            if sqlite:
                for i in self.time_at:
                    values[i] = adapt(values[i])
            out.append((*values, *self.tail))
        columns = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        table = connection.ops.quote_name(self.table)
        with connection.cursor() as cursor:
            if sqlite:
                marks = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", out)  # noqa: S608
            else:
                # COPY is several times faster than INSERT on PostgreSQL; generated columns (the
                # search vector) and defaults still apply.
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for out_row in out:
                        copy.write_row(out_row)
        written = len(out)
        self.rows = []
        return written


def _allocate_ids(model: type[models.Model], n: int) -> list[int]:
    """``n`` fresh primary keys, taken the way the database would hand them out."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, n]
            )
            return sorted(int(r[0]) for r in cursor.fetchall())
        # Inside the IMMEDIATE write transaction nobody else can insert, so MAX + 1 is safe;
        # sqlite_sequence remembers deleted ids that AUTOINCREMENT must never hand out again.
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")  # noqa: S608
        top = int(cursor.fetchone()[0])
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        start = max(top, int(row[0]) if row else 0) + 1
        return list(range(start, start + n))


def _allocate_numbers(n: int) -> list[int]:
    """Ticket numbers as :func:`regulars.tickets.services.next_ticket_number` hands them out."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval('tickets_ticket_number_seq') FROM generate_series(1, %s)", [n])
            return sorted(int(r[0]) for r in cursor.fetchall())
        cursor.execute("SELECT COALESCE(MAX(number), 1000) FROM tickets_ticket")
        start = int(cursor.fetchone()[0]) + 1
        return list(range(start, start + n))


_UPDATE_STATUS_FIELDS = sorted({"status", "status_category", "solved_at", "closed_at"})
_CLOSING = (StatusCategory.SOLVED, StatusCategory.CLOSED)


class _BulkLoader:
    def __init__(self, staff: _Staff, seed: int, say: Progress) -> None:
        self.staff = staff
        self.say = say
        self.rng = random.Random(f"{seed}:ids")
        self.tags: dict[str, int] = {}
        self.customer_ids: list[int] = []
        self.customer_public: list[str] = []
        self.customer_org: list[int | None] = []

    def load(
        self,
        people: p.PeoplePlan,
        specs: Iterator[p.TicketSpec],
        people_at: datetime,
        summary: Summary,
    ) -> None:
        started = time.monotonic()
        self._load_people(people, people_at)
        summary.organisations = len(people.organisations)
        summary.customers = len(people.customers)
        self.say(f"{summary.customers} customers in {time.monotonic() - started:.1f}s")
        batch: list[p.TicketSpec] = []
        for spec in specs:
            batch.append(spec)
            if len(batch) == BATCH_SIZE:
                summary.messages += self._load_tickets(batch)
                summary.tickets += len(batch)
                batch = []
                if summary.tickets % 50_000 == 0:
                    rate = summary.tickets / (time.monotonic() - started)
                    self.say(f"{summary.tickets} tickets ({rate:.0f}/s)")
        if batch:
            summary.messages += self._load_tickets(batch)
            summary.tickets += len(batch)
        if connection.vendor == "postgresql":
            # Fresh statistics, as autovacuum would gather shortly after a load this size.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

    def _load_people(self, people: p.PeoplePlan, at: datetime) -> None:
        staff = self.staff
        org_fields = clean_custom_fields("organisation", {}, partial=False)
        customer_fields = clean_custom_fields("customer", {}, partial=False)
        with transaction.atomic():
            org_ids = _allocate_ids(Organisation, len(people.organisations))
            orgs = _Rows(
                Organisation,
                ["id", "public_id", "name", "domain", "plan_id", "owner_id", "custom_fields", "created_at",
                 "updated_at"],
            )  # fmt: skip
            audit = _Rows(AuditLog, ["actor_id", "action", "object_type", "object_id", "data", "created_at"])
            for pk, o in zip(org_ids, people.organisations, strict=True):
                public_id = _ulid("org", at, self.rng)
                owner = staff.agents[o.owner].pk if o.owner is not None else None
                plan_id = staff.plans[o.plan].pk if o.plan else None
                orgs.add(pk, public_id, o.name, o.domain, plan_id, owner, org_fields, at, at)
                audit.add(None, "organisation.created", "organisation", public_id, {"name": o.name}, at)
            orgs.flush()
            audit.flush()
        names = [o.name for o in people.organisations]
        chunk = 10_000
        for start in range(0, len(people.customers), chunk):
            part = people.customers[start : start + chunk]
            with transaction.atomic():
                ids = _allocate_ids(Customer, len(part))
                customers = _Rows(
                    Customer,
                    ["id", "public_id", "name", "organisation_id", "plan_id", "lifetime_value", "time_zone",
                     "language", "custom_fields", "created_at", "updated_at"],
                )  # fmt: skip
                identities = _Rows(
                    Identity,
                    ["customer_id", "kind", "value", "is_primary", "verified", "created_at", "updated_at"],
                )
                docs = _Rows(SearchDocument, ["kind", "object_id", "ticket_id", "customer_id", "body"])
                audit = _Rows(
                    AuditLog, ["actor_id", "action", "object_type", "object_id", "data", "created_at"]
                )
                for pk, c in zip(ids, part, strict=True):
                    public_id = _ulid("cus", at, self.rng)
                    org_id = org_ids[c.org] if c.org is not None else None
                    plan_id = staff.plans[c.plan].pk if c.plan else None
                    customers.add(
                        pk, public_id, c.name.strip(), org_id, plan_id, Decimal(c.lifetime_value), c.time_zone,
                        c.language, customer_fields, at, at,
                    )  # fmt: skip
                    # Same order as create_customer: emails, then phones, then other identities.
                    ordered = sorted(c.identities, key=lambda kv: {"email": 0, "phone": 1}.get(kv[0], 2))
                    values = [(kind, normalise_identity(kind, value)) for kind, value in ordered]
                    seen: set[str] = set()
                    for kind, value in values:
                        identities.add(pk, kind, value, kind not in seen, False, at, at)
                        seen.add(kind)
                    org_name = names[c.org] if c.org is not None else ""
                    body = " ".join([c.name.strip(), org_name, *(value for _, value in values)])
                    docs.add("customer", pk, None, pk, body)
                    audit.add(
                        None, "customer.created", "customer", public_id,
                        {"identities": [value for _, value in values]}, at,
                    )  # fmt: skip
                    self.customer_ids.append(pk)
                    self.customer_public.append(public_id)
                    self.customer_org.append(org_id)
                customers.flush()
                identities.flush()
                docs.flush()
                audit.flush()

    def _tag_ids(self, names: Iterable[str]) -> list[int]:
        missing = [n for n in names if n not in self.tags]
        if missing:
            Tag.objects.bulk_create([Tag(name=n) for n in missing], ignore_conflicts=True)
            self.tags.update(Tag.objects.filter(name__in=missing).values_list("name", "pk"))
        return [self.tags[n] for n in names]

    def _load_tickets(self, batch: list[p.TicketSpec]) -> int:
        """Write one batch of tickets exactly as open_ticket, post_message and update_ticket would."""
        staff = self.staff
        agents = [a.pk for a in staff.agents]
        status_ids = {slug: s.pk for slug, s in staff.statuses.items()}
        category = {slug: s.category for slug, s in staff.statuses.items()}
        fields = clean_custom_fields("ticket", {}, partial=False)
        tickets = _Rows(
            Ticket,
            ["id", "number", "subject", "requester_id", "organisation_id", "status_id", "status_category",
             "priority", "priority_reason", "ticket_type", "channel", "team_id", "assignee_id", "custom_fields",
             "last_message_at", "solved_at", "closed_at", "created_at", "updated_at"],
        )  # fmt: skip
        ticket_tags = _Rows(Ticket.tags.through, ["ticket_id", "tag_id"])
        messages = _Rows(
            Message,
            ["id", "public_id", "ticket_id", "kind", "author_type", "author_user_id", "author_customer_id",
             "channel", "body_text", "body_html", "created_at"],
        )  # fmt: skip
        docs = _Rows(SearchDocument, ["kind", "object_id", "ticket_id", "customer_id", "body"])
        history = _Rows(TicketEvent, ["ticket_id", "actor_id", "action", "field", "old", "new", "created_at"])
        audit = _Rows(AuditLog, ["actor_id", "action", "object_type", "object_id", "data", "created_at"])
        with transaction.atomic():
            ticket_ids = _allocate_ids(Ticket, len(batch))
            numbers = _allocate_numbers(len(batch))
            message_ids = iter(_allocate_ids(Message, sum(1 + len(s.replies) for s in batch)))
            written = 0
            for tid, number, s in zip(ticket_ids, numbers, batch, strict=True):
                customer = self.customer_ids[s.customer]
                subject = " ".join(s.subject.split())
                status = "open" if s.assignee is not None else "new"
                priority = s.priority or "normal"
                assignee = agents[s.assignee] if s.assignee is not None else None
                for tag_id in self._tag_ids(s.tags):
                    ticket_tags.add(tid, tag_id)
                # open_ticket: the ticket, its first message, two search documents, history, audit.
                mid = next(message_ids)
                mpublic = _ulid("msg", s.opened_at, self.rng)
                messages.add(
                    mid, mpublic, tid, "reply", "customer", None, customer, s.channel, s.body,
                    text_to_html(s.body), s.opened_at,
                )  # fmt: skip
                docs.add("ticket", tid, tid, customer, subject)
                docs.add("message", mid, tid, customer, s.body)
                history.add(
                    tid, None, "created", "", None, {"status": status, "priority": priority, "channel": s.channel},
                    s.opened_at,
                )  # fmt: skip
                audit.add(
                    None, "ticket.created", "ticket", str(number),
                    {"channel": s.channel, "requester": self.customer_public[s.customer]}, s.opened_at,
                )  # fmt: skip
                last_message_at = updated_at = s.opened_at
                solved_at: datetime | None = None
                closed_at: datetime | None = None
                # post_message, once per reply.
                for m in s.replies:
                    mid = next(message_ids)
                    mpublic = _ulid("msg", m.at, self.rng)
                    kind = "note" if m.author == "note" else "reply"
                    author_type = "customer" if m.author == "customer" else "agent"
                    author = agents[m.agent] if m.agent is not None else None
                    messages.add(
                        mid, mpublic, tid, kind, author_type, author,
                        customer if author_type == "customer" else None, s.channel, m.body, text_to_html(m.body),
                        m.at,
                    )  # fmt: skip
                    docs.add("message" if kind == "reply" else "note", mid, tid, customer, m.body)
                    reopen = kind == "reply" and (
                        (author_type == "agent" and category[status] == StatusCategory.NEW)
                        or (author_type == "customer" and category[status] in ("pending", "solved"))
                    )
                    if reopen:
                        history.add(tid, author, "status_changed", "status", status, "open", m.at)
                        status, solved_at = "open", None
                    history.add(tid, author, "message_added", kind, None, mpublic, m.at)
                    audit.add(
                        author, f"ticket.{kind}_added", "ticket", str(number), {"message": mpublic}, m.at
                    )
                    last_message_at = updated_at = m.at
                # update_ticket(status=...), when the conversation did not already end there.
                if s.status != status:
                    actor = agents[s.actor]
                    history.add(tid, actor, "status_changed", "status", status, s.status, s.status_at)
                    audit.add(actor, "ticket.updated", "ticket", str(number), {"fields": _UPDATE_STATUS_FIELDS},
                              s.status_at)  # fmt: skip
                    status = s.status
                    solved_at = s.status_at if category[status] in _CLOSING else None
                    closed_at = s.status_at if category[status] == StatusCategory.CLOSED else None
                    updated_at = s.status_at
                tickets.add(
                    tid, number, subject, customer, self.customer_org[s.customer], status_ids[status],
                    category[status], priority, "set when opened" if s.priority else "default", s.ticket_type,
                    s.channel, staff.teams[s.team].pk, assignee, fields, last_message_at, solved_at, closed_at,
                    s.opened_at, updated_at,
                )  # fmt: skip
                written += 1 + len(s.replies)
            tickets.flush()
            ticket_tags.flush()
            messages.flush()
            docs.flush()
            history.flush()
            audit.flush()
        return written
