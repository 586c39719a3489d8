"""Row versions counted by the database, for the API's ticket JSON cache (see
``regulars.tickets.versions``)."""

from django.db import migrations, models


def install_triggers(apps, schema_editor):
    from regulars.tickets import versions

    schema_editor.connection.cursor().execute(
        'INSERT INTO "tickets_catalogversion" ("id", "value") VALUES (1, 0)'
    )
    versions.install(schema_editor.connection)


def drop_triggers(apps, schema_editor):
    from regulars.tickets import versions

    versions.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_session_epoch"),
        ("customers", "0003_contact_preferences"),
        ("tickets", "0004_team_priority_queue_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="row_version",
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.CreateModel(
            name="CatalogVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("value", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(install_triggers, drop_triggers),
    ]
