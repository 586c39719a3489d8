"""SQLite WAL checkpoints run in a background thread, not inside a request's commit."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from django.db.utils import ConnectionHandler
from django.test import override_settings

from config.env import sqlite_database
from regulars.core import checkpoint


def _wal_database(path: Path) -> sqlite3.Connection:
    """A WAL database whose own commits never checkpoint, with 200 rows waiting in the WAL."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    for i in range(200):
        db.execute("INSERT INTO t (v) VALUES (?)", (f"row {i}" * 20,))
    return db


def _frames(path: Path) -> int:
    wal = Path(f"{path}-wal")
    return wal.stat().st_size if wal.exists() else 0


def test_a_checkpoint_copies_every_committed_frame_back(tmp_path):
    path = tmp_path / "db.sqlite3"
    db = _wal_database(path)
    thread = checkpoint.Checkpointer(str(path), interval=60)
    busy, logged, copied = thread.checkpoint() or (None, 0, 0)
    assert busy == 0
    assert logged > 0
    assert copied == logged
    # The rows are in the database file itself now: a reader without the WAL sees them.
    thread.close()
    db.close()  # the last connection to close removes the WAL after a final checkpoint
    assert not Path(f"{path}-wal").exists()
    assert sqlite3.connect(path).execute("SELECT count(*) FROM t").fetchone() == (200,)


def test_the_thread_checkpoints_without_being_asked(tmp_path):
    path = tmp_path / "db.sqlite3"
    db = _wal_database(path)
    thread = checkpoint.start(str(path), 0.01)
    try:
        deadline = time.monotonic() + 10
        while (thread.last is None or thread.last[2] == 0) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert thread.last is not None
        busy, logged, copied = thread.last
        assert (busy, copied) == (0, logged)
        assert logged > 0
        assert checkpoint.running(str(path)) is thread
    finally:
        thread.stop()
        thread.join(5)
        db.close()
    assert not thread.is_alive()
    assert checkpoint.running(str(path)) is None


def test_a_missing_database_is_skipped_and_never_created(tmp_path):
    path = tmp_path / "gone.sqlite3"
    thread = checkpoint.Checkpointer(str(path), interval=60)
    assert thread.checkpoint() is None
    assert not path.exists()


@pytest.mark.parametrize("seconds", [0.25, 0])
def test_a_new_django_connection_hands_its_checkpoints_to_the_thread(tmp_path, seconds, django_db_blocker):
    path = tmp_path / "regulars.sqlite3"
    connection = ConnectionHandler({"default": sqlite_database(path)})["default"]
    with override_settings(SQLITE_CHECKPOINT_SECONDS=seconds), django_db_blocker.unblock():
        connection.ensure_connection()
    try:
        pages = connection.connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        thread = checkpoint.running(str(path))
        if seconds:
            assert pages == checkpoint.SAFETY_PAGES  # commits only checkpoint when far behind
            assert thread is not None
            assert thread.interval == seconds
        else:
            assert pages == 1000  # SQLite's own default
            assert thread is None
    finally:
        connection.close()
        if thread is not None:
            thread.stop()
            thread.join(5)
