"""List endpoints cost the same number of queries for 2 rows as for 20 (no N+1)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from regulars.accounts.services import create_agent
from regulars.api.tests.conftest import Api, ticket_for, token
from regulars.customers.services import create_customer, create_organisation
from regulars.tickets.services import post_message, update_ticket


def _queries(api, path, **params):
    api.get(path, **params)  # warm up: the token's last_used_at is written once a minute
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(path, **params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _tickets(cast, n):
    for i in range(n):
        t = ticket_for(cast.carol, f"T{i}", tags=["a", f"t{i}"], team=cast.support, assignee=cast.bob)
        update_ticket(t, actor=cast.alice, collaborators=[cast.alice, cast.dave])


@pytest.mark.parametrize("viewer", ["alice", "carol_user"])
def test_it_lists_tickets_in_constant_queries(cast, viewer, django_assert_max_num_queries):
    api = Api(token(getattr(cast, viewer)))
    _tickets(cast, 2)
    few = _queries(api, "/tickets")
    _tickets(cast, 18)
    many = _queries(api, "/tickets")
    assert few == many
    with django_assert_max_num_queries(6):
        api.get("/tickets")


def test_it_lists_messages_in_constant_queries(cast, django_assert_max_num_queries):
    api = Api(token(cast.bob))
    ticket = ticket_for(cast.carol, with_file=True)
    few = _queries(api, f"/tickets/{ticket.number}/messages")
    for i in range(18):
        post_message(ticket, author=cast.bob, body=f"m{i}", public=bool(i % 2))
    assert _queries(api, f"/tickets/{ticket.number}/messages") == few
    with django_assert_max_num_queries(7):
        api.get(f"/tickets/{ticket.number}/messages")


def test_it_lists_customers_organisations_agents_and_teams_in_constant_queries(cast):
    api = Api(token(cast.alice))
    paths = ["/customers", "/organisations", "/agents", "/teams", "/tags"]
    few = {p: _queries(api, p) for p in paths}
    for i in range(18):
        org = create_organisation(name=f"Org {i}", domain=f"org{i}.example", owner=cast.bob)
        create_customer(
            name=f"C{i}",
            emails=[f"c{i}@org{i}.example"],
            phones=[f"+1555000{i:04d}"],
            organisation=org,
            owner=cast.bob,
        )
        create_agent(email=f"agent{i}@regulars.test", name=f"A{i}", teams=[cast.support])
    ticket_for(cast.carol, tags=[f"x{i}" for i in range(18)])
    assert {p: _queries(api, p) for p in paths} == few


def test_it_searches_in_constant_queries(cast):
    api = Api(token(cast.alice))
    _tickets(cast, 2)
    few = _queries(api, "/search", q="T0 T1")
    _tickets(cast, 8)
    assert _queries(api, "/search", q="T0 T1 T2 T3 T4 T5 T6 T7 T8 T9") == few
