"""Named domain events, dispatched only after the transaction that caused them commits.

Contexts that must not import each other (``tickets`` never imports ``sla`` or ``channels``)
react to events instead: ``subscribe("ticket.created", handler)`` in an AppConfig.ready().
A handler that fails is logged and does not affect the write that already committed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(name: str, handler: Handler) -> None:
    if handler not in _handlers[name]:
        _handlers[name].append(handler)


def unsubscribe(name: str, handler: Handler) -> None:
    if handler in _handlers[name]:
        _handlers[name].remove(handler)


def emit(name: str, **payload: Any) -> None:
    """Queue ``name`` for delivery when the current transaction commits (now, if none)."""

    def deliver() -> None:
        for handler in list(_handlers.get(name, ())) + list(_handlers.get("*", ())):
            try:
                handler(name, payload)
            except Exception:
                logger.exception("event handler %r failed for %s", handler, name)

    transaction.on_commit(deliver, robust=True)
