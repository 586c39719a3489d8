"""Mail in through ``regulars smtpd``, ticket in the API, agent reply out to the relay, and the
customer's answer threads back into the same ticket: all through real servers on 127.0.0.1."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from regulars.api.tests.conftest import Api, token
from regulars.channels.conftest import Relay, free_port
from regulars.channels.email.models import InboundEmail, OutboundEmail
from regulars.channels.email.outbound import deliver_due
from regulars.channels.email.smtpd import LedgerController, start_server, stop_server
from regulars.channels.services import ensure_inbox
from regulars.tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)
DEMO = "support@demo.regulars.test"


def wait_for(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture
def smtpd(cast: Any) -> Iterator[tuple[LedgerController, int]]:
    ensure_inbox("Demo support", [DEMO], "Demo")
    port = free_port()
    controller = start_server("127.0.0.1", port)
    try:
        yield controller, port
    finally:
        stop_server(controller)


def send(port: int, raw: str, rcpt: str = DEMO, sender: str = "pat@example.com") -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail(sender, [rcpt], raw.replace("\n", "\r\n").encode())


def test_it_turns_mail_into_a_ticket_and_threads_the_whole_conversation(
    smtpd: tuple[LedgerController, int], relay: Relay, cast: Any
) -> None:
    _, port = smtpd
    send(port, "From: Pat <pat@example.com>\nTo: support@demo.regulars.test\nSubject: Router blinks red\n"
               "Message-ID: <first@example.com>\n\nThe router blinks red since this morning.\n")  # fmt: skip
    ticket = wait_for(lambda: Ticket.objects.filter(subject="Router blinks red").first())

    bob = Api(token(cast.bob))
    listed = bob.get("/tickets").json()
    assert ticket.number in [t["number"] for t in listed["items"]]

    reply = bob.post(
        f"/tickets/{ticket.number}/messages", {"body": "Please unplug it for 10 s.", "public": True}
    )
    assert reply.status_code == 201, reply.content
    deliver_due()  # what the worker's task or the sweep runs
    wait_for(lambda: len(relay.received) >= 2)  # the acknowledgement and the reply
    answer = next(m for m in relay.received if "unplug" in m.get_body(("plain",)).get_content())
    assert answer["To"] == "pat@example.com"
    assert answer["In-Reply-To"] == "<first@example.com>"
    assert "<first@example.com>" in answer["References"]
    assert f"+t{ticket.number}-" in answer["Reply-To"]
    assert answer["Auto-Submitted"] is None
    assert any(m["Auto-Submitted"] == "auto-replied" for m in relay.received)
    row = OutboundEmail.objects.get(ticket=ticket, kind="reply")
    assert row.state == "sent" and row.relay_response.startswith("250")

    send(port, "From: Pat <pat@example.com>\nTo: support@demo.regulars.test\nSubject: Re: Router blinks red\n"
               f"Message-ID: <second@example.com>\nIn-Reply-To: {answer['Message-ID']}\n\nDone, it works now.\n")  # fmt: skip
    wait_for(lambda: InboundEmail.objects.filter(message_id="second@example.com", status="message").exists())
    assert Ticket.objects.filter(subject__contains="Router").count() == 1
    assert ticket.messages.filter(kind="reply").count() == 3


def test_it_refuses_unknown_recipients_and_oversized_mail(
    smtpd: tuple[LedgerController, int], settings: Any
) -> None:
    _, port = smtpd
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        assert int(client.esmtp_features["size"]) == settings.EMAIL_MAX_BYTES
        client.mail("pat@example.com")
        code, _ = client.rcpt("nobody@demo.regulars.test")
        assert code == 550
        client.rset()
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail(
                "pat@example.com", [DEMO], b"x", mail_options=[f"SIZE={settings.EMAIL_MAX_BYTES + 1}"]
            )
        assert refused.value.smtp_code == 552
    assert InboundEmail.objects.count() == 0


def test_it_answers_451_when_the_ledger_cannot_store(
    smtpd: tuple[LedgerController, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, port = smtpd

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database is gone")

    monkeypatch.setattr("regulars.channels.email.smtpd.store_raw", broken)
    with pytest.raises(smtplib.SMTPDataError) as failed:
        send(port, "From: pat@example.com\nTo: support@demo.regulars.test\nSubject: x\n\nbody\n")
    assert failed.value.smtp_code == 451
    assert InboundEmail.objects.count() == 0


def test_it_speaks_lmtp(cast: Any) -> None:
    ensure_inbox("Demo support", [DEMO], "Demo")
    port = free_port()
    controller = start_server("127.0.0.1", port, lmtp=True)
    try:
        with smtplib.LMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail(
                "pat@example.com", [DEMO], b"From: pat@example.com\r\nSubject: Via LMTP\r\n\r\nHello\r\n"
            )
        wait_for(lambda: Ticket.objects.filter(subject="Via LMTP").exists())
    finally:
        stop_server(controller)
