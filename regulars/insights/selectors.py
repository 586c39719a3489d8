"""Reads of the insight engine, each checking who asks. Ticket visibility is tickets' one policy."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils import timezone

from regulars.accounts.models import Role, User
from regulars.core.errors import Forbidden, NotFound
from regulars.customers.models import Customer
from regulars.customers.selectors import get_customer
from regulars.insights.models import (
    AlertMessage,
    AlertSubscription,
    Category,
    EmergingAlert,
    MessageInsight,
    SisterBrand,
    TicketTriage,
    TriageModel,
)
from regulars.tickets.models import UNSOLVED_CATEGORIES, SatisfactionRating, Ticket
from regulars.tickets.selectors import get_ticket, visible_tickets


def _require_agent(viewer: User) -> None:
    if not (viewer.is_active and viewer.is_agent):
        raise Forbidden("Only agents may see this.", code="agents_only")


def _require_admin(viewer: User) -> None:
    if not (viewer.is_active and viewer.role == Role.ADMIN):
        raise Forbidden("Only admins may see this.", code="admins_only")


def categories_for(viewer: User) -> QuerySet[Category]:
    _require_agent(viewer)
    return Category.objects.select_related("team").order_by("name")


def brands_for(viewer: User) -> QuerySet[SisterBrand]:
    _require_agent(viewer)
    return SisterBrand.objects.all()


def models_for(viewer: User) -> QuerySet[TriageModel]:
    _require_admin(viewer)
    return TriageModel.objects.defer("artefact").order_by("-version")


def _queue(viewer: User) -> QuerySet[TicketTriage]:
    _require_agent(viewer)
    return (
        TicketTriage.objects.filter(
            ticket__in=visible_tickets(viewer).filter(status_category__in=UNSOLVED_CATEGORIES),
            corrected_at__isnull=True,
        )
        .select_related("ticket", "category", "brand_guess")
        .order_by("-id")
    )


def triage_queue(viewer: User) -> QuerySet[TicketTriage]:
    """Open tickets the model was not sure enough about to route, for a person to categorise."""
    return _queue(viewer).filter(routed=False, misdirected=False)


def misdirected_queue(viewer: User) -> QuerySet[TicketTriage]:
    """Open tickets that probably are not for us, with the best guess of where they belong."""
    return _queue(viewer).filter(misdirected=True)


@dataclass
class SentimentSummary:
    messages: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    latest: str | None = None
    lowest_compound: float | None = None
    average_compound: float | None = None
    max_urgency: int = 0
    signals: list[str] = field(default_factory=list)


def summarise(insights: list[MessageInsight]) -> SentimentSummary:
    if not insights:
        return SentimentSummary()
    ordered = sorted(insights, key=lambda i: (i.created_at, i.pk))
    compounds = [i.compound for i in ordered]
    kinds = sorted({s.split(":", 1)[0] for i in ordered for s in i.signals})
    return SentimentSummary(
        messages=len(ordered),
        counts=dict(Counter(i.sentiment for i in ordered)),
        latest=ordered[-1].sentiment,
        lowest_compound=min(compounds),
        average_compound=round(sum(compounds) / len(compounds), 4),
        max_urgency=max(i.urgency for i in ordered),
        signals=kinds,
    )


def ticket_sentiment(ticket: Ticket) -> SentimentSummary:
    return summarise(list(MessageInsight.objects.filter(ticket=ticket)))


def customer_sentiment(viewer: User, customer: Customer, *, days: int = 30) -> SentimentSummary:
    """How this customer's messages read over the last ``days`` days, on tickets ``viewer`` sees."""
    _require_agent(viewer)
    since = timezone.now() - dt.timedelta(days=days)
    rows = MessageInsight.objects.filter(
        customer=customer, created_at__gte=since, ticket__in=visible_tickets(viewer)
    )
    return summarise(list(rows))


# --- the empathy gate (F18) ---------------------------------------------------------------------

UPSET_WINDOW_DAYS = 14
STRONGLY_NEGATIVE = -0.5
UPSET_SIGNALS = ("legal", "cancellation", "outage")
LOW_RATING = 2


@dataclass(frozen=True)
class OfferGate:
    allowed: bool
    reasons: list[str]


def offer_gate(customer: Customer, *, now: dt.datetime | None = None) -> OfferGate:
    """May a rule make this customer an offer (an upgrade, a check-in with a proposal) now?

    No, while they are upset: their latest message in the last two weeks reads negative, any
    message then was strongly negative or threatened to leave or take legal steps or reported an
    outage, or they rated a ticket 1 or 2 in the last month. Every rule that makes offers calls
    this first (PRODUCT.md F18: offers only when they fit). It takes no viewer because automation
    calls it; transports show it only to agents (``customer_mood``).
    """
    moment = now or timezone.now()
    since = moment - dt.timedelta(days=UPSET_WINDOW_DAYS)
    recent = list(
        MessageInsight.objects.filter(customer=customer, created_at__gte=since, created_at__lte=moment)
        .order_by("created_at", "id")
        .only("sentiment", "compound", "signals", "created_at")
    )
    reasons = []
    if recent and recent[-1].sentiment == "negative":
        reasons.append("their latest message reads negative")
    if any(i.compound <= STRONGLY_NEGATIVE for i in recent):
        reasons.append(f"a strongly negative message in the last {UPSET_WINDOW_DAYS} days")
    kinds = sorted({str(s).split(":", 1)[0] for i in recent for s in i.signals} & set(UPSET_SIGNALS))
    reasons += [f"they wrote of {kind} in the last {UPSET_WINDOW_DAYS} days" for kind in kinds]
    low = SatisfactionRating.objects.filter(
        customer=customer, score__lte=LOW_RATING, updated_at__gte=moment - dt.timedelta(days=30)
    )
    if low.exists():
        reasons.append("they rated a ticket 1 or 2 in the last 30 days")
    return OfferGate(allowed=not reasons, reasons=reasons)


@dataclass
class CustomerMood:
    customer: Customer
    sentiment: SentimentSummary
    gate: OfferGate


def customer_mood(viewer: User, public_id: str, *, days: int = 30) -> CustomerMood:
    """Agents: a customer's sentiment over ``days`` days (on tickets they see) and the offer gate."""
    _require_agent(viewer)
    customer = get_customer(viewer, public_id)
    return CustomerMood(customer, customer_sentiment(viewer, customer, days=days), offer_gate(customer))


@dataclass
class TicketInsight:
    ticket: Ticket
    triage: TicketTriage | None
    sentiment: SentimentSummary


def ticket_insight(viewer: User, number: int) -> TicketInsight:
    _require_agent(viewer)
    ticket = get_ticket(viewer, number)
    triage = (
        TicketTriage.objects.filter(ticket=ticket)
        .select_related(
            "category", "predicted_category", "routed_team", "brand_guess", "model", "corrected_by"
        )
        .first()
    )
    return TicketInsight(ticket, triage, ticket_sentiment(ticket))


# --- emerging issues ---------------------------------------------------------------------------

MAX_ALERT_MESSAGES_SHOWN = 100


def alerts_for(
    viewer: User, *, state: str | None = None, dimension: str | None = None
) -> QuerySet[EmergingAlert]:
    """Every alert, newest first, for agents. The counts on an alert are aggregates; the
    messages and customers behind it are shown per ticket the viewer may see."""
    _require_agent(viewer)
    qs = EmergingAlert.objects.select_related("problem").order_by("-id")
    if state:
        qs = qs.filter(state=state)
    if dimension:
        qs = qs.filter(dimension=dimension)
    return qs


def get_alert(viewer: User, public_id: str) -> EmergingAlert:
    found = alerts_for(viewer).filter(public_id=public_id).first()
    if found is None:
        raise NotFound("No such alert.")
    return found


def alert_messages(viewer: User, alert: EmergingAlert) -> list[AlertMessage]:
    """The alert's messages on tickets ``viewer`` may see, newest first, with their tickets and
    customers, in one query."""
    _require_agent(viewer)
    return list(
        AlertMessage.objects.filter(alert=alert, ticket__in=visible_tickets(viewer))
        .select_related("message", "ticket", "customer")
        .order_by("-id")[:MAX_ALERT_MESSAGES_SHOWN]
    )


@dataclass(frozen=True)
class AlertHour:
    at: dt.datetime
    count: int
    expected: float


@dataclass
class AlertDetail:
    """One alert as agents read it: its elevated hours, and its messages and customers on
    tickets the viewer may see (the newest ``MAX_ALERT_MESSAGES_SHOWN``)."""

    alert: EmergingAlert
    messages: list[AlertMessage]
    customers: list[Customer]
    hours: list[AlertHour]


def alert_detail(viewer: User, alert: EmergingAlert) -> AlertDetail:
    members = alert_messages(viewer, alert)
    customers: dict[str, Customer] = {}
    for member in members:
        if member.customer is not None:
            customers.setdefault(member.customer.public_id, member.customer)
    hours = [
        AlertHour(dt.datetime.fromisoformat(at), int(v[0]), float(v[1]))
        for at, v in sorted((alert.buckets or {}).items())
    ]
    return AlertDetail(alert, members, list(customers.values()), hours)


def subscriptions_for(viewer: User) -> QuerySet[AlertSubscription]:
    _require_agent(viewer)
    return AlertSubscription.objects.filter(user=viewer).order_by("id")


def get_subscription(viewer: User, public_id: str) -> AlertSubscription:
    found = subscriptions_for(viewer).filter(public_id=public_id).first()
    if found is None:
        raise NotFound("No such subscription.")
    return found
