"""``regulars worker``: runs background tasks from the database queue (django-tasks-db)."""

from __future__ import annotations

import os
import socket
from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


def default_worker_id() -> str:
    # Readable in DBTaskResult.worker_ids ("which machine ran this?"); db_worker caps ids at 64.
    return f"{socket.gethostname()}-{os.getpid()}"[-64:]


def db_worker_options(*, interval: float, batch: bool, reload: bool, worker_id: str) -> dict[str, Any]:
    """The options ``regulars worker`` passes to django-tasks-db's ``db_worker``."""
    return {
        "queue_name": "*",  # every queue: one worker kind serves the whole product
        "interval": interval,
        "batch": batch,
        "reload": reload,
        "worker_id": worker_id,
        "startup_delay": not batch,
    }


class Command(BaseCommand):
    help = (
        "Run the background task worker on all queues. SIGTERM or Ctrl-C finishes the running "
        "task, then exits; a second signal stops at once."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--interval", type=float, default=1.0, help="seconds to wait when the queue is empty (default: 1)"
        )
        parser.add_argument("--batch", action="store_true", help="run every waiting task, then exit")
        parser.add_argument("--reload", action="store_true", help="restart on code changes (development)")
        parser.add_argument("--worker-id", default=None, help="unique id of this worker (default: host-pid)")

    def handle(self, *args: Any, **options: Any) -> None:
        # db_worker installs SIGTERM/SIGINT handlers that let the current task finish.
        call_command(
            "db_worker",
            verbosity=options["verbosity"],
            stdout=self.stdout,
            stderr=self.stderr,
            **db_worker_options(
                interval=options["interval"],
                batch=options["batch"],
                reload=options["reload"],
                worker_id=options["worker_id"] or default_worker_id(),
            ),
        )
