"""(f) Baseline: tickets created per second by django-helpdesk 2.6.1 through ``TicketForm.save()``.

Runs inside its own venv, never in ours:

    python3 -m venv bench/.helpdesk-venv
    bench/.helpdesk-venv/bin/pip install django-helpdesk==2.6.1 'psycopg[binary]'
    bench/.helpdesk-venv/bin/python bench/bench_helpdesk.py --count 2000 [--preload 0]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    sys.path.remove(str(Path(__file__).resolve().parent))  # bench/ itself must not shadow "helpdesk"
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.helpdesk_site.settings"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from helpdesk.forms import TicketForm
    from helpdesk.models import Queue, Ticket

    call_command("migrate", verbosity=0)
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(
        username="agent", defaults={"email": "agent@example.com", "is_staff": True}
    )
    queue, _ = Queue.objects.get_or_create(
        slug="support", defaults={"title": "Support", "allow_public_submission": True}
    )
    choices = [(queue.id, queue.title)]
    before = Ticket.objects.count()
    print(f"helpdesk {django.get_version()} db={django.db.connection.vendor} tickets before={before}")
    started = time.perf_counter()
    for i in range(args.count):
        form = TicketForm(
            data={
                "queue": str(queue.id),
                "title": f"Router shows error 500 after firmware update ({i})",
                "body": "Hello,\n\nSince the update my router restarts every few minutes. Please help.",
                "priority": "3",
                "submitter_email": f"customer{i % 500}@example.com",
                "due_date": "",
                "assigned_to": "",
            },
            queue_choices=choices,
        )
        if not form.is_valid():
            raise SystemExit(f"form invalid: {form.errors}")
        form.save(user=user)
    elapsed = time.perf_counter() - started
    print(f"TicketForm.save(): {args.count} tickets in {elapsed:.2f}s = {args.count / elapsed:.0f} tickets/s")


if __name__ == "__main__":
    main()
