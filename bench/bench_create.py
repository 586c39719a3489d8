"""(a) Tickets created per second through the service layer: ``open_ticket``, one transaction each.

.venv/bin/python bench/bench_create.py --db sqlite --count 2000
"""

from __future__ import annotations

import argparse
import random
import time

from _common import machine, setup_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    setup_django(args.db)

    from django.utils import timezone

    from regulars.accounts.models import Team, User
    from regulars.customers.models import Customer
    from regulars.demo.plan import plan_people, plan_tickets
    from regulars.tickets.models import Ticket
    from regulars.tickets.services import open_ticket

    rng = random.Random(42)
    people = plan_people(99, 50)
    specs = list(plan_tickets(99, args.count, customers=people.customers, days=1, now=timezone.now()))
    top = Customer.objects.order_by("-id").values_list("id", flat=True).first() or 0
    customers = list(Customer.objects.filter(id__in=[rng.randint(1, top) for _ in range(2000)]))
    teams = {t.name: t for t in Team.objects.all()}
    agents = {t: list(User.objects.filter(teams__name=t, role="agent")) for t in teams}
    before = Ticket.objects.count()
    print(machine())
    print(f"db={args.db} tickets before={before}")
    started = time.perf_counter()
    for spec in specs:
        open_ticket(
            subject=spec.subject,
            body=spec.body,
            requester=rng.choice(customers),
            channel=spec.channel,
            priority=spec.priority,
            ticket_type=spec.ticket_type,
            team=teams[spec.team],
            assignee=rng.choice(agents[spec.team]) if spec.assignee is not None else None,
            tags=spec.tags,
        )
    elapsed = time.perf_counter() - started
    print(f"open_ticket: {args.count} tickets in {elapsed:.2f}s = {args.count / elapsed:.0f} tickets/s")


if __name__ == "__main__":
    main()
