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
