"""Background work of the email channel. Every task is safe to run twice."""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from regulars.channels.email import ingest, outbound


@task()
def process_inbound_email(inbound_id: int) -> str:
    return ingest.process_inbound(inbound_id).status


@task()
def deliver_outbound(outbound_id: int) -> str:
    row = outbound.deliver(outbound_id)
    return row.state if row is not None else "missing"


@task()
def email_sweep(slot: str) -> dict[str, int]:
    """Every minute: what a crash, a failed handler or a temporary relay failure left behind."""
    now = timezone.now()
    return {
        "processed": ingest.process_pending(),
        "reconciled": outbound.reconcile_replies(now),
        "requeued": outbound.requeue_stale(now),
        "delivered": outbound.deliver_due(now),
    }


@task()
def channel_health_alerts(slot: str) -> list[str]:
    """Every minute: tell admins about inboxes that have failed for five minutes."""
    from regulars.channels.services import notify_red_inboxes

    return notify_red_inboxes()
