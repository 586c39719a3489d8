"""Full-text search behind one interface: SQLite FTS5 or PostgreSQL ``tsvector``.

Services call :func:`index_document` inside their own transaction, so the index is never
behind the data. The database maintains the actual full-text structure (see migration
``core.0002_search_backends``); this module only writes plain rows and runs the vendor query.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from regulars.core import fastsql
from regulars.core.models import SearchDocument

MAX_QUERY_TERMS = 12


@dataclass(frozen=True)
class Hit:
    kind: str
    object_id: int
    ticket_id: int | None
    customer_id: int | None


def index_document(
    kind: str,
    object_id: int,
    body: str,
    *,
    ticket_id: int | None = None,
    customer_id: int | None = None,
    new: bool = False,
) -> None:
    """Write the searchable text of one object. ``new=True`` (the object was just created, so it
    has no document yet) skips the update attempt: one statement instead of two per write."""
    updated = 0
    if not new:
        updated = SearchDocument.objects.filter(kind=kind, object_id=object_id).update(
            body=body, ticket_id=ticket_id, customer_id=customer_id
        )
    if not updated:
        fastsql.insert(
            SearchDocument(
                kind=kind, object_id=object_id, body=body, ticket_id=ticket_id, customer_id=customer_id
            ),
            need_pk=False,
        )


def remove_document(kind: str, object_id: int) -> None:
    SearchDocument.objects.filter(kind=kind, object_id=object_id).delete()


def query_terms(q: str) -> list[str]:
    """Split what a person typed into terms; punctuation-only fragments are dropped."""
    terms = [t for t in q.split() if any(ch.isalnum() for ch in t)]
    return terms[:MAX_QUERY_TERMS]


# Words too common to narrow a search. PostgreSQL's "english" configuration drops its own list
# of such words from queries; SQLite's FTS5 has none, and an AND with a word found in most
# documents ("on", "out") made a rare search read that word's whole posting list.
# fmt: off
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "if",
    "in", "into", "is", "it", "its", "no", "not", "of", "on", "or", "our", "out", "so", "than",
    "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "we", "were",
    "what", "when", "which", "who", "will", "with", "you", "your",
})
# fmt: on


def fts5_expression(terms: list[str]) -> str:
    # Every term becomes a quoted phrase, so FTS5 operators typed by a user (AND, NEAR, *, :)
    # are searched for as text rather than parsed, and can never raise a syntax error. Common
    # words are left out unless nothing else is left.
    narrowing = [t for t in terms if t.lower() not in STOPWORDS] or terms
    return " ".join('"' + t.replace('"', '""') + '"' for t in narrowing)


# Relevance is ranked among the newest CANDIDATES matching documents. Ranking every match of a
# common word ("refund") means reading hundreds of thousands of rows at a million tickets; the
# newest matches are what a help desk searches for, and the query can always be narrowed.
CANDIDATES = 500
# PostgreSQL: candidates come first from the newest RECENT_WINDOW documents; only when that window
# holds fewer than the caller's ``enough`` does the search go on to the older rest.
RECENT_WINDOW = 50_000
# PostgreSQL: the GIN index holds, beside the words, each document's bucket of 2**BUCKET_BITS
# consecutive ids (migration core.0004_search_recent_buckets, which repeats the expression). Asking
# for the window's buckets lets GIN skip each word's postings to the newest documents, so the window
# costs what matches there, not what the words match among millions of older documents.
BUCKET_BITS = 12


def search(q: str, *, kinds: list[str], limit: int = 200, enough: int | None = None) -> list[Hit]:
    """Best matches first among the newest matching documents, at most ``limit``.

    ``enough``: how many hits fill the caller's page; once the newest documents give that many,
    older ones are not searched (default: ``limit``). Callers filter hits through their policy.
    """
    terms = query_terms(q)
    if not terms or not kinds:
        return []
    if connection.vendor == "postgresql":
        return _search_postgresql(" ".join(terms), kinds, limit, enough or limit)
    return _search_sqlite(fts5_expression(terms), kinds, limit)


def _kinds_sql(kinds: list[str]) -> str:
    return ", ".join(["%s"] * len(kinds))


def _hits(rows: list[tuple[str, int, int | None, int | None]]) -> list[Hit]:
    return [Hit(kind=r[0], object_id=r[1], ticket_id=r[2], customer_id=r[3]) for r in rows]


def _search_sqlite(expression: str, kinds: list[str], limit: int) -> list[Hit]:
    in_kinds = _kinds_sql(kinds)
    with connection.cursor() as cursor:
        # FTS5 walks its doclists in rowid order, so the newest matches come without a sort, and
        # bm25 (FTS5's default rank) is computed for those CANDIDATES alone: ranking with
        # "ORDER BY rank" would score every match of the words before sorting.
        cursor.execute(
            "SELECT bm25(core_search_fts), f.rowid, d.kind, d.object_id, d.ticket_id, d.customer_id "
            "FROM core_search_fts f JOIN core_searchdocument d ON d.id = f.rowid "
            f"WHERE core_search_fts MATCH %s AND d.kind IN ({in_kinds}) ORDER BY f.rowid DESC LIMIT %s",
            [expression, *kinds, CANDIDATES],
        )
        rows = cursor.fetchall()
    rows.sort(key=lambda row: (row[0], -row[1]))  # best (lowest bm25) first, then newest
    return _hits([row[2:] for row in rows[:limit]])


# The newest document id, computed inside each statement (an InitPlan), not in a round trip of its
# own. It must stay a scalar subquery: joined as a row, the planner tests the buckets after the heap
# instead of in the index.
_TOP_ID = "(SELECT COALESCE(MAX(id), 0) FROM core_searchdocument)"


def _ranked_sql(in_kinds: str, where: str) -> str:
    """The newest CANDIDATES matches satisfying ``where``, best first: rank, id, kind, object_id,
    ticket_id, customer_id and how many candidates there were. ``d.id + 0`` keeps the planner on
    the GIN index instead of walking the primary key through every document."""
    return (
        "SELECT ts_rank(c.search_vector, c.query), c.id, c.kind, c.object_id, c.ticket_id, c.customer_id, "
        "count(*) OVER () FROM ("
        "SELECT d.id, d.kind, d.object_id, d.ticket_id, d.customer_id, d.search_vector, query "
        "FROM core_searchdocument d, websearch_to_tsquery('english', %s) query "
        f"WHERE d.search_vector @@ query AND d.kind IN ({in_kinds}) AND {where} "
        "ORDER BY d.id + 0 DESC LIMIT %s) c "
        "ORDER BY 1 DESC, 2 DESC LIMIT %s"
    )


def _search_postgresql(text: str, kinds: list[str], limit: int, enough: int) -> list[Hit]:
    in_kinds = _kinds_sql(kinds)
    bucket = BUCKET_BITS
    window = (
        f"ARRAY[d.id >> {bucket}] && ARRAY(SELECT generate_series(({_TOP_ID} - %s) >> {bucket}, "
        f"{_TOP_ID} >> {bucket})) AND d.id + 0 > {_TOP_ID} - %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _ranked_sql(in_kinds, window),
            [text, *kinds, RECENT_WINDOW, RECENT_WINDOW, CANDIDATES, limit],
        )
        rows = cursor.fetchall()
        found = rows[0][-1] if rows else 0
        if found < enough:
            # The older rest through the words alone (buckets would not pay: at this point the words
            # are rare, and testing a hundred buckets costs more than their postings).
            cursor.execute(
                _ranked_sql(in_kinds, f"d.id + 0 <= {_TOP_ID} - %s"),
                [text, *kinds, RECENT_WINDOW, CANDIDATES - found, limit],
            )
            older = cursor.fetchall()
            if older:
                # By id: a document written between the two statements moves the window's edge.
                unique = {row[1]: row for row in rows + older}
                rows = sorted(unique.values(), key=lambda row: (-row[0], -row[1]))[:limit]
    return _hits([row[2:6] for row in rows])
