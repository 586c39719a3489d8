"""PostgreSQL with the connection health check folded into the request's first read.

Django's ``CONN_HEALTH_CHECKS`` sends ``SELECT 1`` before the first statement of every request
that reuses a connection: one extra round trip a request, a third of what a cached API page
costs on PostgreSQL. This backend checks the connection lazily instead. When the first
statement of a request is a read outside any transaction, it is sent at once; if it fails
because the connection is gone (the server restarted, an idle connection was cut), the
connection is opened again and the read sent again, which is what the health check would have
done before it. Any other first statement (a write, a statement inside ``atomic()``, a
server-side cursor, a batch) gets Django's own check first, because sending it twice could
apply it twice; a transaction is checked when it begins, as Django does, so that a new connection
can still be opened for it. Everything else is Django's PostgreSQL backend.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from django.db import Error
from django.db.backends.postgresql import base
from psycopg import pq
from psycopg.postgres import types
from psycopg.pq import Format

TIMESTAMPTZ_OID = types["timestamptz"].oid

_WRITES = re.compile(
    r"\b(INSERT|UPDATE|DELETE|MERGE|CALL|LOCK|COPY|FOR\s+(NO\s+KEY\s+)?(UPDATE|SHARE))\b", re.I
)


def _is_read(sql: Any) -> bool:
    """A plain read that can be sent twice: SELECT or WITH, nothing that writes or locks."""
    if not isinstance(sql, str):  # psycopg's sql.Composed and the like: not ours to judge
        return False
    return sql.lstrip()[:6].upper().startswith(("SELECT", "WITH")) and not _WRITES.search(sql)


class DatabaseWrapper(base.DatabaseWrapper):
    _lazy_check_pending = False
    health_check_enabled: bool  # set by connect(); django-stubs does not declare them
    health_check_done: bool

    def close_if_health_check_failed(self) -> None:
        if self.connection is None or not self.health_check_enabled or self.health_check_done or self.pool:
            return

        if self.in_atomic_block or not self.get_autocommit() or self.connection._pipeline is not None:
            super().close_if_health_check_failed()
            return
        # Checked by the request's first statement instead (``_first_statement``).
        self.health_check_done = True
        if not self._lazy_check_pending:
            self._lazy_check_pending = True
            self.execute_wrappers.insert(0, self._first_statement)

    def set_autocommit(
        self, autocommit: bool, force_begin_transaction_with_broken_autocommit: bool = False
    ) -> None:
        if not autocommit:
            # A transaction begins: check now, while a new connection can still be opened.
            if self._lazy_check_pending:
                self._end_lazy_check()
                if not self.is_usable():
                    self.close()
            elif self.connection is not None and self.health_check_enabled and not self.health_check_done:
                super().close_if_health_check_failed()
        super().set_autocommit(autocommit, force_begin_transaction_with_broken_autocommit)

    def _end_lazy_check(self) -> None:
        self._lazy_check_pending = False
        with contextlib.suppress(ValueError):
            self.execute_wrappers.remove(self._first_statement)

    def close(self) -> None:
        self._end_lazy_check()
        super().close()

    def _reopen(self, wrapped_cursor: Any) -> None:
        """A new connection, and a new raw cursor of the same kind under ``wrapped_cursor``."""
        name = getattr(wrapped_cursor.cursor, "name", None) or None
        self.close()
        self.ensure_connection()
        wrapped_cursor.cursor = self.create_cursor(name)

    def _gone(self) -> bool:
        raw = self.connection
        return raw is None or raw.closed or raw.broken

    def execute_directly(self, sql: str, params: Any) -> Any:
        """Run one statement on the psycopg connection itself and return its cursor, or ``None``
        when it must take Django's cursor: statements are being watched (query log, execute
        wrappers other than the lazy check), or this thread's time zone differs from the
        connection's. For ``regulars.core.fastsql``: the same statement, parameters, error
        translation and health check as through Django's cursor, without its wrapper layers
        (about 50 µs of CPU a statement here)."""
        if self.connection is None or not self.health_check_done:
            self.ensure_connection()
            self.close_if_health_check_failed()
        raw = self.connection
        wrappers = self.execute_wrappers
        if (
            self.queries_logged
            or (wrappers and wrappers != [self._first_statement])
            or self.timezone != raw.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT).timezone
        ):
            return None
        self.validate_no_broken_transaction()
        if self._lazy_check_pending:
            self._end_lazy_check()
            if self._repeatable(sql):
                try:
                    with self.wrap_database_errors:
                        return raw.execute(sql, params)
                except Error:
                    if not self._gone():
                        raise
                self.close()
                self.ensure_connection()
            elif not self.is_usable():
                self.close()
                self.ensure_connection()
        with self.wrap_database_errors:
            return self.connection.execute(sql, params)

    def current_snapshot(self) -> str:
        """``pg_current_snapshot()`` as text: the check, on every API request, of whether anything
        was committed since (``fastsql.unchanged_memo``). Sent by libpq itself when the connection
        is open, idle and unwatched, which also serves as the request's connection check; any
        other answer, or any other state, takes :meth:`execute_directly` (or Django's cursor),
        which checks, reconnects and raises as for every read."""
        sql = "SELECT pg_current_snapshot()::text"
        if self.connection is None or not self.health_check_done:
            self.ensure_connection()
            self.close_if_health_check_failed()
        raw = self.connection
        if (
            not self.queries_logged
            and self.execute_wrappers in ([], [self._first_statement])
            and self.get_autocommit()
            and not self.in_atomic_block
            and raw._pipeline is None
            and raw.pgconn.transaction_status == pq.TransactionStatus.IDLE
        ):
            result = raw.pgconn.exec_(sql.encode())
            if result.status == pq.ExecStatus.TUPLES_OK and result.ntuples == 1:
                self._end_lazy_check()  # the connection answered: that was the check
                value = result.get_value(0, 0)
                assert value is not None
                return bytes(value).decode()
        cursor = self.execute_directly(sql, [])
        if cursor is None:
            cursor = self.cursor()
            cursor.execute(sql)
        try:
            return str(cursor.fetchone()[0])
        finally:
            cursor.close()

    def _repeatable(self, sql: Any) -> bool:
        """A statement that may be sent again on a new connection if the first try finds the
        connection gone: a plain read, outside any transaction or batch."""
        return (
            _is_read(sql)
            and self.get_autocommit()
            and not self.in_atomic_block
            and self.connection is not None
            and self.connection._pipeline is None
        )

    def _first_statement(
        self, execute: Any, sql: Any, params: Any, many: bool, context: dict[str, Any]
    ) -> Any:
        self._end_lazy_check()
        wrapped = context["cursor"]
        safe_to_repeat = not many and not getattr(wrapped.cursor, "name", None) and self._repeatable(sql)
        if not safe_to_repeat:
            if not self.is_usable():
                self._reopen(wrapped)
            return execute(sql, params, many, context)
        try:
            return execute(sql, params, many, context)
        except Error:  # psycopg's errors arrive wrapped as Django's
            if not self._gone():
                raise
        self._reopen(wrapped)
        return execute(sql, params, many, context)
