"""IMAP polling: each email inbox with IMAP settings is read every minute into the ledger.

Settings live in ``Inbox.settings["imap"]``::

    {"host": "imap.example.com", "port": 993, "security": "ssl" | "starttls" | "none",
     "user": "support@example.com", "password": "...", "folder": "INBOX",
     "after": "seen" | "move" | "delete", "move_to": "Processed", "timeout": 30}

``"ca_file": "/path/ca.pem"`` trusts a private certificate authority instead of the system's
(certificates and host names are still verified). ``"password_env": "NAME"`` reads the password from that environment variable instead, so it need
not sit in the database.

Per (inbox, folder) an ``ImapFolderState`` row keeps UIDVALIDITY and the last UID handled. A
poll, for one folder:

1. takes the folder's lease with a conditional UPDATE (a second worker gets nothing and leaves);
2. SELECTs the folder; a UIDVALIDITY other than the stored one restarts from UID 1 (re-delivery
   of what is already in the ledger only bumps its ``deliveries``);
3. fetches UIDs above ``last_uid`` in batches with ``BODY.PEEK[]`` (peeking never sets \\Seen),
   several messages per FETCH (up to ``FETCH_BYTES``);
4. commits those messages to the ledger in one transaction (``ingest.store_many``: the
   ``store_raw`` SMTP uses, one row each), and only then applies the after-processing action on
   the server (mark seen, move, or delete) and advances ``last_uid``. A crash between the commit
   and the action leaves the messages untouched on the server; the next poll fetches them again,
   the ledger recognises them, and the action runs;
5. processes the stored rows (parse, thread, ticket) in batches (``ingest.process_batch``); what
   fails stays pending for the sweep.

Any error of one mailbox (refused connection, bad password, timeout, protocol error) is recorded
on its inbox (``services.record_error``) and the poll moves on to the next inbox.
"""

from __future__ import annotations

import logging
import os
import secrets
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from typing import Any

from django.conf import settings as django_settings
from django.db import close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task
from imapclient import IMAPClient

from regulars.channels.email.ingest import BATCH as PROCESS_BATCH
from regulars.channels.email.ingest import process_batch, store_many
from regulars.channels.email.models import ImapFolderState
from regulars.channels.models import Inbox, InboxKind
from regulars.channels.services import record_error, record_success

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
BATCH = 50
MAX_PER_POLL = 1000
# Bytes of mail read with one FETCH and committed in one transaction (a larger message comes
# alone): the memory a poll holds stays bounded.
FETCH_BYTES = 8 * 1024 * 1024
AFTER_ACTIONS = ("seen", "move", "delete")
SECURITY_MODES = ("ssl", "starttls", "none")


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    security: str
    user: str
    password: str
    folder: str = "INBOX"
    after: str = "seen"
    move_to: str = ""
    timeout: float = 30.0
    # A PEM file of certificate authorities to trust instead of the system's (a private CA).
    ca_file: str = ""

    @classmethod
    def of(cls, inbox: Inbox) -> ImapSettings | None:
        """The inbox's IMAP settings, or ``None`` when it is not polled. Raises ``ValueError``
        on settings that cannot work (recorded as the inbox's error)."""
        raw = inbox.settings.get("imap") if isinstance(inbox.settings, dict) else None
        if not raw or not isinstance(raw, dict) or not raw.get("host"):
            return None
        security = str(raw.get("security", "ssl")).lower()
        if security not in SECURITY_MODES:
            raise ValueError(f"imap.security must be one of {', '.join(SECURITY_MODES)}, not {security!r}")
        after = str(raw.get("after", "seen")).lower()
        if after not in AFTER_ACTIONS:
            raise ValueError(f"imap.after must be one of {', '.join(AFTER_ACTIONS)}, not {after!r}")
        move_to = str(raw.get("move_to", ""))
        if after == "move" and not move_to:
            raise ValueError("imap.after is 'move' but imap.move_to names no folder")
        default_port = 993 if security == "ssl" else 143
        password = str(raw.get("password", ""))
        if raw.get("password_env"):
            password = os.environ.get(str(raw["password_env"]), "")
            if not password:
                raise ValueError(f"imap.password_env names {raw['password_env']!r}, which is not set")
        return cls(
            host=str(raw["host"]), port=int(raw.get("port") or default_port), security=security,
            user=str(raw.get("user", "")), password=password,
            folder=str(raw.get("folder") or "INBOX"), after=after, move_to=move_to,
            timeout=float(raw.get("timeout") or 30), ca_file=str(raw.get("ca_file") or ""),
        )  # fmt: skip


@dataclass
class PollResult:
    inbox: str
    folder: str = ""
    fetched: int = 0
    stored: int = 0
    redelivered: int = 0
    rescanned: bool = False
    skipped: str = ""  # "locked" when another worker holds the folder
    error: str = ""
    rows: list[int] = field(default_factory=list)


def connect(conf: ImapSettings) -> IMAPClient:
    """A logged-in client (the caller logs out)."""
    context = None
    if conf.security != "none":
        # Certificates and host names are always verified; ``ca_file`` only changes whom we trust.
        context = ssl.create_default_context(cafile=conf.ca_file or None)
    client = IMAPClient(
        conf.host, port=conf.port, ssl=conf.security == "ssl", ssl_context=context, timeout=conf.timeout
    )
    try:
        if conf.security == "starttls":
            client.starttls(context)
        client.login(conf.user, conf.password)
    except BaseException:
        _close(client)
        raise
    return client


def _close(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:
        try:
            client.shutdown()
        except Exception:
            logger.debug("closing the IMAP connection failed", exc_info=True)


# --- the lease -----------------------------------------------------------------------------


def _acquire(inbox: Inbox, folder: str, now: datetime) -> tuple[ImapFolderState, str] | None:
    state, _ = ImapFolderState.objects.get_or_create(inbox=inbox, folder=folder)
    token = secrets.token_hex(16)
    won = (
        ImapFolderState.objects.filter(pk=state.pk)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + LEASE, lock_token=token)
    )
    if not won:
        return None
    state.refresh_from_db()
    return state, token


def _release(state: ImapFolderState, token: str) -> None:
    ImapFolderState.objects.filter(pk=state.pk, lock_token=token).update(
        locked_until=None, lock_token="", last_polled_at=timezone.now()
    )


def _advance(state: ImapFolderState, token: str, uidvalidity: int, last_uid: int) -> None:
    """Record progress, only while we still hold the lease."""
    ImapFolderState.objects.filter(pk=state.pk, lock_token=token).update(
        uidvalidity=uidvalidity, last_uid=last_uid
    )
    state.uidvalidity, state.last_uid = uidvalidity, last_uid


# --- one inbox -----------------------------------------------------------------------------


def poll_inbox(inbox: Inbox, *, process: bool = True, now: datetime | None = None) -> PollResult:
    """Poll one inbox's folder once. Never raises for a mailbox problem: it is recorded on the inbox
    and returned in ``PollResult.error``."""
    result = PollResult(inbox=inbox.name)
    try:
        conf = ImapSettings.of(inbox)
    except (ValueError, TypeError) as exc:
        result.error = f"imap settings: {exc}"
        record_error(inbox.pk, result.error)
        return result
    if conf is None:
        result.skipped = "not configured"
        return result
    result.folder = conf.folder
    if transaction.get_connection().in_atomic_block:
        # The after-processing action must follow a real commit of the ledger row.
        raise RuntimeError("poll_inbox must not run inside a transaction")
    held = _acquire(inbox, conf.folder, now or timezone.now())
    if held is None:
        result.skipped = "locked"
        return result
    state, token = held
    try:
        _poll(inbox, conf, state, token, result)
    except Exception as exc:
        result.error = f"imap {conf.host}:{conf.port} {conf.folder}: {type(exc).__name__}: {exc}"
        logger.warning("polling inbox %s failed: %s", inbox.name, result.error)
        record_error(inbox.pk, result.error)
    else:
        record_success(inbox.pk)
    finally:
        _release(state, token)
    if process:
        for start in range(0, len(result.rows), PROCESS_BATCH):
            batch = result.rows[start : start + PROCESS_BATCH]
            try:
                process_batch(batch)
            except Exception:  # left pending: the sweep retries
                logger.exception("processing inbound emails %s failed", batch)
    return result


def _poll(inbox: Inbox, conf: ImapSettings, state: ImapFolderState, token: str, result: PollResult) -> None:
    client = connect(conf)
    try:
        selected = client.select_folder(conf.folder)
        uidvalidity = int(selected[b"UIDVALIDITY"])
        last_uid = state.last_uid
        if state.uidvalidity is not None and state.uidvalidity != uidvalidity:
            logger.info(
                "inbox %s folder %s: UIDVALIDITY %s -> %s, scanning again",
                inbox.name, conf.folder, state.uidvalidity, uidvalidity,
            )  # fmt: skip
            result.rescanned, last_uid = True, 0
        if state.uidvalidity != uidvalidity:
            _advance(state, token, uidvalidity, last_uid)
        # "n:*" always includes the highest UID, even when it is below n: filter here.
        uids = sorted(int(u) for u in client.search(["UID", f"{last_uid + 1}:*"]) if int(u) > last_uid)
        uids = uids[:MAX_PER_POLL]
        if conf.after == "move" and not client.folder_exists(conf.move_to):
            client.create_folder(conf.move_to)
        for start in range(0, len(uids), BATCH):
            for group, part in _groups(client, uids[start : start + BATCH]):
                done, failure = _store_group(client, inbox, group, part, result)
                if done:  # committed: now, and only now, the server may forget them
                    _after(client, conf, done)
                    _advance(state, token, uidvalidity, max(done))
                if failure is not None:
                    raise failure
    finally:
        _close(client)


def _groups(client: IMAPClient, uids: list[int]) -> list[tuple[list[int], bytes]]:
    """``uids`` in order, in groups read with one FETCH and committed in one transaction: up to
    ``FETCH_BYTES`` of mail per group, so memory stays bounded as when one message was read at a
    time. A message above the size budget is a group of its own and read only up to one byte
    past it: enough for the ledger row to record it (and the parser to quarantine it as too
    large)."""
    max_bytes = int(django_settings.EMAIL_MAX_BYTES)
    sizes = client.fetch(uids, ["RFC822.SIZE"])
    groups: list[tuple[list[int], bytes]] = []
    group: list[int] = []
    total = 0
    for uid in uids:
        size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
        if group and (size > max_bytes or total + size > FETCH_BYTES):
            groups.append((group, b"BODY.PEEK[]"))
            group, total = [], 0
        if size > max_bytes:
            groups.append(([uid], f"BODY.PEEK[]<0.{max_bytes + 1}>".encode()))
            continue
        group.append(uid)
        total += size
    if group:
        groups.append((group, b"BODY.PEEK[]"))
    return groups


def _store_group(
    client: IMAPClient, inbox: Inbox, uids: list[int], part: bytes, result: PollResult
) -> tuple[list[int], Exception | None]:
    """Fetch ``uids`` (``BODY.PEEK[]``: peeking never sets \\Seen) and commit their ledger rows
    in one transaction, in UID order (``ingest.store_many``); return the UIDs committed. A
    message that cannot be stored ends the group there: the UIDs before it are committed and
    returned with the error, so those are still marked and the rest is fetched again by the
    next poll. If the commit itself fails, nothing is returned and nothing gets marked."""
    fetched = client.fetch(uids, [part])
    done: list[int] = []
    messages: list[tuple[bytes, list[str]]] = []
    failure: Exception | None = None
    for uid in uids:
        data = fetched.get(uid)
        if data is None:  # expunged meanwhile by someone else
            done.append(uid)
            continue
        raw = next((v for k, v in data.items() if k.startswith(b"BODY[")), None)
        if not isinstance(raw, bytes):
            failure = RuntimeError(f"UID {uid}: the server returned no message body")
            break
        messages.append((raw, _delivered_to(raw)))
        done.append(uid)
    try:
        stored, store_failure = store_many(inbox, messages, source="imap")
    except Exception as exc:  # the commit: nothing of this group is stored
        return [], exc
    if store_failure is not None:
        # Done: the UIDs before the first message not stored (and any expunged before it).
        failure, kept = store_failure, 0
        for index, uid in enumerate(done):
            if uid in fetched:
                if kept == len(stored):
                    done = done[:index]
                    break
                kept += 1
    result.fetched += len(stored)
    for row, created in stored:
        if created:
            result.stored += 1
        else:
            result.redelivered += 1
        result.rows.append(row.pk)
    return done, failure


def _delivered_to(raw: bytes) -> list[str]:
    """The envelope recipients as the delivering server wrote them (``Delivered-To``,
    ``X-Original-To``): a signed reply address there threads like an SMTP ``RCPT TO``."""
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw[:65536])
        values = [*headers.get_all("Delivered-To", []), *headers.get_all("X-Original-To", [])]
    except Exception:
        return []
    found = [address.lower() for _name, address in getaddresses([str(v) for v in values]) if "@" in address]
    return list(dict.fromkeys(found))[:10]


def _after(client: IMAPClient, conf: ImapSettings, uids: list[int]) -> None:
    """The after-processing action, run only once the ledger rows of ``uids`` are committed."""
    if conf.after == "seen":
        client.add_flags(uids, [b"\\Seen"], silent=True)
    elif conf.after == "move":
        if client.has_capability("MOVE"):
            client.move(uids, conf.move_to)
        else:
            client.copy(uids, conf.move_to)
            _delete(client, uids)
    else:
        _delete(client, uids)


def _delete(client: IMAPClient, uids: list[int]) -> None:
    client.delete_messages(uids, silent=True)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:
        client.expunge()


# --- every inbox ---------------------------------------------------------------------------


def imap_inboxes() -> list[Inbox]:
    return [
        inbox
        for inbox in Inbox.objects.filter(is_active=True, kind=InboxKind.EMAIL).order_by("id")
        if isinstance(inbox.settings, dict) and inbox.settings.get("imap")
    ]


def poll_all(*, process: bool = True) -> list[PollResult]:
    """Poll every IMAP inbox once; one broken mailbox never stops the others."""
    results: list[PollResult] = []
    for inbox in imap_inboxes():
        try:
            results.append(poll_inbox(inbox, process=process))
        except Exception as exc:  # a bug or the database, not the mailbox: still go on
            logger.exception("polling inbox %s failed", inbox.name)
            results.append(PollResult(inbox=inbox.name, error=f"{type(exc).__name__}: {exc}"))
            try:
                record_error(inbox.pk, f"imap poll: {type(exc).__name__}: {exc}")
            except Exception:
                logger.exception("could not record the inbox error either")
        finally:
            if not transaction.get_connection().in_atomic_block:
                close_old_connections()
    return results


@task()
def imap_poll(slot: str) -> dict[str, Any]:
    """Every minute: poll all IMAP inboxes. Safe to run twice (a folder lease per inbox)."""
    results = poll_all()
    return {
        "inboxes": len(results),
        "stored": sum(r.stored for r in results),
        "redelivered": sum(r.redelivered for r in results),
        "errors": {r.inbox: r.error for r in results if r.error},
        "locked": [r.inbox for r in results if r.skipped == "locked"],
    }


__all__ = ["ImapSettings", "PollResult", "connect", "imap_inboxes", "imap_poll", "poll_all", "poll_inbox"]
