"""Reads of tickets and messages. The one permission policy for tickets lives here.

Every transport (API, desk, portal, search, export) asks these functions; none filters
tickets on its own.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from regulars.accounts.models import Role, TicketScope, User
from regulars.core import fastsql
from regulars.core.errors import NotFound
from regulars.core.search import search
from regulars.customers.selectors import customer_of
from regulars.tickets.models import Attachment, Message, Ticket

LIST_RELATED = ("requester", "organisation", "status", "team", "assignee")


def sees_every_ticket(viewer: User) -> bool:
    """Whether the policy below lets ``viewer`` see every ticket (admins, agents scoped to all)."""
    return viewer.is_active and (
        viewer.role == Role.ADMIN or (viewer.is_agent and viewer.ticket_scope == TicketScope.ALL)
    )


def visible_tickets(viewer: User) -> QuerySet[Ticket]:
    qs = Ticket.objects.all()
    if not viewer.is_active:
        return qs.none()
    if sees_every_ticket(viewer):
        return qs
    if viewer.is_agent:
        collaborating = Exists(
            Ticket.collaborators.through.objects.filter(ticket_id=OuterRef("pk"), user_id=viewer.pk)
        )
        mine = Q(assignee=viewer) | Q(collaborating)
        if viewer.ticket_scope == TicketScope.TEAMS:
            mine |= Q(team__in=viewer.teams.values("id"))
        return qs.filter(mine)
    customer = customer_of(viewer)
    if customer is None:
        return qs.none()
    own = Q(requester=customer)
    plan = customer.effective_plan
    if customer.organisation_id is not None and plan is not None and plan.organisation_wide_visibility:
        own |= Q(organisation_id=customer.organisation_id)
    return qs.filter(own)


def visible_tickets_where(viewer: User) -> tuple[str, list[Any]]:
    """:func:`visible_tickets` as an SQL condition on ``"tickets_ticket"`` and its parameters,
    for the reads that skip the ORM (the API's list). Tests check both give the same tickets for
    every role and scope; a change to one is a change to both."""
    if not viewer.is_active:
        return "1 = 0", []
    if sees_every_ticket(viewer):
        return "1 = 1", []
    if viewer.is_agent:
        condition = (
            '("tickets_ticket"."assignee_id" = %s OR EXISTS (SELECT 1 FROM "tickets_ticket_collaborators" c '
            'WHERE c."ticket_id" = "tickets_ticket"."id" AND c."user_id" = %s)'
        )
        params: list[Any] = [viewer.pk, viewer.pk]
        if viewer.ticket_scope == TicketScope.TEAMS:
            condition += ' OR "tickets_ticket"."team_id" IN (SELECT "team_id" FROM "accounts_team_members" WHERE "user_id" = %s)'
            params.append(viewer.pk)
        return condition + ")", params
    customer = customer_of(viewer)
    if customer is None:
        return "1 = 0", []
    plan = customer.effective_plan
    if customer.organisation_id is not None and plan is not None and plan.organisation_wide_visibility:
        return (
            '("tickets_ticket"."requester_id" = %s OR "tickets_ticket"."organisation_id" = %s)',
            [customer.pk, customer.organisation_id],
        )
    return '"tickets_ticket"."requester_id" = %s', [customer.pk]


def get_ticket(viewer: User, number: int) -> Ticket:
    ticket = visible_tickets(viewer).select_related(*LIST_RELATED).filter(number=number).first()
    if ticket is None:
        # 404 rather than 403: a customer must not learn that someone else's ticket exists.
        raise NotFound("No such ticket.")
    return ticket


def visible_messages(viewer: User, ticket: Ticket) -> QuerySet[Message]:
    qs = (
        Message.objects.filter(ticket=ticket)
        .select_related("author_user", "author_customer")
        .prefetch_related("attachments__blob")
    )
    if not viewer.is_agent:
        qs = qs.filter(kind=Message.Kind.REPLY)
    return qs.order_by("id")


def get_attachment(viewer: User, public_id: str) -> Attachment:
    attachment = (
        Attachment.objects.select_related("message__ticket", "blob").filter(public_id=public_id).first()
    )
    if attachment is None:
        raise NotFound("No such attachment.")
    message = attachment.message
    visible = visible_tickets(viewer).filter(pk=message.ticket_id).exists()
    if not visible or (not viewer.is_agent and message.kind != Message.Kind.REPLY):
        raise NotFound("No such attachment.")
    return attachment


def search_tickets(viewer: User, q: str, *, limit: int = 25) -> list[Ticket]:
    """Tickets matching ``q`` that ``viewer`` may see, best first.

    Customers search subjects and public replies only, so a match inside an internal note can
    never reveal itself to them.
    """
    kinds = ["ticket", "message", "note"] if viewer.is_agent else ["ticket", "message"]
    ordered: list[int] = []
    seen: set[int] = set()
    for hit in search(q, kinds=kinds, limit=max(limit * 8, 200), enough=limit):
        if hit.ticket_id is not None and hit.ticket_id not in seen:
            seen.add(hit.ticket_id)
            ordered.append(hit.ticket_id)
    if not ordered:
        return []
    # The policy first, on keys only; then whole tickets (with their names) for the page alone.
    # Building every candidate of up to 200 with select_related cost more than the search itself.
    # Someone who sees every ticket needs no key check (the page's query still applies the policy).
    if sees_every_ticket(viewer):
        page = ordered[:limit]
    else:
        allowed = set(visible_tickets(viewer).filter(pk__in=ordered).values_list("pk", flat=True))
        page = [pk for pk in ordered if pk in allowed][:limit]
    found = {t.pk: t for t in visible_tickets(viewer).filter(pk__in=page).select_related(*LIST_RELATED)}
    return [found[pk] for pk in page if pk in found]


# --- the API's ticket list, without the ORM -----------------------------------------------------
#
# ``GET /api/v1/tickets`` is the hottest read. Through the ORM a page cost ~8 ms of Python
# (compiling five queries, converting 1,000 values, encoding datetimes one callback at a time).
# Here the SQL is fixed text, names come from indexed scalar subqueries, and the database writes
# each ticket's JSON object itself (SQLite ``json_object``, PostgreSQL ``json_build_object``), so
# Python only joins 50 strings: no row values, no dicts, no encoder.


def _json_time(column: str, vendor: str) -> str:
    """SQL for a stored time in the API's form, as Django's JSON encoder writes it (UTC,
    milliseconds when there is a fraction, ``Z``); NULL stays NULL. :func:`json_time` is the same
    rule in Python."""
    if vendor == "postgresql":
        utc = f"({column} AT TIME ZONE 'UTC')"
        return (
            f"CASE WHEN {column} = date_trunc('second', {column}) "
            f"""THEN to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') """
            f"""ELSE to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') END"""
        )
    # SQLite keeps naive UTC text, "YYYY-MM-DD HH:MM:SS" with ".ffffff" only when the fraction is
    # not zero (str(datetime)); the first 23 characters are the API's up to its "Z".
    return f"replace(substr({column}, 1, 23), ' ', 'T') || 'Z'"


@functools.cache
def _item_json(vendor: str) -> str:
    """SQL for one ticket (``"tickets_ticket"``) as the API's JSON object, in TicketOut's order."""
    postgres = vendor == "postgresql"
    if postgres:
        tags = (
            'COALESCE((SELECT json_agg(y."name" ORDER BY y."name" COLLATE "C") FROM "tickets_ticket_tags" x '
            'JOIN "tickets_tag" y ON y."id" = x."tag_id" WHERE x."ticket_id" = "tickets_ticket"."id"), \'[]\')'
        )
        collaborators = (
            'COALESCE((SELECT json_agg(u."public_id" ORDER BY u."public_id" COLLATE "C") '
            'FROM "tickets_ticket_collaborators" x JOIN "accounts_user" u ON u."id" = x."user_id" '
            'WHERE x."ticket_id" = "tickets_ticket"."id"), \'[]\')'
        )
        custom_fields = '"tickets_ticket"."custom_fields"'
        flagged = '"tickets_ticket"."is_flagged"'
    else:
        # json() marks text as JSON, so json_object embeds it rather than quoting it.
        tags = (
            'json((SELECT json_group_array("name") FROM (SELECT y."name" AS "name" FROM "tickets_ticket_tags" x '
            'JOIN "tickets_tag" y ON y."id" = x."tag_id" WHERE x."ticket_id" = "tickets_ticket"."id" ORDER BY y."name")))'
        )
        collaborators = (
            'json((SELECT json_group_array("public_id") FROM (SELECT u."public_id" AS "public_id" '
            'FROM "tickets_ticket_collaborators" x JOIN "accounts_user" u ON u."id" = x."user_id" '
            'WHERE x."ticket_id" = "tickets_ticket"."id" ORDER BY u."public_id")))'
        )
        custom_fields = 'json("tickets_ticket"."custom_fields")'
        flagged = """CASE WHEN "tickets_ticket"."is_flagged" THEN json('true') ELSE json('false') END"""
    fields = [
        ("number", '"tickets_ticket"."number"'),
        ("subject", '"tickets_ticket"."subject"'),
        ("status", '(SELECT s."slug" FROM "tickets_status" s WHERE s."id" = "tickets_ticket"."status_id")'),
        ("status_category", '"tickets_ticket"."status_category"'),
        ("priority", '"tickets_ticket"."priority"'),
        ("priority_reason", '"tickets_ticket"."priority_reason"'),
        ("ticket_type", '"tickets_ticket"."ticket_type"'),
        ("channel", '"tickets_ticket"."channel"'),
        (
            "requester",
            '(SELECT c."public_id" FROM "customers_customer" c WHERE c."id" = "tickets_ticket"."requester_id")',
        ),
        (
            "organisation",
            '(SELECT o."public_id" FROM "customers_organisation" o WHERE o."id" = "tickets_ticket"."organisation_id")',
        ),
        ("team", '(SELECT g."public_id" FROM "accounts_team" g WHERE g."id" = "tickets_ticket"."team_id")'),
        (
            "assignee",
            '(SELECT u."public_id" FROM "accounts_user" u WHERE u."id" = "tickets_ticket"."assignee_id")',
        ),
        ("tags", tags),
        ("collaborators", collaborators),
        ("custom_fields", custom_fields),
        (
            "merged_into",
            '(SELECT m."number" FROM "tickets_ticket" m WHERE m."id" = "tickets_ticket"."merged_into_id")',
        ),
        ("is_flagged", flagged),
        *((name, _json_time(f'"tickets_ticket"."{name}"', vendor)) for name in _TIMES),
    ]
    pairs = ", ".join(f"'{name}', {expression}" for name, expression in fields)
    return f"CAST(json_build_object({pairs}) AS TEXT)" if postgres else f"json_object({pairs})"


_TIMES = ("created_at", "updated_at", "last_message_at", "solved_at", "closed_at")


@dataclass
class TicketListFilters:
    status_category: str | None = None
    status_slug: str | None = None
    team: str | None = None  # public ids
    assignee: str | None = None  # a public id, or "none" for unassigned
    requester: str | None = None
    tag: str | None = None
    updated_since: datetime | None = None


def ticket_list_page(
    viewer: User,
    filters: TicketListFilters,
    *,
    order: str = "-created",
    after: tuple[Any, ...] | None = None,
    limit: int = 50,
    unchanged: dict[Any, Any] | None = None,
) -> tuple[bytes, tuple[Any, ...] | None]:
    """One page of the tickets ``viewer`` may see, as a JSON array of the API's ticket objects
    (UTF-8), and the key of its last row when another page follows. ``order``:
    ``-created`` (newest first; ``after`` is ``(id,)``) or ``updated`` (oldest change first;
    ``after`` is ``(updated_at, id)``). ``unchanged``: a memo of an unchanged database the
    request already took (``fastsql.unchanged_memo``); without it the page takes its own."""
    ops = connection.ops
    visible, params = visible_tickets_where(viewer)
    where = [visible]
    if filters.status_category is not None:
        where.append('"tickets_ticket"."status_category" = %s')
        params.append(filters.status_category)
    if filters.status_slug is not None:
        where.append('"tickets_ticket"."status_id" IN (SELECT "id" FROM "tickets_status" WHERE "slug" = %s)')
        params.append(filters.status_slug)
    if filters.team is not None:
        where.append(
            '"tickets_ticket"."team_id" IN (SELECT "id" FROM "accounts_team" WHERE "public_id" = %s)'
        )
        params.append(filters.team)
    if filters.assignee == "none":
        where.append('"tickets_ticket"."assignee_id" IS NULL')
    elif filters.assignee is not None:
        where.append(
            '"tickets_ticket"."assignee_id" IN (SELECT "id" FROM "accounts_user" WHERE "public_id" = %s)'
        )
        params.append(filters.assignee)
    if filters.requester is not None:
        where.append(
            '"tickets_ticket"."requester_id" IN (SELECT "id" FROM "customers_customer" WHERE "public_id" = %s)'
        )
        params.append(filters.requester)
    if filters.tag is not None:
        where.append(
            'EXISTS (SELECT 1 FROM "tickets_ticket_tags" x JOIN "tickets_tag" y ON y."id" = x."tag_id" '
            'WHERE x."ticket_id" = "tickets_ticket"."id" AND y."name" = %s)'
        )
        params.append(filters.tag)
    if filters.updated_since is not None:
        where.append('"tickets_ticket"."updated_at" >= %s')
        params.append(ops.adapt_datetimefield_value(filters.updated_since))
    if order == "updated":
        if after is not None:
            when = ops.adapt_datetimefield_value(after[0])
            where.append(
                '("tickets_ticket"."updated_at" > %s OR ("tickets_ticket"."updated_at" = %s AND "tickets_ticket"."id" > %s))'
            )
            params += [when, when, after[1]]
        order_by = '"tickets_ticket"."updated_at", "tickets_ticket"."id"'
    else:
        if after is not None:
            where.append('"tickets_ticket"."id" < %s')
            params.append(after[0])
        order_by = '"tickets_ticket"."id" DESC'
    condition = " AND ".join(where)
    # Nothing committed since this very page was read on this connection: it is still the page.
    memo = unchanged if unchanged is not None else fastsql.unchanged_memo()
    memo_key = ("ticket_list_page", condition, *params, order_by, limit)
    if memo is not None and (answer := memo.get(memo_key)) is not None:
        return answer
    rows = _keys(condition, params, order_by, limit + 1)
    shown = tuple(rows[:limit])
    page = _page_cache.get(shown)  # the same tickets at the same versions: the same text
    if page is None:
        text = "[" + ",".join(_json_of([row[0] for row in shown], {row[0]: row[2:] for row in shown})) + "]"
        page = text.encode()
        if _may_keep():
            if len(_page_cache) >= PAGE_CACHE_SIZE:
                _page_cache.clear()
            _page_cache[shown] = page
    last = rows[limit - 1] if len(rows) > limit else None
    answer = (
        page,
        None if last is None else (_as_datetime(last[1]), last[0]) if order == "updated" else (last[0],),
    )
    if memo is not None:
        memo[memo_key] = answer
    return answer


def ticket_item(viewer: User | None, *, number: int | None = None, pk: int | None = None) -> str | None:
    """One ticket ``viewer`` may see, by number or key, as the text of the API's JSON object (the
    list's); ``None`` when there is none or it is not theirs to see. ``viewer=None`` skips the
    policy: only for showing a caller the ticket it has just written."""
    where, params = visible_tickets_where(viewer) if viewer is not None else ("1 = 1", [])
    if number is not None:
        where, params = f'{where} AND "tickets_ticket"."number" = %s', [*params, number]
    if pk is not None:
        where, params = f'{where} AND "tickets_ticket"."id" = %s', [*params, pk]
    rows = _items(where, params, '"tickets_ticket"."id"', 1)
    return rows[0][1] if rows else None


def _items(where: str, params: list[Any], order_by: str, limit: int) -> list[Any]:
    """``(id, JSON object)`` of each ticket that matches."""
    sql = (
        f'SELECT "tickets_ticket"."id", {_item_json(connection.vendor)} FROM "tickets_ticket" '  # noqa: S608 (fixed text; values are parameters)
        f"WHERE {where} ORDER BY {order_by} LIMIT %s"
    )
    return fastsql.execute(sql, [*params, limit])


# --- the JSON cache ------------------------------------------------------------------------------
#
# Building a ticket's JSON is most of a page's cost, and the same tickets (the newest, a team's
# open ones) are listed again and again. Each process keeps the JSON it built with the version it
# was built at: ``tickets_ticket.row_version``, which the database itself counts up on every
# change of the row, its tags or its collaborators, and ``tickets_catalogversion``, counted up when
# a name the JSON shows changes (``regulars.tickets.versions``). A page asks the database which
# tickets it holds and at which version, every time, under the viewer's policy; only JSON that is
# missing or older is built. Only what was read outside a transaction is kept, so JSON of a change
# that is later rolled back is never served. ``created_at`` is in the key so a database replaced
# under a running process cannot match.

JSON_CACHE_SIZE = 10_000
_json_cache: dict[int, tuple[tuple[Any, ...], str]] = {}
# Whole pages, keyed by every (id, updated_at, version) row on them.
PAGE_CACHE_SIZE = 256
_page_cache: dict[tuple[Any, ...], bytes] = {}


def _may_keep() -> bool:
    # Outside a transaction, and only where the triggers that count versions exist.
    return not connection.in_atomic_block and connection.vendor in ("sqlite", "postgresql")


def clear_json_cache() -> None:
    _json_cache.clear()
    _page_cache.clear()
    fastsql.forget_unchanged()


# A ticket's version: its row_version, the catalog's, and its created_at (so that a database
# replaced under a running process cannot match), as plain columns (composing one value in SQL
# cost PostgreSQL more than the rest of the statement). Times come as text: psycopg turns each
# timestamp into a datetime in Python, which for a page cost more than everything else.
@functools.cache
def _version(vendor: str) -> str:
    # As text on both databases: on SQLite an expression has no declared type, so sqlite3 does
    # not run Django's datetime converter on it (two per ticket were a tenth of a page's time).
    created = 'CAST("tickets_ticket"."created_at" AS TEXT)'
    return (
        'COALESCE("tickets_ticket"."row_version", 0), '  # noqa: S608 (fixed text)
        f'(SELECT "value" FROM "tickets_catalogversion" WHERE "id" = 1), {created}'
    )


@functools.cache
def _updated_text(vendor: str) -> str:
    updated = '"tickets_ticket"."updated_at"'
    return (
        f"CAST(({updated} AT TIME ZONE 'UTC') AS TEXT)"
        if vendor == "postgresql"
        else f"CAST({updated} AS TEXT)"
    )


def _keys(where: str, params: list[Any], order_by: str, limit: int) -> list[Any]:
    """``(id, updated_at as text, row version, catalog version, created_at as text)`` of each
    ticket that matches; the last three are its version."""
    vendor = connection.vendor
    sql = (
        f'SELECT "tickets_ticket"."id", {_updated_text(vendor)}, {_version(vendor)} FROM "tickets_ticket" '  # noqa: S608 (fixed text; values are parameters)
        f"WHERE {where} ORDER BY {order_by} LIMIT %s"
    )
    return fastsql.execute(sql, [*params, limit])


def _json_of(ids: list[int], versions: dict[int, tuple[Any, ...]]) -> list[str]:
    """The JSON objects of tickets ``ids`` (in that order) whose current versions are
    ``versions``: from the cache where it holds that version, the rest built by the database. A
    ticket gone since (never, as tickets are not deleted) is left out."""
    found: dict[int, str] = {}
    missing: list[int] = []
    for pk in ids:
        hit = _json_cache.get(pk)
        if hit is not None and hit[0] == versions[pk]:
            found[pk] = hit[1]
        else:
            missing.append(pk)
    if missing:
        keep = _may_keep()
        marks = ", ".join(["%s"] * len(missing))
        sql = (
            f'SELECT "tickets_ticket"."id", {_version(connection.vendor)}, {_item_json(connection.vendor)} FROM "tickets_ticket" '  # noqa: S608 (fixed text; values are parameters)
            f'WHERE "tickets_ticket"."id" IN ({marks})'
        )
        if keep and len(_json_cache) + len(missing) > JSON_CACHE_SIZE:
            _json_cache.clear()
        for pk, row_version, catalog, created, item in fastsql.execute(sql, missing):
            found[pk] = item
            if keep:
                _json_cache[pk] = ((row_version, catalog, created), item)
    return [found[pk] for pk in ids if pk in found]


def _utc_naive(value: datetime) -> datetime:
    # SQLite gives naive datetimes that are already UTC; PostgreSQL gives aware ones.
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


def _as_datetime(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return _utc_naive(value).replace(tzinfo=UTC)


def json_time(value: datetime | str | None) -> str | None:
    """A stored time as the API writes every time (Django's JSON encoder: UTC, milliseconds when
    there are any, ``Z``)."""
    if value is None:
        return None
    if isinstance(value, str):  # naive UTC text; PostgreSQL drops trailing zeros of the fraction
        fraction = value[20:26].ljust(6, "0")
        if fraction != "000000":
            return f"{value[:10]}T{value[11:19]}.{fraction[:3]}Z"
        return f"{value[:10]}T{value[11:19]}Z"
    value = _utc_naive(value)
    text = value.isoformat()
    return f"{text[:23]}Z" if value.microsecond else f"{text}Z"
