"""What the demo data set contains, decided before anything is written.

Everything here is a pure function of (seed, sizes, now): the service path and the bulk path
both write from the same plan, so they produce the same data, and the same seed always gives
the same data. Each stream (people, tickets) has its own ``random.Random`` so tickets can be
generated lazily, batch by batch, without holding a million plans in memory.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from regulars.demo import vocabulary as v

DEMO_PASSWORD = "regulars-demo"  # noqa: S105 (a published demo credential, printed by the command)
DEMO_INBOX_ADDRESS = "support@demo.regulars.test"
ADMIN_EMAIL = "admin@demo.regulars.test"
TEAMS = (
    ("Support", "First line: orders, shipping, returns and accounts."),
    ("Billing", "Invoices, payments, refunds and plan changes."),
    ("Technical", "Bugs, devices, integrations and set-up questions."),
    ("Success", "Onboarding, training and feedback from our larger customers."),
)
PLANS = (
    # (name, slug, named contact, organisation-wide visibility)
    ("Basic", "basic", False, False),
    ("Business", "business", False, True),
    ("Enterprise", "enterprise", True, True),
)


@dataclass(frozen=True)
class AgentSpec:
    email: str
    name: str
    role: str
    teams: tuple[str, ...]
    scope: str = "all"


AGENTS: tuple[AgentSpec, ...] = (
    AgentSpec(ADMIN_EMAIL, "Ada Admin", "admin", ()),
    AgentSpec("sam@demo.regulars.test", "Sam Okafor", "agent", ("Support",)),
    AgentSpec("lucia@demo.regulars.test", "Lucia Rossi", "agent", ("Support",)),
    AgentSpec("tom@demo.regulars.test", "Tom Walsh", "agent", ("Support", "Success")),
    AgentSpec("bea@demo.regulars.test", "Bea Schmidt", "agent", ("Billing",), "teams"),
    AgentSpec("yusuf@demo.regulars.test", "Yusuf Haddad", "agent", ("Billing",), "teams"),
    AgentSpec("mei@demo.regulars.test", "Mei Tanaka", "agent", ("Technical",)),
    AgentSpec("olaf@demo.regulars.test", "Olaf Hansen", "agent", ("Technical",)),
    AgentSpec("priya@demo.regulars.test", "Priya Patel", "agent", ("Technical",)),
    AgentSpec("noor@demo.regulars.test", "Noor Ibrahim", "agent", ("Success",)),
    AgentSpec("lee@demo.regulars.test", "Lee Light", "light_agent", ("Support", "Technical")),
)
LIGHT_AGENT = next(i for i, a in enumerate(AGENTS) if a.role == "light_agent")
ADMIN = 0


def team_agents(team: str) -> tuple[int, ...]:
    """Indexes of the agents (not light agents) who may be assigned tickets of ``team``."""
    return tuple(i for i, a in enumerate(AGENTS) if team in a.teams and a.role == "agent")


@dataclass(frozen=True)
class OrgSpec:
    name: str
    domain: str
    plan: str | None
    owner: int | None  # index into AGENTS


@dataclass(frozen=True)
class CustomerSpec:
    name: str
    first_name: str
    org: int | None  # index into the plan's organisations
    identities: tuple[tuple[str, str], ...]  # (kind, value) as typed, before normalisation
    plan: str | None
    lifetime_value: int
    time_zone: str
    language: str


@dataclass(frozen=True)
class MessageSpec:
    author: str  # "customer", "agent" (public reply) or "note"
    agent: int | None  # index into AGENTS for agent replies and notes
    body: str
    at: datetime


@dataclass(frozen=True)
class TicketSpec:
    subject: str
    body: str
    customer: int
    channel: str
    priority: str | None  # None: the service default ("normal", reason "default")
    ticket_type: str
    team: str
    assignee: int | None
    tags: tuple[str, ...]
    opened_at: datetime
    replies: tuple[MessageSpec, ...]
    status: str  # final status slug
    status_at: datetime  # when the final status was set (if it differs from the current one)
    actor: int  # who sets the final status


@dataclass(frozen=True)
class PeoplePlan:
    organisations: tuple[OrgSpec, ...]
    customers: tuple[CustomerSpec, ...]


def _weighted(rng: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    total = sum(w for _, w in options)
    pick = rng.random() * total
    for value, weight in options:
        pick -= weight
        if pick < 0:
            return value
    return options[-1][0]


def plan_people(seed: int, customers: int, *, org_start: int = 0, customer_start: int = 0) -> PeoplePlan:
    """Organisations and customers. ``*_start`` > 0 (appending) makes every address unique by index."""
    rng = random.Random(f"{seed}:people")
    appending = org_start > 0 or customer_start > 0
    org_count = max(3, customers // 15)
    orgs: list[OrgSpec] = []
    used_domains: set[str] = set()
    for i in range(org_count):
        first, second = rng.choice(v.ORG_FIRST), rng.choice(v.ORG_SECOND)
        name = f"{first} {second} {rng.choice(v.ORG_SUFFIX)}"
        domain = f"{first}-{second}.example".lower()
        if appending or domain in used_domains:
            domain = f"{first}-{second}-{org_start + i}.example".lower()
        used_domains.add(domain)
        plan = _weighted(rng, (("basic", 50), ("business", 35), ("enterprise", 15)))
        owner = rng.choice(team_agents("Success")) if plan == "enterprise" else None
        orgs.append(OrgSpec(name=name, domain=domain, plan=plan, owner=owner))

    people: list[CustomerSpec] = []
    used_locals: set[str] = set()
    for i in range(customers):
        n = customer_start + i
        first, last = rng.choice(v.FIRST_NAMES), rng.choice(v.LAST_NAMES)
        # Organisations differ in size: a few large customers, a long tail of small ones.
        org = min(int(rng.paretovariate(1.2)) - 1, org_count - 1) if rng.random() < 0.55 else None
        if org is not None:
            org = (org * 7919 + i) % org_count if rng.random() < 0.5 else org
        local = f"{first}.{last}".lower()
        domain = orgs[org].domain if org is not None else rng.choice(v.FREE_MAIL_DOMAINS)
        key = f"{local}@{domain}"
        if appending or key in used_locals:
            local = f"{local}{n}"
        used_locals.add(f"{local}@{domain}")
        identities: list[tuple[str, str]] = [("email", f"{local}@{domain}")]
        if rng.random() < 0.3:
            identities.append(("email", f"{first[0]}{last}{n}@{rng.choice(v.FREE_MAIL_DOMAINS)}".lower()))
        if rng.random() < 0.6:
            identities.append(("phone", f"{rng.choice(v.PHONE_PREFIXES)} {n:07d}"))
        if rng.random() < 0.2:
            network = rng.choice(v.SOCIAL_NETWORKS)
            identities.append(("social", f"{network}:@{first}{last}{n}"))
        customer_plan = None if org is not None or rng.random() < 0.8 else "basic"
        people.append(
            CustomerSpec(
                name=f"{first} {last}",
                first_name=first,
                org=org,
                identities=tuple(identities),
                plan=customer_plan,
                lifetime_value=int(rng.lognormvariate(5.5, 1.2)),
                time_zone=rng.choice(v.TIME_ZONES),
                language=rng.choice(v.LANGUAGES),
            )
        )
    return PeoplePlan(organisations=tuple(orgs), customers=tuple(people))


_CHANNELS = (("email", 45), ("web", 20), ("chat", 15), ("phone", 8), ("social", 7), ("api", 5))
_PRIORITIES = (("low", 20), ("normal", 55), ("high", 20), ("urgent", 5))
_LENGTHS = (("1", 15), ("2", 30), ("3", 25), ("4", 15), ("5", 10), ("6", 5))
_OLD = (("closed", 68), ("solved", 30), ("pending", 1), ("on-hold", 1))
_RECENT = (("solved", 50), ("closed", 10), ("pending", 15), ("open", 15), ("on-hold", 5), ("new", 5))
_FRESH = (("new", 25), ("open", 35), ("pending", 20), ("on-hold", 5), ("solved", 15))


def _slots(rng: random.Random) -> dict[str, str]:
    return {
        "product": rng.choice(v.PRODUCTS),
        "feature": rng.choice(v.FEATURES),
        "error": rng.choice(v.ERRORS),
        "device": rng.choice(v.DEVICES),
        "carrier": rng.choice(v.CARRIERS),
        "city": rng.choice(v.CITIES),
        "colour": rng.choice(v.COLOURS),
        "amount": f"€{rng.randint(9, 2400)}.{rng.randint(0, 99):02d}",
        "order": f"SO-{rng.randint(100000, 999999)}",
        "invoice": f"INV-{rng.randint(2023, 2025)}-{rng.randint(1, 99999):05d}",
        "days": str(rng.randint(2, 21)),
    }


def plan_tickets(
    seed: int, tickets: int, *, customers: tuple[CustomerSpec, ...], days: int, now: datetime
) -> Iterator[TicketSpec]:
    """Tickets oldest first, spread evenly over the last ``days`` days, each with its conversation."""
    rng = random.Random(f"{seed}:tickets")
    span = timedelta(days=days).total_seconds()
    start = now - timedelta(days=days)
    for i in range(tickets):
        opened_at = start + timedelta(seconds=span * (i + rng.random()) / max(tickets, 1))
        opened_at = opened_at.replace(microsecond=(opened_at.microsecond // 1000) * 1000)
        team, ticket_type, topic_tags, subjects, bodies = rng.choice(v.TOPICS)
        slots = _slots(rng)
        customer_index = min(int(rng.random() ** 2 * len(customers)), len(customers) - 1)
        customer = customers[customer_index]
        age_days = (now - opened_at).total_seconds() / 86400
        status = _weighted(rng, _OLD if age_days > 14 else _RECENT if age_days > 3 else _FRESH)
        agents = team_agents(team)
        assignee = None if status == "new" or rng.random() < 0.1 else rng.choice(agents)
        length = int(_weighted(rng, _LENGTHS))
        tags = list(topic_tags)
        if rng.random() < 0.25:
            tags.append(rng.choice(("vip", "repeat-contact", "social-media", "escalated", "churn-risk")))
        if rng.random() < 0.1:
            tags.append(slots["city"].lower().replace(" ", "-"))

        replies: list[MessageSpec] = []
        at = opened_at
        agent_turn = status != "new"
        responder = assignee if assignee is not None else rng.choice(agents)
        for _ in range(length - 1):
            at = min(at + timedelta(minutes=rng.randint(5, 60 * 30)), now - timedelta(seconds=1))
            at = at.replace(microsecond=(at.microsecond // 1000) * 1000)
            if rng.random() < 0.15:
                author = (
                    LIGHT_AGENT if team in AGENTS[LIGHT_AGENT].teams and rng.random() < 0.5 else responder
                )
                body = rng.choice(v.INTERNAL_NOTES).format(**slots)
                replies.append(MessageSpec("note", author, body, at))
                continue
            if agent_turn:
                fix = rng.choice(v.FIXES)
                body = rng.choice(v.AGENT_REPLIES).format(
                    first=customer.first_name, fix=fix, fix_cap=fix[0].upper() + fix[1:], city=slots["city"]
                )
                replies.append(MessageSpec("agent", responder, body, at))
            else:
                replies.append(
                    MessageSpec("customer", None, rng.choice(v.CUSTOMER_FOLLOW_UPS).format(**slots), at)
                )
            agent_turn = not agent_turn and status != "new"
        status_at = min(at + timedelta(minutes=rng.randint(1, 60 * 48)), now - timedelta(seconds=1))
        status_at = status_at.replace(microsecond=(status_at.microsecond // 1000) * 1000)
        priority = _weighted(rng, _PRIORITIES)
        yield TicketSpec(
            subject=rng.choice(subjects).format(**slots),
            body=rng.choice(bodies).format(**slots),
            customer=customer_index,
            channel=_weighted(rng, _CHANNELS),
            priority=None if priority == "normal" else priority,
            ticket_type=ticket_type,
            team=team,
            assignee=assignee,
            tags=tuple(dict.fromkeys(tags)),
            opened_at=opened_at,
            replies=tuple(replies),
            status=status,
            status_at=status_at,
            actor=responder,
        )
