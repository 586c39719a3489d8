"""``regulars imap_poll [--inbox NAME]``: poll the IMAP inboxes once (the scheduler does this every
minute through the ``channels.imap_poll`` periodic job)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from regulars.channels.email.imap import PollResult, poll_all, poll_inbox
from regulars.channels.models import Inbox


class Command(BaseCommand):
    help = "Poll every email inbox that has IMAP settings once, and print what each one did."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--inbox", help="poll only the inbox with this name")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("inbox"):
            inbox = Inbox.objects.filter(name=options["inbox"]).first()
            if inbox is None:
                raise CommandError(f"no inbox named {options['inbox']!r}")
            results = [poll_inbox(inbox)]
        else:
            results = poll_all()
        for result in results:
            self.stdout.write(self._line(result))
        if any(r.error for r in results):
            raise CommandError(f"{sum(1 for r in results if r.error)} inbox(es) failed; see above")

    @staticmethod
    def _line(r: PollResult) -> str:
        if r.error:
            return f"{r.inbox}: ERROR {r.error}"
        if r.skipped:
            return f"{r.inbox}: skipped ({r.skipped})"
        rescan = ", UIDVALIDITY changed: rescanned" if r.rescanned else ""
        return f"{r.inbox} [{r.folder}]: {r.stored} new, {r.redelivered} already in the ledger{rescan}"
