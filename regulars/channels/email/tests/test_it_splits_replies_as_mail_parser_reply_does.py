"""``parsing.latest_reply`` (the header pattern compiled once, signatures and disclaimers not
looked for, texts without ``:`` or ``-----`` not scanned) answers exactly as mail-parser-reply's
own ``EmailReplyParser(languages=REPLY_LANGUAGES).parse_reply``: on the body of every corpus
message and on texts assembled from reply headers of every language we configure."""

from __future__ import annotations

import random
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from mailparser_reply import EmailReplyParser

from regulars.channels.email import parsing

CORPUS = Path(__file__).parent / "corpus"

PIECES = [
    "Hello,", "thanks for the quick answer", "", "", "> quoted line", ">> deeper", "  indented  ", "\t tab",
    "On Mon, 23 Nov 2026 someone wrote:", "On Mon, 23 Nov 2026 at 10:00, Jane <j@x.com> wrote:",
    "Am 23.11.2026 um 10:00 schrieb Jane <j@x.de>:", "Le lun. 23 nov. 2026 à 10:00, Jane a écrit :",
    "El lun, 23 nov 2026 a las 10:00, Jane escribió:", "Op ma 23 nov 2026 om 10:00 schreef Jane:",
    "Il giorno lun 23 nov 2026 Jane ha scritto:", "Den mån 23 nov 2026 kl 10:00 skrev Jane <j@x.se>:",
    "Dnia 23.11.2026 Jane napisał(a):", "From: Jane <j@x.com>", "Sent: Monday", "To: support@x",
    "Subject: Re: hi", "Date: today", "Cc: a@b", "Von: Jane", "Gesendet: Montag", "An: x", "Betreff: y",
    "De : Jane", "Envoyé : lundi", "À : x", "Objet : y", "Da: Mario", "Inviato: lunedì", "A: x",
    "Oggetto: y", "Från: Jane", "Skickat: måndag", "Till: x", "Ämne: y", "Od: Jan", "Wysłano: wtorek",
    "Do: x", "Temat: y", "Fra: Jane", "Sendt: mandag", "Til: x", "Emne: y", "**From:** Jane", "*Sent:* x",
    "-----Original Message-----", "----- Original Message -----", "------ Original Message ------",
    "-----Oprindelig meddelelse-----", "-----", "________________________________", "-- ", "Jane Doe",
    "Best regards,", "Mit freundlichen Grüßen", "Sent from my iPhone", "Get Outlook for iOS",
    "CONFIDENTIALITY NOTICE: This e-mail is confidential", "time is 10:30", "see https://example.com/a:b",
    "  : odd", "WROTE:", "KELVIN \u212a sign", "ÀÉ ünïcödé",
]  # fmt: skip


def _expected(text: str) -> str | None:
    return EmailReplyParser(languages=parsing.REPLY_LANGUAGES).parse_reply(text=text)


def test_it_answers_as_mail_parser_reply_on_every_corpus_body() -> None:
    texts = []
    for path in sorted(CORPUS.rglob("*.eml")):
        try:
            msg = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            assert isinstance(msg, EmailMessage)
            part = msg.get_body(preferencelist=("plain",))
            if part is not None:
                texts.append(str(part.get_content()))
        except Exception:  # noqa: S112 (malformed cases: nothing to compare)
            continue
    assert len(texts) >= 100
    for text in texts:
        assert parsing.latest_reply(text) == _expected(text), text[:200]


def test_it_answers_as_mail_parser_reply_on_assembled_replies() -> None:
    rng = random.Random(3)
    for _ in range(3000):
        text = rng.choice(["\n", "\r\n", "\n\n"]).join(
            rng.choice(PIECES) for _ in range(rng.randrange(1, 25))
        )
        if rng.random() < 0.3:
            text = text.replace(":", "")
        assert parsing.latest_reply(text) == _expected(text), text
