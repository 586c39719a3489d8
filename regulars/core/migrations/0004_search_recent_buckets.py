"""PostgreSQL: one GIN index over the words and the id bucket of each search document.

``core.search`` finds the newest matches by asking for the buckets of the newest documents
(``ARRAY[id >> 12] && ...``); GIN then skips each word's postings to those buckets instead of
reading them whole. The index also serves plain word searches, so it replaces the words-only index.
Every search also reads GIN's pending list of recent inserts, which VACUUM or a full list empties:
at the default 4 MB that is up to ~4 ms a statement at a million tickets, so the list is capped at
512 kB (≤ 0.5 ms; emptying it, about every 1,000 tickets, takes ~25 ms). With ``fastupdate`` off
instead, ticket creation measured 10-15 % slower.

The expression must stay the one ``core.search`` queries (``BUCKET_BITS`` = 12). Building it takes
about half a minute per million tickets, during which writes to search documents wait. SQLite keeps
its FTS5 table: nothing to do there.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

FORWARD = [
    "CREATE INDEX core_search_bucket_gin ON core_searchdocument "
    "USING gin (search_vector, (ARRAY[id >> 12])) WITH (fastupdate = on, gin_pending_list_limit = 512)",
    "DROP INDEX IF EXISTS core_search_vector_gin",
]
BACKWARD = [
    "CREATE INDEX IF NOT EXISTS core_search_vector_gin ON core_searchdocument USING gin (search_vector)",
    "DROP INDEX IF EXISTS core_search_bucket_gin",
]


def _run(statements: list[str]) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("core", "0003_cache_table")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
