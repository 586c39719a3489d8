"""IMAP polling against a real server: a private Dovecot (Debian's ``dovecot-imapd``) started by
each test on a free 127.0.0.1 port, with its config, users and maildirs in a temporary directory.
Messages are delivered with IMAP APPEND, then ``poll_inbox`` / ``poll_all`` read them."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError
from django.utils import timezone
from imapclient import IMAPClient

from regulars.channels.conftest import free_port
from regulars.channels.email import imap
from regulars.channels.email import ingest as ingest_module
from regulars.channels.email.imap import LEASE, poll_all, poll_inbox
from regulars.channels.email.models import ImapFolderState, InboundEmail
from regulars.channels.models import Inbox
from regulars.channels.services import ensure_inbox
from regulars.core.scheduling import registered_jobs
from regulars.tickets.models import Message, Ticket

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "s3cret-imap"


def dovecot_binary() -> str:
    found = shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(p, os.X_OK)), None
    )
    if found is None:
        pytest.fail(
            "The IMAP tests need Debian's dovecot-imapd and the `dovecot` binary is not installed. "
            "Run `make test`, which installs it (apt-get install dovecot-imapd).",
            pytrace=False,
        )
    return found


@dataclass
class Dovecot:
    port: int
    root: Path
    conf: Path
    process: subprocess.Popen[bytes]
    tls_port: int = 0  # implicit TLS (imaps), when started with a certificate

    def client(self, user: str, password: str = PASSWORD) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(user, password)
        return client

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        client = self.client(user)
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, raw)
        finally:
            client.logout()

    def messages(self, user: str, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
        """UID -> flags, read without touching anything."""
        client = self.client(user)
        try:
            if not client.folder_exists(folder):
                return {}
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            return {uid: data[b"FLAGS"] for uid, data in client.fetch(uids, ["FLAGS"]).items()}
        finally:
            client.logout()

    def children(self) -> set[int]:
        """Processes whose parent is the Dovecot master (imap-login, auth, imap, log, ...)."""
        found: set[int] = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.process.pid:
                found.add(int(entry.name))
        return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _mail_owner() -> tuple[int, int, dict[str, str]]:
    """Dovecot refuses mail users with UID 0: as root the maildirs belong to ``nobody``; as
    anyone else Dovecot runs entirely as that user."""
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        return nobody.pw_uid, nobody.pw_gid, {}
    me = pwd.getpwuid(os.geteuid()).pw_name
    return os.geteuid(), os.getegid(), {
        "default_internal_user": me, "default_internal_group": me, "default_login_user": me,
    }  # fmt: skip


def start_dovecot(users: list[str], *, cert: Path | None = None, key: Path | None = None) -> Dovecot:
    """A private Dovecot; with ``cert`` and ``key`` it offers STARTTLS on ``port`` and implicit
    TLS on ``tls_port``."""
    binary = dovecot_binary()
    root = Path(tempfile.mkdtemp(prefix="regulars-dovecot-"))
    root.chmod(0o755)  # the mail user (nobody, when we are root) must reach its home
    uid, gid, own_users = _mail_owner()
    lines = []
    for user in users:
        home = root / "home" / user
        home.mkdir(parents=True)
        os.chown(home, uid, gid)
        lines.append(f"{user}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{home}::")
    (root / "home").chmod(0o755)
    (root / "users").write_text("\n".join(lines) + "\n")
    (root / "run").mkdir()
    (root / "state").mkdir()
    port = free_port()
    tls_port = free_port() if cert else 0
    if cert and key:
        ssl_conf = f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}\nssl_min_protocol = TLSv1.2"
    else:
        ssl_conf = "ssl = no"
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout  # noqa: S603 (our own binary)
    major, minor = (int(x) for x in version.split(".")[:2])
    cleartext = "auth_allow_cleartext = yes" if (major, minor) >= (2, 4) else "disable_plaintext_auth = no"
    extra = "\n".join(f"{k} = {v}" for k, v in own_users.items())
    conf = root / "dovecot.conf"
    conf.write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = regulars-test-{port}
log_path = {root}/dovecot.log
{ssl_conf}
{cleartext}
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = 1
{extra}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
}}
""")
    process = subprocess.Popen(  # noqa: S603 (our own binary and config)
        [binary, "-F", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    server = Dovecot(port=port, root=root, conf=conf, process=process, tls_port=tls_port)
    deadline = time.monotonic() + 15
    while True:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            shutil.rmtree(root, ignore_errors=True)
            raise AssertionError(f"dovecot exited with {process.returncode}:\n{output}\n{log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(64).startswith(b"* OK"):
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop_dovecot(server)
            raise AssertionError("dovecot did not answer on its port")
        time.sleep(0.05)
    return server


def stop_dovecot(server: Dovecot) -> None:
    try:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGTERM)
            try:
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait(timeout=5)
        if server.process.stdout:
            server.process.stdout.close()
    finally:
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    server = start_dovecot(["alice", "bob"])
    try:
        yield server
    finally:
        stop_dovecot(server)


def mail(n: int, subject: str = "", sender: str = "pat@example.com", **headers: str) -> bytes:
    extra = "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in headers.items())
    return (
        f"From: Pat <{sender}>\r\nTo: support@demo.regulars.test\r\n"
        f"Subject: {subject or f'Question {n}'}\r\nMessage-ID: <q{n}@example.com>\r\n{extra}"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nQuestion number {n}.\r\n"
    ).encode()


def imap_inbox(
    server: Dovecot | int, name: str, user: str, *, password: str = PASSWORD, **settings: Any
) -> Inbox:
    port = server.port if isinstance(server, Dovecot) else server
    conf = {"host": "127.0.0.1", "port": port, "security": "none", "user": user, "password": password,
            "folder": "INBOX", "after": "seen", "timeout": 5, **settings}  # fmt: skip
    return ensure_inbox(name, [f"{name.lower()}@demo.regulars.test"], "Demo", settings={"imap": conf})


SEEN = b"\\Seen"


def test_it_turns_new_messages_into_tickets_and_marks_them_seen(cast: Any, dovecot: Dovecot) -> None:
    inbox = imap_inbox(dovecot, "Support", "alice")
    dovecot.append("alice", mail(1))
    dovecot.append("alice", mail(2))

    result = poll_inbox(inbox)

    assert (result.error, result.stored, result.redelivered) == ("", 2, 0)
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["Question 1", "Question 2"]
    assert set(InboundEmail.objects.values_list("source", "status")) == {("imap", "message")}
    assert all(SEEN in flags for flags in dovecot.messages("alice").values())
    state = ImapFolderState.objects.get(inbox=inbox, folder="INBOX")
    assert state.last_uid == 2 and state.uidvalidity and state.locked_until is None
    inbox.refresh_from_db()
    assert inbox.last_success_at is not None and inbox.failing_since is None

    # Only UIDs above the last one are fetched: a message marked unseen again is not re-read ...
    client = dovecot.client("alice")
    client.select_folder("INBOX")
    client.remove_flags([1], [SEEN])
    client.logout()
    dovecot.append("alice", mail(3, in_reply_to="<q1@example.com>"))
    again = poll_inbox(inbox)
    assert (again.error, again.stored, again.redelivered, again.fetched) == ("", 1, 0, 1)
    # ... and a reply threads into its ticket like mail received over SMTP.
    first = Ticket.objects.get(subject="Question 1")
    assert Message.objects.filter(ticket=first).count() == 2 and Ticket.objects.count() == 2


def test_it_marks_nothing_on_the_server_before_the_ledger_commit_and_never_duplicates(
    cast: Any, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = imap_inbox(dovecot, "Support", "alice")
    dovecot.append("alice", mail(1))
    commits: list[int] = []
    real_store_raw = ingest_module.store_raw

    def store_raw(*args: Any, **kwargs: Any) -> Any:
        row, created = real_store_raw(*args, **kwargs)
        assert all(SEEN not in flags for flags in dovecot.messages("alice").values())
        commits.append(row.pk)
        return row, created

    def killed(*args: Any) -> None:
        # When the server is about to be told, the rows are committed (no transaction is open)
        # and the server still shows the message unseen.
        assert not imap.transaction.get_connection().in_atomic_block
        assert InboundEmail.objects.filter(pk__in=commits).count() == len(commits) == 1
        assert all(SEEN not in flags for flags in dovecot.messages("alice").values())
        raise SystemExit("worker killed between the ledger commit and the mark")

    monkeypatch.setattr(ingest_module, "store_raw", store_raw)
    monkeypatch.setattr(imap, "_after", killed)
    monkeypatch.setattr(imap, "_release", lambda *args: None)  # a killed worker releases nothing
    with pytest.raises(SystemExit):
        poll_inbox(inbox)
    monkeypatch.undo()

    assert len(commits) == 1
    assert InboundEmail.objects.get().status == "pending" and Ticket.objects.count() == 0
    assert [SEEN in flags for flags in dovecot.messages("alice").values()] == [False]
    # The dead worker's lease holds the folder until it expires.
    assert poll_inbox(inbox).skipped == "locked"

    result = poll_inbox(inbox, now=timezone.now() + LEASE + timedelta(seconds=1))

    assert (result.error, result.stored, result.redelivered) == ("", 0, 1)
    row = InboundEmail.objects.get()
    assert row.deliveries == 2 and row.status == "message"
    assert Ticket.objects.count() == 1 and Message.objects.count() == 1
    assert [SEEN in flags for flags in dovecot.messages("alice").values()] == [True]
    assert ImapFolderState.objects.get(inbox=inbox).last_uid == 1

    assert poll_inbox(inbox).fetched == 0  # nothing new: nothing fetched


def test_it_marks_what_it_committed_when_the_database_fails_mid_batch(
    cast: Any, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = imap_inbox(dovecot, "Support", "alice")
    for n in (1, 2, 3):
        dovecot.append("alice", mail(n))
    real_store_raw = ingest_module.store_raw

    def store_raw(inbox: Inbox, raw: bytes, **kwargs: Any) -> Any:
        if b"<q2@example.com>" in raw:
            raise DatabaseError("disk full")
        return real_store_raw(inbox, raw, **kwargs)

    monkeypatch.setattr(ingest_module, "store_raw", store_raw)
    result = poll_inbox(inbox)
    monkeypatch.undo()

    assert "DatabaseError: disk full" in result.error and result.stored == 1
    assert [SEEN in flags for flags in dovecot.messages("alice").values()] == [True, False, False]
    assert ImapFolderState.objects.get(inbox=inbox).last_uid == 1
    inbox.refresh_from_db()
    assert inbox.failing_since is not None

    again = poll_inbox(inbox)
    assert (again.error, again.stored, again.redelivered) == ("", 2, 0)
    assert all(SEEN in flags for flags in dovecot.messages("alice").values())
    assert Ticket.objects.count() == 3


def test_it_scans_the_folder_again_when_uidvalidity_changes(cast: Any, dovecot: Dovecot) -> None:
    inbox = imap_inbox(dovecot, "Support", "alice", folder="Support")
    dovecot.append("alice", mail(1), folder="Support")
    dovecot.append("alice", mail(2), folder="Support")
    assert poll_inbox(inbox).stored == 2
    before = ImapFolderState.objects.get(inbox=inbox)
    assert before.last_uid == 2

    # The folder is recreated (a restore, a migration): the UIDs start again at 1.
    client = dovecot.client("alice")
    client.delete_folder("Support")
    client.create_folder("Support")
    client.logout()
    dovecot.append("alice", mail(1), folder="Support")  # already in the ledger
    dovecot.append("alice", mail(3), folder="Support")  # new, with UID 2 <= the old last UID

    result = poll_inbox(inbox)

    after = ImapFolderState.objects.get(inbox=inbox)
    assert after.uidvalidity != before.uidvalidity and result.rescanned
    assert (result.error, result.stored, result.redelivered) == ("", 1, 1)
    assert after.last_uid == 2
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == [
        "Question 1", "Question 2", "Question 3",
    ]  # fmt: skip
    assert InboundEmail.objects.get(message_id="q1@example.com").deliveries == 2


def test_it_records_a_broken_mailbox_and_still_polls_the_others(cast: Any, dovecot: Dovecot) -> None:
    wrong_password = imap_inbox(dovecot, "Wrong", "bob", password="not-the-password")
    refused = imap_inbox(free_port(), "Refused", "alice")
    silent = socket.socket()  # accepts TCP connections and never greets: a timeout
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        hanging = imap_inbox(silent.getsockname()[1], "Hanging", "alice", timeout=1)
        good = imap_inbox(dovecot, "Good", "alice")
        dovecot.append("alice", mail(1))
        dovecot.append("bob", mail(2))

        results = {r.inbox: r for r in poll_all()}
    finally:
        silent.close()

    assert results["Good"].error == "" and results["Good"].stored == 1
    assert Ticket.objects.get().subject == "Question 1"
    assert "LoginError" in results["Wrong"].error
    assert "ConnectionRefusedError" in results["Refused"].error
    assert "timed out" in results["Hanging"].error.lower() or "Timeout" in results["Hanging"].error
    for broken in (wrong_password, refused, hanging):
        broken.refresh_from_db()
        assert broken.failing_since is not None and broken.last_error.startswith("imap 127.0.0.1:")
        assert broken.last_success_at is None
        assert ImapFolderState.objects.get(inbox=broken).locked_until is None
    good.refresh_from_db()
    assert good.failing_since is None and good.last_success_at is not None
    # Bob's message stays on the server, unread, for when the password is fixed.
    assert [SEEN in flags for flags in dovecot.messages("bob").values()] == [False]
    Inbox.objects.filter(pk=wrong_password.pk).update(
        settings={"imap": {**wrong_password.settings["imap"], "password": PASSWORD}}
    )
    wrong_password.refresh_from_db()
    assert poll_inbox(wrong_password).stored == 1
    wrong_password.refresh_from_db()
    assert wrong_password.failing_since is None and Ticket.objects.count() == 2


def test_it_moves_or_deletes_after_processing_when_configured(cast: Any, dovecot: Dovecot) -> None:
    mover = imap_inbox(dovecot, "Mover", "alice", after="move", move_to="Processed")
    deleter = imap_inbox(dovecot, "Deleter", "bob", after="delete")
    dovecot.append("alice", mail(1))
    dovecot.append("bob", mail(2))

    results = {r.inbox: r for r in poll_all()}

    assert results["Mover"].stored == 1 and results["Deleter"].stored == 1
    assert dovecot.messages("alice") == {} and len(dovecot.messages("alice", "Processed")) == 1
    assert dovecot.messages("bob") == {}
    assert Ticket.objects.count() == 2
    dovecot.append("alice", mail(3))
    assert poll_inbox(mover).stored == 1 and len(dovecot.messages("alice", "Processed")) == 2
    assert ImapFolderState.objects.get(inbox=deleter).last_uid == 1


def test_it_keeps_an_oversized_message_in_the_ledger_without_reading_all_of_it(
    cast: Any, dovecot: Dovecot, settings: Any
) -> None:
    settings.EMAIL_MAX_BYTES = 2000
    inbox = imap_inbox(dovecot, "Support", "alice")
    big = mail(1).replace(b"Question number 1.", b"x" * 10_000)
    dovecot.append("alice", big)

    result = poll_inbox(inbox)

    row = InboundEmail.objects.get()
    assert result.error == "" and row.size == settings.EMAIL_MAX_BYTES + 1
    assert row.status == "quarantined" and row.reason.startswith("too_large")
    assert Ticket.objects.count() == 0
    assert [SEEN in flags for flags in dovecot.messages("alice").values()] == [True]


def test_it_records_settings_that_cannot_work_and_reads_a_password_from_the_environment(
    cast: Any, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = imap_inbox(dovecot, "Bad", "alice", after="move")  # no move_to
    from_env = imap_inbox(dovecot, "Env", "bob", password="", password_env="REGULARS_TEST_IMAP_PW")
    dovecot.append("bob", mail(1))
    monkeypatch.setenv("REGULARS_TEST_IMAP_PW", PASSWORD)

    results = {r.inbox: r for r in poll_all()}

    assert "move_to" in results["Bad"].error
    bad.refresh_from_db()
    assert bad.failing_since is not None and "move_to" in bad.last_error
    assert results["Env"].stored == 1
    monkeypatch.delenv("REGULARS_TEST_IMAP_PW")
    assert "not set" in poll_inbox(from_env).error


def test_it_never_lets_two_workers_poll_the_same_inbox(cast: Any, dovecot: Dovecot) -> None:
    inbox = imap_inbox(dovecot, "Support", "alice")
    dovecot.append("alice", mail(1))
    held = imap._acquire(inbox, "INBOX", timezone.now())  # another worker is polling
    assert held is not None
    assert imap._acquire(inbox, "INBOX", timezone.now()) is None

    result = poll_inbox(inbox)

    assert result.skipped == "locked" and result.fetched == 0 and Ticket.objects.count() == 0
    assert [SEEN in flags for flags in dovecot.messages("alice").values()] == [False]
    imap._release(*held)
    assert poll_inbox(inbox).stored == 1


def test_it_polls_every_minute_through_the_scheduler_and_the_command(
    cast: Any, dovecot: Dovecot, capsys: pytest.CaptureFixture[str]
) -> None:
    job = {j.name: j for j in registered_jobs()}["channels.imap_poll"]
    assert job.cron == "* * * * *"
    imap_inbox(dovecot, "Support", "alice")
    ensure_inbox("Smtp only", ["smtp@demo.regulars.test"], "Demo")  # not polled
    dovecot.append("alice", mail(1))

    summary = job.task.call(slot=timezone.now().isoformat())
    assert summary["inboxes"] == 1 and summary["stored"] == 1 and summary["errors"] == {}
    assert job.task.call(slot=timezone.now().isoformat())["stored"] == 0  # twice is harmless
    dovecot.append("alice", mail(2))
    call_command("imap_poll", "--inbox", "Support")
    assert "Support [INBOX]: 1 new" in capsys.readouterr().out
    assert Ticket.objects.count() == 2


def test_it_stops_its_dovecot_and_every_child_process() -> None:
    server = start_dovecot(["alice"])
    try:
        server.append("alice", mail(1))
        client = server.client("alice")  # an open session: an imap process
        client.select_folder("INBOX")
        children = server.children()
        assert children and all(_alive(pid) for pid in children)
    finally:
        stop_dovecot(server)
    assert server.process.returncode is not None
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in children)
    assert not server.root.exists()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=1):
        pass


@pytest.mark.parametrize("fetch_bytes", [1, 10_000_000])
def test_it_reads_several_messages_per_fetch_and_an_oversized_one_alone(
    cast: Any, dovecot: Dovecot, settings: Any, monkeypatch: pytest.MonkeyPatch, fetch_bytes: int
) -> None:
    settings.EMAIL_MAX_BYTES = 2000
    monkeypatch.setattr(imap, "FETCH_BYTES", fetch_bytes)  # one message per FETCH, or all in one
    inbox = imap_inbox(dovecot, "Support", "alice")
    dovecot.append("alice", mail(1))
    dovecot.append("alice", mail(2).replace(b"Question number 2.", b"x" * 10_000))
    dovecot.append("alice", mail(3, in_reply_to="<q1@example.com>"))
    dovecot.append("alice", mail(4))

    result = poll_inbox(inbox)

    assert (result.error, result.stored, result.fetched) == ("", 4, 4)
    rows = list(InboundEmail.objects.order_by("id"))
    assert [r.message_id for r in rows] == [f"q{n}@example.com" for n in (1, 2, 3, 4)]
    assert [r.status for r in rows] == ["message", "quarantined", "message", "message"]
    assert rows[1].size == settings.EMAIL_MAX_BYTES + 1 and rows[2].ticket_id == rows[0].ticket_id
    assert all(SEEN in flags for flags in dovecot.messages("alice").values())
    assert ImapFolderState.objects.get(inbox=inbox).last_uid == 4
