"""The API's list reads tickets with plain SQL (``ticket_list_page``) and has the database write
their JSON; the permission policy and the values it returns must be exactly those of the ORM path
(``visible_tickets``, the detail serialiser)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from regulars.accounts.models import Role, TicketScope, User
from regulars.core.testing import Cast
from regulars.customers.services import create_customer, create_plan, update_customer
from regulars.tickets.models import Ticket
from regulars.tickets.selectors import (
    TicketListFilters,
    json_time,
    ticket_item,
    ticket_list_page,
    visible_tickets,
    visible_tickets_where,
)
from regulars.tickets.services import open_ticket, post_message, update_ticket


@pytest.fixture
def tickets(cast: Cast) -> list[Ticket]:
    colleague = create_customer(name="Colleague", emails=["colleague@acme.example"])
    made = [
        open_ticket(subject="Carol asks", body="?", requester=cast.carol, team=cast.support, tags=["vip"]),
        open_ticket(subject="Erin asks", body="?", requester=cast.erin, team=cast.billing),
        open_ticket(subject="Colleague asks", body="?", requester=colleague, assignee=cast.dave),
        open_ticket(subject="Nobody's team", body="?", requester=cast.erin),
    ]
    update_ticket(made[0], actor=cast.alice, collaborators=[cast.dave])
    return made


def page(viewer: User, filters: TicketListFilters, **kwargs: Any) -> tuple[list[dict[str, Any]], Any]:
    text, last = ticket_list_page(viewer, filters, **kwargs)
    return json.loads(text), last


def sql_numbers(viewer: User) -> set[int]:
    condition, params = visible_tickets_where(viewer)
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "number" FROM "tickets_ticket" WHERE {condition}', params)  # noqa: S608
        return {row[0] for row in cursor.fetchall()}


def orm_numbers(viewer: User) -> set[int]:
    return set(visible_tickets(viewer).values_list("number", flat=True))


def test_the_sql_policy_matches_the_orm_policy_for_every_role_and_scope(
    cast: Cast, tickets: list[Ticket]
) -> None:
    people = [cast.alice, cast.bob, cast.charlie, cast.dave, cast.carol_user, cast.erin_user]
    for scope in TicketScope.values:
        for agent in (cast.bob, cast.charlie, cast.dave):
            agent.ticket_scope = scope
            agent.save(update_fields=["ticket_scope"])
            assert sql_numbers(agent) == orm_numbers(agent), (agent.email, scope)
    shared = create_plan(name="Business", slug="business", organisation_wide_visibility=True)
    update_customer(cast.carol, plan=shared)
    cast.carol_user.refresh_from_db()
    for person in people:
        assert sql_numbers(person) == orm_numbers(person), person.email
    assert len(sql_numbers(cast.carol_user)) == 2  # her own and her colleague's, via the plan
    cast.bob.is_active = False
    cast.bob.save(update_fields=["is_active"])
    assert sql_numbers(cast.bob) == orm_numbers(cast.bob) == set()
    no_customer = User.objects.create_user(email="ghost@example.com", password="x" * 12, role=Role.CUSTOMER)
    assert sql_numbers(no_customer) == orm_numbers(no_customer) == set()


def test_the_page_holds_the_values_the_orm_reads(cast: Cast, tickets: list[Ticket]) -> None:
    items, last = page(cast.alice, TicketListFilters(), limit=10)
    assert last is None
    assert [i["number"] for i in items] == sorted((t.number for t in tickets), reverse=True)
    encoder = DjangoJSONEncoder()
    for item in items:
        ticket = Ticket.objects.select_related("status", "requester", "team", "assignee").get(
            number=item["number"]
        )
        assert item["status"] == ticket.status.slug
        assert item["requester"] == ticket.requester.public_id
        assert item["team"] == (ticket.team.public_id if ticket.team else None)
        assert item["assignee"] == (ticket.assignee.public_id if ticket.assignee else None)
        assert item["tags"] == sorted(ticket.tags.values_list("name", flat=True))
        assert item["collaborators"] == sorted(ticket.collaborators.values_list("public_id", flat=True))
        assert item["custom_fields"] == ticket.custom_fields
        assert item["is_flagged"] is ticket.is_flagged
        for name in ("created_at", "updated_at", "last_message_at"):
            assert item[name] == encoder.default(getattr(ticket, name)), name


def test_it_filters_and_pages_like_the_orm(cast: Cast, tickets: list[Ticket]) -> None:
    items, _ = page(cast.alice, TicketListFilters(tag="vip"))
    assert [i["number"] for i in items] == [tickets[0].number]
    items, _ = page(cast.alice, TicketListFilters(assignee="none", team=cast.billing.public_id))
    assert [i["number"] for i in items] == [tickets[1].number]
    items, _ = page(cast.dave, TicketListFilters(assignee=cast.dave.public_id))
    assert [i["number"] for i in items] == [tickets[2].number]
    seen: list[int] = []
    after = None
    while True:
        items, after = page(cast.alice, TicketListFilters(), order="updated", after=after, limit=1)
        seen += [i["number"] for i in items]
        if after is None:
            break
    expected = list(Ticket.objects.order_by("updated_at", "id").values_list("number", flat=True))
    assert seen == expected


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 2, 3, 4, 5, 999, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    ],
)
def test_times_read_as_text_or_values_look_like_every_other_time_in_the_api(value: dt.datetime) -> None:
    expected = DjangoJSONEncoder().default(value.astimezone(dt.UTC))
    stored_text = str(value.astimezone(dt.UTC).replace(tzinfo=None))  # how SQLite keeps it
    assert json_time(value) == json_time(stored_text) == expected
    assert json_time(None) is None


def test_postgresqls_shortened_fractions_keep_their_milliseconds() -> None:
    assert json_time("2026-01-02 03:04:05.1") == "2026-01-02T03:04:05.100Z"
    assert json_time("2026-01-02 03:04:05.0004") == "2026-01-02T03:04:05.000Z"
    assert json_time("2026-01-02 03:04:05") == "2026-01-02T03:04:05Z"


def test_the_database_writes_each_value_with_its_json_type(cast: Cast, tickets: list[Ticket]) -> None:
    flagged = tickets[1]
    Ticket.objects.filter(pk=flagged.pk).update(
        is_flagged=True,
        custom_fields={"plan": "gold", "seats": 3, "nested": {"ok": True}},
        subject='Quotes " and \\ backslash, tab\tand ünïcode ✓',
    )
    item = json.loads(ticket_item(cast.alice, number=flagged.number) or "null")
    assert item["is_flagged"] is True
    assert item["custom_fields"] == {"plan": "gold", "seats": 3, "nested": {"ok": True}}
    assert item["subject"] == 'Quotes " and \\ backslash, tab\tand ünïcode ✓'
    assert isinstance(item["number"], int)
    assert item["tags"] == [] and item["collaborators"] == []
    assert item["solved_at"] is None and item["merged_into"] is None
    assert ticket_item(cast.carol_user, number=flagged.number) is None  # erin's ticket
    assert ticket_item(cast.alice, number=999_999) is None


def test_tags_come_sorted_by_code_point_as_python_sorts_them(cast: Cast, tickets: list[Ticket]) -> None:
    # Punctuation counts: a linguistic collation (en_US on PostgreSQL) would ignore it.
    names = ["b-tag", "b_tag", "b.tag", "b:tag", "b1", "btag", "b-a", "ba"]
    update_ticket(tickets[3], actor=cast.alice, tags=names)
    item = json.loads(ticket_item(cast.alice, number=tickets[3].number) or "null")
    assert item["tags"] == sorted(Ticket.objects.get(pk=tickets[3].pk).tags.values_list("name", flat=True))


@pytest.mark.parametrize("microsecond", [0, 250000])
def test_a_reply_stores_its_times_as_every_other_write_does(
    cast: Cast, tickets: list[Ticket], microsecond: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A message's times go to the ticket by a raw UPDATE. SQLite's own adapter would store an
    # aware time as "... 10:20:30+00:00", and the JSON built in SQL then ended "10:20:30+00:Z".
    when = dt.datetime(2026, 5, 6, 10, 20, 30, microsecond, tzinfo=dt.UTC)
    monkeypatch.setattr("django.utils.timezone.now", lambda: when)
    ticket = tickets[0]
    post_message(ticket, author=cast.alice, body="On it.", public=True)
    post_message(tickets[1], author=None, body="Any news?", public=True, as_customer=cast.erin)

    encoder = DjangoJSONEncoder()
    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT "number", CAST("updated_at" AS TEXT), CAST("last_message_at" AS TEXT) '
            'FROM "tickets_ticket" WHERE "id" IN (%s, %s)',
            [ticket.pk, tickets[1].pk],
        )
        stored = cursor.fetchall()
    items, _ = page(cast.alice, TicketListFilters(), limit=10)
    by_number = {item["number"]: item for item in items}
    for number, updated_at, last_message_at in stored:
        if connection.vendor == "sqlite":  # naive UTC text, as Django writes every other time
            assert "+" not in updated_at and "+" not in last_message_at
        assert by_number[number]["updated_at"] == encoder.default(when)
        assert by_number[number]["last_message_at"] == encoder.default(when)
    assert Ticket.objects.get(pk=ticket.pk).updated_at == when
