"""Create the database cache table (sign-in rate-limit counters) where the cache is the database."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps: Any, schema_editor: Any) -> None:
    # A no-op when the configured cache is not a database cache (tests use local memory).
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_search_backends")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
