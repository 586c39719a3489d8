"""Full-text search behind one interface: SQLite FTS5 or PostgreSQL ``tsvector``.

Services call :func:`index_document` inside their own transaction, so the index is never
behind the data. The database maintains the actual full-text structure (see migration
``core.0002_search_backends``); this module only writes plain rows and runs the vendor query.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from regulars.core.models import SearchDocument

MAX_QUERY_TERMS = 12


@dataclass(frozen=True)
class Hit:
    kind: str
    object_id: int
    ticket_id: int | None
    customer_id: int | None


def index_document(
    kind: str, object_id: int, body: str, *, ticket_id: int | None = None, customer_id: int | None = None
) -> None:
    updated = SearchDocument.objects.filter(kind=kind, object_id=object_id).update(
        body=body, ticket_id=ticket_id, customer_id=customer_id
    )
    if not updated:
        SearchDocument.objects.create(
            kind=kind, object_id=object_id, body=body, ticket_id=ticket_id, customer_id=customer_id
        )


def remove_document(kind: str, object_id: int) -> None:
    SearchDocument.objects.filter(kind=kind, object_id=object_id).delete()


def query_terms(q: str) -> list[str]:
    """Split what a person typed into terms; punctuation-only fragments are dropped."""
    terms = [t for t in q.split() if any(ch.isalnum() for ch in t)]
    return terms[:MAX_QUERY_TERMS]


def fts5_expression(terms: list[str]) -> str:
    # Every term becomes a quoted phrase, so FTS5 operators typed by a user (AND, NEAR, *, :)
    # are searched for as text rather than parsed, and can never raise a syntax error.
    return " ".join('"' + t.replace('"', '""') + '"' for t in terms)


def search(q: str, *, kinds: list[str], limit: int = 200) -> list[Hit]:
    """Best matches first, at most ``limit``. Callers filter the hits through their policy."""
    terms = query_terms(q)
    if not terms or not kinds:
        return []
    placeholders = ", ".join(["%s"] * len(kinds))
    if connection.vendor == "postgresql":
        sql = (
            "SELECT d.kind, d.object_id, d.ticket_id, d.customer_id "  # noqa: S608 (only %s placeholders are interpolated)
            "FROM core_searchdocument d, websearch_to_tsquery('english', %s) query "
            f"WHERE d.search_vector @@ query AND d.kind IN ({placeholders}) "
            "ORDER BY ts_rank(d.search_vector, query) DESC, d.id DESC LIMIT %s"
        )
        params: list[str | int] = [" ".join(terms), *kinds, limit]
    else:
        sql = (
            "SELECT d.kind, d.object_id, d.ticket_id, d.customer_id "  # noqa: S608 (only %s placeholders are interpolated)
            "FROM core_search_fts f JOIN core_searchdocument d ON d.id = f.rowid "
            f"WHERE core_search_fts MATCH %s AND d.kind IN ({placeholders}) "
            "ORDER BY f.rank LIMIT %s"
        )
        params = [fts5_expression(terms), *kinds, limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [Hit(kind=r[0], object_id=r[1], ticket_id=r[2], customer_id=r[3]) for r in cursor.fetchall()]
