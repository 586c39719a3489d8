"""A queue page costs the same number of queries for 5 tickets as for 50 (no N+1)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from regulars.accounts.services import create_agent
from regulars.core.testing import Cast
from regulars.customers.services import create_customer
from regulars.desk.tests.queue_data import numbers_on, put_at_risk, signed_in, ticket
from regulars.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _tickets(cast: Cast, n: int, start: int) -> None:
    # Different requesters, assignees and tags on every row: anything fetched per row would show.
    for i in range(start, start + n):
        requester = create_customer(name=f"Customer {i}", emails=[f"c{i}@example.com"])
        agent = create_agent(email=f"agent{i}@regulars.test", name=f"Agent {i}", teams=[cast.support])
        assignee = [cast.bob, agent, None][i % 3]
        ticket(
            cast,
            f"Ticket {i}",
            team=cast.support,
            assignee=assignee,
            requester=requester,
            tags=[f"t{i}", "all"],
        )
    put_at_risk(*Ticket.objects.all())


def _queries(client: Any, path: str) -> tuple[int, int]:
    """(queries, rows listed)."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200
    return len(ctx.captured_queries), len(numbers_on(response))


@pytest.mark.parametrize(
    ("path", "most"),
    [("/desk/", 9), ("/desk/queues/teams/", 9), ("/desk/queues/all/?sort=oldest&tag=all", 9),
     ("/desk/queues/unassigned/", 9), ("/desk/queues/at-risk/", 9),
     # Sorting by priority or status reads one value at a time: up to three more queries a page.
     ("/desk/queues/all/?sort=priority", 12), ("/desk/queues/teams/?sort=status", 12)],
)  # fmt: skip
def test_it_renders_a_queue_in_a_constant_number_of_queries(
    cast: Cast, path: str, most: int, django_assert_max_num_queries: Any
) -> None:
    client = signed_in(cast.bob)
    client.post(
        "/desk/filters/", {"name": "Saved", "queue": "teams", "query": "priority=high", "shared": "on"}
    )
    _tickets(cast, 5, 0)
    few, few_rows = _queries(client, path)
    _tickets(cast, 45, 5)
    many, many_rows = _queries(client, path)
    assert few == many
    assert 0 < few_rows < many_rows
    with django_assert_max_num_queries(most):
        client.get(path)


def test_it_counts_the_same_for_a_team_scoped_agent(cast: Cast) -> None:
    client = signed_in(cast.dave)
    for i in range(5):
        ticket(cast, f"Billing {i}", team=cast.billing)
    few, _ = _queries(client, "/desk/queues/all/")
    for i in range(45):
        ticket(cast, f"Billing more {i}", team=cast.billing)
    assert _queries(client, "/desk/queues/all/") == (few, 50)
