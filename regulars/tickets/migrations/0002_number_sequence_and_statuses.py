"""Ticket numbers from a sequence on PostgreSQL, and the default statuses."""

from django.db import migrations

DEFAULT_STATUSES = [
    ("New", "new", "new"),
    ("Open", "open", "open"),
    ("Pending", "pending", "pending"),
    ("On hold", "on-hold", "on_hold"),
    ("Solved", "solved", "solved"),
    ("Closed", "closed", "closed"),
]


def create_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE SEQUENCE IF NOT EXISTS tickets_ticket_number_seq START WITH 1001")


def drop_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP SEQUENCE IF EXISTS tickets_ticket_number_seq")


def create_statuses(apps, schema_editor):
    Status = apps.get_model("tickets", "Status")
    for position, (name, slug, category) in enumerate(DEFAULT_STATUSES):
        Status.objects.get_or_create(
            slug=slug, defaults={"name": name, "category": category, "is_default": True, "position": position}
        )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [
        migrations.RunPython(create_sequence, drop_sequence),
        migrations.RunPython(create_statuses, migrations.RunPython.noop),
    ]
