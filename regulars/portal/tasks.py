"""Periodic jobs of the portal."""

from __future__ import annotations

from datetime import datetime

from django_tasks import task

from regulars.portal.services import purge_expired_requests


@task()
def purge_expired_requests_task(slot: str) -> int:
    """Forget requests nobody confirmed in time. Safe to run twice."""
    return purge_expired_requests(datetime.fromisoformat(slot))
