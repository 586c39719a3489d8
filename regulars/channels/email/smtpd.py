"""Regulars' own SMTP / LMTP server: a mail server delivers straight into the ledger.

``250`` is answered only after the raw message is committed (one ledger row per inbox it was
addressed to); ``451 4.3.0`` when it could not be stored, so the sender keeps it and retries.
Processing (parse, thread, ticket) runs right after, in one processing thread that takes
whatever has been stored meanwhile, up to ``ingest.BATCH`` rows, into one transaction
(``ingest.process_batch``): a lone message is processed at once, a busy server pays one commit
per batch instead of one per message. Whatever it leaves pending the periodic sweep finishes.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import close_old_connections

from regulars.channels.email.ingest import BATCH, process_batch, store_raw
from regulars.channels.models import Inbox
from regulars.channels.services import inbox_for_address, record_error

logger = logging.getLogger(__name__)


def _store(envelope_from: str, recipients: list[str], raw: bytes) -> list[int]:
    close_old_connections()
    try:
        ids: list[int] = []
        seen: set[int] = set()
        for rcpt in recipients:
            inbox = inbox_for_address(rcpt)
            if inbox is None or inbox.pk in seen:
                continue
            seen.add(inbox.pk)
            row, _created = store_raw(inbox, raw, envelope_from=envelope_from or "<>", envelope_to=recipients)
            ids.append(row.pk)
        return ids
    finally:
        close_old_connections()


def _process(ids: list[int]) -> None:
    close_old_connections()
    try:
        process_batch(ids)
    except Exception:  # left pending: the sweep retries
        logger.exception("inline processing of %s failed", ids)
    finally:
        close_old_connections()


class LedgerHandler:
    def __init__(self, *, lmtp: bool = False, process_inline: bool = True) -> None:
        self.lmtp = lmtp
        self.process_inline = process_inline
        self.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="regulars-smtpd")
        # One processing thread: rows are processed in ledger order, in batches of what has
        # been stored while the previous batch ran.
        self.processor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="regulars-smtpd-process")
        self.stored: list[int] = []
        self.lock = threading.Lock()
        self.pending: set[Future[None]] = set()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        inbox = await asyncio.get_running_loop().run_in_executor(self.executor, _lookup, address)
        if inbox is None:
            return "550 5.1.1 No mailbox here by that name"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        loop = asyncio.get_running_loop()
        recipients = list(envelope.rcpt_tos)
        try:
            ids = await loop.run_in_executor(
                self.executor, _store, str(envelope.mail_from or ""), recipients, raw
            )
        except Exception as exc:
            logger.exception("could not store an inbound message")
            await loop.run_in_executor(self.executor, _note_error, recipients, exc)
            reply = "451 4.3.0 Temporary failure storing the message; try again later"
            return "\r\n".join([reply] * len(recipients)) if self.lmtp else reply
        if self.process_inline and ids:
            with self.lock:
                self.stored.extend(ids)
            future = self.processor.submit(self._drain)
            self.pending.add(future)
            future.add_done_callback(self.pending.discard)
        reply = "250 2.0.0 OK stored"
        # LMTP answers once per recipient after DATA.
        return "\r\n".join([reply] * len(recipients)) if self.lmtp else reply

    def _drain(self) -> None:
        """Process what is stored and not yet taken, a batch at a time. One call per stored
        message is queued; those that find the list empty (taken by an earlier call) do nothing."""
        while True:
            with self.lock:
                ids, self.stored = self.stored[:BATCH], self.stored[BATCH:]
            if not ids:
                return
            _process(ids)

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        self.processor.shutdown(wait=True)


def _lookup(address: str) -> Inbox | None:
    close_old_connections()
    try:
        return inbox_for_address(address)
    finally:
        close_old_connections()


def _note_error(recipients: list[str], exc: Exception) -> None:
    try:
        for rcpt in recipients:
            inbox = inbox_for_address(rcpt)
            if inbox is not None:
                record_error(inbox.pk, f"storing inbound mail: {type(exc).__name__}: {exc}")
    except Exception:
        logger.exception("could not record the inbox error either")
    finally:
        close_old_connections()


class LedgerController(Controller):
    """aiosmtpd's threaded controller, serving SMTP or LMTP with our size limit."""

    def __init__(self, handler: LedgerHandler, hostname: str, port: int, **kwargs: Any) -> None:
        self.lmtp = handler.lmtp
        super().__init__(
            handler, hostname=hostname, port=port, data_size_limit=settings.EMAIL_MAX_BYTES,
            decode_data=False, ident="Regulars", **kwargs,
        )  # fmt: skip

    def factory(self) -> SMTP:
        cls = LMTP if self.lmtp else SMTP
        return cls(self.handler, **self.SMTP_kwargs)


def start_server(
    host: str, port: int, *, lmtp: bool = False, process_inline: bool = True
) -> LedgerController:
    controller = LedgerController(LedgerHandler(lmtp=lmtp, process_inline=process_inline), host, port)
    controller.start()
    return controller


def stop_server(controller: LedgerController) -> None:
    controller.stop()
    handler = controller.handler
    if isinstance(handler, LedgerHandler):
        handler.close()
