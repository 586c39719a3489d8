"""Writes the .eml corpus and expectations.json. Run once after changing it:

    .venv/bin/python regulars/channels/email/tests/make_corpus.py

The files are committed; the test reads them, never this script. Placeholders filled in at test
time (they depend on SECRET_KEY and on ticket numbers): {{TAG}} / {{REPLY_ADDR}} of the seeded
ticket, {{SEED_ID}} (the customer's first Message-ID), {{ACK_ID}} (our acknowledgement's).
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path

HERE = Path(__file__).parent / "corpus"
CASES: dict[str, dict[str, object]] = {}
TO = "support@demo.regulars.test"


def eml(headers: list[tuple[str, str]], body: str | bytes, *, sep: bytes = b"\r\n") -> bytes:
    head = sep.join(f"{k}: {v}".encode("utf-8", "surrogateescape") for k, v in headers)
    data = body if isinstance(body, bytes) else body.replace("\n", "\r\n").encode("utf-8")
    return head + sep + sep + data


def std(
    mid: str, sender: str = "pat@example.com", subject: str = "Help please", **extra: str
) -> list[tuple[str, str]]:
    h = [
        ("From", sender),
        ("To", TO),
        ("Subject", subject),
        ("Date", "Mon, 6 Jan 2025 10:00:00 +0000"),
        ("Message-ID", f"<{mid}@example.com>"),
        ("MIME-Version", "1.0"),
    ]
    h += [(k.replace("_", "-"), v) for k, v in extra.items()]
    return h


def case(category: str, name: str, raw: bytes, **expect: object) -> None:
    path = HERE / category / f"{name}.eml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    CASES[f"{category}/{name}.eml"] = expect


PLAIN = 'Content-Type: text/plain; charset="utf-8"'


def plain(mid: str, text: str = "My printer is on fire.\n", **extra: str) -> list[tuple[str, str]]:
    return [*std(mid, **extra), ("Content-Type", 'text/plain; charset="utf-8"')]


def auto_replies() -> None:
    signals = [
        ("auto_submitted_replied", {"Auto-Submitted": "auto-replied"}),
        ("auto_submitted_generated", {"Auto-Submitted": "auto-generated"}),
        ("auto_submitted_notified", {"Auto-Submitted": "auto-notified"}),
        ("auto_submitted_upper", {"Auto-Submitted": "AUTO-REPLIED (vacation)"}),
        ("precedence_bulk", {"Precedence": "bulk"}),
        ("precedence_junk", {"Precedence": "junk"}),
        ("precedence_list", {"Precedence": "list"}),
        ("precedence_auto_reply", {"Precedence": "auto_reply"}),
        ("x_autoreply", {"X-Autoreply": "yes"}),
        ("x_autorespond", {"X-Autorespond": "Out of office"}),
        ("list_id", {"List-Id": "Announcements <announce.example.com>"}),
        ("list_unsubscribe", {"List-Unsubscribe": "<mailto:unsub@example.com>"}),
        ("exchange_oof", {"X-Auto-Response-Suppress": "All"}),
        ("null_return_path", {"Return-Path": "<>"}),
        ("own_x_loop", {"X-Loop": "regulars"}),
        ("own_x_loop_among_others", {"X-Loop": "other-system, regulars"}),
        ("newsletter_both", {"Precedence": "bulk", "List-Id": "<news.example.com>"}),
    ]
    for name, headers in signals:
        h = [*std(f"auto-{name}", subject="Out of office"), *headers.items(), ("Content-Type", "text/plain")]
        case(
            "auto_replies", name, eml(h, "I am away until Monday.\n"), status="message", acks=0, new_tickets=1
        )
    for name, sender in [
        ("mailer_daemon_plain", "MAILER-DAEMON@mx.example.com"),
        ("postmaster_plain", "postmaster@example.com"),
    ]:
        h = [*std(f"auto-{name}", sender=sender, subject="Notice"), ("Content-Type", "text/plain")]
        case(
            "auto_replies",
            name,
            eml(h, "Your mailbox is almost full.\n"),
            status="message",
            acks=0,
            new_tickets=1,
        )
    # auto-replies to our acknowledgement thread into the ticket and are never answered
    for i, headers in enumerate(
        [
            {"Auto-Submitted": "auto-replied"},
            {"X-Autoreply": "yes"},
            {"Precedence": "bulk"},
            {"Auto-Submitted": "auto-replied", "X-Loop": "regulars"},
        ]
    ):
        h = [
            *std(f"auto-threaded-{i}", sender="carol@acme.example", subject="Re: Printer on fire"),
            ("In-Reply-To", "<{{ACK_ID}}>"),
            *headers.items(),
            ("Content-Type", "text/plain"),
        ]
        case(
            "auto_replies",
            f"reply_to_ack_{i}",
            eml(h, "Carol is on holiday.\n"),
            status="message",
            acks=0,
            new_tickets=0,
            thread="seed",
        )
    # not auto: Auto-Submitted: no is a person
    h = [*std("auto-no", subject="Question"), ("Auto-Submitted", "no"), ("Content-Type", "text/plain")]
    case(
        "auto_replies",
        "auto_submitted_no_is_a_person",
        eml(h, "A real question.\n"),
        status="message",
        acks=1,
        new_tickets=1,
    )
    h = [
        *std("auto-no-precedence", subject="Question"),
        ("Precedence", "first-class"),
        ("Content-Type", "text/plain"),
    ]
    case(
        "auto_replies",
        "precedence_first_class_is_a_person",
        eml(h, "Hello.\n"),
        status="message",
        acks=1,
        new_tickets=1,
    )


def dsn(
    mid: str,
    status: str,
    action: str,
    original: str,
    *,
    as_headers: bool = False,
    rcpt: str = "carol@acme.example",
) -> bytes:
    boundary = "REPORT-BOUNDARY"
    orig_ct = "text/rfc822-headers" if as_headers else "message/rfc822"
    body = f"""--{boundary}
Content-Type: text/plain

Delivery to {rcpt} {action}.

--{boundary}
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; {rcpt}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; {status[0]}50 mailbox problem

--{boundary}
Content-Type: {orig_ct}

From: support@demo.regulars.test
To: {rcpt}
Subject: Re: Printer on fire
Message-ID: <{original}>

--{boundary}--
"""
    h = [
        ("From", "MAILER-DAEMON@mx.example.com"),
        ("To", TO),
        ("Subject", "Delivery Status Notification"),
        ("Message-ID", f"<{mid}@mx.example.com>"),
        ("Return-Path", "<>"),
        ("MIME-Version", "1.0"),
        ("Auto-Submitted", "auto-replied"),
        ("Content-Type", f'multipart/report; report-type=delivery-status; boundary="{boundary}"'),
    ]
    return eml(h, body)


def bounces() -> None:
    for i, status in enumerate(["5.1.1", "5.2.1", "5.7.1", "5.0.0", "5.4.4"]):
        case(
            "bounces",
            f"permanent_{status.replace('.', '_')}",
            dsn(f"dsn-p{i}", status, "failed", "{{ACK_ID}}"),
            status="report",
            new_tickets=0,
            bounced=True,
            ack_state="bounced",
        )
    for i, status in enumerate(["4.2.2", "4.4.1", "4.7.0"]):
        case(
            "bounces",
            f"delayed_{status.replace('.', '_')}",
            dsn(f"dsn-d{i}", status, "delayed", "{{ACK_ID}}"),
            status="report",
            new_tickets=0,
            bounced=False,
            ack_state="sent_or_queued",
        )
    case(
        "bounces",
        "permanent_headers_only",
        dsn("dsn-h", "5.1.1", "failed", "{{ACK_ID}}", as_headers=True),
        status="report",
        new_tickets=0,
        bounced=True,
        ack_state="bounced",
    )
    case(
        "bounces",
        "report_for_unknown_message",
        dsn("dsn-u", "5.1.1", "failed", "never-sent@nowhere"),
        status="quarantined",
        reason="unmatched_bounce",
        new_tickets=0,
    )
    case(
        "bounces",
        "report_for_customer_message",
        dsn("dsn-c", "5.1.1", "failed", "{{SEED_ID}}"),
        status="quarantined",
        reason="unmatched_bounce",
        new_tickets=0,
    )
    # non-standard bounces from mailer-daemon, matched by the quoted original Message-ID
    for i, text in enumerate(
        [
            "This message could not be delivered.\n\n----- Original message -----\nMessage-ID: <{{ACK_ID}}>\nSubject: x\n\n550 5.1.1 user unknown\n",
            "Undeliverable: Re: Printer on fire\n\nStatus 5.2.2 mailbox full\n> Message-ID: <{{ACK_ID}}>\n",
        ]
    ):
        h = [
            ("From", "Mail Delivery System <MAILER-DAEMON@mx.example.com>"),
            ("To", TO),
            ("Subject", "Undelivered Mail"),
            ("Message-ID", f"<loose-{i}@mx.example.com>"),
            ("Return-Path", "<>"),
            ("Content-Type", "text/plain"),
        ]
        case(
            "bounces",
            f"loose_bounce_{i}",
            eml(h, text),
            status="report",
            new_tickets=0,
            bounced=True,
            ack_state="bounced",
        )
    h = [
        ("From", "MAILER-DAEMON@mx.example.com"),
        ("To", TO),
        ("Subject", "Undelivered Mail"),
        ("Message-ID", "<loose-unknown@mx.example.com>"),
        ("Return-Path", "<>"),
        ("Content-Type", "text/plain"),
    ]
    case(
        "bounces",
        "loose_bounce_unknown",
        eml(h, "Delivery has failed to these recipients.\n"),
        status="quarantined",
        reason="unmatched_bounce",
        new_tickets=0,
    )
    h = [
        ("From", "MAILER-DAEMON@mx.example.com"),
        ("To", TO),
        ("Subject", "Re: x"),
        ("Message-ID", "<loose-ref@mx.example.com>"),
        ("In-Reply-To", "<{{ACK_ID}}>"),
        ("Return-Path", "<>"),
        ("Content-Type", "text/plain"),
    ]
    case(
        "bounces",
        "bounce_by_in_reply_to",
        eml(h, "Delivery has failed: 5.1.1 unknown user\n"),
        status="report",
        new_tickets=0,
        bounced=True,
        ack_state="bounced",
    )


def malformed() -> None:
    m = "malformed"
    case(
        m,
        "no_headers_at_all",
        b"just some bytes without any header\r\n",
        status="quarantined",
        reason="no_sender",
    )
    case(m, "empty_file", b"", status="quarantined", reason="no_sender")
    case(m, "binary_garbage", bytes(range(256)) * 4, status="quarantined")
    case(
        m,
        "lf_only_line_endings",
        eml(plain("lf-only"), b"Unix line endings.\n", sep=b"\n"),
        status="message",
        text="Unix line endings.",
    )
    case(
        m,
        "missing_final_boundary",
        eml(
            [*std("nofinal"), ("Content-Type", 'multipart/mixed; boundary="B"')],
            "--B\nContent-Type: text/plain\n\nBody before a missing end.\n",
        ),
        status="message",
        text="Body before a missing end.",
    )
    case(
        m,
        "boundary_never_used",
        eml(
            [*std("unused-boundary"), ("Content-Type", 'multipart/mixed; boundary="NOPE"')],
            "Text without parts.\n",
        ),
        status="message",
    )
    case(
        m,
        "multipart_without_boundary",
        eml([*std("no-boundary"), ("Content-Type", "multipart/mixed")], "Some text.\n"),
        status="message",
    )
    case(
        m,
        "bad_base64",
        eml(
            [*std("bad-b64"), ("Content-Type", "text/plain"), ("Content-Transfer-Encoding", "base64")],
            "This is !!! not base64 @@@\n",
        ),
        status="message",
    )
    case(
        m,
        "bad_quoted_printable",
        eml(
            [
                *std("bad-qp"),
                ("Content-Type", "text/plain"),
                ("Content-Transfer-Encoding", "quoted-printable"),
            ],
            "Broken =ZZ escape and a soft break =\nhere.\n",
        ),
        status="message",
    )
    case(
        m,
        "unknown_transfer_encoding",
        eml(
            [
                *std("x-enc"),
                ("Content-Type", "text/plain"),
                ("Content-Transfer-Encoding", "x-uuencode-nonsense"),
            ],
            "Plain anyway.\n",
        ),
        status="message",
    )
    case(
        m,
        "no_content_type",
        eml(std("no-ct"), "No content type header.\n"),
        status="message",
        text="No content type header.",
    )
    case(
        m,
        "garbage_content_type",
        eml([*std("junk-ct"), ("Content-Type", ";;;===")], "Hello.\n"),
        status="message",
    )
    case(
        m,
        "no_message_id",
        eml(
            [h for h in std("x") if h[0] != "Message-ID"] + [("Content-Type", "text/plain")],
            "I have no Message-ID.\n",
        ),
        status="message",
        key_prefix="sha256:",
    )
    case(
        m,
        "empty_message_id",
        eml(
            [
                *[h for h in std("x") if h[0] != "Message-ID"],
                ("Message-ID", ""),
                ("Content-Type", "text/plain"),
            ],
            "Empty Message-ID.\n",
        ),
        status="message",
        key_prefix="sha256:",
    )
    case(
        m,
        "huge_message_id",
        eml(
            [
                *[h for h in std("x") if h[0] != "Message-ID"],
                ("Message-ID", "<" + "a" * 249 + "@example.com>"),
                ("Content-Type", "text/plain"),
            ],
            "Long id.\n",
        ),
        status="message",
    )
    case(
        m,
        "no_subject",
        eml([h for h in plain("no-subject") if h[0] != "Subject"], "No subject here.\n"),
        status="message",
        subject="(no subject)",
    )
    case(m, "empty_body", eml(plain("empty-body"), ""), status="message", text="(empty message)")
    case(
        m,
        "only_whitespace_body",
        eml(plain("ws-body"), "   \n\n  \n"),
        status="message",
        text="(empty message)",
    )
    case(
        m,
        "html_only_with_script",
        eml(
            [*std("html-only"), ("Content-Type", "text/html; charset=utf-8")],
            "<html><body><p>Hello <b>team</b></p><script>alert(1)</script><img src=x onerror=alert(2)></body></html>\n",
        ),
        status="message",
        text_contains="Hello",
        html_excludes="script",
    )
    case(
        m,
        "nul_bytes_in_body",
        eml(plain("nul"), b"Hello\x00World\n"),
        status="message",
        text="HelloWorld",
        problem="nul_removed",
    )
    case(
        m,
        "header_without_colon",
        eml([*plain("no-colon"), ("X-Broken", "x")], "Body.\n").replace(
            b"X-Broken: x", b"This header has no colon"
        ),
        status="message",
    )
    case(
        m,
        "very_long_header_line",
        eml([*plain("long-hdr"), ("X-Long", "y" * 20000)], "Body.\n"),
        status="message",
    )
    case(
        m,
        "from_without_domain",
        eml(plain("nodomain", sender="pat"), "Hi\n"),
        status="quarantined",
        reason="ambiguous_sender",
    )
    case(
        m,
        "from_two_addresses",
        eml(plain("twofrom", sender="pat@example.com, sam@example.com"), "Hi\n"),
        status="quarantined",
        reason="ambiguous_sender",
    )
    case(
        m,
        "two_from_headers",
        eml([*plain("two-from-headers"), ("From", "sam@example.com")], "Hi\n"),
        status="quarantined",
        reason="ambiguous_sender",
    )
    case(
        m,
        "from_unquoted_address_in_name",
        eml(plain("spoofy", sender="carol@acme.example <evil@evil.example>"), "Hi\n"),
        status="quarantined",
        reason="ambiguous_sender",
    )
    case(
        m,
        "from_group_syntax",
        eml(plain("group", sender="Friends: pat@example.com, sam@example.com;"), "Hi\n"),
        status="quarantined",
        reason="ambiguous_sender",
    )
    case(m, "from_empty", eml(plain("emptyfrom", sender=""), "Hi\n"), status="quarantined")
    case(
        m,
        "from_with_comment_is_fine",
        eml(plain("comment", sender="pat@example.com (Pat Smith)"), "Hi\n"),
        status="message",
        sender="pat@example.com",
    )
    case(
        m,
        "from_display_name_encoded",
        eml(plain("encname", sender="=?utf-8?q?Ren=C3=A9e?= <renee@example.com>"), "Bonjour\n"),
        status="message",
        sender="renee@example.com",
    )


def charsets() -> None:
    c = "charsets"
    samples = [
        ("latin1", "iso-8859-1", "Café crème à la française", "8bit"),
        ("latin9", "iso-8859-15", "Prix: 10 € seulement", "8bit"),
        ("cp1252", "windows-1252", "\u201cSmart quotes\u201d \u2013 and dashes", "8bit"),
        ("koi8r", "koi8-r", "Привет, мир", "8bit"),
        ("cp1251", "windows-1251", "Здравствуйте", "8bit"),
        ("shift_jis", "shift_jis", "こんにちは", "8bit"),
        ("euc_jp", "euc-jp", "日本語のメール", "8bit"),
        ("iso2022jp", "iso-2022-jp", "プリンターが燃えています", "7bit"),
        ("gb2312", "gb2312", "打印机着火了", "8bit"),
        ("big5", "big5", "印表機著火了", "8bit"),
        ("euc_kr", "euc-kr", "프린터에 불이 났어요", "8bit"),
        ("utf16", "utf-16", "UTF-16 text body", "base64"),
        ("utf8_base64", "utf-8", "Grüße aus Köln 🎉", "base64"),
        ("utf8_qp", "utf-8", "Ça marche très bien", "quoted-printable"),
    ]
    for name, charset, text, cte in samples:
        data = text.encode(charset)
        if cte == "base64":
            payload = base64.encodebytes(data)
        elif cte == "quoted-printable":
            import quopri

            payload = quopri.encodestring(data)
        else:
            payload = data
        h = [
            *std(f"cs-{name}"),
            ("Content-Type", f'text/plain; charset="{charset}"'),
            ("Content-Transfer-Encoding", cte),
        ]
        case(c, name, eml(h, payload + b"\r\n"), status="message", text=text)
    h = [*std("cs-unknown"), ("Content-Type", 'text/plain; charset="x-klingon-1"')]
    case(
        c,
        "unknown_charset_utf8_bytes",
        eml(h, "Grüße\n".encode()),
        status="message",
        text="Grüße",
        problem="unknown_charset",
    )
    h = [*std("cs-unknown2"), ("Content-Type", 'text/plain; charset="nonsense"')]
    case(
        c,
        "unknown_charset_latin1_bytes",
        eml(h, "Caf\xe9\n".encode("latin-1")),
        status="message",
        problem="unknown_charset",
    )
    h = [*std("cs-wrong"), ("Content-Type", 'text/plain; charset="us-ascii"')]
    case(
        c,
        "declared_ascii_but_utf8",
        eml(h, "naïve façade\n".encode()),
        status="message",
        text="naïve façade",
        problem="charset_mismatch",
    )
    h = [*std("cs-wrong2"), ("Content-Type", 'text/plain; charset="utf-8"')]
    case(
        c,
        "declared_utf8_but_latin1",
        eml(h, "Caf\xe9 ol\xe9\n".encode("latin-1")),
        status="message",
        problem="replacement_characters",
    )
    h = [*std("cs-subject", subject="=?iso-8859-1?q?Caf=E9_cr=E8me?="), ("Content-Type", "text/plain")]
    case(c, "encoded_word_subject_latin1", eml(h, "Body\n"), status="message", subject="Café crème")
    h = [*std("cs-subject-bad", subject="=?x-unknown-cs?q?Caf=E9?= works"), ("Content-Type", "text/plain")]
    case(
        c,
        "encoded_word_subject_unknown_charset",
        eml(h, "Body\n"),
        status="message",
        subject_contains="works",
    )


def size_limits() -> None:
    s = "size_limits"
    limits = {"EMAIL_MAX_BYTES": 20_000}
    for i, n in enumerate([20_500, 30_000, 60_000]):
        case(
            s,
            f"over_total_limit_{i}",
            eml(plain(f"big-{i}"), "x" * n + "\n"),
            status="quarantined",
            reason="too_large",
            settings=limits,
        )
    case(
        s,
        "just_under_total_limit",
        eml(plain("under"), "y" * 19_000 + "\n"),
        status="message",
        settings=limits,
    )
    att = base64.encodebytes(b"\x89PNG" + b"z" * 6000).decode()
    mixed = f"--M\nContent-Type: text/plain\n\nSee attached.\n--M\nContent-Type: image/png\nContent-Disposition: attachment; filename=big.png\nContent-Transfer-Encoding: base64\n\n{att}--M--\n"
    case(
        s,
        "attachment_over_attachment_limit",
        eml([*std("bigatt"), ("Content-Type", 'multipart/mixed; boundary="M"')], mixed),
        status="message",
        attachments=0,
        problem="attachment_too_large",
        settings={"ATTACHMENT_MAX_BYTES": 5000},
    )
    case(
        s,
        "attachment_under_attachment_limit",
        eml([*std("smallatt"), ("Content-Type", 'multipart/mixed; boundary="M"')], mixed),
        status="message",
        attachments=1,
        settings={"ATTACHMENT_MAX_BYTES": 50_000},
    )
    case(
        s,
        "very_long_body_is_truncated",
        eml(plain("longbody"), ("word " * 45_000) + "\n"),
        status="message",
        problem="body_truncated",
    )
    parts = "".join(
        f"--P\nContent-Type: text/plain\nContent-Disposition: attachment; filename=p{i}.txt\n\npart {i}\n"
        for i in range(60)
    )
    case(
        s,
        "parts_over_limit",
        eml([*std("manyparts"), ("Content-Type", 'multipart/mixed; boundary="P"')], parts + "--P--\n"),
        status="quarantined",
        reason="too_many_parts",
        settings={"EMAIL_MAX_PARTS": 50},
    )
    case(
        s,
        "parts_under_limit",
        eml([*std("someparts"), ("Content-Type", 'multipart/mixed; boundary="P"')], parts + "--P--\n"),
        status="message",
        attachments=60,
        settings={"EMAIL_MAX_PARTS": 100},
    )
    case(
        s,
        "long_subject_is_cut",
        eml(plain("longsubj", subject="S" * 600), "Body\n"),
        status="message",
        subject_len=250,
    )


def bombs() -> None:
    b = "bombs"
    depth = 40
    body = "".join(f'--D{i}\nContent-Type: multipart/mixed; boundary="D{i + 1}"\n\n' for i in range(depth))
    body += f"--D{depth}\nContent-Type: text/plain\n\ndeep\n--D{depth}--\n"
    case(
        b,
        "deep_nesting_40",
        eml([*std("deep"), ("Content-Type", 'multipart/mixed; boundary="D0"')], body),
        status="quarantined",
        reason="too_deep",
    )
    parts = "".join(f"--T\nContent-Type: text/plain\n\n{i}\n" for i in range(5000))
    case(
        b,
        "five_thousand_parts",
        eml([*std("thousands"), ("Content-Type", 'multipart/mixed; boundary="T"')], parts + "--T--\n"),
        status="quarantined",
        reason="too_many_parts",
    )
    many = "".join(f'--N{i}\nContent-Type: multipart/mixed; boundary="N{i + 1}"\n\n' for i in range(700))
    case(
        b,
        "seven_hundred_boundaries",
        eml([*std("boundaries"), ("Content-Type", 'multipart/mixed; boundary="N0"')], many),
        status="quarantined",
        reason="too_many_parts",
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * 20_000_000)  # 20 MB of zeros, ~20 KB compressed
    z = base64.encodebytes(buf.getvalue()).decode()
    mixed = f"--Z\nContent-Type: text/plain\n\nLogs attached.\n--Z\nContent-Type: application/zip\nContent-Disposition: attachment; filename=logs.zip\nContent-Transfer-Encoding: base64\n\n{z}--Z--\n"
    case(
        b,
        "zip_bomb_never_expanded",
        eml([*std("zip"), ("Content-Type", 'multipart/mixed; boundary="Z"')], mixed),
        status="message",
        attachments=1,
        attachment_types=["application/zip"],
    )
    inner = eml(plain("inner"), "Forwarded body.\n").decode()
    fwd = (
        f"--F\nContent-Type: text/plain\n\nFYI below.\n--F\nContent-Type: message/rfc822\n\n{inner}\n--F--\n"
    )
    case(
        b,
        "forwarded_message_kept_whole",
        eml([*std("fwd"), ("Content-Type", 'multipart/mixed; boundary="F"')], fwd),
        status="message",
        attachments=1,
        text="FYI below.",
    )


def injection() -> None:
    i = "header_injection"
    subjects = [
        ("crlf_bcc_in_encoded_subject", "=?utf-8?q?Hello=0D=0ABcc:_victim@example.org?="),
        ("lf_to_in_encoded_subject", "=?utf-8?q?Hi=0ATo:_all@example.org?="),
        (
            "base64_crlf_subject",
            "=?utf-8?b?" + base64.b64encode(b"Win\r\nBcc: x@example.org").decode() + "?=",
        ),
        ("cr_only_subject", "=?utf-8?q?One=0DTwo?="),
        ("control_chars_subject", "=?utf-8?q?Bell=07and=1Bescape?="),
    ]
    for name, subject in subjects:
        case(
            i,
            name,
            eml(plain(f"inj-{name}", subject=subject), "Hi\n"),
            status="message",
            subject_no_newline=True,
            acks=1,
            ack_headers_clean=True,
        )
    case(
        i,
        "crlf_in_display_name",
        eml(plain("inj-name", sender="=?utf-8?q?Eve=0D=0ABcc:_x@example.org?= <eve@example.com>"), "Hi\n"),
        status="quarantined",
        reason="ambiguous_sender",
    )
    case(
        i,
        "encoded_address_in_from",
        eml(plain("inj-from", sender="=?utf-8?q?carol@acme.example?= <eve@example.com>"), "Hi\n"),
        status="quarantined",
        reason="ambiguous_sender",
    )
    case(
        i,
        "bcc_header_present",
        eml([*plain("inj-bcc"), ("Bcc", "hidden@example.org")], "Hi\n"),
        status="message",
        acks=1,
        ack_headers_clean=True,
    )
    case(
        i,
        "message_id_with_spaces",
        eml([*[h for h in plain("x") if h[0] != "Message-ID"], ("Message-ID", "<a b\r\n Bcc: x@y>")], "Hi\n"),
        status="message",
    )
    case(
        i,
        "reply_to_points_elsewhere",
        eml([*plain("inj-replyto"), ("Reply-To", "attacker@evil.example")], "Hi\n"),
        status="message",
        acks=1,
        ack_to="pat@example.com",
    )


def duplicates() -> None:
    d = "duplicate_delivery"
    for n in range(10):
        times = 2 + n % 4
        case(
            d,
            f"redelivered_{n}_x{times}",
            eml(plain(f"dup-{n}"), f"Delivered {times} times.\n"),
            status="message",
            deliver=times,
            new_tickets=1,
            deliveries=times,
            acks=1,
        )
    case(
        d,
        "no_message_id_same_bytes",
        eml([h for h in plain("x") if h[0] != "Message-ID"], "Same bytes twice.\n"),
        status="message",
        deliver=2,
        new_tickets=1,
        deliveries=2,
    )
    case(
        d,
        "two_inboxes_same_mail",
        eml([*plain("dup-two-inboxes"), ("Cc", "billing@demo.regulars.test")], "Two inboxes.\n"),
        status="duplicate",
        inboxes=["Support", "Billing"],
        new_tickets=1,
    )
    case(
        d,
        "duplicate_reply_in_thread",
        eml([*plain("dup-reply", sender="carol@acme.example"), ("In-Reply-To", "<{{ACK_ID}}>")], "Thanks!\n"),
        status="message",
        deliver=3,
        new_tickets=0,
        thread="seed",
        ticket_messages=2,
    )
    case(
        d,
        "seed_redelivered",
        eml(
            [
                *[h for h in plain("x", sender="carol@acme.example") if h[0] != "Message-ID"],
                ("Message-ID", "<{{SEED_ID}}>"),
            ],
            "My printer is on fire.\n",
        ),
        status="message",
        deliver=1,
        new_tickets=0,
        thread="seed",
        ticket_messages=1,
    )
    case(
        d,
        "redelivered_quarantined",
        eml(plain("dupq", sender="a@b@c"), "Hi\n"),
        status="quarantined",
        deliver=3,
        deliveries=3,
    )


def threading_cases() -> None:
    t = "threading"
    carol = "Carol Customer <carol@acme.example>"
    case(
        t,
        "in_reply_to_our_ack",
        eml([*plain("th-irt", sender=carol), ("In-Reply-To", "<{{ACK_ID}}>")], "More info.\n"),
        status="message",
        thread="seed",
        new_tickets=0,
    )
    case(
        t,
        "in_reply_to_own_first_mail",
        eml([*plain("th-irt2", sender=carol), ("In-Reply-To", "<{{SEED_ID}}>")], "Also.\n"),
        status="message",
        thread="seed",
        new_tickets=0,
    )
    case(
        t,
        "references_only",
        eml(
            [*plain("th-refs", sender=carol), ("References", "<unknown@x> <{{SEED_ID}}> <other@y>")],
            "Refs.\n",
        ),
        status="message",
        thread="seed",
        new_tickets=0,
    )
    case(
        t,
        "references_folded",
        eml([*plain("th-fold", sender=carol), ("References", "<a@x>\r\n <{{ACK_ID}}>")], "Folded.\n"),
        status="message",
        thread="seed",
        new_tickets=0,
    )
    case(
        t,
        "reply_address_token",
        eml(
            [*[h for h in plain("th-addr", sender=carol) if h[0] != "To"], ("To", "{{REPLY_ADDR}}")],
            "Via address.\n",
        ),
        status="message",
        thread="seed",
        new_tickets=0,
    )
    case(
        t,
        "subject_token",
        eml(plain("th-subj", sender=carol, subject="Re: Printer on fire {{TAG}}"), "Via subject.\n"),
        status="message",
        thread="seed",
        new_tickets=0,
    )
    case(
        t,
        "subject_token_uppercase",
        eml(plain("th-subj-up", sender=carol, subject="RE: {{TAG_UPPER}} Printer"), "Upper.\n"),
        status="message",
        thread="seed",
        new_tickets=0,
    )
    case(
        t,
        "token_from_stranger_opens_new_ticket",
        eml(
            plain("th-stranger", sender="mallory@evil.example", subject="Fwd: Printer on fire {{TAG}}"),
            "Give me data.\n",
        ),
        status="message",
        thread="new",
        new_tickets=1,
        subject="Fwd: Printer on fire",
    )
    case(
        t,
        "address_token_from_stranger",
        eml(
            [
                *[h for h in plain("th-stranger2", sender="mallory@evil.example") if h[0] != "To"],
                ("To", "{{REPLY_ADDR}}"),
            ],
            "Hi.\n",
        ),
        status="message",
        thread="new",
        new_tickets=1,
    )
    case(
        t,
        "forged_token_signature",
        eml(plain("th-forged", sender=carol, subject="Re: [#1001-000000000000] Printer"), "Forged.\n"),
        status="message",
        thread="new",
        new_tickets=1,
    )
    case(
        t,
        "token_for_missing_ticket",
        eml(plain("th-missing", sender=carol, subject="Re: [#99999999-abcdefabcdef]"), "No.\n"),
        status="message",
        thread="new",
        new_tickets=1,
    )
    case(
        t,
        "same_subject_other_sender_not_merged",
        eml(plain("th-samesubj", sender="dan@example.com", subject="Printer on fire"), "Mine too.\n"),
        status="message",
        thread="new",
        new_tickets=1,
    )
    case(
        t,
        "same_subject_same_sender_not_merged",
        eml(plain("th-samesubj2", sender=carol, subject="Printer on fire"), "New problem, same words.\n"),
        status="message",
        thread="new",
        new_tickets=1,
    )
    case(
        t,
        "unknown_in_reply_to",
        eml([*plain("th-unknown", sender=carol), ("In-Reply-To", "<nobody@nowhere>")], "New.\n"),
        status="message",
        thread="new",
        new_tickets=1,
    )
    case(
        t,
        "quoted_reply_is_split",
        eml(
            [*plain("th-quoted", sender=carol), ("In-Reply-To", "<{{ACK_ID}}>")],
            "Here is the serial: 42.\n\nOn Mon, 6 Jan 2025 at 10:00, Support <support@demo.regulars.test> wrote:\n> We received your message\n> Reply to this email\n",
        ),
        status="message",
        thread="seed",
        text="Here is the serial: 42.",
    )
    html = '<div>New answer in HTML</div><div class="gmail_quote">On Mon wrote:<blockquote>old text here</blockquote></div>'
    case(
        t,
        "quoted_html_reply_is_split",
        eml(
            [
                *std("th-html", sender=carol),
                ("In-Reply-To", "<{{ACK_ID}}>"),
                ("Content-Type", "text/html; charset=utf-8"),
            ],
            html,
        ),
        status="message",
        thread="seed",
        html_excludes="old text here",
        text_contains="New answer",
    )
    case(
        t,
        "reply_to_closed_ticket_opens_follow_up",
        eml([*plain("th-closed", sender=carol), ("In-Reply-To", "<{{ACK_ID}}>")], "It is burning again.\n"),
        status="message",
        thread="follow_up",
        new_tickets=1,
        close_seed=True,
    )
    case(
        t,
        "reply_to_solved_ticket_reopens",
        eml([*plain("th-solved", sender=carol), ("In-Reply-To", "<{{ACK_ID}}>")], "Not fixed.\n"),
        status="message",
        thread="seed",
        solve_seed=True,
        seed_category="open",
    )
    case(
        t,
        "mail_from_agent_address",
        eml(
            [*plain("th-agent", sender="Bob Agent <bob@regulars.test>"), ("In-Reply-To", "<{{ACK_ID}}>")],
            "I am Bob, honest.\n",
        ),
        status="quarantined",
        reason="sender_is_agent",
    )
    case(
        t,
        "mail_from_our_own_address",
        eml(plain("th-own", sender=TO), "Loop.\n"),
        status="quarantined",
        reason="sender_is_inbox",
    )
    case(
        t,
        "inline_image_kept",
        eml(
            [
                *std("th-inline", sender=carol),
                ("In-Reply-To", "<{{ACK_ID}}>"),
                ("Content-Type", 'multipart/related; boundary="R"'),
            ],
            '--R\nContent-Type: text/html\n\n<p>See <img src="cid:img1"></p>\n--R\nContent-Type: image/png\nContent-ID: <img1>\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--R--\n',
        ),
        status="message",
        thread="seed",
        attachments=1,
        inline=1,
    )


def main() -> None:
    for f in HERE.rglob("*.eml"):
        f.unlink()
    auto_replies()
    bounces()
    malformed()
    charsets()
    size_limits()
    bombs()
    injection()
    duplicates()
    threading_cases()
    (HERE / "expectations.json").write_text(json.dumps(CASES, indent=1, sort_keys=True) + "\n")
    counts: dict[str, int] = {}
    for key in CASES:
        counts[key.split("/")[0]] = counts.get(key.split("/")[0], 0) + 1
    print(counts, sum(counts.values()))


if __name__ == "__main__":
    main()
