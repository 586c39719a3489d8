"""Housekeeping jobs of the shared kernel."""

from __future__ import annotations

from datetime import datetime, timedelta

from django_tasks import task

from regulars.core.models import ScheduledRun


@task()
def prune_scheduled_runs(slot: str) -> int:
    """Forget claimed slots older than 30 days. Deleting twice deletes nothing more."""
    cutoff = datetime.fromisoformat(slot) - timedelta(days=30)
    deleted, _ = ScheduledRun.objects.filter(slot__lt=cutoff).delete()
    return deleted
