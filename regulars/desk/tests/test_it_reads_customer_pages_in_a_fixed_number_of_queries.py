"""Customer and organisation pages cost the same number of queries for few or many rows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from regulars.core.testing import Cast
from regulars.customers.services import create_customer
from regulars.desk.tests.workspace_data import agent_client
from regulars.tickets.services import open_ticket, post_message

pytestmark = pytest.mark.django_db


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def _grow(cast: Cast, start: int, stop: int) -> None:
    for i in range(start, stop):
        person = create_customer(name=f"Acme person {i}", emails=[f"person{i}@acme.example"])
        ticket = open_ticket(subject=f"Question {i}", body="hi", requester=cast.carol, team=cast.support)
        post_message(ticket, author=cast.bob, body="answer", public=True)
        open_ticket(subject=f"Other {i}", body="hi", requester=person)


@pytest.mark.parametrize(
    "url",
    [
        lambda cast: f"/desk/customers/{cast.carol.public_id}/",
        lambda cast: "/desk/customers/",
        lambda cast: f"/desk/organisations/{cast.acme.public_id}/",
        lambda cast: "/desk/organisations/",
    ],
    ids=["customer", "customers", "organisation", "organisations"],
)
def test_it_reads_the_page_in_the_same_number_of_queries_for_3_or_20_rows(
    cast: Cast, url: Callable[[Cast], str]
) -> None:
    client = agent_client(cast.bob)
    _grow(cast, 0, 3)
    client.get(url(cast))  # session warm
    few = _queries(client, url(cast))
    _grow(cast, 3, 20)
    assert _queries(client, url(cast)) == few
