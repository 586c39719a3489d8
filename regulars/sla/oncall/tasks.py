"""Periodic jobs of on-call. Each reads the clock once and calls the services with it."""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from regulars.sla.oncall.services import check_drills, escalate, run_drill_plans


@task()
def escalate_task(slot: str) -> int:
    """Every minute: re-page, move up the chain, retry failed sends, fail overdue drills.

    Uses the clock rather than ``slot`` so a worker that picks the task up late still pages on
    the real schedule; the schedule itself lives in the incident rows, so a second run is a no-op.
    """
    now = timezone.now()
    sent = escalate(now)
    check_drills(now)
    return sent


@task()
def drills_task(slot: str) -> int:
    """Every minute: start the drill of each plan whose cron slot has come, once per slot."""
    return len(run_drill_plans(timezone.now()))
