"""The SLA clocks job, every minute. Safe to run twice: syncing is idempotent and each at-risk or
breach event is announced once (unique ``SlaEventLog`` rows)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django_tasks import task

from regulars.sla.services import run_clocks


@task()
def run_sla_clocks(slot: str) -> dict[str, int]:
    # The slot only names the run; thresholds are compared with the real clock so a late or
    # repeated run still raises exactly what is due by now.
    datetime.fromisoformat(slot)
    return run_clocks(now=timezone.now())
