from __future__ import annotations

import pytest
from django.db import transaction

from regulars.core import events


@pytest.fixture
def received():
    seen: list[tuple[str, dict]] = []

    def handler(name: str, payload: dict) -> None:
        seen.append((name, payload))

    events.subscribe("thing.happened", handler)
    yield seen
    events.unsubscribe("thing.happened", handler)


@pytest.mark.django_db(transaction=True)
def test_it_delivers_an_event_only_when_the_transaction_commits(received) -> None:
    with transaction.atomic():
        events.emit("thing.happened", n=1)
        assert received == []
    assert received == [("thing.happened", {"n": 1})]


@pytest.mark.django_db(transaction=True)
def test_it_drops_the_event_of_a_rolled_back_transaction(received) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        events.emit("thing.happened", n=2)
        raise RuntimeError
    assert received == []


@pytest.mark.django_db(transaction=True)
def test_it_keeps_delivering_when_one_handler_fails(received) -> None:
    def broken(name: str, payload: dict) -> None:
        raise ValueError("handler bug")

    events.subscribe("thing.happened", broken)
    try:
        with transaction.atomic():
            events.emit("thing.happened", n=3)
    finally:
        events.unsubscribe("thing.happened", broken)
    assert received == [("thing.happened", {"n": 3})]


@pytest.mark.django_db(transaction=True)
def test_it_commits_a_background_event_with_the_change_and_runs_it_in_the_worker(settings) -> None:
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    settings.EVENT_HANDLERS_INLINE = False
    seen: list[dict] = []

    def handler(name: str, payload: dict) -> None:
        seen.append(payload)

    events.subscribe("thing.queued", handler, background=True)
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            events.emit("thing.queued", n=1)
            raise RuntimeError
        assert DBTaskResult.objects.count() == 0  # a rolled-back change leaves no event behind

        with transaction.atomic():
            events.emit("thing.queued", n=2)
        assert seen == []  # the request does not wait for the reaction
        assert DBTaskResult.objects.count() == 1

        call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)
        assert seen == [{"n": 2}]
    finally:
        events.unsubscribe("thing.queued", handler)
