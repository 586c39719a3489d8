"""Evidence about a ticket that contexts above the priority policy contribute.

The policy lives below the insight engine (``sla`` never imports ``insights``), yet what the
engine reads in a ticket is exactly what the policy weighs: the category a request is about says
how severe such requests usually are, and the customer's own words (a deadline, a third message
in a day) say how urgent it is to them. So a higher context registers a provider here, at start-up,
and ``evaluate`` asks every provider for its evidence.

A provider only reads. It returns severity sources (ranked with the admin's rules and urgency
words: the most severe wins) and urgency claims, which count only when the customer stated no
urgency in a field or tag: what a customer says outright beats what we infer from their words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from regulars.sla.priority.rules import SEVERITIES, URGENCIES, SeveritySource
from regulars.tickets.models import Ticket


@dataclass(frozen=True)
class Evidence:
    severity: list[SeveritySource] = field(default_factory=list)
    urgency: list[tuple[str, str]] = field(default_factory=list)  # (level, because)


Provider = Callable[[Ticket], Evidence]

_providers: dict[str, Provider] = {}


def register(name: str, provider: Provider) -> None:
    """Add (or replace, for the same ``name``) a provider. Called from an AppConfig.ready()."""
    _providers[name] = provider


def unregister(name: str) -> None:
    _providers.pop(name, None)


def gather(ticket: Ticket) -> Evidence:
    """Every provider's evidence, with levels the policy does not know left out."""
    severity: list[SeveritySource] = []
    urgency: list[tuple[str, str]] = []
    for provider in list(_providers.values()):
        found = provider(ticket)
        severity += [s for s in found.severity if s.severity in SEVERITIES]
        urgency += [(level, why) for level, why in found.urgency if level in URGENCIES]
    return Evidence(severity, urgency)
