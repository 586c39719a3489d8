"""Deploy settings from the environment, through tiny typed helpers that fail loudly.

Business settings (SLAs, statuses, plans) live in the database; only what differs between
machines belongs here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


class ImproperlyConfiguredEnv(RuntimeError):
    """Raised at start-up when an environment variable cannot be understood."""


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not a boolean (use true or false)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not an integer") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def parse_database_url(url: str, base_dir: Path) -> dict[str, Any]:
    """Turn ``sqlite:///path`` or ``postgres://user:pw@host:port/name`` into a DATABASES entry."""
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme == "sqlite":
        raw_path = unquote(parts.path)
        # sqlite:///relative/path and sqlite:////absolute/path, as in dj-database-url.
        path = Path(raw_path[1:]) if raw_path.startswith("/") else Path(raw_path)
        if not path.is_absolute():
            path = base_dir / path
        return sqlite_database(path)
    if scheme in {"postgres", "postgresql", "pgsql"}:
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return {
            "ENGINE": "regulars.core.db.postgresql",
            "NAME": unquote(parts.path.lstrip("/")) or "regulars",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    raise ImproperlyConfiguredEnv(
        f"DATABASE_URL scheme {scheme!r} is not supported (use sqlite:/// or postgres://)"
    )


def sqlite_database(path: Path) -> dict[str, Any]:
    # WAL lets readers proceed while one writer commits; IMMEDIATE transactions take the write
    # lock up front so two writers queue on busy_timeout instead of failing to upgrade a lock.
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        # Keep each thread's connection: a new one starts with a cold page cache and reruns the
        # PRAGMAs below on every request.
        "CONN_MAX_AGE": 600,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA foreign_keys=ON;"
                "PRAGMA cache_size=-65536;"
                "PRAGMA mmap_size=268435456;"
                "PRAGMA temp_store=MEMORY;"
            ),
        },
        # A file, not Django's in-memory default: threads in tests (the SMTP server, the worker)
        # then wait on the busy timeout as they do in production, instead of failing with
        # "table is locked" under shared-cache memory databases. One file per process, so
        # parallel runs never share it.
        "TEST": {"NAME": str(path.parent / f"test-{path.stem}-{os.getpid()}.sqlite3")},
    }


def parse_email_url(url: str) -> dict[str, Any]:
    """Turn ``smtp://[user:pw@]host[:port]`` (also ``smtps://`` and ``smtp+starttls://``) into the
    outbound relay's settings. Anything else fails at start-up rather than at the first reply."""
    parts = urlsplit(url)
    security = {"smtp": "none", "smtps": "ssl", "smtp+starttls": "starttls"}.get(parts.scheme)
    if security is None:
        raise ImproperlyConfiguredEnv(
            f"EMAIL_URL scheme {parts.scheme!r} is not supported (use smtp://, smtps:// or smtp+starttls://)"
        )
    if not parts.hostname:
        raise ImproperlyConfiguredEnv(f"EMAIL_URL={url!r} names no host")
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfiguredEnv(f"EMAIL_URL={url!r} has an invalid port") from None
    return {
        "HOST": parts.hostname,
        "PORT": port or (465 if security == "ssl" else 25),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "SECURITY": security,
        "TIMEOUT": 30,
    }
