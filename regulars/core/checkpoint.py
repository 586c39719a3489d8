"""SQLite WAL checkpoints in a background thread instead of inside a request's commit.

In WAL mode every commit appends the pages it changed to the ``-wal`` file; a checkpoint copies
them back into the database file. SQLite's default runs a checkpoint inside whichever commit
pushes the WAL past 1,000 pages: with the ~40 pages one new ticket writes, about every 25th
ticket paid for copying (and syncing) the other 24's pages too, over 1 ms a ticket on average
(``open_ticket`` on SQLite spent more time in ``commit()`` than in all of its statements).

Here each process that opens a file database in WAL mode starts one daemon thread that runs a
PASSIVE checkpoint every ``SQLITE_CHECKPOINT_SECONDS`` (default 0.25 s) on its own connection:
it never waits for readers or writers and never blocks them, the sqlite3 module releases the
GIL while it copies, and a page that several commits changed in between is copied once.
Commits still checkpoint by themselves when the WAL passes ``SAFETY_PAGES`` (the thread fell
behind, or a long reader held it back), and ``journal_size_limit`` trims the file afterwards,
so the WAL stays bounded as before. Durability is unchanged: a checkpoint only moves pages
that are already committed to the WAL.

``SQLITE_CHECKPOINT_SECONDS=0`` restores SQLite's own behaviour. Several processes on one
database each run a thread; a checkpoint that finds another one running does nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

logger = logging.getLogger(__name__)

# 10,000 pages of 4 kB: where a commit checkpoints by itself (SQLite's default is 1,000).
SAFETY_PAGES = 10_000
# The WAL file is cut back to this size after a checkpoint has emptied it.
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024

_lock = threading.Lock()
_running: dict[tuple[int, str], Checkpointer] = {}


class Checkpointer(threading.Thread):
    """PASSIVE checkpoints of one database file, every ``interval`` seconds, until ``stop()``."""

    def __init__(self, path: str, interval: float) -> None:
        super().__init__(name=f"sqlite-checkpoint {Path(path).name}", daemon=True)
        self.path = path
        self.interval = interval
        self._stopped = threading.Event()
        self._connection: sqlite3.Connection | None = None
        # The latest checkpoint's (busy, frames in the WAL, frames copied), for tests and
        # debugging.
        self.last: tuple[int, int, int] | None = None

    def run(self) -> None:
        while not self._stopped.wait(self.interval):
            self.last = self.checkpoint()
        self.close()

    def stop(self) -> None:
        self._stopped.set()

    def checkpoint(self) -> tuple[int, int, int] | None:
        """One PASSIVE checkpoint: (busy, frames in the WAL, frames copied), or None when the
        database could not be opened (deleted, e.g. a test database after the run)."""
        try:
            if self._connection is None:
                # mode=rw: never create the file when it is gone.
                self._connection = sqlite3.connect(
                    f"file:{quote(self.path)}?mode=rw", uri=True, timeout=0, isolation_level=None,
                    check_same_thread=False,
                )  # fmt: skip
            row = self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            logger.debug("checkpoint of %s skipped: %s", self.path, exc)
            self.close()
            return None
        return int(row[0]), int(row[1]), int(row[2])

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(sqlite3.Error):  # closing a broken handle
                self._connection.close()
            self._connection = None


def _file_path(connection: Any) -> str | None:
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or "mode=memory" in name or name.startswith("file:"):
        return None
    return os.path.abspath(name)


def on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created``: hand this database's checkpoints to the process's thread."""
    if connection.vendor != "sqlite":
        return
    from django.conf import settings

    interval = float(getattr(settings, "SQLITE_CHECKPOINT_SECONDS", 0.25))
    path = _file_path(connection)
    if interval <= 0 or path is None:
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        if str(cursor.fetchone()[0]).lower() != "wal":
            return
        cursor.execute(f"PRAGMA wal_autocheckpoint={SAFETY_PAGES}")
        cursor.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
    start(path, interval)


def start(path: str, interval: float) -> Checkpointer:
    """The running thread for ``path`` in this process, started if there is none (a forked
    child, such as a gunicorn worker, starts its own: threads do not survive a fork)."""
    key = (os.getpid(), path)
    with _lock:
        thread = _running.get(key)
        if thread is None or not thread.is_alive():
            thread = _running[key] = Checkpointer(path, interval)
            thread.start()
        return thread


def running(path: str) -> Checkpointer | None:
    thread = _running.get((os.getpid(), os.path.abspath(path)))
    return thread if thread is not None and thread.is_alive() else None
