"""An answer read again and again (an API token, a page of the ticket list) is kept for as long as
nothing at all has been committed to the database since (``fastsql.unchanged_memo``: SQLite's
``PRAGMA data_version`` and the connection's own changes; PostgreSQL's current snapshot): a
commit by any other connection, thread or process, or a write by this connection, empties the
memo. Inside a transaction nothing is kept.

The tests use a transactional database, as requests do, and write from a second thread, whose
connection is its own."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from regulars.accounts.models import ApiToken
from regulars.accounts.services import create_api_token, revoke_api_token
from regulars.core import fastsql
from regulars.core.testing import Cast, build_cast
from regulars.tickets.models import Ticket
from regulars.tickets.selectors import TicketListFilters, ticket_list_page
from regulars.tickets.services import open_ticket, update_ticket

pytestmark = pytest.mark.django_db(transaction=True)
CHECK = "PRAGMA data_version" if connection.vendor == "sqlite" else "SELECT pg_current_snapshot()::text"


@pytest.fixture
def cast(transactional_db: None) -> Cast:
    made = build_cast()
    open_ticket(subject="Printer on fire", body="Help", requester=made.carol, team=made.support)
    open_ticket(subject="Second", body="?", requester=made.erin, team=made.billing)
    return made


def elsewhere(change: Callable[[], Any]) -> None:
    """Run ``change`` on another thread, with that thread's own connection, and wait for it."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            change()
        except BaseException as exc:  # reported below, on the test's thread
            failed.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert not failed, failed


def subjects(cast: Cast) -> list[str]:
    page, _ = ticket_list_page(cast.alice, TicketListFilters())
    return [item["subject"] for item in json.loads(page)]


def test_the_memo_lasts_while_nothing_is_committed(cast: Cast) -> None:
    memo = fastsql.unchanged_memo()
    assert memo is not None
    memo["answer"] = 42
    with CaptureQueriesContext(connection) as queries:
        again = fastsql.unchanged_memo()
    assert again is memo and again["answer"] == 42
    assert [q["sql"] for q in queries.captured_queries] == [CHECK]


def test_a_commit_on_another_connection_empties_it(cast: Cast) -> None:
    memo = fastsql.unchanged_memo()
    assert memo is not None
    memo["answer"] = 42
    elsewhere(lambda: Ticket.objects.filter(subject="Second").update(priority="high"))
    assert fastsql.unchanged_memo() == {}


def test_a_write_on_this_connection_empties_it(cast: Cast) -> None:
    memo = fastsql.unchanged_memo()
    assert memo is not None
    memo["answer"] = 42
    Ticket.objects.filter(subject="Second").update(priority="high")
    assert fastsql.unchanged_memo() == {}


def test_a_page_read_again_unchanged_costs_one_pragma_and_shows_every_later_change(cast: Cast) -> None:
    assert subjects(cast) == ["Second", "Printer on fire"]
    with CaptureQueriesContext(connection) as queries:
        assert subjects(cast) == ["Second", "Printer on fire"]
    assert [q["sql"] for q in queries.captured_queries] == [CHECK]

    def rename() -> None:
        update_ticket(Ticket.objects.get(subject="Second"), actor=cast.alice, subject="Second, renamed")

    elsewhere(rename)
    assert subjects(cast) == ["Second, renamed", "Printer on fire"]
    update_ticket(Ticket.objects.get(subject="Printer on fire"), actor=cast.alice, subject="Printer out")
    assert subjects(cast) == ["Second, renamed", "Printer out"]


def test_each_viewer_gets_the_page_of_their_own_policy(cast: Cast) -> None:
    assert subjects(cast) == ["Second", "Printer on fire"]
    page, _ = ticket_list_page(cast.carol_user, TicketListFilters())
    assert [item["subject"] for item in json.loads(page)] == ["Printer on fire"]
    page, _ = ticket_list_page(cast.erin_user, TicketListFilters())
    assert [item["subject"] for item in json.loads(page)] == ["Second"]


def test_a_token_revoked_elsewhere_fails_at_its_next_request(cast: Cast) -> None:
    _, raw = create_api_token(cast.alice, name="poller")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    # The first request also notes when the token was last used: a write, so the second reads again.
    assert client.get("/api/v1/tickets").status_code == 200
    assert client.get("/api/v1/tickets").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/tickets").status_code == 200
    assert {q["sql"] for q in queries.captured_queries} == {CHECK}

    elsewhere(lambda: revoke_api_token(ApiToken.objects.get(name="poller")))
    response = client.get("/api/v1/tickets")
    assert response.status_code == 401


def test_nothing_is_kept_inside_a_transaction(cast: Cast) -> None:
    with transaction.atomic():
        assert fastsql.unchanged_memo() is None
