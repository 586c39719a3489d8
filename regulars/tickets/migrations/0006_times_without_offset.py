"""SQLite only: times a message wrote to its ticket before this fix were stored as
"YYYY-MM-DD HH:MM:SS[.ffffff]+00:00" (SQLite's adapter for an aware time) instead of Django's
naive UTC text. They were always UTC, so the offset is dropped."""

from django.db import migrations


def drop_offsets(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        for column in ("updated_at", "last_message_at"):
            cursor.execute(
                f'UPDATE "tickets_ticket" SET "{column}" = substr("{column}", 1, length("{column}") - 6) '  # noqa: S608 (fixed names)
                f"WHERE \"{column}\" LIKE '%+00:00'"
            )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0005_row_versions")]

    operations = [migrations.RunPython(drop_offsets, migrations.RunPython.noop)]
