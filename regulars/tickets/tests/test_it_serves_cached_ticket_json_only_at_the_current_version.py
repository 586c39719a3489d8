"""The API's ticket list keeps each ticket's JSON per process and asks the database every time
which tickets are on the page and at which version (``regulars.tickets.versions``). Whatever
changes a ticket, its tags, its collaborators or a name its JSON shows, and whoever writes it
(a service, the admin's model save, raw SQL), the next page shows the change; JSON read inside a
transaction that rolls back is never served; every viewer still gets only their policy's tickets.

These tests use a transactional database: the cache keeps only what was read outside a
transaction, as a request reads."""

from __future__ import annotations

import json
from importlib import import_module
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from regulars.accounts.models import User
from regulars.core import fastsql
from regulars.core.testing import Cast, build_cast
from regulars.customers.services import create_customer, merge_customers
from regulars.tickets import versions
from regulars.tickets.models import Status, Tag, Ticket
from regulars.tickets.selectors import TicketListFilters, clear_json_cache, ticket_list_page
from regulars.tickets.services import open_ticket, post_message, update_ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cast(transactional_db: None) -> Cast:
    if not Status.objects.exists():  # a flushed database loses the rows migrations seed
        seed = import_module("regulars.tickets.migrations.0002_number_sequence_and_statuses")
        seed.create_statuses(apps, None)
    return build_cast()


def items(viewer: User) -> dict[int, dict[str, Any]]:
    text, _ = ticket_list_page(viewer, TicketListFilters())
    return {item["number"]: item for item in json.loads(text)}


def statements(viewer: User) -> int:
    """Statements a page costs below the memo of an unchanged database (``fastsql.unchanged_memo``,
    tested on its own), which is dropped first."""
    fastsql.forget_unchanged()
    with CaptureQueriesContext(connection) as queries:
        ticket_list_page(viewer, TicketListFilters())
    checks = ("PRAGMA data_version", "SELECT pg_current_snapshot()")
    return len([q for q in queries.captured_queries if not q["sql"].startswith(checks)])


@pytest.fixture
def ticket(cast: Cast) -> Ticket:
    made = open_ticket(
        subject="Printer on fire", body="Help", requester=cast.carol, team=cast.support, tags=["hw"]
    )
    open_ticket(subject="Second", body="?", requester=cast.erin, team=cast.billing)
    return made


def test_a_page_read_again_builds_no_json(cast: Cast, ticket: Ticket) -> None:
    first = items(cast.alice)
    assert statements(cast.alice) == 1  # the keys and versions only
    assert items(cast.alice) == first
    clear_json_cache()
    assert statements(cast.alice) == 2  # keys, then the JSON of the tickets not cached


def test_every_kind_of_change_shows_on_the_next_page(cast: Cast, ticket: Ticket) -> None:
    n = ticket.number
    items(cast.alice)

    update_ticket(ticket, actor=cast.alice, subject="Printer still on fire")
    assert items(cast.alice)[n]["subject"] == "Printer still on fire"

    update_ticket(ticket, actor=cast.alice, tags=["hw", "urgent"])
    assert items(cast.alice)[n]["tags"] == ["hw", "urgent"]

    update_ticket(ticket, actor=cast.alice, collaborators=[cast.bob])
    assert items(cast.alice)[n]["collaborators"] == [cast.bob.public_id]

    before = items(cast.alice)[n]["last_message_at"]
    post_message(ticket, author=cast.bob, body="On it", public=True)
    assert items(cast.alice)[n]["last_message_at"] != before

    # Writes that bypass the services: the admin's model save, a bare m2m change, raw SQL.
    tag = Tag.objects.get(name="urgent")
    tag.name = "critical"
    tag.save()
    assert items(cast.alice)[n]["tags"] == ["critical", "hw"]

    Ticket.objects.get(pk=ticket.pk).tags.remove(tag)
    assert items(cast.alice)[n]["tags"] == ["hw"]

    status = Status.objects.get(pk=Ticket.objects.get(pk=ticket.pk).status_id)
    status.slug = "being-looked-at"
    status.save()
    assert items(cast.alice)[n]["status"] == "being-looked-at"

    with connection.cursor() as cursor:
        cursor.execute('UPDATE "tickets_ticket" SET "priority" = %s WHERE "id" = %s', ["urgent", ticket.pk])
    assert items(cast.alice)[n]["priority"] == "urgent"


def test_a_stale_instance_saved_in_full_cannot_set_the_version_back(cast: Cast, ticket: Ticket) -> None:
    stale = Ticket.objects.get(pk=ticket.pk)
    update_ticket(Ticket.objects.get(pk=ticket.pk), actor=cast.alice, subject="Newer subject")
    items(cast.alice)
    version = Ticket.objects.get(pk=ticket.pk).row_version
    assert version is not None and stale.row_version != version
    stale.priority = "high"
    stale.save()  # writes every column back, its old row_version included
    shown = items(cast.alice)[ticket.number]
    assert (shown["subject"], shown["priority"]) == ("Printer on fire", "high")
    assert Ticket.objects.get(pk=ticket.pk).row_version == version + 1


def test_a_merged_customer_s_tickets_show_the_new_requester(cast: Cast, ticket: Ticket) -> None:
    duplicate = create_customer(name="Carol again", emails=["carol.again@example.com"])
    moved = open_ticket(subject="From the duplicate", body="?", requester=duplicate)
    before = items(cast.alice)[moved.number]
    merge_customers(duplicate, cast.carol, actor=cast.alice)
    after = items(cast.alice)[moved.number]
    assert after["requester"] == cast.carol.public_id
    assert after["updated_at"] > before["updated_at"]  # sync clients see the move too


def test_json_read_inside_a_rolled_back_transaction_is_never_served(cast: Cast, ticket: Ticket) -> None:
    items(cast.alice)

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        update_ticket(ticket, actor=cast.alice, subject="Never happened")
        assert items(cast.alice)[ticket.number]["subject"] == "Never happened"
        raise Undo
    assert items(cast.alice)[ticket.number]["subject"] == "Printer on fire"
    update_ticket(Ticket.objects.get(pk=ticket.pk), actor=cast.alice, subject="Happened")
    assert items(cast.alice)[ticket.number]["subject"] == "Happened"


def test_cached_json_never_reaches_a_viewer_outside_the_policy(cast: Cast, ticket: Ticket) -> None:
    everything = items(cast.alice)  # the admin's read fills the cache with both tickets
    assert len(everything) == 2
    seen_by_dave = items(cast.dave)  # Billing only
    assert [item["subject"] for item in seen_by_dave.values()] == ["Second"]
    assert items(cast.carol_user).keys() == {ticket.number}


def test_the_triggers_exist_after_migrations_and_come_back_when_dropped() -> None:
    assert versions.installed(connection) == set(versions.trigger_names())
    versions.uninstall(connection)
    assert versions.installed(connection) == set()
    call_command("migrate", verbosity=0)  # post_migrate puts them back
    assert versions.installed(connection) == set(versions.trigger_names())


def test_triggers_that_differ_from_the_code_s_are_replaced_by_migrate() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                'CREATE OR REPLACE FUNCTION "tickets_rv_bump"() RETURNS trigger LANGUAGE plpgsql '
                "AS $$ BEGIN RETURN NEW; END $$"
            )
        else:
            cursor.execute('DROP TRIGGER "tickets_rv_ticket"')
            cursor.execute(
                'CREATE TRIGGER "tickets_rv_ticket" AFTER UPDATE ON "tickets_ticket" BEGIN SELECT 1; END'
            )
    assert not versions.current(connection)
    call_command("migrate", verbosity=0)
    assert versions.current(connection)


def test_a_tag_rename_shows_even_after_the_catalog_row_was_lost(cast: Cast, ticket: Ticket) -> None:
    with connection.cursor() as cursor:
        # What a flush does; the next catalog change writes the row again.
        cursor.execute('DELETE FROM "tickets_catalogversion"')
    assert items(cast.alice)[ticket.number]["tags"] == ["hw"]
    tag = Tag.objects.get(name="hw")
    tag.name = "hardware"
    tag.save()
    assert items(cast.alice)[ticket.number]["tags"] == ["hardware"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="xmin is PostgreSQL's")
def test_tags_written_with_a_new_ticket_do_not_write_its_row_again(cast: Cast) -> None:
    plain = open_ticket(subject="Untagged", body="?", requester=cast.carol)
    made = open_ticket(subject="Tagged", body="?", requester=cast.carol, tags=["a", "b", "c"])
    version = Ticket.objects.get(pk=made.pk).row_version
    assert version == Ticket.objects.get(pk=plain.pk).row_version  # the tags added no write
    Ticket.objects.get(pk=made.pk).tags.remove(Tag.objects.get(name="a"))  # a later transaction
    assert Ticket.objects.get(pk=made.pk).row_version == (version or 0) + 1
