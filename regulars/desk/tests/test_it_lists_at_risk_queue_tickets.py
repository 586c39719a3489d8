"""The at-risk queue: unsolved tickets whose SLA clocks the clocks job found at risk or breached."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

import pytest

from regulars.core.testing import Cast
from regulars.desk.tests.queue_data import numbers_on, signed_in, ticket
from regulars.sla.services import create_policy, run_clocks
from regulars.tickets.services import post_message

pytestmark = pytest.mark.django_db

START = datetime(2026, 6, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def at(django_capture_on_commit_callbacks: Callable[..., Any]) -> Callable[[datetime], Any]:
    @contextmanager
    def moment(when: datetime) -> Iterator[None]:
        # Time stands still and on-commit work (the SLA handlers) runs at once.
        with (
            patch("django.utils.timezone.now", return_value=when),
            django_capture_on_commit_callbacks(execute=True),
        ):
            yield

    return moment


def test_it_lists_tickets_at_risk_or_breached_but_not_those_answered(cast: Cast, at: Any) -> None:
    create_policy(name="Everyone", first_reply_minutes=60, first_reply_business=False)
    with at(START):
        waiting_longest = ticket(cast, "Waiting longest", team=cast.support)
    with at(START + timedelta(minutes=20)):
        waiting = ticket(cast, "Waiting", team=cast.support)
        answered = ticket(cast, "Answered in time", team=cast.support)
    with at(START + timedelta(minutes=30)):
        fresh = ticket(cast, "Just in", team=cast.support)
        post_message(answered, author=cast.bob, body="On it", public=True)
    with at(START + timedelta(minutes=70)):
        run_clocks()
    # At 10:70 the first is breached (due 11:00), the second at risk (due 11:20), the fresh one on
    # track, and the answered one met its target.
    listed = numbers_on(signed_in(cast.bob).get("/desk/queues/at-risk/"))
    assert listed == [waiting.number, waiting_longest.number]
    assert fresh.number not in listed and answered.number not in listed
