"""Reactions to ticket events: an agent's public reply on an email ticket goes to the outbox."""

from __future__ import annotations

from typing import Any

from regulars.channels.email import outbound


def on_message_created(name: str, payload: dict[str, Any]) -> None:
    if payload.get("kind") != "reply" or payload.get("author_type") != "agent":
        return
    row = outbound.queue_reply(int(payload["message_id"]))
    if row is not None and row.state == row.State.QUEUED:
        outbound._enqueue(row.pk)
