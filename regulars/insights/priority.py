"""What the insight engine tells the priority policy (``regulars.sla.priority.evidence``).

- **The category** a ticket is about gives its severity, from the category's default priority
  (low -> low, high -> high, urgent -> critical; normal says nothing). Only a category an agent
  chose, or one predicted confidently enough to route on, counts: a guess in the triage queue
  must not move anyone's place in line.
- **The customer's words** give urgency: a deadline ("asap", "today", "urgent") or a third
  message within a day make the request urgent to them (``high``). Outage words and legal
  threats already count as severity through the policy's urgency words. Sentiment does not
  count: priority follows the issue, and an angry customer does not jump the queue for being
  angry (PRODUCT.md, fair priority). Sentiment gates offers instead (``selectors.offer_gate``).
"""

from __future__ import annotations

from regulars.insights.models import MessageInsight, TicketTriage
from regulars.sla.priority.evidence import Evidence
from regulars.sla.priority.rules import SeveritySource
from regulars.tickets.models import Ticket

CATEGORY_SEVERITY = {"low": "low", "high": "high", "urgent": "critical"}
# Outage words and legal threats are the policy's own severity words (admins edit that list), so
# they are not counted a second time as urgency: one phrase moves a ticket one step, not two.
URGENT_SIGNALS = ("deadline", "repeated_contact")


def evidence(ticket: Ticket) -> Evidence:
    from regulars.insights.services import get_settings

    severity = []
    triage = TicketTriage.objects.filter(ticket=ticket).select_related("category").first()
    if triage is not None and triage.category is not None and triage.category.active:
        trusted = triage.corrected_at is not None or (
            not triage.misdirected
            and triage.confidence is not None
            and triage.confidence >= get_settings().route_threshold
        )
        level = CATEGORY_SEVERITY.get(triage.category.default_priority)
        if trusted and level is not None:
            severity.append(SeveritySource(level, f'category "{triage.category.name}"'))
    urgency = []
    signals = MessageInsight.objects.filter(ticket=ticket).order_by("id").values_list("signals", flat=True)
    for found in signals:
        for signal in found:
            kind, _, detail = str(signal).partition(":")
            if kind in URGENT_SIGNALS:
                because = (
                    f"{detail} messages in a day"
                    if kind == "repeated_contact"
                    else f'customer wrote "{detail}"'
                )
                urgency.append(("high", because))
                break
        if urgency:
            break
    return Evidence(severity=severity, urgency=urgency)
