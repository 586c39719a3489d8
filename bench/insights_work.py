"""The insight engine's work on a large data set: what the worker spends per new ticket, what an
agent waits for similar tickets, and what one emerging-issue detection run costs.

.venv/bin/python bench/insights_work.py --db sqlite --stream 2000 --similar 200

1. Set-up (not timed; skipped when a model is already active): the demo's twelve categories and
   a light triage model trained on ``--train`` solved tickets sampled from the data set, with the
   category their topic tags give (the bulk-loaded sets have no agents' decisions of their own).
2. ``--stream N``: N new tickets opened through ``open_ticket`` (texts from the demo vocabulary),
   then the insight engine's ``ticket.created`` handler run on each, as the worker runs it:
   triage (and routing), sentiment and urgency, the hourly trend counters, the priority
   re-assessment. Timed per ticket; the total gives tickets per second per worker process.
3. ``detect`` over the hour those N messages fell in, three times (idempotent): the periodic job.
4. ``--similar M``: ``similar_tickets`` for M random tickets, as the admin and as an agent who sees
   only his teams' tickets, after one untimed pass over 20 of them.
"""

from __future__ import annotations

import argparse
import random
import time

from _common import machine, setup_django, summary_ms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--train", type=int, default=5000, help="solved tickets to train on")
    parser.add_argument("--stream", type=int, default=2000)
    parser.add_argument("--similar", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    setup_django(args.db)

    from django.db import connection
    from django.utils import timezone

    from regulars.accounts.models import Team, User
    from regulars.customers.models import Customer
    from regulars.demo import plan as p
    from regulars.demo import vocabulary as v
    from regulars.demo.insights import CATEGORIES
    from regulars.insights.emerging import bucket_of, detect
    from regulars.insights.models import Category, MessageInsight, TicketTriage
    from regulars.insights.services import active_model, create_category, on_ticket_created, train_model
    from regulars.insights.similar import similar_tickets
    from regulars.tickets.models import Message, StatusCategory, Ticket
    from regulars.tickets.services import open_ticket

    print(machine())
    rng = random.Random(args.seed)
    admin = User.objects.get(email=p.ADMIN_EMAIL)
    scoped = User.objects.get(email="bea@demo.regulars.test")
    print(f"tickets in the data set: {Ticket.objects.count():,}")

    # 1. categories and a model
    if active_model() is None:
        teams = {t.name: t for t in Team.objects.all()}
        by_tags = {}
        for name, team, priority, tags, _articles in CATEGORIES:
            category = Category.objects.filter(name=name).first() or create_category(
                actor=admin, name=name, team=teams.get(team), default_priority=priority
            )
            by_tags[tags] = category.name
        top = Ticket.objects.order_by("-id").values_list("id", flat=True).first() or 0
        picked = sorted(rng.sample(range(1, top + 1), min(top, args.train * 3)))
        texts, labels = [], []
        solved = (
            Ticket.objects.filter(
                pk__in=picked, status_category__in=(StatusCategory.SOLVED, StatusCategory.CLOSED)
            )
            .prefetch_related("tags")
            .order_by("id")
        )
        for ticket in solved[: args.train]:
            names = {t.name for t in ticket.tags.all()}
            label = next((c for tags, c in by_tags.items() if set(tags) <= names), None)
            first = (
                Message.objects.filter(ticket=ticket, author_type="customer", kind="reply")
                .order_by("id")
                .values_list("body_text", flat=True)
                .first()
            )
            if label is not None:
                texts.append(f"{ticket.subject}\n{first or ''}".strip())
                labels.append(label)
        started = time.perf_counter()
        row = train_model(backend="light", examples=(texts, labels), actor=admin)
        print(
            f"set-up: trained on {len(texts)} solved tickets in {time.perf_counter() - started:.1f} s; "
            f"{row.state}, held-out accuracy {row.metrics.get('accuracy')}"
        )
    model_row = active_model()
    assert model_row is not None
    print(f"model: {model_row[0].backend} v{model_row[0].version}, {len(model_row[0].labels)} labels")

    # 2. the worker's reaction to new tickets
    customers = list(Customer.objects.order_by("?").values_list("pk", flat=True)[:2000])
    before = MessageInsight.objects.count()
    opened: list[tuple[int, int]] = []
    for _ in range(args.stream):
        _team, _type, _tags, subjects, bodies = rng.choice(v.TOPICS)
        slots = {
            "product": rng.choice(v.PRODUCTS), "feature": rng.choice(v.FEATURES), "error": rng.choice(v.ERRORS),
            "device": rng.choice(v.DEVICES), "carrier": rng.choice(v.CARRIERS), "city": rng.choice(v.CITIES),
            "colour": rng.choice(v.COLOURS), "amount": f"€{rng.randint(9, 2400)}", "order": f"SO-{rng.randint(1, 10**6)}",
            "invoice": f"INV-2026-{rng.randint(1, 99999):05d}", "days": str(rng.randint(2, 21)),
        }  # fmt: skip
        ticket = open_ticket(
            subject=rng.choice(subjects).format(**slots),
            body=rng.choice(bodies).format(**slots),
            requester=Customer.objects.get(pk=rng.choice(customers)),
            channel="email",
        )
        message_id = Message.objects.filter(ticket=ticket).order_by("id").values_list("id", flat=True).first()
        opened.append((ticket.pk, message_id or 0))
    timings = []
    wall = time.perf_counter()
    for ticket_id, message_id in opened:
        started = time.perf_counter()
        on_ticket_created("ticket.created", {"ticket_id": ticket_id, "message_id": message_id})
        timings.append(time.perf_counter() - started)
    wall = time.perf_counter() - wall
    routed = TicketTriage.objects.filter(ticket_id__in=[t for t, _ in opened], routed=True).count()
    print(f"worker, ticket.created [triage + sentiment + trends + priority] {summary_ms(timings)}")
    print(
        f"  {len(opened)} tickets in {wall:.1f} s = {len(opened) / wall:.0f} tickets/s per worker process; "
        f"{routed} routed; {MessageInsight.objects.count() - before} messages scored"
    )

    # 3. one detection run over the hour just written
    now = timezone.now()
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        outcome = detect(now)
        runs.append(time.perf_counter() - started)
    print(
        f"detect (hours {bucket_of(now):%H}:00 and the one before) {summary_ms(runs)}; "
        f"opened {len(outcome.opened)}, updated {len(outcome.updated)}"
    )

    # 4. similar tickets
    top = Ticket.objects.order_by("-id").values_list("number", flat=True).first() or 0
    bottom = Ticket.objects.order_by("id").values_list("number", flat=True).first() or 0
    for label, viewer in (("admin (all tickets)", admin), ("agent, scope teams", scoped)):
        from regulars.tickets.selectors import visible_tickets

        numbers: list[int] = []
        while len(numbers) < args.similar + 20:
            n = rng.randint(bottom, top)
            if visible_tickets(viewer).filter(number=n).exists():
                numbers.append(n)
        for n in numbers[:20]:
            similar_tickets(viewer, n)
        timings = []
        found = 0
        for n in numbers[20:]:
            started = time.perf_counter()
            result = similar_tickets(viewer, n)
            timings.append(time.perf_counter() - started)
            found += len(result.open) + len(result.solved)
        print(f"similar tickets [{label}] {summary_ms(timings)}; {found / len(timings):.1f} results each")
    connection.close()


if __name__ == "__main__":
    main()
