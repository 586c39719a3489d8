"""What the desk itself remembers: saved queue filters and who is looking at which ticket."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from regulars.core.models import TimeStampedModel
from regulars.tickets.models import Ticket


class SavedFilter(TimeStampedModel):
    """A named queue filter (the query string of the queue page) kept by an agent.

    Invariants: names are unique per owner. A shared filter is listed for every agent, but
    what it shows is still limited by each viewer's own ticket permissions.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters"
    )
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=1000, help_text="The queue's query string, e.g. status=open&tag=vip.")
    shared = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="saved_filter_name_per_owner")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TicketPresence(models.Model):
    """One agent's presence on one ticket page, refreshed by the page while it is open.

    Invariants: one row per (ticket, agent). A row older than the presence window means the
    agent has left; rows are overwritten, never accumulated, so the table stays small.
    """

    class State(models.TextChoices):
        VIEWING = "viewing", "Viewing"
        TYPING = "typing", "Typing a reply"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=16, choices=State.choices, default=State.VIEWING)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "agent"], name="presence_per_ticket_agent")]
        indexes = [models.Index(fields=["ticket", "seen_at"], name="presence_by_ticket")]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.state} #{self.ticket_id}"
