"""``regulars demo``: fill the database with a realistic, reproducible demo data set."""

from __future__ import annotations

import logging
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from regulars.channels.services import ensure_inbox
from regulars.demo.builder import BULK_THRESHOLD, DemoDataExists, build
from regulars.demo.insights import seed as seed_insights
from regulars.demo.plan import ADMIN_EMAIL, AGENTS, DEMO_INBOX_ADDRESS, DEMO_PASSWORD


class Command(BaseCommand):
    help = (
        "Create demo teams, agents, organisations, customers and 90 days of tickets. The same "
        f"--seed always gives the same data. Above {BULK_THRESHOLD:,} tickets or customers the rows "
        "are written in bulk (same rows as the services would write)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--customers", type=int, default=200)
        parser.add_argument("--tickets", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--days", type=int, default=90, help="spread tickets over this many days up to now"
        )
        parser.add_argument("--append", action="store_true", help="add to a database that already has data")
        parser.add_argument(
            "--no-insights", action="store_true",
            help="skip the insight demo (categories, sister brands, a trained triage model)",
        )  # fmt: skip
        parser.add_argument(
            "--path", choices=["auto", "services", "bulk"], default="auto",
            help="force the service path or the bulk path (default: by size)",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        # Demo agents "reply" to demo customers on email tickets before the demo inbox exists;
        # nothing is sent for them, and saying so once per reply would bury the command's output.
        outbound_log = logging.getLogger("regulars.channels.email.outbound")
        previous_level = outbound_log.level
        outbound_log.setLevel(logging.ERROR)
        try:
            summary = build(
                seed=options["seed"],
                customers=options["customers"],
                tickets=options["tickets"],
                days=options["days"],
                append=options["append"],
                path=options["path"],
                progress=lambda msg: self.stdout.write(f"  {msg}"),
            )
        except DemoDataExists as exc:
            raise CommandError(str(exc)) from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        finally:
            outbound_log.setLevel(previous_level)
        # Mail sent to this address through `regulars smtpd` becomes a ticket (README).
        ensure_inbox("Demo support", [DEMO_INBOX_ADDRESS], brand="Regulars demo")
        # Categories, past decisions and a trained model; benchmark-sized sets (bulk path) skip it.
        if not options["no_insights"] and not options["append"] and summary.path == "services":
            seed_insights(say=lambda msg: self.stdout.write(f"  {msg}"))
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ({summary.path} path): {summary.organisations} organisations, "
                f"{summary.customers} customers, {summary.tickets} tickets, {summary.messages} messages "
                f"in {summary.seconds:.1f}s."
            )
        )
        self.stdout.write(f"Sign in as {ADMIN_EMAIL} with the password {DEMO_PASSWORD!r}.")
        self.stdout.write(f"Mail to {DEMO_INBOX_ADDRESS} through `regulars smtpd` becomes a ticket.")
        others = ", ".join(a.email for a in AGENTS if a.email != ADMIN_EMAIL)
        self.stdout.write(f"Every demo agent has the same password: {others}.")
