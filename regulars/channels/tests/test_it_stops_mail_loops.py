"""An auto-responder that answers everything we send, for an hour, gets at most 5 mails."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from regulars.channels.conftest import Relay
from regulars.channels.email.ingest import ingest
from regulars.channels.email.outbound import deliver_due
from regulars.channels.models import Inbox
from regulars.customers.services import block_customer


def autoresponse(n: int, subject: str, *, polite: bool) -> bytes:
    headers = "Auto-Submitted: auto-replied\r\nX-Autoreply: yes\r\n" if polite else ""
    return (
        f"From: bot@autoresponder.example\r\nTo: support@demo.regulars.test\r\nSubject: Auto: {subject}\r\n"
        f"Message-ID: <bot-{n}@autoresponder.example>\r\n{headers}\r\nThanks for your mail!\r\n"
    ).encode()


def run_for_an_hour(inbox: Inbox, relay: Relay, monkeypatch: Any, *, polite: bool) -> int:
    start = timezone.now()
    clock = {"now": start}
    monkeypatch.setattr("django.utils.timezone.now", lambda: clock["now"])
    ingest(inbox, autoresponse(0, "hello", polite=polite))
    n = 0
    while clock["now"] < start + timedelta(hours=1):
        deliver_due(clock["now"])
        while len(relay.received) > n:  # the bot answers each mail we sent
            subject = str(relay.received[n]["Subject"])
            n += 1
            ingest(inbox, autoresponse(n, subject, polite=polite))
        clock["now"] += timedelta(seconds=30)
    return len(relay.received)


def test_it_sends_at_most_five_mails_to_a_rude_autoresponder(
    cast: Any, inbox: Inbox, relay: Relay, monkeypatch: Any
) -> None:
    # No RFC 3834 headers and no threading: only the per-sender cap stops it.
    assert run_for_an_hour(inbox, relay, monkeypatch, polite=False) <= 5


def test_it_never_answers_a_polite_autoresponder(
    cast: Any, inbox: Inbox, relay: Relay, monkeypatch: Any
) -> None:
    assert run_for_an_hour(inbox, relay, monkeypatch, polite=True) == 0


def test_it_never_answers_a_blocked_customer(cast: Any, inbox: Inbox, relay: Relay) -> None:
    block_customer(cast.carol, reason="abuse")
    row = ingest(
        inbox, b"From: carol@acme.example\r\nSubject: Again\r\nMessage-ID: <b1@acme.example>\r\n\r\nHi\r\n"
    )
    deliver_due()
    assert row.status == "message" and row.ticket is not None and row.ticket.is_flagged
    assert relay.received == []
