"""Search runs on whichever database is configured (the suite runs on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from regulars.core.search import fts5_expression, query_terms, search
from regulars.core.testing import Cast
from regulars.customers.selectors import search_customers
from regulars.tickets.selectors import search_tickets
from regulars.tickets.services import open_ticket, post_message, update_ticket


def test_it_finds_tickets_by_subject_and_by_words_in_the_conversation(cast: Cast) -> None:
    invoice = open_ticket(subject="Invoice was charged twice", body="please help", requester=cast.carol)
    login = open_ticket(
        subject="Cannot sign in", body="password reset mail never arrives", requester=cast.erin
    )
    post_message(login, author=cast.bob, body="Check the spam folder for the reset mail", public=True)
    assert [t.number for t in search_tickets(cast.bob, "invoice")] == [invoice.number]
    assert [t.number for t in search_tickets(cast.bob, "spam folder")] == [login.number]
    assert search_tickets(cast.bob, "nonexistentword") == []


def test_it_matches_word_forms(cast: Cast) -> None:
    ticket = open_ticket(subject="Refunds are slow", body="waiting", requester=cast.carol)
    assert [t.number for t in search_tickets(cast.bob, "refund")] == [ticket.number]


def test_it_sees_changes_immediately_because_the_index_is_written_with_the_data(cast: Cast) -> None:
    ticket = open_ticket(subject="Old words", body="b", requester=cast.carol)
    update_ticket(ticket, actor=cast.bob, subject="Fresh wording about kangaroos")
    assert [t.number for t in search_tickets(cast.bob, "kangaroos")] == [ticket.number]
    assert search_tickets(cast.bob, "Old words") == []


def test_it_finds_customers_by_name_organisation_and_identity(cast: Cast) -> None:
    assert search_customers(cast.bob, "carol@acme.example") == [cast.carol]
    assert search_customers(cast.bob, "Globex") == [cast.erin]
    assert search_customers(cast.carol_user, "Globex") == []


@pytest.mark.parametrize(
    "query",
    ['"', "AND OR NOT", "NEAR(a b)", "col:value", "*", "a\"b'c", "((", "-", "' OR 1=1 --", "über*", "\\"],
)
def test_it_never_fails_on_what_people_type(cast: Cast, query: str) -> None:
    open_ticket(subject="Anything AND everything", body="b", requester=cast.carol)
    search_tickets(cast.bob, query)  # must not raise
    assert isinstance(search(query, kinds=["ticket"]), list)


def test_it_quotes_every_term_for_fts5() -> None:
    assert query_terms("  a  --  b ") == ["a", "b"]
    assert fts5_expression(['say"hi', "NEAR"]) == '"say""hi" "NEAR"'
    # Common words do not narrow a search; alone, they are still searched for.
    assert fts5_expression(["crash", "on", "launch", "The"]) == '"crash" "launch"'
    assert fts5_expression(["on", "the"]) == '"on" "the"'


def test_it_ranks_among_the_newest_matches_so_common_words_stay_fast(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    from regulars.core import search as search_module

    monkeypatch.setattr(search_module, "CANDIDATES", 2)
    monkeypatch.setattr(search_module, "RECENT_WINDOW", 1)  # PostgreSQL: exercise the older-rest path too
    oldest = open_ticket(subject="Wombat one", body="b", requester=cast.carol)
    middle = open_ticket(subject="Wombat two", body="b", requester=cast.carol)
    newest = open_ticket(subject="Wombat wombat three", body="b", requester=cast.carol)
    found = [hit.object_id for hit in search("wombat", kinds=["ticket"], limit=2)]
    assert set(found) == {middle.pk, newest.pk}
    assert oldest.pk not in found
    assert found[0] == newest.pk  # two mentions rank above one


def test_common_words_in_a_query_do_not_have_to_be_in_the_ticket(cast: Cast) -> None:
    # As PostgreSQL's english configuration does, SQLite leaves "on", "the"... out of a query.
    ticket = open_ticket(subject="App crashes at launch", body="Every time.", requester=cast.carol)
    open_ticket(subject="Launch party", body="Cake", requester=cast.carol)
    assert [t.number for t in search_tickets(cast.bob, "crash on the launch")] == [ticket.number]
