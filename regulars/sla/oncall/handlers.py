"""Reactions to ticket events: an urgent ticket outside business hours opens an incident."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from regulars.sla.oncall.services import consider_ticket


def now() -> datetime:
    """The handlers' clock; tests replace it to decide what "outside business hours" means."""
    return timezone.now()


def on_ticket_created(name: str, payload: dict[str, Any]) -> None:
    consider_ticket(payload["ticket_id"], now=now(), notify=bool(payload.get("notify", True)))


def on_ticket_updated(name: str, payload: dict[str, Any]) -> None:
    if "priority" in payload.get("fields", ()):
        consider_ticket(payload["ticket_id"], now=now())
