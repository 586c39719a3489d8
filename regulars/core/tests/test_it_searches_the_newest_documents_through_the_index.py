"""PostgreSQL finds the newest matches through one GIN index over words and id buckets; the
ranking is the same whichever part of the table a match comes from."""

from __future__ import annotations

import pytest
from django.db import connection

from regulars.core import search as search_module
from regulars.core.search import search
from regulars.core.testing import Cast
from regulars.tickets.services import open_ticket

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the bucket index exists on PostgreSQL only"
)


def test_it_ranks_older_matches_with_newer_ones_when_the_newest_give_too_few(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "RECENT_WINDOW", 2)  # PostgreSQL: the newest ticket's documents
    older = open_ticket(subject="Wombat wombat wombat", body="b", requester=cast.carol)
    newer = open_ticket(subject="Wombat report", body="b", requester=cast.carol)
    found = [hit.object_id for hit in search("wombat", kinds=["ticket"], limit=5, enough=2)]
    assert found == [older.pk, newer.pk]  # three mentions rank above one, older or not


def test_it_keeps_to_the_newest_documents_when_they_give_enough(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "RECENT_WINDOW", 2)
    older = open_ticket(subject="Wombat wombat wombat", body="b", requester=cast.carol)
    newer = open_ticket(subject="Wombat report", body="b", requester=cast.carol)
    found = [hit.object_id for hit in search("wombat", kinds=["ticket"], limit=5, enough=1)]
    if connection.vendor == "postgresql":
        assert found == [newer.pk]
    else:  # SQLite ranks the newest CANDIDATES matches of the whole index.
        assert found == [older.pk, newer.pk]


@postgresql_only
def test_the_index_buckets_ids_as_the_search_does(db: None) -> None:
    # The migration repeats the expression the search asks for; if they drifted apart, PostgreSQL
    # would quietly test every document of the window instead of reading the index.
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'core_search_bucket_gin'")
        (definition,) = cursor.fetchone()
    assert f"ARRAY[(id >> {search_module.BUCKET_BITS})]" in definition
    assert "search_vector" in definition
