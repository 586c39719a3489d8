"""Reads for the workspace's Insights panel, built on ``insights.selectors``.

What the triage model said about the ticket (or what an agent chose), the category's knowledge
articles, how the customer's messages on it read and whether offers are welcome. A fixed number
of queries whatever the length of the conversation: the triage row with its relations, the
ticket's message insights and the offer gate's two reads. Similar tickets are read separately
(``insights.similar``), on their own request, because their search costs more than the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from regulars.accounts.models import User
from regulars.insights.models import Category, SisterBrand, TicketTriage
from regulars.insights.selectors import OfferGate, SentimentSummary, offer_gate, ticket_insight
from regulars.tickets.models import Ticket

MAX_ALTERNATIVES = 3

# Urgency signal kinds (insights.signals) as an agent would say them.
SIGNAL_WORDS = {
    "outage": "something is down",
    "legal": "legal steps",
    "cancellation": "wants to leave",
    "deadline": "in a hurry",
    "repeated_contact": "wrote again and again",
}


@dataclass(frozen=True)
class Alternative:
    name: str
    percent: int


@dataclass
class InsightPanel:
    """What the insight engine says about one ticket and its requester, ready to show."""

    triage: TicketTriage | None
    category: Category | None
    chosen_by_agent: bool
    percent: int | None
    alternatives: list[Alternative]
    articles: list[dict[str, str]]
    misdirected: bool
    confirmed_not_for_us: bool
    sentiment: SentimentSummary
    mood_counts: list[str]
    signals: list[str]
    offers: OfferGate
    brand_guess: SisterBrand | None


def _percent(value: float | None) -> int | None:
    return None if value is None else round(value * 100)


def _articles(category: Category | None) -> list[dict[str, str]]:
    """The category's articles with an http(s) URL. ``insights.services.check_articles`` already
    refuses anything else; checked again here because the URL becomes a link on an agent's page,
    where a ``javascript:`` URL would run in our origin."""
    if category is None or not isinstance(category.articles, list):
        return []
    found = []
    for entry in category.articles:
        if not isinstance(entry, dict):
            continue
        title, url = str(entry.get("title", "")).strip(), str(entry.get("url", "")).strip()
        if title and url.lower().startswith(("http://", "https://")):
            found.append({"title": title, "url": url})
    return found


def _alternatives(triage: TicketTriage | None, current: Category | None) -> list[Alternative]:
    if triage is None or not isinstance(triage.alternatives, list):
        return []
    out = []
    for entry in triage.alternatives:
        if not isinstance(entry, dict):
            continue
        name = str(entry.get("category", ""))
        percent = _percent(entry.get("confidence"))
        if name and percent is not None and (current is None or name != current.name):
            out.append(Alternative(name, percent))
    out.sort(key=lambda a: -a.percent)
    return out[:MAX_ALTERNATIVES]


def insight_panel(viewer: User, ticket: Ticket) -> InsightPanel:
    """The panel for ``ticket`` as read by ``tickets.selectors.get_ticket`` (its requester joined
    in); ``ticket_insight`` reads it again through the same permission check."""
    found = ticket_insight(viewer, ticket.number)
    triage = found.triage
    category = triage.category if triage is not None else None
    chosen = triage is not None and triage.corrected_at is not None
    misdirected = triage is not None and triage.misdirected
    return InsightPanel(
        triage=triage,
        category=category,
        chosen_by_agent=chosen,
        percent=_percent(triage.confidence) if triage is not None else None,
        alternatives=_alternatives(triage, category),
        articles=_articles(category),
        misdirected=misdirected,
        confirmed_not_for_us=misdirected and chosen and category is None,
        brand_guess=triage.brand_guess if triage is not None else None,
        sentiment=found.sentiment,
        mood_counts=[
            f"{found.sentiment.counts[kind]} {kind}"
            for kind in ("negative", "neutral", "positive")
            if found.sentiment.counts.get(kind)
        ],
        signals=[SIGNAL_WORDS.get(kind, kind.replace("_", " ")) for kind in found.sentiment.signals],
        offers=offer_gate(ticket.requester),
    )
