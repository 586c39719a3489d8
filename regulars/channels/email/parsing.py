"""Raw RFC 5322 bytes to one bounded ``InboundMessage``.

Everything here runs under budgets (size, part count, nesting depth) and nothing raises: a
message that cannot be understood comes back with ``quarantine_reason`` set, so ingest always
reaches a recorded outcome. Survivable damage (an unknown charset, a dropped oversized file) is
listed in ``problems`` and the message still becomes a ticket message.
"""

from __future__ import annotations

import codecs
import email.utils
import functools
import itertools
import logging
import re
from dataclasses import dataclass, field
from email import headerregistry, policy
from email.message import EmailMessage, Message
from email.parser import BytesParser, HeaderParser
from typing import Any

import quotequail
from django.conf import settings
from mailparser_reply import EmailReplyParser
from mailparser_reply.parser import EmailMessage as ReplyMessage

from regulars.channels.base import InboundMessage
from regulars.core.html import html_to_text, sanitise_html
from regulars.tickets.attachments import Upload

logger = logging.getLogger(__name__)

MAX_SUBJECT = 250
MAX_TEXT = 200_000
MAX_REFERENCES = 50
# mail-parser-reply runs many regular expressions per line; longer texts are kept whole.
MAX_REPLY_SCAN = 100_000
REPLY_LANGUAGES = ["en", "de", "fr", "es", "nl", "it", "pt", "sv", "pl", "da"]
MAILER_DAEMONS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
_MSGID = re.compile(r"<([^<>\s]{1,250})>")
_LOCAL_OK = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_DOMAIN_OK = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}$"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class DeliveryReport:
    """What an RFC 3464 report (or a recognisable non-standard bounce) says about our message."""

    original_message_ids: list[str] = field(default_factory=list)
    recipients: list[dict[str, str]] = field(default_factory=list)  # address, action, status, diagnostic

    @property
    def permanent_failures(self) -> list[dict[str, str]]:
        return [r for r in self.recipients if r["action"] == "failed" and r["status"].startswith("5")]


@dataclass
class ParsedEmail(InboundMessage):
    report: DeliveryReport | None = None
    is_bounce: bool = False
    authentication: dict[str, str] = field(default_factory=dict)


def budgets() -> dict[str, int]:
    return {
        "bytes": settings.EMAIL_MAX_BYTES,
        "parts": settings.EMAIL_MAX_PARTS,
        "depth": settings.EMAIL_MAX_DEPTH,
    }


def parse_email(raw: bytes, *, envelope_from: str | None = None, inbox_id: int | None = None) -> ParsedEmail:
    """Parse ``raw``; never raises."""
    try:
        return _parse(raw, envelope_from, inbox_id)
    except RecursionError:
        return _quarantined(inbox_id, "too_deep: nesting exhausted the parser")
    except Exception as exc:  # a bug or an attack must still end in a recorded outcome
        logger.exception("could not parse an inbound email")
        return _quarantined(inbox_id, f"unparseable: {type(exc).__name__}: {exc}"[:500])


def _quarantined(inbox_id: int | None, reason: str) -> ParsedEmail:
    return ParsedEmail(channel="email", inbox_id=inbox_id, sender="", quarantine_reason=reason)


class _Registry(headerregistry.HeaderRegistry):
    """The stdlib's header registry, building each header class once.

    ``HeaderRegistry.__getitem__`` creates a new class (``type(...)``) for every header it
    parses; the class depends only on the header's name, so one per name is the same class."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        key = name.lower()
        found = self._classes.get(key)
        if found is None:
            found = self._classes[key] = super().__getitem__(name)
        return found

    def map_to_type(self, name: str, cls: Any) -> None:
        super().map_to_type(name, cls)
        self._classes.pop(name.lower(), None)


_REGISTRY = _Registry()
# Parsed headers by (name, raw value), shared by every message: most mail to an inbox repeats
# its To, Content-Type and Content-Transfer-Encoding values, and parsing them is most of the
# header time. Bounded: cleared when full.
_PARSED: dict[tuple[str, str], Any] = {}
_PARSED_MAX = 4096
_PARSED_VALUE_MAX = 2000


class _ParsePolicy(policy.EmailPolicy):
    """``policy.default`` that parses each distinct header once.

    The stdlib parses a header again on every read, and ``get_content_type()`` alone read
    Content-Type about fifteen times per message (a third of all parsing time). Parsing is a pure
    function of the header's name and raw value (and the header factory), and header objects are
    immutable, so handing out the same object again, to this message or a later one, is
    indistinguishable from parsing it again.
    """

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if (
            self.header_factory is not _REGISTRY
            or not isinstance(value, str)
            or len(value) > _PARSED_VALUE_MAX
        ):
            return super().header_fetch_parse(name, value)  # another factory, or not worth keeping
        key = (name, value)
        found = _PARSED.get(key)
        if found is None:
            found = super().header_fetch_parse(name, value)
            if len(_PARSED) >= _PARSED_MAX:
                _PARSED.clear()
            _PARSED[key] = found
        return found


_POLICY = _ParsePolicy(header_factory=_REGISTRY)


def _parse(raw: bytes, envelope_from: str | None, inbox_id: int | None) -> ParsedEmail:
    limits = budgets()
    if len(raw) > limits["bytes"]:
        return _quarantined(inbox_id, f"too_large: {len(raw)} bytes, the limit is {limits['bytes']}")
    # Cheap guard before the stdlib parser walks anything: it builds every part in memory.
    if raw.lower().count(b"boundary=") > limits["parts"]:
        return _quarantined(inbox_id, f"too_many_parts: more than {limits['parts']} multiparts")
    msg = BytesParser(policy=_POLICY).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    problems: list[str] = []

    # Leaves of the message itself; parts inside an attached message (message/rfc822, a
    # delivery status) count against the budgets but are never unpacked into attachments.
    leaves: list[tuple[Message, int]] = []
    forwarded: list[Message] = []
    stack: list[tuple[Message, int, bool]] = [(msg, 0, False)]
    count = 0
    while stack:
        part, depth, inner = stack.pop()
        count += 1
        if count > limits["parts"]:
            return _quarantined(inbox_id, f"too_many_parts: more than {limits['parts']} parts")
        if depth > limits["depth"]:
            return _quarantined(inbox_id, f"too_deep: nesting deeper than {limits['depth']}")
        if part.get_content_type() == "message/rfc822" and not inner:
            forwarded.append(part)
        if part.is_multipart():
            children = part.get_payload()
            if isinstance(children, list):
                inside = inner or part.get_content_maintype() == "message"
                stack.extend((c, depth + 1, inside) for c in reversed(children) if isinstance(c, Message))
        elif not inner:
            leaves.append((part, depth))
    for defect in getattr(msg, "defects", []):
        problems.append(f"defect:{type(defect).__name__}")

    parsed = ParsedEmail(channel="email", inbox_id=inbox_id, sender="")
    parsed.problems = problems
    parsed.message_id = _first_id(_header(msg, "Message-ID", problems))
    parsed.in_reply_to = _ids(_header(msg, "In-Reply-To", problems))
    parsed.references = _ids(_header(msg, "References", problems))[-MAX_REFERENCES:]
    parsed.subject = _clean_line(_header(msg, "Subject", problems))[:MAX_SUBJECT]
    parsed.recipients = _recipients(msg, problems)
    parsed.headers = {
        name: _clean_line(_header(msg, name, problems))[:500]
        for name in ("Auto-Submitted", "Precedence", "X-Autoreply", "X-Autorespond", "List-Id",
                     "Return-Path", "X-Loop", "X-Auto-Response-Suppress", "Authentication-Results")
        if msg.get(name) is not None
    }  # fmt: skip

    address, name, reason = strict_sender(msg)
    parsed.sender, parsed.sender_name = address, name
    parsed.auto_signals = auto_signals(msg, address, envelope_from)
    parsed.report = delivery_report(msg)
    local = address.split("@", 1)[0]
    parsed.is_bounce = parsed.report is not None or (
        local in MAILER_DAEMONS and ("null-sender" in parsed.auto_signals or _looks_like_bounce(leaves))
    )
    if parsed.is_bounce and parsed.report is None:
        parsed.report = _loose_report(msg, leaves)
    if reason and not parsed.is_bounce:
        parsed.quarantine_reason = reason
        return parsed

    _bodies(parsed, msg, leaves, forwarded)
    return parsed


# --- headers -------------------------------------------------------------------------------


def _header(msg: Message, name: str, problems: list[str]) -> str:
    try:
        value = msg.get(name)
        return "" if value is None else str(value)
    except Exception as exc:  # a header the policy cannot decode still must not stop ingest
        problems.append(f"bad_header:{name}:{type(exc).__name__}")
        raw = dict((k.lower(), v) for k, v in msg.raw_items()).get(name.lower(), "")
        return str(raw).encode("ascii", "replace").decode("ascii")


def _clean_line(value: str) -> str:
    # Encoded words can smuggle CR/LF into a decoded header ("header injection"); a header is
    # one line to us, always.
    return " ".join(_CONTROL.sub(" ", value).split())


def _first_id(value: str) -> str:
    match = _MSGID.search(value)
    if match:
        return match.group(1)
    token = value.strip().strip("<>")
    return token if token and " " not in token and len(token) <= 250 else ""


def _ids(value: str) -> list[str]:
    seen: list[str] = []
    for found in _MSGID.findall(value):
        if found not in seen:
            seen.append(found)
    return seen


def _recipients(msg: Message, problems: list[str]) -> list[str]:
    out: list[str] = []
    for name in ("To", "Cc", "Delivered-To", "X-Original-To"):
        for value in msg.get_all(name) or []:
            try:
                pairs = email.utils.getaddresses([str(value)])
            except Exception:
                problems.append(f"bad_header:{name}")
                continue
            out += [addr.lower() for _, addr in pairs if "@" in addr]
    return list(dict.fromkeys(out))[:100]


def valid_address(address: str) -> bool:
    if address.count("@") != 1 or len(address) > 254:
        return False
    local, domain = address.rsplit("@", 1)
    return bool(_LOCAL_OK.match(local)) and not local.startswith(".") and bool(_DOMAIN_OK.match(domain))


def strict_sender(msg: Message) -> tuple[str, str, str]:
    """``(address, display name, quarantine reason)``: exactly one From with exactly one address
    that two independent parsers read the same way, or a reason."""
    raw_values = [v for k, v in msg.raw_items() if k.lower() == "from"]
    if not raw_values:
        return "", "", "no_sender: the message has no From header"
    if len(raw_values) > 1:
        return "", "", "ambiguous_sender: several From headers"
    raw_value = " ".join(str(raw_values[0]).split())
    try:
        header: Any = msg["From"]
        addresses = list(header.addresses)
        defects = list(getattr(header, "defects", []))
    except Exception:
        # e.g. a display name that decodes to CR/LF (an injection attempt): the address itself
        # may still be unambiguous; the name is dropped.
        legacy = email.utils.getaddresses([raw_value])
        if len(legacy) == 1 and valid_address(legacy[0][1].lower()):
            return legacy[0][1].lower(), "", ""
        return "", "", "ambiguous_sender: the From header does not parse"
    if len(addresses) != 1:
        return "", "", f"ambiguous_sender: From names {len(addresses)} addresses"
    if defects:
        return "", "", f"ambiguous_sender: {type(defects[0]).__name__} in From"
    address = addresses[0].addr_spec.lower()
    name = _clean_line(addresses[0].display_name or "")[:200]
    legacy = email.utils.getaddresses([raw_value])
    if len(legacy) != 1 or legacy[0][1].lower() != address:
        return "", "", "ambiguous_sender: From reads differently to different parsers"
    if not valid_address(address):
        return "", "", "ambiguous_sender: not a plain mailbox address"
    return address, name, ""


def auto_signals(msg: Message, sender: str, envelope_from: str | None) -> list[str]:
    """RFC 3834 and common vendor signals that a machine, not a person, wrote this mail."""
    signals: list[str] = []

    def value(name: str) -> str:
        try:
            return " ".join(str(msg.get(name, "")).split()).lower()
        except Exception:
            return "unreadable"

    auto = value("Auto-Submitted")
    if auto and not auto.startswith("no"):
        signals.append(f"auto-submitted:{auto[:40]}")
    precedence = value("Precedence")
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        signals.append(f"precedence:{precedence}")
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress", "List-Id", "List-Unsubscribe"):
        if msg.get(name) is not None:
            signals.append(name.lower())
    if (value("Return-Path") in {"<>", ""} and msg.get("Return-Path") is not None) or envelope_from == "<>":
        signals.append("null-sender")
    if sender.split("@", 1)[0] in MAILER_DAEMONS:
        signals.append("mailer-daemon")
    loop_id = settings.EMAIL_LOOP_ID.lower()
    if any(loop_id in " ".join(str(v).split()).lower() for v in msg.get_all("X-Loop") or []):
        signals.append("own-loop")
    return signals


# --- delivery reports ----------------------------------------------------------------------


def delivery_report(msg: Message) -> DeliveryReport | None:
    if msg.get_content_type() != "multipart/report":
        return None
    if (msg.get_param("report-type") or "").lower() != "delivery-status":  # type: ignore[union-attr]
        return None
    report = DeliveryReport()
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            blocks = part.get_payload()
            if isinstance(blocks, list):
                for block in blocks[1:]:  # the first block is per-message
                    if isinstance(block, Message):
                        report.recipients.append(_recipient_block(block))
        elif ctype in ("message/rfc822", "message/rfc822-headers", "text/rfc822-headers"):
            report.original_message_ids += _original_ids(part)
    report.original_message_ids = list(dict.fromkeys(report.original_message_ids))
    return report


def _recipient_block(block: Message) -> dict[str, str]:
    def field_value(name: str) -> str:
        value = " ".join(str(block.get(name, "")).split())
        return value.split(";", 1)[-1].strip() if name.endswith("Recipient") else value

    return {
        "address": (field_value("Final-Recipient") or field_value("Original-Recipient")).lower()[:320],
        "action": field_value("Action").lower()[:20],
        "status": field_value("Status")[:16],
        "diagnostic": field_value("Diagnostic-Code")[:500],
    }


def _original_ids(part: Message) -> list[str]:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return _ids(str(payload[0].get("Message-ID", "")))
    try:
        text = part.get_payload(decode=True)
        if not isinstance(text, bytes):
            return []
        headers = HeaderParser(policy=policy.compat32).parsestr(text.decode("utf-8", "replace"))
        return _ids(str(headers.get("Message-ID", "")))
    except Exception:
        return []


def _looks_like_bounce(leaves: list[tuple[Message, int]]) -> bool:
    for part, _ in leaves[:5]:
        if part.get_content_maintype() == "text":
            text, _problems = decode_text(part)
            lowered = text[:5000].lower()
            if any(k in lowered for k in ("undeliver", "delivery has failed", "could not be delivered",
                                          "delivery status notification", "returned mail")):  # fmt: skip
                return True
    return False


def _loose_report(msg: Message, leaves: list[tuple[Message, int]]) -> DeliveryReport:
    """A non-standard bounce: find our Message-ID in an attached original or quoted headers."""
    report = DeliveryReport()
    for part in msg.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            report.original_message_ids += _original_ids(part)
    for part, _ in leaves[:5]:
        if part.get_content_maintype() == "text":
            text, _problems = decode_text(part)
            for line in text[:50_000].splitlines():
                if line.lower().lstrip("> ").startswith("message-id:"):
                    report.original_message_ids += _ids(line)
    status = re.search(
        r"\b([245]\.\d{1,3}\.\d{1,3})\b", " ".join(decode_text(p)[0][:5000] for p, _ in leaves[:3])
    )
    if status:
        report.recipients.append(
            {"address": "", "action": "failed" if status.group(1).startswith("5") else "delayed",
             "status": status.group(1), "diagnostic": ""}
        )  # fmt: skip
    report.original_message_ids = list(dict.fromkeys(report.original_message_ids))
    return report


# --- bodies and attachments ----------------------------------------------------------------

_CHARSET_ALIASES = {"utf8": "utf-8", "unicode-1-1-utf-7": "utf-7", "x-unknown": "", "unknown-8bit": ""}


def _codec(charset: str) -> str | None:
    charset = _CHARSET_ALIASES.get(charset.lower().strip(), charset.lower().strip())
    if not charset:
        return None
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return None


def decode_text(part: Message) -> tuple[str, list[str]]:
    """The text of a part, whatever its declared charset says; problems say what was replaced."""
    problems: list[str] = []
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if not isinstance(data, bytes):
        data = str(part.get_payload()).encode("utf-8", "replace")
        problems.append("undecodable_transfer_encoding")
    declared = part.get_content_charset()
    codec = _codec(declared) if declared else "ascii"
    if declared and codec is None:
        problems.append(f"unknown_charset:{declared[:40]}")
    try:
        text = data.decode(codec or "utf-8")
    except (UnicodeDecodeError, LookupError):
        if codec not in (None, "utf-8"):
            problems.append(f"charset_mismatch:{(declared or 'none')[:40]}")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode(codec if codec not in (None, "ascii", "utf-8") else "cp1252", "replace")
            problems.append("replacement_characters")
    if "\x00" in text:
        text = text.replace("\x00", "")
        problems.append("nul_removed")
    return text, problems


def _filename(part: Message, index: int) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name:
        return _clean_line(str(name))[:200]
    subtype = part.get_content_subtype() or "bin"
    return f"part-{index}.{subtype[:10]}"


def _bodies(
    parsed: ParsedEmail, msg: EmailMessage, leaves: list[tuple[Message, int]], forwarded: list[Message]
) -> None:
    text_part: Message | None = None
    html_part: Message | None = None
    try:
        text_part = msg.get_body(preferencelist=("plain",))
        html_part = msg.get_body(preferencelist=("html",))
    except Exception:
        parsed.problems.append("body_not_found")
    full_text, full_html = "", ""
    if text_part is not None:
        full_text, problems = decode_text(text_part)
        parsed.problems += problems
    if html_part is not None:
        full_html, problems = decode_text(html_part)
        parsed.problems += problems

    index = 0
    for part, _depth in leaves:
        if part is text_part or part is html_part:
            continue
        index += 1
        _attachment(parsed, part, index)
    # A forwarded message (message/rfc822) is kept whole as one .eml file, never unpacked.
    for part in forwarded if parsed.report is None else []:
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            index += 1
            data = inner[0].as_bytes(policy=policy.compat32)
            _attachment(parsed, part, index, data=data, name=f"forwarded-{index}.eml")

    html_new = ""
    if full_html:
        try:
            html_new = "".join(chunk for shown, chunk in quotequail.quote_html(full_html) if shown)
        except Exception:
            parsed.problems.append("quote_split_failed:html")
            html_new = full_html
        html_new = sanitise_html(html_new or full_html)
    if not full_text and full_html:
        full_text = html_to_text(sanitise_html(full_html))
    new_text = full_text
    if full_text and len(full_text) > MAX_REPLY_SCAN:
        parsed.problems.append("quote_split_skipped:long")  # kept whole rather than cut blindly
    elif full_text:
        try:
            new_text = latest_reply(full_text) or full_text
        except Exception:
            parsed.problems.append("quote_split_failed:text")
            new_text = full_text
        parsed.quoted_text = full_text[len(new_text) :] if full_text.startswith(new_text) else ""
    if len(new_text) > MAX_TEXT:
        parsed.problems.append("body_truncated")
        new_text = new_text[:MAX_TEXT]
    parsed.text = new_text.strip()
    parsed.html = html_new if len(html_new) <= 2 * MAX_TEXT else ""


@functools.cache
def _reply_setup() -> tuple[list[str], Any]:
    """The languages ``EmailReplyParser(languages=REPLY_LANGUAGES)`` settles on and the header
    pattern its messages build from them (the same string every time), compiled once."""
    languages = EmailReplyParser(languages=REPLY_LANGUAGES).languages
    return languages, ReplyMessage(text="", languages=list(languages)).HEADER_REGEX


def latest_reply(text: str) -> str | None:
    """``EmailReplyParser(languages=REPLY_LANGUAGES).parse_reply(text)`` (mail-parser-reply
    1.36, pinned), doing only the work its answer depends on.

    ``EmailMessage.read()`` splits the normalised text at the reply headers it finds and
    answers with the first non-empty piece (else the last, possibly empty). For every piece it
    also runs the signature and disclaimer patterns, whose findings ``latest_reply`` never
    reads, and every message compiles its three patterns again. Here the header pattern is
    compiled once, the pieces are cut exactly as ``read()`` cuts them, and the other two patterns
    are not run. Every alternative of the header pattern contains a ``:`` or ``-----``, so a text
    with neither has no header and is not scanned (the scan is most of the time).
    A test compares the two on the corpus and on assembled replies in every language."""
    languages, header_regex = _reply_setup()
    body = ReplyMessage(text=text, languages=list(languages), _header_regex=header_regex).text
    found = header_regex.findall(body) if ":" in body or "-----" in body else []
    headers = [header for header in itertools.chain.from_iterable(found) if header]
    current = 0
    for header in headers:
        position = body.find(header, current + 1 if current > 0 else current)
        content = body[current:position].strip()
        current = position if position >= 0 else 0
        if content:
            return content
    return body[current:].strip()


def _attachment(
    parsed: ParsedEmail, part: Message, index: int, *, data: bytes | None = None, name: str | None = None
) -> None:
    if data is None:
        try:
            payload = part.get_payload(decode=True)
        except Exception:
            payload = None
        if not isinstance(payload, bytes):
            return  # a container (message/*) handled elsewhere
        data = payload
    filename = name or _filename(part, index)
    if len(data) > settings.ATTACHMENT_MAX_BYTES:
        parsed.problems.append(f"attachment_too_large:{filename[:80]}")
        return
    disposition = (part.get_content_disposition() or "").lower()
    inline = disposition != "attachment" and part.get("Content-ID") is not None
    parsed.attachments.append(
        Upload(filename=filename, content_type=part.get_content_type()[:120], data=data, is_inline=inline)
    )
