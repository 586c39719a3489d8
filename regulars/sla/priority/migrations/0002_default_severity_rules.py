"""The policy a fresh install starts with: one policy row and a few severity rules to edit."""

from django.db import migrations

DEFAULT_RULES = [
    ("Planned work is not pressing", "low", {"ticket_type": "task"}),
    ("Outages", "high", {"tag": "outage"}),
    ("Security reports", "critical", {"tag": "security"}),
    ("Lost data", "critical", {"tag": "data-loss"}),
]


def seed(apps, schema_editor):
    PriorityPolicy = apps.get_model("sla_priority", "PriorityPolicy")
    SeverityRule = apps.get_model("sla_priority", "SeverityRule")
    PriorityPolicy.objects.get_or_create(pk=1)
    if not SeverityRule.objects.exists():
        SeverityRule.objects.bulk_create(
            SeverityRule(position=i, name=name, severity=severity, **conditions)
            for i, (name, severity, conditions) in enumerate(DEFAULT_RULES)
        )


class Migration(migrations.Migration):
    dependencies = [("sla_priority", "0001_priority_policy")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
