"""Writes for collision warnings: who is looking at which ticket, and who is typing on it.

Kept apart from ``desk.services`` (saved filters) so the two halves of the desk are edited
independently.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from regulars.accounts.models import User
from regulars.core.errors import ValidationFailed
from regulars.desk.models import TicketPresence
from regulars.tickets.models import Ticket

# A page refreshes its presence every few seconds; a row older than this means the agent left.
PRESENCE_WINDOW = dt.timedelta(seconds=30)
# "Typing" outlives the last keystroke a little, so a pause to think does not flap the warning.
TYPING_WINDOW = dt.timedelta(seconds=10)


@transaction.atomic
def note_presence(ticket: Ticket, agent: User, state: str) -> None:
    """Record that ``agent`` has ``ticket`` open (``viewing``) or is writing on it (``typing``).

    The caller has already checked that the agent may see the ticket. A viewing heartbeat does
    not overwrite a fresh typing state: the page keeps polling while the agent types.
    """
    if state not in TicketPresence.State.values:
        raise ValidationFailed("Unknown presence state.", fields={"state": "invalid"})
    now = timezone.now()
    if (
        state == TicketPresence.State.VIEWING
        and TicketPresence.objects.filter(
            ticket=ticket, agent=agent, state=TicketPresence.State.TYPING, seen_at__gt=now - TYPING_WINDOW
        ).exists()
    ):
        return
    TicketPresence.objects.update_or_create(
        ticket=ticket, agent=agent, defaults={"state": state, "seen_at": now}
    )
    # Rows are one per (ticket, agent); dropping the agent's stale ones keeps the table at about
    # one row per open desk tab.
    TicketPresence.objects.filter(agent=agent, seen_at__lt=now - PRESENCE_WINDOW).delete()
