"""The full-text structure behind core_searchdocument, per database.

SQLite: an external-content FTS5 table kept in step by triggers, so every insert, update or
delete of a document updates the index inside the same transaction.
PostgreSQL: a generated tsvector column with a GIN index; the database computes it on write.
"""

from django.db import migrations

SQLITE_FORWARD = [
    """CREATE VIRTUAL TABLE core_search_fts USING fts5(
        body, content='core_searchdocument', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER core_search_ai AFTER INSERT ON core_searchdocument BEGIN
        INSERT INTO core_search_fts(rowid, body) VALUES (new.id, new.body); END""",
    """CREATE TRIGGER core_search_ad AFTER DELETE ON core_searchdocument BEGIN
        INSERT INTO core_search_fts(core_search_fts, rowid, body) VALUES ('delete', old.id, old.body); END""",
    """CREATE TRIGGER core_search_au AFTER UPDATE OF body ON core_searchdocument BEGIN
        INSERT INTO core_search_fts(core_search_fts, rowid, body) VALUES ('delete', old.id, old.body);
        INSERT INTO core_search_fts(rowid, body) VALUES (new.id, new.body); END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS core_search_au",
    "DROP TRIGGER IF EXISTS core_search_ad",
    "DROP TRIGGER IF EXISTS core_search_ai",
    "DROP TABLE IF EXISTS core_search_fts",
]
POSTGRES_FORWARD = [
    """ALTER TABLE core_searchdocument ADD COLUMN search_vector tsvector
        GENERATED ALWAYS AS (to_tsvector('english', body)) STORED""",
    "CREATE INDEX core_search_vector_gin ON core_searchdocument USING gin (search_vector)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS core_search_vector_gin",
    "ALTER TABLE core_searchdocument DROP COLUMN IF EXISTS search_vector",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        )
    ]
