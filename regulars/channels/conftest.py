"""Fixtures of the channel tests: inboxes, a seeded email conversation, real SMTP servers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from regulars.channels.email.ingest import ingest
from regulars.channels.email.models import InboundEmail, OutboundEmail
from regulars.channels.models import Inbox
from regulars.channels.services import ensure_inbox
from regulars.tickets.models import Ticket

SUPPORT = "support@demo.regulars.test"
SEED_ID = "seed-1@acme.example"
SEED = (
    b"From: Carol Customer <carol@acme.example>\r\nTo: support@demo.regulars.test\r\n"
    b"Subject: Printer on fire\r\nMessage-ID: <seed-1@acme.example>\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nMy printer is on fire.\r\n"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def inbox(db: None) -> Inbox:
    return ensure_inbox("Support", [SUPPORT], "Demo Co")


@pytest.fixture
def billing_inbox(db: None) -> Inbox:
    return ensure_inbox("Billing", ["billing@demo.regulars.test"], "Demo Co")


@dataclass
class Seed:
    ticket: Ticket
    row: InboundEmail
    ack: OutboundEmail


@pytest.fixture
def seed(cast: Any, inbox: Inbox) -> Seed:
    """Carol wrote once; ticket opened and our acknowledgement queued."""
    row = ingest(inbox, SEED)
    assert row.ticket is not None
    ack = OutboundEmail.objects.get(ticket=row.ticket, kind=OutboundEmail.Kind.ACK)
    return Seed(row.ticket, row, ack)


@dataclass
class Relay:
    """A capturing outbound relay; ``answer`` decides what it says to DATA."""

    port: int
    received: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    answer: str = "250 2.0.0 Ok: queued as RELAY{n}"
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if not self.answer.startswith("250"):
                return self.answer
            msg = message_from_bytes(envelope.original_content, policy=policy.default)
            assert isinstance(msg, EmailMessage)
            self.received.append(msg)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            return self.answer.format(n=len(self.received))


@pytest.fixture
def relay(settings: Any) -> Iterator[Relay]:
    port = free_port()
    relay = Relay(port=port)
    controller = Controller(relay, hostname="127.0.0.1", port=port, decode_data=False)
    controller.start()
    settings.EMAIL_RELAY = {**settings.EMAIL_RELAY, "HOST": "127.0.0.1", "PORT": port, "SECURITY": "none",
                            "USER": "", "PASSWORD": "", "TIMEOUT": 5}  # fmt: skip
    try:
        yield relay
    finally:
        controller.stop()


@pytest.fixture
def relay_down(settings: Any) -> int:
    """A relay address where nothing listens."""
    port = free_port()
    settings.EMAIL_RELAY = {**settings.EMAIL_RELAY, "HOST": "127.0.0.1", "PORT": port, "SECURITY": "none",
                            "USER": "", "PASSWORD": "", "TIMEOUT": 5}  # fmt: skip
    return port
