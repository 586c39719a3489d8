"""``regulars scheduler``: enqueues periodic jobs, at most once per slot across all machines."""

from __future__ import annotations

import signal
import socket
import threading
from argparse import ArgumentParser, ArgumentTypeError
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone

from regulars.core.models import ScheduledRun
from regulars.core.scheduling import claim_and_enqueue, registered_jobs


def positive_seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ArgumentTypeError(f"{raw!r} is not a number of seconds") from None
    if not value > 0:
        raise ArgumentTypeError("must be more than 0 seconds")
    return value


def describe(run: ScheduledRun) -> str:
    return f"claimed {run.job} for slot {run.slot.isoformat()} (task {run.task_result_id or '-'})"


class Command(BaseCommand):
    help = (
        "Enqueue periodic jobs whose slot has come. Run one on each machine if you like: a slot "
        "is claimed by exactly one scheduler."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="do one pass, print what it claimed, exit")
        parser.add_argument(
            "--interval",
            type=positive_seconds,
            default=30.0,
            help="seconds between passes (default: 30; jobs are at most once a minute)",
        )
        parser.add_argument(
            "--claimed-by", default=None, help="name recorded on claimed slots (default: host name)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        owner: str = options["claimed_by"] or socket.gethostname()
        if options["once"]:
            self.run_pass(owner, verbose=True, report_nothing=True)
            return

        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            self.stderr.write(f"Received {signal.strsignal(signum)}, stopping the scheduler.")
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        names = ", ".join(job.name for job in registered_jobs()) or "none"
        self.stdout.write(f"Scheduler {owner} started; every {options['interval']:g}s; jobs: {names}")
        while not stop.is_set():
            close_old_connections()  # a long-lived loop must not keep a dropped connection
            self.run_pass(owner, verbose=options["verbosity"] >= 1)
            stop.wait(options["interval"])  # wakes at once on SIGTERM

    def run_pass(self, owner: str, *, verbose: bool, report_nothing: bool = False) -> list[ScheduledRun]:
        claimed = claim_and_enqueue(timezone.now(), claimed_by=owner)
        if verbose:
            for run in claimed:
                self.stdout.write(describe(run))
        if report_nothing and not claimed:
            self.stdout.write("nothing claimed: every current slot is already taken")
        return claimed
