"""Named domain events: the way contexts react to each other without importing each other.

``tickets`` never imports ``sla`` or ``channels``; those subscribe in ``AppConfig.ready()``:

- ``subscribe(name, handler)``: the handler runs in-process right after the transaction that
  emitted the event commits. For cheap reactions (cache invalidation, live updates).
- ``subscribe(name, handler, background=True)``: the handler runs in a worker. ``emit`` writes
  one task row *inside* the emitting transaction, so the event is committed with the change it
  describes (never lost, never delivered for a rolled-back change), and the request that caused
  it does not wait for the reaction. SLA clocks, priority assessment, paging and outbound mail
  work this way.

With ``settings.EVENT_HANDLERS_INLINE`` (the test default) background handlers run like inline
ones, after commit in the same process, so behaviour can be asserted without a worker.
A handler that fails is logged and does not affect the change that already committed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django_tasks import task

logger = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)
_background: dict[str, list[Handler]] = defaultdict(list)


def subscribe(name: str, handler: Handler, *, background: bool = False) -> None:
    registry = _background if background else _handlers
    if handler not in registry[name]:
        registry[name].append(handler)


def unsubscribe(name: str, handler: Handler) -> None:
    for registry in (_handlers, _background):
        if handler in registry[name]:
            registry[name].remove(handler)


def _run(handlers: list[Handler], name: str, payload: dict[str, Any]) -> None:
    for handler in handlers:
        try:
            handler(name, payload)
        except Exception:
            logger.exception("event handler %r failed for %s", handler, name)


def emit(name: str, **payload: Any) -> None:
    """Announce ``name``; see the module docstring for when each kind of handler runs."""
    inline = list(_handlers.get(name, ())) + list(_handlers.get("*", ()))
    background = list(_background.get(name, ())) + list(_background.get("*", ()))
    if background and not settings.EVENT_HANDLERS_INLINE:
        deliver_in_background.enqueue(name=name, payload=payload)
    elif background:
        inline += background
    if inline:
        transaction.on_commit(lambda: _run(inline, name, payload), robust=True)


@task()
def deliver_in_background(name: str, payload: dict[str, Any]) -> int:
    """Run the background handlers of one event. Handlers must be safe to run twice."""
    handlers = list(_background.get(name, ())) + list(_background.get("*", ()))
    _run(handlers, name, payload)
    return len(handlers)
