"""The insight engine's part of the demo: categories, sister brands, agents' past decisions and a
trained triage model, so a fresh install shows predictions, routing and the misdirected queue.

Runs after the demo tickets exist. Solved and closed demo tickets get the category an agent
would have chosen (from their topic), which is exactly the training data production uses; a light
model is trained on it. The worker then triages and scores every demo ticket from the events the
demo wrote, as it would for real mail. Two messages that are not for us are added for the
misdirected queue.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from regulars.accounts.models import Role, Team, User
from regulars.customers.models import Customer
from regulars.insights.misdirected import NOT_FOR_US_TAG, create_sister_brand
from regulars.insights.models import Category, TicketTriage, TriageModel
from regulars.insights.services import create_category, train_model
from regulars.tickets.models import StatusCategory, Ticket
from regulars.tickets.services import default_status, open_ticket, update_ticket

HELP = "https://help.demo.regulars.test"
MIN_SOLVED = 100

# (name, team, default priority, the topic's two tags in vocabulary.TOPICS, articles)
CATEGORIES: tuple[tuple[str, str, str, tuple[str, str], tuple[tuple[str, str], ...]], ...] = (
    ("Invoices", "Billing", "normal", ("billing", "invoice"),
     (("Reading your invoice", "invoices"), ("Changing the billing address", "billing-address"))),
    ("Payments and refunds", "Billing", "high", ("billing", "payment"),
     (("When refunds arrive", "refunds"), ("Duplicate charges", "duplicate-charges"))),
    ("Plan changes", "Billing", "normal", ("billing", "plan-change"),
     (("Switching plans", "plans"), ("Auto-renewal", "auto-renewal"))),
    ("App errors", "Technical", "high", ("bug", "app"),
     (("Known issues", "known-issues"), ("Reinstalling the app", "reinstall"))),
    ("Sync", "Technical", "high", ("bug", "sync"), (("How sync works", "sync"),)),
    ("Set-up questions", "Technical", "low", ("how-to", "setup"), (("Getting started", "getting-started"),)),
    ("Devices", "Technical", "normal", ("hardware", "device"),
     (("Firmware updates", "firmware"), ("Warranty", "warranty"))),
    ("Orders and shipping", "Support", "normal", ("shipping", "order"), (("Tracking an order", "tracking"),)),
    ("Returns", "Support", "normal", ("returns", "order"), (("Returns and exchanges", "returns"),)),
    ("Account access", "Support", "high", ("account", "login"),
     (("Password reset", "password-reset"), ("Two-factor login", "two-factor"))),
    ("Onboarding", "Success", "normal", ("onboarding", "training"), (("Onboarding sessions", "onboarding"),)),
    ("Feedback", "Success", "low", ("feedback", "feature-request"), (("Our roadmap", "roadmap"),)),
)  # fmt: skip

BRANDS = (
    ("GreenThumb Garden Supplies", "lawn mowers, garden hoses, seeds, plant pots, hedge trimmers",
     "help@greenthumb.example", "orders@greenthumb.example"),
    ("PetPal", "dog food, cat litter, pet toys, aquariums and vet appointments", "0800 738 725", ""),
)  # fmt: skip

# Past messages agents answered "not for us": the model learns what does not belong here.
_ELSEWHERE = (
    ("lawn mower", "garden"), ("hedge trimmer", "garden"), ("tomato seeds", "garden"),
    ("dog food", "pet"), ("cat litter", "pet"), ("aquarium filter", "pet"),
    ("pizza delivery", "restaurant"), ("table for four on Friday", "restaurant"),
    ("car insurance quote", "insurer"), ("dentist appointment", "clinic"),
    ("hotel room in Lisbon", "hotel"), ("job application for the driver position", "employer"),
)  # fmt: skip
_ELSEWHERE_SUBJECTS = ("Question about my {thing}", "{Thing}?", "Booking: {thing}", "Help with {thing}")
_ELSEWHERE_BODIES = (
    "Hello, I would like to ask about the {thing}. Is this the right {kind} to contact?",
    "Hi, I am writing about my {thing}. Can you call me back about it?",
    "Good morning, do you still offer the {thing}? My neighbour recommended your {kind}.",
)

STRAYS = (
    ("My lawn mower blade snapped", "The blade of the hedge trimmer and lawn mower I bought broke. Where do I get seeds too?"),
    ("Cat litter order", "Hi, I ordered cat litter and dog food for my pets last week. When will it come?"),
)  # fmt: skip


def seed(*, say: Callable[[str], None] = lambda _m: None) -> TriageModel | None:
    """Write the insight demo once; a second call (or an install with categories) does nothing."""
    if Category.objects.exists():
        return None
    solved = Ticket.objects.filter(status_category__in=(StatusCategory.SOLVED, StatusCategory.CLOSED)).count()
    if solved < MIN_SOLVED:
        say(f"insights: skipped, {solved} solved tickets are too few to learn from (needs {MIN_SOLVED})")
        return None
    admin = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("id").first()
    if admin is None:
        return None
    teams = {t.name: t for t in Team.objects.all()}
    by_tags: dict[tuple[str, str], Category] = {}
    with transaction.atomic():
        for name, team, priority, tags, articles in CATEGORIES:
            by_tags[tags] = create_category(
                actor=admin,
                name=name,
                team=teams.get(team),
                default_priority=priority,
                articles=[{"title": title, "url": f"{HELP}/{slug}"} for title, slug in articles],
            )
        for name, description, contact, forward in BRANDS:
            create_sister_brand(
                actor=admin, name=name, description=description, contact=contact, forward_address=forward
            )
    decided = _agents_decisions(by_tags, admin) + _past_strays(admin)
    say(f"insights: {len(by_tags)} categories, {decided} agents' decisions on solved tickets")
    row = train_model(backend="light", actor=admin)
    accuracy = row.metrics.get("accuracy")
    say(f"insights: triage model v{row.version} {row.state}, held-out accuracy {accuracy}")
    requester = Customer.objects.order_by("id").first()
    if requester is not None:
        for subject, body in STRAYS:
            open_ticket(subject=subject, body=body, requester=requester, channel="email")
        say(f"insights: {len(STRAYS)} messages for the misdirected queue (the worker triages them)")
    return row


def _agents_decisions(by_tags: dict[tuple[str, str], Category], admin: User) -> int:
    """The category each solved demo ticket's agent chose, from the ticket's topic tags."""
    rows = []
    solved = (
        Ticket.objects.filter(status_category__in=(StatusCategory.SOLVED, StatusCategory.CLOSED))
        .prefetch_related("tags")
        .order_by("id")
    )
    for ticket in solved.iterator(chunk_size=1000):
        names = {t.name for t in ticket.tags.all()}
        category = next((c for tags, c in by_tags.items() if set(tags) <= names), None)
        if category is None:
            continue
        decided_at = ticket.solved_at or ticket.closed_at or ticket.updated_at
        agent_id = ticket.assignee_id or admin.pk
        rows.append(
            TicketTriage(
                ticket=ticket,
                category=category,
                triaged_at=ticket.created_at,
                corrected_by_id=agent_id,
                corrected_at=decided_at,
            )
        )
    TicketTriage.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return len(rows)


def _past_strays(admin: User) -> int:
    """Solved tickets an agent said were not for us, one per (thing, wording)."""
    customers = list(Customer.objects.order_by("id")[:50])
    if not customers:
        return 0
    solved = default_status(StatusCategory.SOLVED)
    count = 0
    for i, (thing, kind) in enumerate(_ELSEWHERE):
        for j, body in enumerate(_ELSEWHERE_BODIES):
            subject = _ELSEWHERE_SUBJECTS[(i + j) % len(_ELSEWHERE_SUBJECTS)]
            ticket = open_ticket(
                subject=subject.format(thing=thing, Thing=thing[0].upper() + thing[1:]),
                body=body.format(thing=thing, kind=kind),
                requester=customers[(i * 3 + j) % len(customers)],
                channel="email",
            )
            with transaction.atomic():
                TicketTriage.objects.create(ticket=ticket, misdirected=True, triaged_at=ticket.created_at,
                                            corrected_by=admin, corrected_at=ticket.created_at)  # fmt: skip
                update_ticket(ticket, actor=admin, status=solved, tags=[NOT_FOR_US_TAG])
            count += 1
    return count
