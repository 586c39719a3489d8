from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F

from regulars.accounts.models import User
from regulars.core.models import SearchDocument
from regulars.demo.builder import DemoDataExists, build
from regulars.demo.plan import ADMIN_EMAIL, DEMO_PASSWORD, plan_people, plan_tickets
from regulars.demo.tests.snapshot import snapshot, wipe
from regulars.tickets.models import Message, Ticket, TicketEvent
from regulars.tickets.selectors import search_tickets

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _plan(seed: int) -> list[object]:
    people = plan_people(seed, 40)
    return [people, *plan_tickets(seed, 120, customers=people.customers, days=90, now=NOW)]


def test_it_plans_the_same_data_for_the_same_seed() -> None:
    assert _plan(5) == _plan(5)
    assert _plan(5) != _plan(6)


@pytest.mark.django_db
def test_it_writes_the_same_data_for_the_same_seed_on_either_path() -> None:
    build(seed=3, customers=40, tickets=120, now=NOW, path="services")
    through_services = snapshot()
    wipe()
    build(seed=3, customers=40, tickets=120, now=NOW, path="services")
    assert snapshot() == through_services
    wipe()
    build(seed=3, customers=40, tickets=120, now=NOW, path="bulk")
    assert snapshot() == through_services


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["services", "bulk"])
def test_it_gives_every_ticket_the_rows_the_services_promise(path: str) -> None:
    build(seed=9, customers=30, tickets=80, now=NOW, path=path)
    tickets = Ticket.objects.all()
    assert tickets.count() == 80
    assert not tickets.exclude(status_category=F("status__category")).exists()
    assert tickets.values("number").distinct().count() == 80
    created = TicketEvent.objects.filter(action="created").values("ticket_id").annotate(n=Count("id"))
    assert sorted(row["ticket_id"] for row in created if row["n"] == 1) == sorted(t.pk for t in tickets)
    for ticket in tickets:
        assert SearchDocument.objects.filter(kind="ticket", object_id=ticket.pk, body=ticket.subject).exists()
    message_docs = SearchDocument.objects.filter(kind__in=["message", "note"]).count()
    assert message_docs == Message.objects.count()
    assert set(tickets.values_list("status__slug", flat=True)) >= {"closed", "solved", "open"}
    assert not tickets.filter(created_at__gt=NOW).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["services", "bulk"])
def test_it_makes_demo_tickets_findable(path: str) -> None:
    build(seed=4, customers=30, tickets=150, now=NOW, path=path)
    admin = User.objects.get(email=ADMIN_EMAIL)
    subject = Ticket.objects.filter(subject__startswith="Where is my order").values_list(
        "subject", flat=True
    )[0]
    order = subject.split()[-1].rstrip("?")
    assert any(t.subject == subject for t in search_tickets(admin, order))
    assert search_tickets(admin, "refund")


@pytest.mark.django_db
def test_it_signs_the_admin_in_with_the_printed_password() -> None:
    build(seed=1, customers=5, tickets=5, now=NOW)
    assert User.objects.get(email=ADMIN_EMAIL).check_password(DEMO_PASSWORD)


@pytest.mark.django_db
def test_it_refuses_to_run_twice_unless_appending() -> None:
    call_command("demo", customers=10, tickets=10, seed=2)
    with pytest.raises(CommandError, match="--append"):
        call_command("demo", customers=10, tickets=10, seed=2)
    with pytest.raises(DemoDataExists):
        build(seed=2, customers=10, tickets=10)
    call_command("demo", customers=10, tickets=10, seed=2, append=True)
    assert Ticket.objects.count() == 20


@pytest.mark.django_db
def test_it_sets_up_the_demo_support_inbox_every_time() -> None:
    from regulars.channels.models import Inbox

    call_command("demo", customers=5, tickets=3, seed=7, stdout=io.StringIO())
    inbox = Inbox.objects.get(name="Demo support")
    assert "support@demo.regulars.test" in inbox.addresses
