import pytest

from regulars.api.tests.conftest import Api, ticket_for, token
from regulars.tickets.services import post_message


def _walk(api, **params):
    seen, cursor, pages = [], None, 0
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = api.get("/tickets", **query).json()
        seen += [t["number"] for t in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages


@pytest.fixture
def tickets(cast):
    return [ticket_for(cast.carol if i % 2 else cast.erin, f"Ticket {i}") for i in range(7)]


def test_it_walks_every_ticket_exactly_once_newest_first(cast, tickets):
    seen, pages = _walk(Api(token(cast.bob)), limit=3)
    assert seen == sorted((t.number for t in tickets), reverse=True)
    assert pages == 3


def test_it_walks_every_ticket_once_in_update_order(cast, tickets):
    post_message(tickets[0], author=cast.bob, body="bump", public=True)  # now the most recently updated
    seen, _ = _walk(Api(token(cast.bob)), limit=2, order="updated")
    assert sorted(seen) == sorted(t.number for t in tickets)
    assert len(seen) == len(set(seen))
    assert seen[-1] == tickets[0].number


def test_it_filters_by_requester_status_and_assignee(cast, tickets):
    api = Api(token(cast.bob))
    carols = api.get("/tickets", requester=cast.carol.public_id).json()["items"]
    assert {t["requester"] for t in carols} == {cast.carol.public_id}
    assert len(carols) == 3
    assert len(api.get("/tickets", status="new").json()["items"]) == 7
    assert api.get("/tickets", status="solved").json()["items"] == []
    assert len(api.get("/tickets", assignee="none").json()["items"]) == 7
    assert api.get("/tickets", assignee=cast.bob.public_id).json()["items"] == []


def test_it_filters_by_tag_team_and_update_time(cast):
    tagged = ticket_for(cast.carol, tags=["vip"], team=cast.support)
    ticket_for(cast.carol)
    api = Api(token(cast.bob))
    assert [t["number"] for t in api.get("/tickets", tag="vip").json()["items"]] == [tagged.number]
    assert [t["number"] for t in api.get("/tickets", team=cast.support.public_id).json()["items"]] == [
        tagged.number
    ]
    assert api.get("/tickets", updated_since="2999-01-01T00:00:00Z").json()["items"] == []
    assert len(api.get("/tickets", updated_since="2000-01-01T00:00:00").json()["items"]) == 2
