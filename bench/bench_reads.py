"""(c) the agent queue and (d) full-text search, p50/p99 over many runs.

.venv/bin/python bench/bench_reads.py --db sqlite
"""

from __future__ import annotations

import argparse
import random
import time

from _common import machine, setup_django, summary_ms

QUERIES = [
    "refund",
    "invoice VAT number",
    "duplicate charge",
    "password reset email",
    "firmware update failed",
    "DHL tracking",
    "sync conflict",
    "Bluetooth pairing Pixel",
    "auto-renewal",
    "onboarding Lisbon",
    "crash on launch iPhone",
    "garbled characters",
    "dark mode",
    "Warsaw",
    "espresso machine",
    "certificate warning",
    "CSV export",
    "return label",
    "locked out two-factor",
    "damaged box cracked panel",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--queue-runs", type=int, default=500)
    parser.add_argument("--search-rounds", type=int, default=10)
    parser.add_argument("--warm", action="store_true", help="one untimed search pass first")
    args = parser.parse_args()
    setup_django(args.db)

    from django.db import connection, reset_queries

    from regulars.accounts.models import Team, User
    from regulars.tickets.models import UNSOLVED_CATEGORIES
    from regulars.tickets.selectors import LIST_RELATED, search_tickets, visible_tickets

    print(machine())
    teams = list(Team.objects.order_by("name"))
    viewers = {
        "admin (all tickets)": User.objects.get(email="admin@demo.regulars.test"),
        "agent, scope all": User.objects.get(email="sam@demo.regulars.test"),
        "agent, scope teams": User.objects.get(email="bea@demo.regulars.test"),
    }
    rng = random.Random(7)
    for label, agent in viewers.items():
        my_teams = [t for t in teams if agent.teams.filter(pk=t.pk).exists()] or teams

        def page(team: Team, last_id: int | None, agent: User = agent) -> list[int]:
            qs = (
                visible_tickets(agent)
                .filter(team=team, status_category__in=UNSOLVED_CATEGORIES)
                .select_related(*LIST_RELATED)
                .order_by("-id")
            )
            if last_id is not None:
                qs = qs.filter(id__lt=last_id)
            return [t.pk for t in qs[:50]]

        timings = []
        for run in range(args.queue_runs):
            team = my_teams[run % len(my_teams)]
            depth = rng.choice([0, 0, 0, 1, 2, 5, 10])
            last = None
            for _ in range(depth):  # walk to a deeper page first (not timed)
                ids = page(team, last)
                last = ids[-1] if ids else None
            started = time.perf_counter()
            page(team, last)
            timings.append(time.perf_counter() - started)
        print(f"queue [{label}] {summary_ms(timings)}")

    # Show the plan once, so RESULTS.md can say which index was used.
    agent = viewers["agent, scope all"]
    qs = (
        visible_tickets(agent)
        .filter(team=teams[0], status_category__in=UNSOLVED_CATEGORIES)
        .select_related(*LIST_RELATED)
        .order_by("-id")[:50]
    )
    print("queue plan:", qs.explain().replace("\n", " | ")[:600])

    for label in ("admin (all tickets)", "agent, scope teams"):
        agent = viewers[label]
        timings = []
        per_query: dict[str, list[float]] = {q: [] for q in QUERIES}
        if args.warm:
            # One untimed pass: a server that has been up a while has these pages in the operating
            # system's cache; a cold start (the data just loaded, or evicted by another job) reads
            # them from disk, 100-160 ms a query here. Without --warm that first pass is timed.
            for q in QUERIES:
                search_tickets(agent, q)
        for _ in range(args.search_rounds):
            for q in QUERIES:
                started = time.perf_counter()
                search_tickets(agent, q)
                elapsed = time.perf_counter() - started
                timings.append(elapsed)
                per_query[q].append(elapsed)
        print(f"search [{label}] {summary_ms(timings)}")
        slowest = sorted(per_query.items(), key=lambda kv: -max(kv[1]))[:5]
        print("  slowest queries: " + ", ".join(f"{q!r} {max(v) * 1000:.0f} ms" for q, v in slowest))
    reset_queries()
    connection.close()


if __name__ == "__main__":
    main()
