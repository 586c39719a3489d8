"""Time the SLA clocks job over N open tickets: full recompute, steady state, 1% incremental.

Usage (from the repository root):
    REGULARS_VAR_DIR=$PWD/bench/.data/sla .venv/bin/python bench/sla_recompute.py --tickets 1000000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sla_bench .venv/bin/python bench/sla_recompute.py

Rows are bulk-created directly (tickets and their TicketSla anchors), not through services: the
bench measures the job, not ticket creation. Existing rows are reused when there are enough.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("REGULARS_VAR_DIR", str(Path(__file__).resolve().parent / ".data" / "sla"))

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from regulars.customers.models import Customer, SupportPlan  # noqa: E402
from regulars.sla.clocks import PolicyBook  # noqa: E402
from regulars.sla.models import SlaSyncState, TicketSla  # noqa: E402
from regulars.sla.services import (  # noqa: E402
    SYNC_KEY,
    create_calendar,
    create_policy,
    raise_due_events,
    recompute_open_slas,
    reconcile_changed,
)
from regulars.tickets.models import Ticket  # noqa: E402
from regulars.tickets.services import default_status  # noqa: E402

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
PRIORITIES = ["low", "normal", "normal", "normal", "high", "urgent"]
CHANNELS = ["email", "web", "chat", "phone", "api"]


def setup_policies() -> None:
    if SupportPlan.objects.filter(slug="bench-gold").exists():
        return
    office = create_calendar(
        name="Bench office",
        time_zone="Europe/London",
        weekly_hours={
            d: [["09:00", "12:30"], ["13:30", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")
        },
        holiday_country="GB",
        holiday_subdivision="ENG",
    )
    gold = SupportPlan.objects.create(name="Bench gold", slug="bench-gold")
    create_policy(name="Bench urgent", priority="urgent", first_reply_minutes=30, first_reply_business=False,
                  resolution_minutes=8 * 60, resolution_business=False)  # fmt: skip
    create_policy(name="Bench gold", plan=gold, calendar=office, first_reply_minutes=60, next_reply_minutes=120,
                  resolution_minutes=16 * 60)  # fmt: skip
    create_policy(name="Bench default", calendar=office, first_reply_minutes=8 * 60, next_reply_minutes=8 * 60,
                  resolution_minutes=5 * 9 * 60)  # fmt: skip


def build(n: int) -> float:
    have = TicketSla.objects.filter(is_open=True).count()
    if have >= n:
        return 0.0
    started = time.perf_counter()
    setup_policies()
    rng = random.Random(1)
    gold = SupportPlan.objects.get(slug="bench-gold")
    customer = Customer.objects.filter(name="Bench customer").first() or Customer.objects.create(
        name="Bench customer", plan=gold
    )
    status = default_status("open")
    pending = default_status("pending")
    base = (Ticket.objects.order_by("-number").values_list("number", flat=True).first() or 1000) + 1
    todo = n - have
    chunk = 20_000
    for offset in range(0, todo, chunk):
        size = min(chunk, todo - offset)
        with transaction.atomic():
            tickets = []
            slas = []
            created_times = []
            for i in range(size):
                created = NOW - timedelta(minutes=rng.randint(1, 60 * 24 * 20))
                paused = rng.random() < 0.1
                created_times.append(created)
                tickets.append(
                    Ticket(
                        number=base + offset + i,
                        subject="bench",
                        requester=customer,
                        status=pending if paused else status,
                        status_category="pending" if paused else "open",
                        priority=rng.choice(PRIORITIES),
                        channel=rng.choice(CHANNELS),
                        created_at=created,
                        updated_at=created,
                    )
                )
            Ticket.objects.bulk_create(tickets, batch_size=2000)
            for t, created in zip(tickets, created_times, strict=True):
                t.created_at = created
                replied = (
                    t.created_at + timedelta(minutes=rng.randint(5, 600)) if rng.random() < 0.6 else None
                )
                customer_again = (
                    replied + timedelta(hours=rng.randint(1, 48)) if replied and rng.random() < 0.3 else None
                )
                pauses = []
                if t.status_category == "pending":
                    pauses = [[(t.created_at + timedelta(hours=1)).isoformat(), None]]
                slas.append(
                    TicketSla(
                        ticket=t,
                        priority=t.priority,
                        channel=t.channel,
                        plan_id=gold.pk if rng.random() < 0.3 else None,
                        started_at=t.created_at,
                        first_reply_at=replied,
                        next_reply_cycle=1 if customer_again else 0,
                        next_reply_from=customer_again,
                        pauses=pauses,
                        is_paused=bool(pauses),
                    )
                )
            TicketSla.objects.bulk_create(slas, batch_size=2000)
        done = have + offset + size
        print(f"  built {done:,} rows ({time.perf_counter() - started:.0f} s)", flush=True)
    # Ticket.created_at is auto_now_add: set it to the spread we meant, in one statement.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tickets_ticket SET created_at = (SELECT started_at FROM sla_ticketsla s "
            "WHERE s.ticket_id = tickets_ticket.id), updated_at = (SELECT started_at FROM sla_ticketsla s "
            "WHERE s.ticket_id = tickets_ticket.id) WHERE subject = 'bench'"
        )
    # Nothing else changed lately: the reconcile watermark must not see the bench customer as new.
    Customer.objects.filter(pk=customer.pk).update(updated_at=NOW - timedelta(days=30))
    return time.perf_counter() - started


def timed(label: str, fn, n: int) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - started
    per = elapsed / max(n, 1) * 1e6
    print(f"{label:<48} {elapsed:8.2f} s  {per:8.2f} us/ticket  {result}", flush=True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--changed", type=float, default=0.01)
    args = parser.parse_args()
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    call_command("migrate", verbosity=0)
    build_s = build(args.tickets)
    print(f"build: {build_s:.0f} s")
    n = TicketSla.objects.filter(is_open=True).count()
    print(f"open tickets with clocks: {n:,}")
    book = PolicyBook()
    # Make the first pass do real work even when rows were reused: forget their due times.
    TicketSla.objects.update(policy=None, first_reply_due=None, next_check_at=None)
    timed("full recompute, every row changes", lambda: recompute_open_slas(now=NOW, book=book), n)
    timed(
        "full recompute, steady state (nothing changed)", lambda: recompute_open_slas(now=NOW, book=book), n
    )
    timed("raise due events (first run: all missed ones)", lambda: len(raise_due_events(now=NOW)), n)
    timed("raise due events (second run)", lambda: len(raise_due_events(now=NOW)), n)
    # Incremental: 1% of tickets change; the reconcile pass must cost ~1%, not 100%.
    state, _ = SlaSyncState.objects.get_or_create(key=SYNC_KEY)
    state.watermark = NOW
    state.save(update_fields=["watermark"])
    k = int(n * args.changed)
    ids = list(TicketSla.objects.filter(is_open=True).order_by("?").values_list("ticket_id", flat=True)[:k])
    later = NOW + timedelta(minutes=10)
    for offset in range(0, len(ids), 5000):
        Ticket.objects.filter(pk__in=ids[offset : offset + 5000]).update(priority="urgent", updated_at=later)
    timed(
        f"incremental reconcile, {k:,} changed ({args.changed:.0%})",
        lambda: reconcile_changed(now=later, book=book),
        k,
    )
    SlaSyncState.objects.filter(key=SYNC_KEY).update(watermark=later + timedelta(minutes=10))
    timed(
        "incremental reconcile, nothing changed",
        lambda: reconcile_changed(now=later + timedelta(minutes=20), book=book),
        n,
    )


if __name__ == "__main__":
    main()
