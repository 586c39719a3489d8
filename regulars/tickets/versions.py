"""Row versions kept by the database, for the API's ticket JSON cache.

``GET /api/v1/tickets`` builds each ticket's JSON in SQL, which is most of a page's cost (eight
lookups and two aggregates a ticket). ``tickets.selectors`` keeps what it built per process and
asks the database only which tickets are on the page and at which version. That is only right
if every change moves a version, whoever writes it (services, the admin, raw SQL, a cascade).
So the database counts, not the application:

- ``tickets_ticket.row_version`` goes up on every update of the row and on every insert or
  delete of the ticket's tags or collaborators;
- ``tickets_catalogversion`` (one row) goes up when a name the JSON shows changes: a status's
  slug, a tag's name, the public id of a customer, organisation, team or agent.

:func:`install` (re)creates the triggers and is idempotent; the migration calls it, and so does
``post_migrate``, because SQLite drops a table's triggers when a later migration rebuilds it.
"""

from __future__ import annotations

from typing import Any

# (table, column): a change of this column changes names shown in tickets' JSON.
CATALOG_COLUMNS = (
    ("tickets_status", "slug"),
    ("tickets_tag", "name"),
    ("customers_customer", "public_id"),
    ("customers_organisation", "public_id"),
    ("accounts_team", "public_id"),
    ("accounts_user", "public_id"),
)
LINK_TABLES = ("tickets_ticket_tags", "tickets_ticket_collaborators")

_BUMP_CATALOG = (
    'INSERT INTO "tickets_catalogversion" ("id", "value") VALUES (1, 0) ON CONFLICT ("id") DO NOTHING; '
    'UPDATE "tickets_catalogversion" SET "value" = "value" + 1 WHERE "id" = 1;'
)


def trigger_names() -> list[str]:
    names = ["tickets_rv_ticket"]
    for table in LINK_TABLES:
        names += [f"{table}_rv_ins", f"{table}_rv_del"]
    names += [f"{table}_rv_catalog" for table, _ in CATALOG_COLUMNS]
    return names


def _sqlite() -> list[str]:
    # recursive_triggers is off (SQLite's default), so the UPDATE inside a trigger on
    # tickets_ticket does not fire that trigger again. OLD.row_version is the stored value:
    # an ORM save that writes back a stale one cannot set the version back.
    statements = [
        'CREATE TRIGGER "tickets_rv_ticket" AFTER UPDATE ON "tickets_ticket" BEGIN '
        'UPDATE "tickets_ticket" SET "row_version" = COALESCE(OLD."row_version", 0) + 1 WHERE "id" = NEW."id"; END'
    ]
    for table in LINK_TABLES:
        for suffix, event, row in (("ins", "INSERT", "NEW"), ("del", "DELETE", "OLD")):
            statements.append(
                f'CREATE TRIGGER "{table}_rv_{suffix}" AFTER {event} ON "{table}" BEGIN '  # noqa: S608 (fixed names)
                f'UPDATE "tickets_ticket" SET "row_version" = COALESCE("row_version", 0) + 1 '
                f'WHERE "id" = {row}."ticket_id"; END'
            )
    for table, column in CATALOG_COLUMNS:
        statements.append(
            f'CREATE TRIGGER "{table}_rv_catalog" AFTER UPDATE OF "{column}" ON "{table}" '
            f'WHEN OLD."{column}" IS NOT NEW."{column}" BEGIN {_BUMP_CATALOG} END'
        )
    return statements


def _postgres() -> list[str]:
    statements = [
        # BEFORE UPDATE: the new row carries the next version; no second write.
        'CREATE OR REPLACE FUNCTION "tickets_rv_bump"() RETURNS trigger LANGUAGE plpgsql AS $$ '
        'BEGIN NEW."row_version" := COALESCE(OLD."row_version", 0) + 1; RETURN NEW; END $$',
        # A ticket row this transaction wrote itself (inserted, or updated, so its version has
        # already moved past every committed one) needs no second write: ``xmin`` is the
        # transaction that wrote the row. Opening a ticket with tags then costs no dead row per
        # tag. Rows written inside a savepoint carry the subtransaction's id and get the write.
        'CREATE OR REPLACE FUNCTION "tickets_rv_link"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN '
        "IF TG_OP = 'DELETE' THEN "
        'UPDATE "tickets_ticket" SET "row_version" = "row_version" WHERE "id" = OLD."ticket_id" '
        "AND xmin <> pg_current_xact_id()::xid; "
        'ELSE UPDATE "tickets_ticket" SET "row_version" = "row_version" WHERE "id" = NEW."ticket_id" '
        "AND xmin <> pg_current_xact_id()::xid; "
        "END IF; RETURN NULL; END $$",
        'CREATE OR REPLACE FUNCTION "tickets_rv_catalog"() RETURNS trigger LANGUAGE plpgsql AS $$ '
        f"BEGIN {_BUMP_CATALOG} RETURN NULL; END $$",
        'CREATE TRIGGER "tickets_rv_ticket" BEFORE UPDATE ON "tickets_ticket" '
        'FOR EACH ROW EXECUTE FUNCTION "tickets_rv_bump"()',
    ]
    for table in LINK_TABLES:
        statements += [
            f'CREATE TRIGGER "{table}_rv_ins" AFTER INSERT ON "{table}" '
            'FOR EACH ROW EXECUTE FUNCTION "tickets_rv_link"()',
            f'CREATE TRIGGER "{table}_rv_del" AFTER DELETE ON "{table}" '
            'FOR EACH ROW EXECUTE FUNCTION "tickets_rv_link"()',
        ]
    for table, column in CATALOG_COLUMNS:
        statements.append(
            f'CREATE TRIGGER "{table}_rv_catalog" AFTER UPDATE OF "{column}" ON "{table}" '
            f'FOR EACH ROW WHEN (OLD."{column}" IS DISTINCT FROM NEW."{column}") '
            'EXECUTE FUNCTION "tickets_rv_catalog"()'
        )
    return statements


def _tables() -> dict[str, str]:
    tables = {"tickets_rv_ticket": "tickets_ticket"}
    for table in LINK_TABLES:
        tables[f"{table}_rv_ins"] = tables[f"{table}_rv_del"] = table
    for table, _ in CATALOG_COLUMNS:
        tables[f"{table}_rv_catalog"] = table
    return tables


def install(connection: Any) -> None:
    """Create (or re-create) every trigger. Idempotent; runs inside the caller's transaction."""
    if connection.vendor not in ("sqlite", "postgresql"):
        return
    uninstall(connection)
    with connection.cursor() as cursor:
        for statement in _sqlite() if connection.vendor == "sqlite" else _postgres():
            cursor.execute(statement)


def uninstall(connection: Any) -> None:
    tables = _tables()
    with connection.cursor() as cursor:
        for name in trigger_names():
            if connection.vendor == "postgresql":
                cursor.execute(f'DROP TRIGGER IF EXISTS "{name}" ON "{tables[name]}"')
            elif connection.vendor == "sqlite":
                cursor.execute(f'DROP TRIGGER IF EXISTS "{name}"')


def installed(connection: Any) -> set[str]:
    """The names of this module's triggers present in the database."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {row[0] for row in cursor.fetchall()}
    return present & set(trigger_names())


def current(connection: Any) -> bool:
    """Whether every trigger is there as this code writes it (SQLite keeps each trigger's
    text; PostgreSQL each function's body)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            present = {name: sql for name, sql in cursor.fetchall() if name in set(trigger_names())}
            expected = {statement.split('"')[1]: statement for statement in _sqlite()}
            return present == expected
        cursor.execute("SELECT proname, prosrc FROM pg_proc WHERE proname LIKE 'tickets_rv_%%'")
        bodies = dict(cursor.fetchall())
    expected_bodies = {
        statement.split('"')[1]: statement.split("$$")[1]
        for statement in _postgres()
        if statement.startswith("CREATE OR REPLACE FUNCTION")
    }
    return bodies == expected_bodies and installed(connection) == set(trigger_names())


def ensure(connection: Any) -> None:
    """(Re)install the triggers when any is missing or differs from this code's (after a
    migration rebuilt a table, or a release changed them); nothing before this app's migration
    that adds the version columns has run."""
    if connection.vendor not in ("sqlite", "postgresql"):
        return
    if "tickets_catalogversion" not in connection.introspection.table_names():
        return
    if not current(connection):
        install(connection)


def ensure_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from django.db import connections

    ensure(connections[using])
