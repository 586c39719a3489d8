"""``regulars serve``, ``worker`` and ``run``: argument handling and start-up preparation.

The process plumbing is checked without starting servers, except in one slow test.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from io import StringIO
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from regulars.accounts.models import ApiToken, Role, User
from regulars.accounts.services import authenticate_token
from regulars.core.management.commands import serve, worker
from regulars.core.testing import Cast
from regulars.demo.management.commands import run
from regulars.tickets.services import open_ticket


def test_it_builds_a_gunicorn_command_line_for_our_wsgi_app() -> None:
    argv = serve.gunicorn_argv(bind="127.0.0.1:9001", workers=3)

    assert argv[:4] == [sys.executable, "-m", "gunicorn", "config.wsgi:application"]
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:9001"
    assert argv[argv.index("--workers") + 1] == "3"
    assert argv[argv.index("--worker-class") + 1] == "gthread"
    assert "--access-logfile" not in argv
    assert "--reuse-port" in argv  # Linux: the kernel spreads connections over the workers


def test_it_logs_requests_only_when_asked() -> None:
    argv = serve.gunicorn_argv(access_log=True)
    assert argv[argv.index("--access-logfile") + 1] == "-"


def test_it_takes_the_worker_count_from_web_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    assert serve.default_workers() == 5
    monkeypatch.delenv("WEB_CONCURRENCY")
    assert serve.default_workers() == 2


def test_it_refuses_zero_workers() -> None:
    from django.core.management import call_command

    with pytest.raises(CommandError, match="at least 1"):
        call_command("serve", "--workers", "0")


def test_it_collects_static_files_only_into_an_empty_root(tmp_path: Path) -> None:
    assert serve.static_root_is_empty(tmp_path / "missing")
    assert serve.static_root_is_empty(tmp_path)
    (tmp_path / "admin").mkdir()
    assert not serve.static_root_is_empty(tmp_path)


def test_it_runs_every_queue_without_reloading() -> None:
    options = worker.db_worker_options(interval=1.0, batch=False, reload=False, worker_id="w1")
    assert options["queue_name"] == "*"
    assert options["reload"] is False


def test_it_starts_web_worker_and_scheduler_as_regulars_subcommands() -> None:
    children = run.child_commands(bind="127.0.0.1:8011")

    assert set(children) == {"web", "worker", "scheduler"}
    for argv in children.values():
        assert argv[:3] == [sys.executable, "-m", "regulars.cli"]
    assert children["web"][3:] == ["serve", "--bind", "127.0.0.1:8011"]


@pytest.mark.parametrize(
    ("bind", "url"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("0.0.0.0:8080", "http://127.0.0.1:8080"),
        (":8000", "http://127.0.0.1:8000"),
        ("unix:/tmp/regulars.sock", "unix:/tmp/regulars.sock"),
    ],
)
def test_it_prints_an_address_people_can_open(bind: str, url: str) -> None:
    assert run.site_url(bind) == url


@pytest.fixture
def var_dir(settings: pytest.FixtureRequest, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path  # type: ignore[attr-defined]
    return tmp_path


@pytest.mark.django_db
def test_it_creates_the_demo_admin_with_a_saved_password(var_dir: Path) -> None:
    login = run.prepare(load_demo=False, out=StringIO())

    admin = User.objects.get(email=run.ADMIN_EMAIL)
    assert admin.role == Role.ADMIN
    assert login.email == run.ADMIN_EMAIL
    assert admin.check_password(login.password)
    assert (var_dir / "admin-password.txt").read_text().strip() == login.password
    assert (var_dir / "admin-password.txt").stat().st_mode & 0o077 == 0
    token = authenticate_token(login.token)
    assert token is not None
    assert token.user == admin


@pytest.mark.django_db
def test_it_keeps_the_password_and_replaces_the_token_on_the_next_start(var_dir: Path) -> None:
    first = run.prepare(load_demo=False, out=StringIO())
    second = run.prepare(load_demo=False, out=StringIO())

    assert second.password == first.password
    assert authenticate_token(first.token) is None
    assert authenticate_token(second.token) is not None
    assert ApiToken.objects.filter(name=run.RUN_TOKEN_NAME, revoked_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_it_gives_the_demo_admin_a_new_password_when_nobody_knows_it(var_dir: Path) -> None:
    run.prepare(load_demo=False, out=StringIO())
    (var_dir / "admin-password.txt").write_text("stale-password\n")

    login = run.prepare(load_demo=False, out=StringIO())

    assert login.password != "stale-password"
    assert User.objects.get(email=run.ADMIN_EMAIL).check_password(login.password)
    assert (var_dir / "admin-password.txt").read_text().strip() == login.password


@pytest.mark.django_db
def test_it_does_not_load_demo_data_into_an_install_that_has_tickets(cast: Cast) -> None:
    assert run.needs_demo_data()
    open_ticket(subject="Real work", body="A real request", requester=cast.carol, actor=cast.bob)
    assert not run.needs_demo_data()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_it_really_serves_the_admin_login_page(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "REGULARS_VAR_DIR": str(tmp_path), "REGULARS_TESTING": "1"}
    env.pop("DATABASE_URL", None)  # the login page needs no tables; keep the test's DB out of it
    server = subprocess.Popen(  # noqa: S603 (our own interpreter and command)
        [sys.executable, "-m", "regulars.cli", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        status = None
        deadline = time.monotonic() + 90  # a bound for a loaded CI machine, not a measurement
        while time.monotonic() < deadline:
            try:
                server.wait(timeout=0.1)
                break  # it died
            except subprocess.TimeoutExpired:
                pass
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=10) as response:
                    status = response.status
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                continue
        assert status == 200, server.stderr.read().decode() if server.poll() is not None else "no answer"
        static = f"http://127.0.0.1:{port}/static/admin/css/base.css"
        with urllib.request.urlopen(static, timeout=10) as response:
            assert response.status == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert (tmp_path / "static" / "admin").is_dir()


@pytest.mark.django_db
def test_it_prints_the_password_the_demo_gave_its_admin(var_dir: Path) -> None:
    from regulars.accounts.services import create_agent
    from regulars.demo.plan import DEMO_PASSWORD

    create_agent(email=run.ADMIN_EMAIL, name="Demo Admin", role=Role.ADMIN, password=DEMO_PASSWORD)

    login = run.prepare(load_demo=False, out=StringIO())

    assert login.password == DEMO_PASSWORD
    assert not (var_dir / "admin-password.txt").exists()


@pytest.mark.django_db
def test_it_offers_a_demo_agent_login_for_the_desk(var_dir: Path) -> None:
    from regulars.accounts.services import create_agent
    from regulars.demo.plan import DEMO_PASSWORD

    assert run.prepare(load_demo=False, out=StringIO()).agent_email == ""  # no demo data: no agent
    create_agent(email="sam@demo.regulars.test", name="Sam", role=Role.AGENT, password=DEMO_PASSWORD)

    login = run.prepare(load_demo=False, out=StringIO())

    assert (login.agent_email, login.agent_password) == ("sam@demo.regulars.test", DEMO_PASSWORD)
    assert User.objects.get(email=login.agent_email).check_password(login.agent_password)
