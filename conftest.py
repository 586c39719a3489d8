from __future__ import annotations

from pathlib import Path

import pytest

from regulars.core.browser import browser, page, phone_page, second_page  # noqa: F401 (fixtures)
from regulars.core.testing import Cast, build_cast


@pytest.fixture(autouse=True)
def _attachments_in_tmp(settings: pytest.FixtureRequest, tmp_path: Path) -> None:
    settings.ATTACHMENT_ROOT = tmp_path / "attachments"  # type: ignore[attr-defined]


@pytest.fixture
def cast(db: None) -> Cast:
    return build_cast()


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    # Sign-in rate-limit counters live in the cache; one test's failures must not lock out another's.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_ticket_json_cache() -> None:
    # Row keys and versions repeat from test to test (rolled back, flushed): start empty.
    from regulars.tickets.selectors import clear_json_cache

    clear_json_cache()


@pytest.fixture(autouse=True)
def _seed_data_for_transactional_tests(request: pytest.FixtureRequest) -> None:
    """Put back the rows migrations seed (the default statuses) for tests on a transactional
    database (live servers, real mail servers): it is flushed after each test, which takes those
    rows with it. (``serialized_rollback`` would restore them too, but on PostgreSQL it collides
    with the content types the previous test's flush re-created under new ids.)"""
    marker = request.node.get_closest_marker("django_db")
    transactional = (
        "live_server" in request.fixturenames
        or "transactional_db" in request.fixturenames
        or (marker is not None and bool(marker.kwargs.get("transaction")))
    )
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    from importlib import import_module

    from django.apps import apps

    from regulars.tickets.models import Status

    if not Status.objects.exists():
        migration = import_module("regulars.tickets.migrations.0002_number_sequence_and_statuses")
        migration.create_statuses(apps, None)
