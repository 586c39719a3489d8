"""``regulars serve``: the web server (gunicorn, WSGI), static files through whitenoise."""

from __future__ import annotations

import os
import socket
import sys
from argparse import ArgumentParser, ArgumentTypeError
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connections

DEFAULT_BIND = "127.0.0.1:8000"


def positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if value < 1:
        raise ArgumentTypeError("must be at least 1")
    return value


def default_workers() -> int:
    # WEB_CONCURRENCY is the variable hosting platforms set for exactly this.
    raw = os.environ.get("WEB_CONCURRENCY", "")
    return positive_int(raw) if raw else 2


def gunicorn_argv(
    *,
    bind: str = DEFAULT_BIND,
    workers: int = 2,
    threads: int = 4,
    timeout: int = 60,
    access_log: bool = False,
) -> list[str]:
    """The full command line that runs gunicorn on our WSGI application."""
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        bind,
        "--workers",
        str(workers),
        # Threads let one worker wait on the database or a slow client without blocking the
        # others, and cost far less memory than more processes.
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--timeout",
        str(timeout),
        "--graceful-timeout",
        "20",
        # Requests are logged by Django where they matter; a line per static file is noise.
        "--error-logfile",
        "-",
        # gunicorn 27 otherwise opens a control socket under $HOME, which a service user may not have.
        "--no-control-socket",
    ]
    if hasattr(socket, "SO_REUSEPORT"):
        # Each worker listens on its own socket and the kernel spreads new connections over
        # them. On one shared socket the worker that wakes first can take every connection a
        # client or proxy opens at once and keep them alive, leaving the others idle (measured:
        # all 16 of a load generator's connections on one of two workers in half the runs). The
        # cost: connections still queued on a worker's own socket when it restarts are reset.
        argv.append("--reuse-port")
    if access_log:
        argv += ["--access-logfile", "-"]
    return argv


def static_root_is_empty(root: Path) -> bool:
    return not root.exists() or not any(root.iterdir())


class Command(BaseCommand):
    help = "Run the web server (gunicorn) on --bind, serving static files through whitenoise."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--bind", default=DEFAULT_BIND, help="host:port to listen on (default: %(default)s)"
        )
        parser.add_argument(
            "--workers",
            type=positive_int,
            default=None,
            help="worker processes (default: $WEB_CONCURRENCY or 2)",
        )
        parser.add_argument("--threads", type=positive_int, default=4, help="threads per worker (default: 4)")
        parser.add_argument(
            "--timeout", type=positive_int, default=60, help="seconds before a stuck worker is killed"
        )
        parser.add_argument("--access-log", action="store_true", help="log every request to stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        static_root = Path(settings.STATIC_ROOT)
        if static_root_is_empty(static_root):
            self.stderr.write(f"Collecting static files into {static_root} ...")
            call_command("collectstatic", interactive=False, verbosity=0)
        argv = gunicorn_argv(
            bind=options["bind"],
            workers=options["workers"] or default_workers(),
            threads=options["threads"],
            timeout=options["timeout"],
            access_log=options["access_log"],
        )
        sys.stdout.flush()
        sys.stderr.flush()
        connections.close_all()
        # Replace this process, so signals from a supervisor (or `regulars run`) reach gunicorn's
        # arbiter directly and it can shut its workers down gracefully.
        os.execv(argv[0], argv)  # noqa: S606 (our own interpreter, fixed arguments)
