"""On PostgreSQL a request that reuses a connection does not pay a ``SELECT 1`` round trip for the
health check: its first read is the check (``regulars.core.db.postgresql``). A connection the
server cut while it sat idle between requests is opened again and the read sent again, so the
request still succeeds; a first statement that could do something twice (a write, a transaction)
gets the usual check before it; an error that is not a lost connection is never retried.

Each test plays two requests on one connection (``close_old_connections`` is what Django runs when
a request starts) and cuts the connection in between with ``pg_terminate_backend`` from a second
connection, as a server restart or an idle-connection timeout would."""

from __future__ import annotations

from collections.abc import Iterator
from unittest import mock

import psycopg
import pytest
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from regulars.accounts.models import AuditLog, User
from regulars.accounts.services import create_api_token
from regulars.core import fastsql
from regulars.core.testing import Cast, build_cast

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's health check")


def backend_pid() -> int:
    connection.ensure_connection()
    return int(connection.connection.info.backend_pid)


def cut(pid: int) -> None:
    """End the server process of ``pid`` from outside, as a restart would."""
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or None, port=settings["PORT"] or None, user=settings["USER"] or None,
        dbname=settings["NAME"], autocommit=True,
    ) as other:  # fmt: skip
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)


@pytest.fixture
def checks(transactional_db: None) -> Iterator[mock.MagicMock]:
    """Counts the explicit health checks (``SELECT 1``) the backend sends."""
    assert connection.settings_dict["CONN_HEALTH_CHECKS"]
    # A new connection: one older than CONN_MAX_AGE would be closed when the next request starts.
    connection.close()
    connection.ensure_connection()
    with mock.patch.object(connection, "is_usable", wraps=connection.is_usable) as spy:
        yield spy


def new_request() -> None:
    close_old_connections()
    assert connection.connection is not None and not connection.health_check_done


@on_postgresql
def test_a_healthy_connection_answers_the_first_read_without_a_separate_check(
    checks: mock.MagicMock,
) -> None:
    User.objects.count()
    pid = backend_pid()
    new_request()
    assert User.objects.count() == 0
    assert checks.call_count == 0
    assert backend_pid() == pid  # the same connection, kept


@on_postgresql
def test_a_read_on_a_connection_the_server_cut_is_sent_again_on_a_new_one(
    checks: mock.MagicMock,
) -> None:
    User.objects.create_user(email="kim@regulars.test", password="kim-password-1", name="Kim")
    pid = backend_pid()
    new_request()
    cut(pid)
    assert list(User.objects.values_list("email", flat=True)) == ["kim@regulars.test"]
    assert backend_pid() != pid
    assert checks.call_count == 0
    assert not connection.errors_occurred
    assert User.objects.count() == 1  # and the new connection goes on working


@on_postgresql
def test_a_write_first_is_checked_before_it_is_sent(checks: mock.MagicMock) -> None:
    pid = backend_pid()
    new_request()
    cut(pid)
    User.objects.create_user(email="lee@regulars.test", password="lee-password-1", name="Lee")
    assert checks.call_count == 1
    assert backend_pid() != pid
    assert User.objects.filter(email="lee@regulars.test").count() == 1  # written once


@on_postgresql
def test_a_transaction_first_is_checked_when_it_begins(checks: mock.MagicMock) -> None:
    pid = backend_pid()
    new_request()
    cut(pid)
    with transaction.atomic():
        user = User.objects.create_user(email="max@regulars.test", password="max-password-1", name="Max")
        AuditLog.objects.create(actor=user, action="test.written", object_type="user", object_id="x")
    assert checks.call_count == 1
    assert backend_pid() != pid
    assert AuditLog.objects.filter(action="test.written").count() == 1


@on_postgresql
def test_an_error_that_is_not_a_lost_connection_is_raised_and_not_sent_again(
    checks: mock.MagicMock,
) -> None:
    pid = backend_pid()
    new_request()
    sent: list[str] = []

    def record(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record), pytest.raises(DatabaseError), connection.cursor() as cursor:
        cursor.execute("SELECT no_such_column FROM accounts_user")
    assert sent == ["SELECT no_such_column FROM accounts_user"]
    assert backend_pid() == pid
    assert checks.call_count == 0


@on_postgresql
def test_the_check_is_skipped_only_for_the_first_statement_of_a_request(
    checks: mock.MagicMock,
) -> None:
    pid = backend_pid()
    new_request()
    User.objects.count()
    cut(pid)  # cut after the first statement: this request already used its check
    with pytest.raises(DatabaseError):
        User.objects.count()
    close_old_connections()  # the next request: Django drops a connection that had errors
    assert connection.connection is None
    assert User.objects.count() == 0


@on_postgresql
def test_an_api_request_after_the_server_cut_the_connection_succeeds(checks: mock.MagicMock) -> None:
    cast: Cast = build_cast()
    _, raw = create_api_token(cast.alice, name="probe")
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert client.get("/api/v1/tickets", **auth).status_code == 200
    pid = backend_pid()
    new_request()  # Django's test client does not run close_old_connections itself
    cut(pid)
    response = client.get("/api/v1/tickets", **auth)
    assert response.status_code == 200, response.content
    assert checks.call_count == 0


# fastsql sends its statements on the psycopg connection itself (``execute_directly``), without
# Django's cursor: the same check, on its own path.


@on_postgresql
def test_a_direct_read_on_a_cut_connection_is_sent_again_on_a_new_one(checks: mock.MagicMock) -> None:
    User.objects.create_user(email="kim@regulars.test", password="kim-password-1", name="Kim")
    pid = backend_pid()
    new_request()
    cut(pid)
    with mock.patch.object(connection, "cursor", side_effect=AssertionError("not Django's cursor")):
        assert fastsql.execute('SELECT "email" FROM "accounts_user"') == [("kim@regulars.test",)]
    assert backend_pid() != pid
    assert checks.call_count == 0


@on_postgresql
def test_a_direct_write_first_is_checked_before_it_is_sent(checks: mock.MagicMock) -> None:
    user = User.objects.create_user(email="lee@regulars.test", password="lee-password-1", name="Lee")
    pid = backend_pid()
    new_request()
    cut(pid)
    with mock.patch.object(connection, "cursor", side_effect=AssertionError("not Django's cursor")):
        fastsql.run('UPDATE "accounts_user" SET "name" = %s WHERE "id" = %s', ["Lee Two", user.pk])
    assert checks.call_count == 1
    assert backend_pid() != pid
    assert User.objects.get(pk=user.pk).name == "Lee Two"


@on_postgresql
def test_a_direct_statement_that_fails_otherwise_is_raised_and_not_sent_again(
    checks: mock.MagicMock,
) -> None:
    pid = backend_pid()
    new_request()
    with pytest.raises(DatabaseError):
        fastsql.execute("SELECT no_such_column FROM accounts_user")
    assert backend_pid() == pid
    assert checks.call_count == 0


@on_postgresql
def test_the_check_for_an_unchanged_database_is_the_request_s_connection_check(
    checks: mock.MagicMock,
) -> None:
    pid = backend_pid()
    new_request()
    with mock.patch.object(connection, "cursor", side_effect=AssertionError("not Django's cursor")):
        first = connection.current_snapshot()  # type: ignore[attr-defined]
        assert first.count(":") == 2  # xmin:xmax:in-progress
        new_request()
        cut(pid)
        assert connection.current_snapshot().count(":") == 2  # type: ignore[attr-defined]
    assert backend_pid() != pid
    assert checks.call_count == 0


@on_postgresql
def test_watched_statements_go_through_django_s_cursor(checks: mock.MagicMock) -> None:
    new_request()
    with CaptureQueriesContext(connection) as queries:
        fastsql.execute("SELECT 41 + 1")
    assert [q["sql"] for q in queries.captured_queries] == ["SELECT 41 + 1"]
    assert fastsql.execute("SELECT 41 + 1") == [(42,)]


@pytest.mark.parametrize(
    ("sql", "repeatable"),
    [
        ('SELECT "id" FROM "accounts_user" WHERE "updated_at" > %s', True),
        ("  with x as (select 1) select * from x", True),
        ('SELECT "id" FROM "tickets_ticket" WHERE "id" = %s FOR UPDATE', False),
        ("SELECT 1 FOR NO KEY UPDATE", False),
        ("WITH moved AS (UPDATE t SET a = 1 RETURNING id) SELECT * FROM moved", False),
        ('INSERT INTO "tickets_tag" ("name") VALUES (%s)', False),
        ("DELETE FROM x", False),
        ("SAVEPOINT s1", False),
        (b"SELECT 1", False),
    ],
)
def test_only_plain_reads_count_as_safe_to_send_twice(sql: object, repeatable: bool) -> None:
    from regulars.core.db.postgresql.base import _is_read

    assert _is_read(sql) is repeatable
