from __future__ import annotations

import pytest

from regulars.core.errors import Forbidden, NotFound
from regulars.core.testing import Cast
from regulars.customers.services import create_plan, update_customer
from regulars.tickets.models import Ticket
from regulars.tickets.selectors import get_ticket, search_tickets, visible_messages, visible_tickets
from regulars.tickets.services import open_ticket, post_message, update_ticket


@pytest.fixture
def tickets(cast: Cast) -> dict[str, Ticket]:
    return {
        "carol": open_ticket(
            subject="Carol's invoice question", body="invoice", requester=cast.carol, team=cast.support
        ),
        "erin": open_ticket(
            subject="Erin's invoice question", body="invoice", requester=cast.erin, team=cast.billing
        ),
    }


def numbers(qs) -> set[int]:
    return set(qs.values_list("number", flat=True))


def test_it_shows_every_ticket_to_admins_and_all_scope_agents(cast: Cast, tickets: dict[str, Ticket]) -> None:
    everything = {t.number for t in tickets.values()}
    assert numbers(visible_tickets(cast.alice)) == everything
    assert numbers(visible_tickets(cast.bob)) == everything
    assert numbers(visible_tickets(cast.charlie)) == everything


def test_it_shows_a_team_scoped_agent_only_his_teams_assigned_and_collaborating_tickets(
    cast: Cast, tickets: dict[str, Ticket]
) -> None:
    assert numbers(visible_tickets(cast.dave)) == {tickets["erin"].number}
    update_ticket(tickets["carol"], actor=cast.alice, collaborators=[cast.dave])
    assert numbers(visible_tickets(cast.dave)) == {tickets["erin"].number, tickets["carol"].number}


def test_it_shows_a_customer_only_their_own_tickets(cast: Cast, tickets: dict[str, Ticket]) -> None:
    assert numbers(visible_tickets(cast.carol_user)) == {tickets["carol"].number}
    assert numbers(visible_tickets(cast.erin_user)) == {tickets["erin"].number}
    with pytest.raises(NotFound):
        get_ticket(cast.carol_user, tickets["erin"].number)


def test_it_shows_organisation_tickets_only_when_the_plan_allows(
    cast: Cast, tickets: dict[str, Ticket]
) -> None:
    from regulars.customers.services import create_customer

    colleague = create_customer(name="Colleague", emails=["colleague@acme.example"])
    colleague_ticket = open_ticket(subject="Colleague asks", body="?", requester=colleague)
    assert colleague_ticket.number not in numbers(visible_tickets(cast.carol_user))
    shared = create_plan(name="Business", slug="business", organisation_wide_visibility=True)
    update_customer(cast.carol, plan=shared)
    assert colleague_ticket.number in numbers(visible_tickets(cast.carol_user))
    assert tickets["erin"].number not in numbers(visible_tickets(cast.carol_user))


def test_it_hides_internal_notes_from_customers_everywhere(cast: Cast, tickets: dict[str, Ticket]) -> None:
    ticket = tickets["carol"]
    post_message(ticket, author=cast.bob, body="Secret zebra remark", public=False)
    assert [m.kind for m in visible_messages(cast.carol_user, ticket)] == ["reply"]
    assert [m.kind for m in visible_messages(cast.bob, ticket)] == ["reply", "note"]
    assert search_tickets(cast.carol_user, "zebra") == []
    assert [t.number for t in search_tickets(cast.bob, "zebra")] == [ticket.number]


def test_it_lets_a_light_agent_write_notes_but_not_public_replies_or_changes(
    cast: Cast, tickets: dict[str, Ticket]
) -> None:
    ticket = tickets["carol"]
    note = post_message(ticket, author=cast.charlie, body="FYI", public=False)
    assert note.kind == "note"
    with pytest.raises(Forbidden):
        post_message(ticket, author=cast.charlie, body="Hello customer", public=True)
    with pytest.raises(Forbidden):
        update_ticket(ticket, actor=cast.charlie, subject="Renamed")


def test_it_refuses_a_customer_writing_on_someone_elses_ticket_or_a_note(
    cast: Cast, tickets: dict[str, Ticket]
) -> None:
    with pytest.raises(Forbidden):
        post_message(tickets["erin"], author=cast.carol_user, body="hi", public=True)
    with pytest.raises(Forbidden):
        post_message(tickets["carol"], author=cast.carol_user, body="hi", public=False)
    reply = post_message(tickets["carol"], author=cast.carol_user, body="more details", public=True)
    assert reply.author_customer == cast.carol


def test_it_lets_a_customer_only_mark_their_ticket_solved(cast: Cast, tickets: dict[str, Ticket]) -> None:
    from regulars.tickets.models import Status

    with pytest.raises(Forbidden):
        update_ticket(tickets["carol"], actor=cast.carol_user, priority="urgent", priority_reason="me")
    with pytest.raises(Forbidden):
        update_ticket(tickets["carol"], actor=cast.carol_user, status=Status.objects.get(slug="open"))
    solved = update_ticket(tickets["carol"], actor=cast.carol_user, status=Status.objects.get(slug="solved"))
    assert solved.status_category == "solved" and solved.solved_at is not None


def test_it_shows_nothing_to_a_deactivated_agent(cast: Cast, tickets: dict[str, Ticket]) -> None:
    cast.bob.is_active = False
    cast.bob.save(update_fields=["is_active"])
    assert not visible_tickets(cast.bob).exists()
