"""The desk's queues: which tickets each shows, filtered, sorted and paged by cursor."""

from __future__ import annotations

import pytest

from regulars.core.testing import Cast, enrol_totp
from regulars.desk.selectors import PAGE_SIZE
from regulars.desk.tests.queue_data import numbers_on, signed_in, ticket
from regulars.tickets.models import Status
from regulars.tickets.services import update_ticket

pytestmark = pytest.mark.django_db


def test_it_opens_the_desk_on_the_agents_own_tickets(cast: Cast) -> None:
    mine = ticket(cast, "Printer jams", team=cast.support, assignee=cast.bob)
    ticket(cast, "Someone else's", team=cast.support, assignee=cast.alice)
    response = signed_in(cast.bob).get("/desk/")
    assert response.status_code == 200
    assert numbers_on(response) == [mine.number]
    assert b"Printer jams" in response.content


def test_it_shows_each_queue_what_belongs_in_it(cast: Cast) -> None:
    mine = ticket(cast, "Mine", team=cast.support, assignee=cast.bob)
    team_unassigned = ticket(cast, "Support, nobody", team=cast.support)
    no_team = ticket(cast, "No team yet")
    other_team = ticket(cast, "Billing, nobody", team=cast.billing)
    solved = ticket(cast, "Solved one", team=cast.support, assignee=cast.bob)
    update_ticket(solved, actor=cast.bob, status=Status.objects.get(slug="solved"))
    bob = signed_in(cast.bob)
    assert numbers_on(bob.get("/desk/queues/mine/")) == [mine.number]
    assert numbers_on(bob.get("/desk/queues/teams/")) == [team_unassigned.number, mine.number]
    assert numbers_on(bob.get("/desk/queues/unassigned/")) == [no_team.number, team_unassigned.number]
    everything = [solved, other_team, no_team, team_unassigned, mine]
    assert numbers_on(bob.get("/desk/queues/all/")) == [t.number for t in everything]


def test_it_filters_by_status_priority_team_assignee_tag_and_channel(cast: Cast) -> None:
    urgent = ticket(cast, "Site down", team=cast.support, priority="urgent", tags=["outage"], channel="phone")
    low = ticket(cast, "Typo on pricing page", team=cast.billing, priority="low", assignee=cast.bob)
    pending = ticket(cast, "Waiting on customer", team=cast.support, assignee=cast.bob)
    update_ticket(pending, actor=cast.bob, status=Status.objects.get(slug="pending"))
    bob = signed_in(cast.bob)

    def listed(**params: str) -> list[int]:
        return numbers_on(bob.get("/desk/queues/all/", params))

    assert listed(priority="urgent") == [urgent.number]
    assert listed(team=cast.billing.public_id) == [low.number]
    assert listed(team="none") == []
    assert listed(assignee="me") == [pending.number, low.number]
    assert listed(assignee="none") == [urgent.number]
    assert listed(assignee=cast.bob.public_id, status="pending") == [pending.number]
    assert listed(tag="outage") == [urgent.number]
    assert listed(channel="phone") == [urgent.number]
    assert listed(status="solved") == []


def test_it_ignores_a_filter_it_does_not_understand_instead_of_failing(cast: Cast) -> None:
    one = ticket(cast, "One", team=cast.support)
    response = signed_in(cast.bob).get("/desk/queues/all/", {"priority": "galactic", "tag": "<script>"})
    assert response.status_code == 200
    assert numbers_on(response) == [one.number]


def test_it_sorts_by_priority_then_newest(cast: Cast) -> None:
    normal = ticket(cast, "Normal", team=cast.support)
    urgent = ticket(cast, "Urgent", team=cast.support, priority="urgent")
    low = ticket(cast, "Low", team=cast.support, priority="low")
    high = ticket(cast, "High", team=cast.support, priority="high")
    newer_urgent = ticket(cast, "Urgent too", team=cast.support, priority="urgent")
    response = signed_in(cast.bob).get("/desk/queues/teams/", {"sort": "priority"})
    assert numbers_on(response) == [n.number for n in (newer_urgent, urgent, high, normal, low)]


def test_it_sorts_oldest_first(cast: Cast) -> None:
    first, second, third = (ticket(cast, f"T{i}", team=cast.support) for i in range(3))
    listed = numbers_on(signed_in(cast.bob).get("/desk/queues/teams/", {"sort": "oldest"}))
    assert listed == [first.number, second.number, third.number]


def test_it_sorts_by_status_then_newest(cast: Cast) -> None:
    pending = ticket(cast, "Pending", team=cast.support)
    update_ticket(pending, actor=cast.bob, status=Status.objects.get(slug="pending"))
    open_one = ticket(cast, "Open", team=cast.support, assignee=cast.bob)
    new = ticket(cast, "New", team=cast.support)
    solved = ticket(cast, "Solved", team=cast.support)
    update_ticket(solved, actor=cast.bob, status=Status.objects.get(slug="solved"))
    bob = signed_in(cast.bob)
    assert numbers_on(bob.get("/desk/queues/teams/", {"sort": "status"})) == [
        new.number, open_one.number, pending.number,
    ]  # fmt: skip
    assert (
        numbers_on(bob.get("/desk/queues/teams/", {"sort": "status", "status": "any"}))[-1] == solved.number
    )


@pytest.mark.parametrize("sort", ["newest", "oldest", "priority", "status"])
def test_it_pages_by_cursor_without_gaps_or_repeats(cast: Cast, sort: str) -> None:
    priorities = ["low", "normal", "high", "urgent"]
    opened = [
        ticket(cast, f"T{i}", team=cast.support, priority=priorities[i % 4]) for i in range(PAGE_SIZE + 7)
    ]
    bob = signed_in(cast.bob)
    seen: list[int] = []
    url = f"/desk/queues/teams/?sort={sort}"
    pages = 0
    while url:
        response = bob.get(url)
        seen += numbers_on(response)
        pages += 1
        next_link = response.context["next_url"]
        url = next_link or ""
    assert pages == 2
    assert sorted(seen) == sorted(t.number for t in opened)
    assert len(seen) == len(set(seen))


def test_it_pages_on_to_the_next_priority_when_a_page_ends_exactly_with_one(cast: Cast) -> None:
    # A full page of urgent tickets, then newer normal ones: the next page starts the normal part
    # from its newest ticket, not below the last urgent ticket's id (which would skip them all).
    urgent = [ticket(cast, f"U{i}", team=cast.support, priority="urgent") for i in range(PAGE_SIZE)]
    normal = [ticket(cast, f"N{i}", team=cast.support, priority="normal") for i in range(3)]
    bob = signed_in(cast.bob)
    first = bob.get("/desk/queues/teams/?sort=priority")
    assert numbers_on(first) == [t.number for t in reversed(urgent)]
    second = bob.get(first.context["next_url"])
    assert numbers_on(second) == [t.number for t in reversed(normal)]
    assert second.context["next_url"] is None


def test_it_answers_a_broken_page_link_with_a_clear_error(cast: Cast) -> None:
    response = signed_in(cast.bob).get("/desk/queues/all/", {"cursor": "not-a-cursor"})
    assert response.status_code == 422
    assert b"not valid" in response.content


def test_it_answers_an_htmx_filter_with_only_the_results(cast: Cast) -> None:
    urgent = ticket(cast, "Site down", team=cast.support, priority="urgent")
    ticket(cast, "Calm", team=cast.support)
    response = signed_in(cast.bob).get(
        "/desk/queues/teams/",
        {"status": "unsolved", "priority": "urgent", "team": "", "sort": "newest"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="queue-results",
    )
    html = response.content.decode()
    assert numbers_on(response) == [urgent.number]
    assert "<html" not in html and 'id="queue-title"' not in html
    assert "HX-Request" in response["Vary"]
    assert response["HX-Push-Url"] == "/desk/queues/teams/?priority=urgent"


def test_it_says_when_a_queue_is_empty(cast: Cast) -> None:
    response = signed_in(cast.bob).get("/desk/queues/mine/", {"priority": "urgent"})
    assert b"No tickets here with these filters" in response.content


def test_it_tells_an_agent_without_a_team_why_the_team_queue_is_empty(cast: Cast) -> None:
    enrol_totp(cast.alice)
    response = signed_in(cast.alice).get("/desk/queues/teams/")
    assert b"not in any team" in response.content


def test_it_knows_no_queue_it_was_not_built_with(cast: Cast) -> None:
    assert signed_in(cast.bob).get("/desk/queues/everything-ever/").status_code == 404
