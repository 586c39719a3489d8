"""``regulars smtpd --bind HOST:PORT [--lmtp]``: receive mail straight into Regulars."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from regulars.channels.email.smtpd import start_server, stop_server


class Command(BaseCommand):
    help = "Run the SMTP (or LMTP) server that delivers mail into the inbound ledger."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:2525", help="HOST:PORT to listen on")
        parser.add_argument("--lmtp", action="store_true", help="speak LMTP instead of SMTP")

    def handle(self, *args: Any, **options: Any) -> None:
        host, _, port = str(options["bind"]).rpartition(":")
        if not host or not port.isdigit():
            raise CommandError("--bind must be HOST:PORT, e.g. 127.0.0.1:2525")
        controller = start_server(host.strip("[]"), int(port), lmtp=options["lmtp"])
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write(
            f"regulars smtpd ({'LMTP' if options['lmtp'] else 'SMTP'}) on {host}:{port}", ending="\n"
        )
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            stop_server(controller)
