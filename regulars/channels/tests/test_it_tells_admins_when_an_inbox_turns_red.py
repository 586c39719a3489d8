"""An inbox that has failed for five minutes is reported to admins once, and its recovery too."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from regulars.accounts.models import AuditLog
from regulars.channels.models import Inbox
from regulars.channels.services import ensure_inbox, notify_red_inboxes, record_error, record_success
from regulars.core.scheduling import registered_jobs

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def inbox(cast: Any) -> Inbox:
    return ensure_inbox("Support", ["support@demo.regulars.test"], "Demo")


def test_it_says_nothing_while_an_inbox_has_failed_for_less_than_five_minutes(inbox: Inbox) -> None:
    start = timezone.now()
    record_error(inbox.pk, "IMAP login failed", now=start)
    assert notify_red_inboxes(now=start + timedelta(minutes=4)) == []
    assert mail.outbox == []


def test_it_tells_every_admin_once_when_an_inbox_turns_red(cast: Any, inbox: Inbox) -> None:
    start = timezone.now()
    record_error(inbox.pk, "IMAP login failed: authentication failed", now=start)
    record_error(inbox.pk, "IMAP login failed: authentication failed", now=start + timedelta(minutes=3))

    assert notify_red_inboxes(now=start + timedelta(minutes=5)) == ["Support"]
    # Later runs (every minute, maybe on several schedulers) do not repeat it.
    assert notify_red_inboxes(now=start + timedelta(minutes=6)) == []
    assert notify_red_inboxes(now=start + timedelta(minutes=7)) == []

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@regulars.test"]  # admins only, not bob or charlie
    assert "Support" in message.subject and "failing" in message.subject
    assert "authentication failed" in message.body
    assert AuditLog.objects.filter(action="inbox.turned_red", object_id=inbox.public_id).count() == 1


def test_it_sends_an_all_clear_on_recovery_and_reports_the_next_red_spell(cast: Any, inbox: Inbox) -> None:
    start = timezone.now()
    record_error(inbox.pk, "connection refused", now=start)
    notify_red_inboxes(now=start + timedelta(minutes=5))
    record_success(inbox.pk, now=start + timedelta(minutes=8))
    record_success(inbox.pk, now=start + timedelta(minutes=9))  # an all-clear only once

    assert [m.subject for m in mail.outbox] == [
        "[Regulars] Inbox Support is failing",
        "[Regulars] Inbox Support is working again",
    ]
    record_error(inbox.pk, "connection refused", now=start + timedelta(minutes=20))
    assert notify_red_inboxes(now=start + timedelta(minutes=26)) == ["Support"]
    assert len(mail.outbox) == 3


def test_it_runs_the_check_every_minute() -> None:
    jobs = {job.name: job for job in registered_jobs()}
    assert jobs["channels.health_alerts"].cron == "* * * * *"
