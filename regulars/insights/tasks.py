"""Background work of the insight engine."""

from __future__ import annotations

from django_tasks import task

from regulars.insights.models import TriageModel
from regulars.insights.services import train_model


@task()
def train_triage_model(model_id: int) -> str:
    """Train the queued model row ``model_id``. Running it twice returns the first outcome."""
    row = TriageModel.objects.filter(pk=model_id).first()
    if row is None:
        return "missing"
    return train_model(row=row).state
