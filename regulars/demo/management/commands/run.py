"""``regulars run``: the one-command product start behind ``make run``.

Migrates, loads demo data into an empty install, makes sure there is an admin to sign in as,
then runs web server, worker and scheduler as child processes until Ctrl-C (or until one of
them dies, which stops the others: a half-running product is worse than a stopped one).
"""

from __future__ import annotations

import secrets
import signal
import subprocess
import sys
import threading
from argparse import ArgumentParser
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.db import connections, transaction

from regulars.accounts.models import ApiToken, Role, User
from regulars.accounts.services import create_agent, create_api_token, record_audit, revoke_api_token
from regulars.core.management.commands.serve import DEFAULT_BIND
from regulars.demo.plan import DEMO_PASSWORD
from regulars.tickets.models import Ticket

ADMIN_EMAIL = "admin@demo.regulars.test"
RUN_TOKEN_NAME = "regulars run"  # noqa: S105 (a label, not a secret)
STOP_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class Login:
    email: str
    password: str
    token: str
    agent_email: str = ""  # an agent of the demo data, for the desk (no two-factor needed)
    agent_password: str = ""


def password_file() -> Path:
    return Path(settings.VAR_DIR) / "admin-password.txt"


def needs_demo_data() -> bool:
    return not Ticket.objects.exists()


def demo_command_available() -> bool:
    return "demo" in get_commands()


def candidate_passwords() -> list[str]:
    """Passwords the demo admin may have: one the demo command declares, one we saved earlier."""
    found: list[str] = []
    found.append(DEMO_PASSWORD)
    path = password_file()
    if path.exists():
        found.append(path.read_text().strip())
    return found


def save_password(password: str) -> None:
    path = password_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(password + "\n")
    path.chmod(0o600)


def ensure_admin() -> tuple[User, str]:
    """The demo admin and a password that works for it, creating or resetting as needed.

    Only a password that passes ``check_password`` is ever printed, so a stale file or a demo
    that changed its password never shows a login that fails.
    """
    admin = User.objects.filter(email=ADMIN_EMAIL).first()
    if admin is not None:
        for candidate in candidate_passwords():
            if admin.check_password(candidate):
                return admin, candidate
    password = secrets.token_urlsafe(12)
    with transaction.atomic():
        if admin is None:
            admin = create_agent(email=ADMIN_EMAIL, name="Demo Admin", role=Role.ADMIN, password=password)
        else:
            # The demo admin exists but nobody can know its password: give it one we can print.
            admin.set_password(password)
            admin.save(update_fields=["password"])
            record_audit(None, "agent.password_reset", "agent", admin.public_id, by="regulars run")
    save_password(password)
    return admin, password


def fresh_run_token(admin: User) -> str:
    """A new API token for this start; the previous start's token is revoked, not piled up."""
    for old in ApiToken.objects.filter(user=admin, name=RUN_TOKEN_NAME, revoked_at__isnull=True):
        revoke_api_token(old)
    _, raw = create_api_token(admin, name=RUN_TOKEN_NAME, scopes=["read", "write"])
    return raw


def prepare(*, load_demo: bool, out: OutputWrapper | TextIO) -> Login:
    """Everything ``regulars run`` does before starting processes."""
    out.write("Migrating the database ...\n")
    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)  # idempotent; the cache setting may have changed
    if load_demo and needs_demo_data():
        if demo_command_available():
            out.write("Empty install: loading demo data ...\n")
            call_command("demo")
        else:
            out.write("Empty install, but this build has no `demo` command: starting without demo data.\n")
    admin, password = ensure_admin()
    agent_email, agent_password = demo_agent()
    return Login(
        email=admin.email,
        password=password,
        token=fresh_run_token(admin),
        agent_email=agent_email,
        agent_password=agent_password,
    )


def demo_agent() -> tuple[str, str]:
    """An agent of the demo data whose published password still works, if there is one."""
    for agent in User.objects.filter(role=Role.AGENT, is_active=True, email__endswith="@demo.regulars.test")[
        :20
    ]:
        if agent.check_password(DEMO_PASSWORD):
            return agent.email, DEMO_PASSWORD
    return "", ""


def site_url(bind: str) -> str:
    if bind.startswith(("unix:", "fd://")):
        return bind
    host, _, port = bind.rpartition(":")
    if host in {"", "0.0.0.0", "[::]", "::"}:  # noqa: S104 (reading the address, not binding)
        host = "127.0.0.1"
    return f"http://{host}:{port}"


def child_commands(*, bind: str) -> dict[str, list[str]]:
    """The processes ``regulars run`` supervises, each one a ``regulars`` subcommand."""
    regulars = [sys.executable, "-m", "regulars.cli"]
    return {
        "web": [*regulars, "serve", "--bind", bind],
        "worker": [*regulars, "worker"],
        "scheduler": [*regulars, "scheduler"],
    }


class Supervisor:
    """Runs children until a signal arrives or one of them exits, then stops them all."""

    def __init__(self, commands: dict[str, list[str]], out: OutputWrapper) -> None:
        self.commands = commands
        self.out = out
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stop = threading.Event()
        self.exit_code = 0

    def handle_signal(self, signum: int, frame: FrameType | None) -> None:
        self.out.write(f"\nReceived {signal.strsignal(signum)}, stopping Regulars ...")
        self.stop.set()

    def start(self) -> None:
        for name, argv in self.commands.items():
            # Own process group: Ctrl-C reaches only us, and we send each child one SIGTERM, so
            # the worker finishes its task instead of seeing a second, forcing signal.
            self.children[name] = subprocess.Popen(argv, process_group=0)  # noqa: S603 (our argv)

    def watch(self) -> None:
        while not self.stop.wait(0.5):
            for name, child in self.children.items():
                code = child.poll()
                if code is not None:
                    self.out.write(f"The {name} process exited (code {code}); stopping the others.")
                    self.exit_code = code or 1
                    self.stop.set()
                    break

    def stop_all(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for name, child in self.children.items():
            try:
                child.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.out.write(f"The {name} process did not stop in time; killing it.")
                child.kill()
                child.wait()


class Command(BaseCommand):
    help = "Migrate, load demo data if empty, then run web server, worker and scheduler together."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--bind", default=DEFAULT_BIND, help="host:port for the web server (default: %(default)s)"
        )
        parser.add_argument("--no-demo", action="store_true", help="never load demo data")

    def handle(self, *args: Any, **options: Any) -> None:
        login = prepare(load_demo=not options["no_demo"], out=self.stdout)
        connections.close_all()  # the children open their own

        supervisor = Supervisor(child_commands(bind=options["bind"]), self.stdout)
        signal.signal(signal.SIGINT, supervisor.handle_signal)
        signal.signal(signal.SIGTERM, supervisor.handle_signal)
        try:
            supervisor.start()
            self.stdout.write(
                "\n"
                f"Regulars is running at {site_url(options['bind'])}\n"
                + (
                    f"  Agent desk: {login.agent_email} / {login.agent_password}\n"
                    if login.agent_email
                    else ""
                )
                + f"  Admin:      {login.email} / {login.password}"
                " (admins set up an authenticator app at first sign-in)\n"
                f"  Django admin: {site_url(options['bind'])}/admin/\n"
                f"  API token:  {login.token}\n"
                "Press Ctrl-C to stop.\n"
            )
            supervisor.watch()
        finally:
            supervisor.stop_all()
        if supervisor.exit_code:
            raise CommandError("Regulars stopped because a process died.", returncode=supervisor.exit_code)
