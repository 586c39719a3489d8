"""Every .eml in the corpus reaches the outcome expectations.json says, through ``ingest``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from regulars.channels.conftest import Seed
from regulars.channels.email import tokens
from regulars.channels.email.ingest import ingest
from regulars.channels.email.models import BouncedAddress, OutboundEmail
from regulars.channels.email.outbound import build_mime
from regulars.channels.models import Inbox
from regulars.tickets.models import Status, StatusCategory, Ticket
from regulars.tickets.services import update_ticket

CORPUS = Path(__file__).parent / "corpus"
EXPECT: dict[str, dict[str, Any]] = json.loads((CORPUS / "expectations.json").read_text())


def fill(raw: bytes, seed: Seed) -> bytes:
    number = seed.ticket.number
    values = {
        "{{TAG}}": tokens.subject_tag(number),
        "{{TAG_UPPER}}": tokens.subject_tag(number).upper(),
        "{{REPLY_ADDR}}": tokens.reply_address("support@demo.regulars.test", number),
        "{{SEED_ID}}": seed.row.message_id,
        "{{ACK_ID}}": seed.ack.message_id,
    }
    for key, value in values.items():
        raw = raw.replace(key.encode(), value.encode())
    return raw


def move_seed(seed: Seed, cast: Any, category: str) -> None:
    status = Status.objects.get(category=category, is_default=True)
    update_ticket(seed.ticket, actor=cast.alice, status=status)


def test_it_has_the_corpus_the_issue_asks_for() -> None:
    counts: dict[str, int] = {}
    for name in EXPECT:
        assert (CORPUS / name).is_file()
        counts[name.split("/")[0]] = counts.get(name.split("/")[0], 0) + 1
    wanted = {"auto_replies": 25, "bounces": 15, "malformed": 30, "charsets": 20, "size_limits": 10, "bombs": 5,
              "header_injection": 10, "duplicate_delivery": 15, "threading": 20}  # fmt: skip
    assert all(counts.get(k, 0) >= n for k, n in wanted.items()), counts
    assert len(list(CORPUS.rglob("*.eml"))) == len(EXPECT)


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_it_reaches_the_expected_outcome(
    name: str, cast: Any, seed: Seed, inbox: Inbox, billing_inbox: Inbox, settings: Any
) -> None:
    exp = EXPECT[name]
    for key, value in exp.get("settings", {}).items():
        setattr(settings, key, value)
    if exp.get("close_seed"):
        move_seed(seed, cast, StatusCategory.CLOSED)
    if exp.get("solve_seed"):
        move_seed(seed, cast, StatusCategory.SOLVED)
    raw = fill((CORPUS / name).read_bytes(), seed)
    tickets_before = Ticket.objects.count()
    acks_before = OutboundEmail.objects.filter(kind=OutboundEmail.Kind.ACK).count()
    inboxes = [Inbox.objects.get(name=n) for n in exp.get("inboxes", ["Support"])]

    rows = [ingest(target, raw) for _ in range(exp.get("deliver", 1)) for target in inboxes]
    row = rows[-1]
    row.refresh_from_db()

    assert row.status == exp["status"], (row.reason, row.flags)
    if "reason" in exp:
        assert row.reason.startswith(exp["reason"]), row.reason
    if "new_tickets" in exp:
        assert Ticket.objects.count() - tickets_before == exp["new_tickets"]
    if "acks" in exp:
        assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.ACK).count() - acks_before == exp["acks"]
    ticket = row.ticket
    if "thread" in exp:
        assert ticket is not None
        if exp["thread"] == "seed":
            assert ticket.pk == seed.ticket.pk
        elif exp["thread"] == "follow_up":
            assert ticket.follow_up_of_id == seed.ticket.pk
        else:
            assert ticket.pk != seed.ticket.pk and ticket.follow_up_of_id is None
    message = row.ticket_message
    if "text" in exp:
        assert message is not None and message.body_text == exp["text"]
    if "text_contains" in exp:
        assert message is not None and exp["text_contains"] in message.body_text
    if "html_excludes" in exp:
        assert message is not None and exp["html_excludes"] not in message.body_html
    if "subject" in exp:
        assert ticket is not None and ticket.subject == exp["subject"]
    if "subject_contains" in exp:
        assert ticket is not None and exp["subject_contains"] in ticket.subject
    if "subject_len" in exp:
        assert ticket is not None and len(ticket.subject) == exp["subject_len"]
    if exp.get("subject_no_newline"):
        assert ticket is not None and "\n" not in ticket.subject and "\r" not in ticket.subject
    if "sender" in exp:
        assert row.sender == exp["sender"]
    if "problem" in exp:
        assert any(p.startswith(exp["problem"]) for p in row.flags["problems"]), row.flags
    if "attachments" in exp:
        assert message is not None and message.attachments.count() == exp["attachments"]
    if "inline" in exp:
        assert message is not None and message.attachments.filter(is_inline=True).count() == exp["inline"]
    if "attachment_types" in exp:
        assert message is not None
        assert sorted(message.attachments.values_list("content_type", flat=True)) == exp["attachment_types"]
    if "key_prefix" in exp:
        assert row.message_key.startswith(exp["key_prefix"])
    if "deliveries" in exp:
        assert row.deliveries == exp["deliveries"]
    if "ticket_messages" in exp:
        assert ticket is not None and ticket.messages.filter(kind="reply").count() == exp["ticket_messages"]
    if "bounced" in exp:
        assert BouncedAddress.objects.filter(address="carol@acme.example").exists() is exp["bounced"]
    if "ack_state" in exp:
        seed.ack.refresh_from_db()
        allowed = ["queued", "sent"] if exp["ack_state"] == "sent_or_queued" else [exp["ack_state"]]
        assert seed.ack.state in allowed
    if "seed_category" in exp:
        seed.ticket.refresh_from_db()
        assert seed.ticket.status_category == exp["seed_category"]
    new_acks = OutboundEmail.objects.filter(kind=OutboundEmail.Kind.ACK).order_by("-id")
    if "ack_to" in exp:
        assert new_acks[0].to_address == exp["ack_to"]
    if exp.get("ack_headers_clean"):
        mime = build_mime(new_acks[0])
        assert mime["Bcc"] is None and mime.get_all("To") == [new_acks[0].to_address]
        assert "\n" not in str(mime["Subject"]) and "\r" not in str(mime["Subject"])
        assert mime["Auto-Submitted"] == "auto-replied"
