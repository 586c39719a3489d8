"""Background work of the insight engine."""

from __future__ import annotations

from datetime import datetime

from django_tasks import task

from regulars.insights.emerging import detect, prune
from regulars.insights.misdirected import deliver_forwards
from regulars.insights.models import TriageModel
from regulars.insights.services import train_model


@task()
def train_triage_model(model_id: int) -> str:
    """Train the queued model row ``model_id``. Running it twice returns the first outcome."""
    row = TriageModel.objects.filter(pk=model_id).first()
    if row is None:
        return "missing"
    return train_model(row=row).state


@task()
def detect_emerging_issues(slot: str) -> dict[str, int]:
    """Every ten minutes: open, grow and close emerging-issue alerts for the hour of ``slot``
    and the one before. Uses the slot, not the clock, so a run is the same however late the
    worker picks it up, and running a slot twice changes nothing."""
    outcome = detect(datetime.fromisoformat(slot))
    return {"opened": len(outcome.opened), "updated": len(outcome.updated), "closed": outcome.closed}


@task()
def prune_trend_counters(slot: str) -> int:
    """Daily: forget hourly counters older than anything detection reads."""
    return prune(datetime.fromisoformat(slot))


@task()
def retry_misdirected_forwards(slot: str) -> int:
    """Every ten minutes: mail forwards whose first try failed (at most MAX_TRIES times)."""
    return deliver_forwards(now=datetime.fromisoformat(slot))
