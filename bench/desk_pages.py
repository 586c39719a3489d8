"""Server time of desk pages at 1M tickets: p50/p95/p99 per URL path, in-process.

Django's test Client drives the whole stack (middleware, session, view, template) without a
network or a WSGI server, so the figure is the server's own time per page.

.venv/bin/python bench/desk_pages.py --db sqlite
.venv/bin/python bench/desk_pages.py --db postgres --requests 300 /desk/ '/desk/tickets/{ticket}/'

Paths may hold ``{ticket}``: each request then takes the next of 50 ticket numbers from the
agent's team queue. ``--deep N`` adds, for each queue path, its page N (reached by following the
"Next page" links first; the walk is not timed).
"""

from __future__ import annotations

import argparse
import os
import time
from itertools import cycle

from _common import machine, pct, setup_django

DEFAULT_PATHS = [
    "/desk/",
    "/desk/queues/teams/",
    "/desk/queues/unassigned/",
    "/desk/queues/at-risk/",
    "/desk/queues/all/",
    "/desk/queues/teams/?priority=urgent",
    "/desk/queues/teams/?sort=priority",
    "/desk/queues/teams/?sort=status",
    "/desk/queues/all/?status=pending&channel=email",
    "/desk/queues/all/?tag=payment",
    "/desk/tickets/{ticket}/",
]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--agent", default="bea@demo.regulars.test", help="an agent of the demo data")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per path")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per path first")
    parser.add_argument("--deep", type=int, default=20, help="also time page N of each queue (0: no)")
    parser.add_argument(
        "--at-risk",
        type=int,
        default=2000,
        help="give this many random unsolved tickets a breached SLA clock for the run (removed after)",
    )
    parser.add_argument("paths", nargs="*", default=DEFAULT_PATHS)
    args = parser.parse_args()
    setup_django(args.db)

    from django.db import connection

    from regulars.accounts.models import User
    from regulars.tickets.models import UNSOLVED_CATEGORIES
    from regulars.tickets.selectors import visible_tickets

    print(machine())
    agent = User.objects.get(email=args.agent)
    team_ids = list(agent.teams.values_list("id", flat=True))
    numbers = list(
        visible_tickets(agent)
        .filter(team_id__in=team_ids, status_category__in=UNSOLVED_CATEGORIES)
        .order_by("-id")
        .values_list("number", flat=True)[:50]
    )
    print(
        f"agent {agent.email} ({agent.role}, scope {agent.ticket_scope}, {len(team_ids)} team(s)); "
        f"{args.requests} timed requests per path after {args.warmup} untimed; {connection.vendor}"
    )
    added = _put_at_risk(args.at_risk)
    print(f"{len(added)} tickets given a breached SLA clock for this run")
    try:
        _measure(args, agent, numbers)
    finally:
        from regulars.sla.models import TicketSla

        for start in range(0, len(added), 500):
            TicketSla.objects.filter(ticket_id__in=added[start : start + 500]).delete()


def _put_at_risk(n: int) -> list[int]:
    """Breached clocks on ``n`` random unsolved tickets that have none (the demo data has none)."""
    import random

    from django.utils import timezone

    from regulars.sla.models import TicketSla
    from regulars.tickets.models import UNSOLVED_CATEGORIES, Ticket

    if n <= 0:
        return []
    unsolved = list(
        Ticket.objects.filter(status_category__in=UNSOLVED_CATEGORIES, sla__isnull=True).values_list(
            "id", flat=True
        )
    )
    chosen = random.Random(5).sample(unsolved, min(n, len(unsolved)))
    now = timezone.now()
    TicketSla.objects.bulk_create(
        [TicketSla(ticket_id=i, started_at=now, first_reply_state="breached") for i in chosen], batch_size=500
    )
    return chosen


def _measure(args: argparse.Namespace, agent: object, numbers: list[int]) -> None:
    import re

    from django.db import connection
    from django.test import Client

    client = Client()
    client.force_login(agent)  # type: ignore[arg-type]
    tickets = cycle(numbers)
    paths: list[str] = []
    for path in args.paths:
        paths.append(path)
        if args.deep > 1 and ("/queues/" in path or path == "/desk/"):
            url = path
            for _ in range(args.deep - 1):
                html = client.get(url).content.decode()
                found = re.search(r'href="([^"]+)"[^>]*rel="next"', html)
                if not found:
                    break
                url = found.group(1).replace("&amp;", "&")
            else:
                paths.append(url)

    for path in paths:

        def url(path: str = path) -> str:
            return path.replace("{ticket}", str(next(tickets))) if "{ticket}" in path else path

        for _ in range(args.warmup):
            client.get(url())
        # Counted by a wrapper: the query log is cleared at the start of every request.
        executed: list[str] = []

        def count(execute, sql, params, many, context, executed=executed):  # type: ignore[no-untyped-def]
            executed.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = client.get(url())
        assert response.status_code == 200, (path, response.status_code)
        rows = response.content.count(b"data-ticket-row")
        timings = []
        for _ in range(args.requests):
            target = url()
            started = time.perf_counter()
            response = client.get(target)
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200, (target, response.status_code)
        ms = [t * 1000 for t in timings]
        shown = path if len(path) <= 70 else path[:40] + "..." + path[-20:]
        print(
            f"{shown:<72} p50 {pct(ms, 50):6.1f} ms  p95 {pct(ms, 95):6.1f} ms  p99 {pct(ms, 99):6.1f} ms  "
            f"max {max(ms):6.1f} ms  {len(executed):2d} queries  {rows:2d} rows  {load()}"
        )


if __name__ == "__main__":
    main()
