"""Mailing the engine's outbox rows (``models.MailOutbox``): alert notifications and forwards of
misdirected messages.

A row is claimed (``tries`` + 1, only if nobody else claimed it since it was read) before it is
sent and marked sent after, so two workers never mail the same row and a crash between the two
leaves a row that is tried again, never lost. A failure keeps its error for the next try.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TypeVar

from django.db.models import F, QuerySet
from django.utils import timezone

from regulars.insights.models import MailOutbox

logger = logging.getLogger(__name__)

Row = TypeVar("Row", bound=MailOutbox)
BATCH = 500


def deliver(rows: QuerySet[Row], send: Callable[[Row], None], *, now: dt.datetime | None = None) -> int:
    """Send the unsent rows of ``rows`` that have tries left, oldest first; how many went out."""
    moment = now or timezone.now()
    model = rows.model
    due = rows.filter(sent_at__isnull=True, tries__lt=model.MAX_TRIES).order_by("id")
    sent = 0
    for row in due[:BATCH]:
        claimed = model._default_manager.filter(pk=row.pk, sent_at__isnull=True, tries=row.tries).update(
            tries=F("tries") + 1
        )
        if not claimed:
            continue
        try:
            send(row)
        except Exception as exc:
            logger.exception("could not send %s %s", model.__name__, row.pk)
            model._default_manager.filter(pk=row.pk).update(error=str(exc)[:500])
            continue
        model._default_manager.filter(pk=row.pk).update(sent_at=moment, error="")
        sent += 1
    return sent
