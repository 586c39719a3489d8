"""The channel interface every plug-in implements: traffic in becomes one ``InboundMessage``,
a reply out is one ``OutboundMessage``, and each kind registers one adapter.

Email is the first adapter (``regulars.channels.email``); web, chat and voice reuse the same
shapes so threading, identities and loop protection read the same fields whatever the channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from regulars.tickets.attachments import Upload


@dataclass
class InboundMessage:
    """One message that arrived on a channel, already parsed and bounded.

    ``problems`` lists what was wrong but survivable (a replaced charset, a dropped oversized
    attachment); ``quarantine_reason`` is set when the message must not become a ticket message.
    """

    channel: str
    inbox_id: int | None
    sender: str  # the identity value, normalised (an address for email)
    sender_name: str = ""
    subject: str = ""
    text: str = ""
    html: str = ""
    quoted_text: str = ""
    attachments: list[Upload] = field(default_factory=list)
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # only those of interest (loops, auth)
    auto_signals: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    quarantine_reason: str = ""
    raw_ref: str = ""  # where the raw payload is kept (e.g. "inbound-email:<id>")


@dataclass
class OutboundMessage:
    """One message to send: who to, what, and the threading headers it must carry."""

    channel: str
    to: str
    subject: str
    text: str
    html: str = ""
    message_id: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    reply_to: str = ""
    from_address: str = ""
    from_name: str = ""
    auto_submitted: bool = False
    attachments: list[Upload] = field(default_factory=list)


@dataclass(frozen=True)
class SendResult:
    """What the transport said: ``ok`` with its queue id, or a temporary / permanent failure."""

    ok: bool
    permanent: bool = False
    response: str = ""


class ChannelAdapter(Protocol):
    kind: str

    def send(self, message: OutboundMessage) -> SendResult: ...


_adapters: dict[str, ChannelAdapter] = {}


def register_channel(kind: str, adapter: ChannelAdapter) -> None:
    _adapters[kind] = adapter


def channel_adapter(kind: str) -> ChannelAdapter:
    try:
        return _adapters[kind]
    except KeyError:
        raise LookupError(f"no channel adapter registered for {kind!r}") from None


def registered_channels() -> list[str]:
    return sorted(_adapters)
