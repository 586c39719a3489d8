"""Periodic jobs: one registry, croniter schedules, at most one run per slot across machines."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from croniter import croniter
from django.db import IntegrityError, transaction

from regulars.core.models import ScheduledRun

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    cron: str
    task: Any  # a django_tasks Task taking one keyword argument, ``slot`` (ISO 8601)


_jobs: dict[str, PeriodicJob] = {}


def register_periodic(name: str, cron: str, task: Any) -> None:
    if not croniter.is_valid(cron):
        raise ValueError(f"periodic job {name!r}: {cron!r} is not a cron expression")
    _jobs[name] = PeriodicJob(name=name, cron=cron, task=task)


def registered_jobs() -> list[PeriodicJob]:
    return sorted(_jobs.values(), key=lambda j: j.name)


def current_slot(job: PeriodicJob, now: datetime) -> datetime:
    """The latest slot at or before ``now``. Missed older slots collapse into this one."""
    slot: datetime = croniter(job.cron, now).get_prev(datetime)
    if croniter.match(job.cron, now.replace(second=0, microsecond=0)):
        slot = now.replace(second=0, microsecond=0)
    return slot


def claim_and_enqueue(now: datetime, claimed_by: str | None = None) -> list[ScheduledRun]:
    """Claim each job's current slot; enqueue the task only for slots this call won."""
    owner = claimed_by or socket.gethostname()
    claimed: list[ScheduledRun] = []
    for job in registered_jobs():
        slot = current_slot(job, now)
        try:
            with transaction.atomic():
                run = ScheduledRun.objects.create(job=job.name, slot=slot, claimed_by=owner)
                result = job.task.enqueue(slot=slot.isoformat())
                run.task_result_id = str(result.id)
                run.save(update_fields=["task_result_id"])
        except IntegrityError:
            continue  # another scheduler already has this slot
        logger.info("scheduled %s for slot %s", job.name, slot.isoformat())
        claimed.append(run)
    return claimed
