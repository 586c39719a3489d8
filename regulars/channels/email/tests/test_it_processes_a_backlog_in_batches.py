"""A backlog of stored mail is processed a batch per transaction, a savepoint per message: replies
thread into parents of the same batch, one broken message neither blocks nor loses the others, and
what the batch cannot commit is processed one message at a time."""

from __future__ import annotations

import smtplib
from typing import Any

import pytest
from django_tasks_db.models import DBTaskResult

from regulars.channels.conftest import free_port
from regulars.channels.email import ingest as ingest_module
from regulars.channels.email.ingest import process_batch, process_pending, store_raw
from regulars.channels.email.models import InboundEmail, OutboundEmail
from regulars.channels.email.smtpd import start_server, stop_server
from regulars.channels.models import Inbox
from regulars.channels.services import ensure_inbox
from regulars.tickets.models import Message, Ticket


def mail(
    n: int, *, sender: str = "pat@example.com", reply_to: int | None = None, to: str = "support"
) -> bytes:
    threading = f"In-Reply-To: <m{reply_to}@example.com>\r\n" if reply_to is not None else ""
    return (
        f"From: Pat <{sender}>\r\nTo: {to}@demo.regulars.test\r\nSubject: Question {n}\r\n"
        f"Message-ID: <m{n}@example.com>\r\n{threading}Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Question number {n}.\r\n"
    ).encode()


def stored(inbox: Inbox, *raws: bytes) -> list[int]:
    return [store_raw(inbox, raw)[0].pk for raw in raws]


def test_it_threads_a_reply_into_a_parent_of_the_same_batch(cast: Any, inbox: Inbox) -> None:
    ids = stored(inbox, mail(1), mail(2, reply_to=1), mail(3), mail(4, reply_to=2))

    rows = process_batch(ids)

    assert [row.status for row in rows] == ["message"] * 4
    assert rows[1].ticket_id == rows[0].ticket_id == rows[3].ticket_id != rows[2].ticket_id
    assert Ticket.objects.count() == 2 and Message.objects.count() == 4


def test_it_keeps_one_copy_of_a_message_stored_for_two_inboxes_in_one_batch(
    cast: Any, inbox: Inbox, billing_inbox: Inbox
) -> None:
    raw = mail(1)
    ids = [store_raw(inbox, raw)[0].pk, store_raw(billing_inbox, raw)[0].pk]

    rows = process_batch(ids)

    assert [row.status for row in rows] == ["message", "duplicate"]
    assert Ticket.objects.count() == 1


def test_one_broken_message_neither_blocks_nor_loses_the_others(
    cast: Any, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ingest_module.find_thread

    def sometimes_broken(**kwargs: Any) -> Any:
        if kwargs["subject"] == "Question 2":
            raise RuntimeError("bug in threading")
        return real(**kwargs)

    monkeypatch.setattr(ingest_module, "find_thread", sometimes_broken)
    ids = stored(inbox, mail(1), mail(2), mail(3, reply_to=1))

    rows = process_batch(ids)

    assert [row.status for row in rows] == ["message", "pending", "message"]
    assert rows[1].attempts == 1 and "bug in threading" in rows[1].last_error
    assert Ticket.objects.count() == 1 and Message.objects.count() == 2
    # Its savepoint took everything of it back: no customer message, no ticket, no outbox row.
    assert not Ticket.objects.filter(subject="Question 2").exists()
    monkeypatch.undo()

    assert process_pending() == 1
    assert InboundEmail.objects.get(pk=ids[1]).status == "message" and Ticket.objects.count() == 2


def test_it_processes_one_at_a_time_what_the_batch_cannot_commit(
    cast: Any, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(pks: list[int]) -> Any:
        raise RuntimeError("the batch failed as a whole")

    monkeypatch.setattr(ingest_module, "_lock_inboxes", broken)
    ids = stored(inbox, mail(1), mail(2, reply_to=1))

    rows = process_batch(ids)

    assert [row.status for row in rows] == ["message", "message"]
    assert rows[0].ticket_id == rows[1].ticket_id


def test_the_sweep_works_through_a_backlog_batch_by_batch(
    cast: Any, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_module, "BATCH", 2)
    batches: list[list[int]] = []
    real = ingest_module.process_batch

    def counted(pks: list[int]) -> Any:
        batches.append(list(pks))
        return real(pks)

    monkeypatch.setattr(ingest_module, "process_batch", counted)
    ids = stored(inbox, *(mail(n) for n in range(5)))

    assert process_pending() == 5
    assert batches == [ids[0:2], ids[2:4], ids[4:5]]
    assert set(InboundEmail.objects.values_list("status", flat=True)) == {"message"}
    assert process_pending() == 0


def test_the_acknowledgement_is_queued_for_delivery_with_the_ticket(cast: Any, inbox: Inbox) -> None:
    # Written in the processing transaction itself, not after its commit: the worker finds the
    # outbox row and its delivery task together, or neither.
    ids = stored(inbox, mail(1), mail(2, sender="sam@example.com"))
    process_batch(ids)
    acks = OutboundEmail.objects.filter(kind=OutboundEmail.Kind.ACK)
    assert acks.count() == 2
    tasks = DBTaskResult.objects.filter(task_path="regulars.channels.email.tasks.deliver_outbound")
    assert sorted(t.args_kwargs["kwargs"]["outbound_id"] for t in tasks) == sorted(a.pk for a in acks)


@pytest.mark.django_db(transaction=True)
def test_the_smtp_server_processes_a_burst_and_threads_replies_within_it(cast: Any) -> None:
    ensure_inbox("Demo support", ["support@demo.regulars.test"], "Demo")
    port = free_port()
    controller = start_server("127.0.0.1", port)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            for n in range(8):
                raw = mail(n, reply_to=n - 1 if n % 2 else None)
                client.sendmail("pat@example.com", ["support@demo.regulars.test"], raw)
    finally:
        stop_server(controller)  # waits for the processing thread to finish what was stored

    assert set(InboundEmail.objects.values_list("status", flat=True)) == {"message"}
    assert Ticket.objects.count() == 4 and Message.objects.count() == 8
