"""Crashes and relay failures: a message committed to the ledger is never lost, a reply is either
sent once or visibly failed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from regulars.channels.conftest import SEED, Relay, Seed
from regulars.channels.email import ingest as ingest_module
from regulars.channels.email.ingest import process_pending, store_raw
from regulars.channels.email.models import InboundEmail, OutboundEmail
from regulars.channels.email.outbound import deliver, deliver_due, requeue_stale
from regulars.channels.email.tasks import email_sweep
from regulars.channels.models import Inbox
from regulars.tickets.models import Message, Ticket
from regulars.tickets.services import post_message


def test_it_keeps_a_message_when_the_worker_dies_after_the_ledger_commit(
    cast: Any, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed(pk: int) -> None:
        raise SystemExit("worker killed")

    monkeypatch.setattr(ingest_module, "process_inbound", killed)
    with pytest.raises(SystemExit):
        ingest_module.ingest(inbox, SEED)
    assert InboundEmail.objects.get().status == "pending" and Ticket.objects.count() == 0
    monkeypatch.undo()

    email_sweep.call(slot=timezone.now().isoformat())
    email_sweep.call(slot=timezone.now().isoformat())  # twice is harmless
    row = InboundEmail.objects.get()
    assert row.status == "message"
    assert Ticket.objects.count() == 1 and Message.objects.count() == 1


def test_it_retries_processing_and_quarantines_what_keeps_failing(
    cast: Any, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    row, _ = store_raw(inbox, SEED)

    def bug(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("bug in threading")

    monkeypatch.setattr(ingest_module, "find_thread", bug)
    for _ in range(ingest_module.MAX_ATTEMPTS):
        process_pending()
    row.refresh_from_db()
    assert row.status == "quarantined" and "bug in threading" in row.reason
    assert Inbox.objects.get().failing_since is not None


def reply(seed: Seed, cast: Any, text: str) -> OutboundEmail:
    # The outbox row comes from the message.created handler, which runs after commit; the test
    # transaction never commits, so its callbacks are run by hand, as a commit would.
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        message = post_message(seed.ticket, author=cast.bob, body=text, public=True)
    return OutboundEmail.objects.get(ticket_message=message)


def test_it_ends_with_every_reply_sent_or_visibly_failed(
    cast: Any, seed: Seed, relay: Relay, settings: Any
) -> None:
    first = reply(seed, cast, "First answer")
    second = reply(seed, cast, "Second answer")
    real_port = relay.port
    settings.EMAIL_RELAY = {**settings.EMAIL_RELAY, "PORT": 1}  # down: nothing listens there
    now = timezone.now()
    deliver_due(now)
    first.refresh_from_db()
    assert first.state == "queued" and first.attempts == 1 and first.next_attempt_at > now
    message_id = first.message_id

    settings.EMAIL_RELAY = {**settings.EMAIL_RELAY, "PORT": real_port}
    relay.answer = "451 4.3.0 try later"
    later = now + timedelta(minutes=5)
    deliver_due(later)
    first.refresh_from_db()
    assert first.state == "queued" and first.attempts == 2 and "451" in first.last_error

    relay.answer = "250 2.0.0 Ok: queued as RELAY{n}"
    deliver(first.pk, later + timedelta(hours=1))
    relay.answer = "550 5.1.1 no such user"
    deliver_due(later + timedelta(hours=1))
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == "sent" and first.message_id == message_id
    assert second.state == "failed" and second.last_error.startswith("550")
    assert [m["Message-ID"] for m in relay.received].count(f"<{message_id}>") == 1
    assert OutboundEmail.objects.filter(state__in=["queued", "sending"], kind="reply").count() == 0


def test_two_workers_never_send_the_same_row(cast: Any, seed: Seed, relay: Relay) -> None:
    row = reply(seed, cast, "Only once")
    later = timezone.now() + timedelta(seconds=1)
    deliver(row.pk, later)
    deliver(row.pk, later)  # the second claim finds it already sent
    assert [m["Message-ID"] for m in relay.received].count(f"<{row.message_id}>") == 1


def test_a_send_interrupted_by_a_killed_worker_is_retried_with_the_same_message_id(
    cast: Any, seed: Seed, relay: Relay
) -> None:
    row = reply(seed, cast, "Interrupted")
    started = timezone.now()
    OutboundEmail.objects.filter(pk=row.pk).update(state="sending", claimed_at=started)  # then killed
    assert requeue_stale(started + timedelta(minutes=1)) == 0
    assert requeue_stale(started + timedelta(minutes=11)) == 1
    deliver_due(started + timedelta(minutes=11))
    row.refresh_from_db()
    assert row.state == "sent"
    assert relay.received[-1]["Message-ID"] == f"<{row.message_id}>"
