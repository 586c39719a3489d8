from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date, datetime, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from regulars.core.testing import Cast
from regulars.sla.oncall.models import EscalationPolicy, Rotation
from regulars.sla.oncall.services import LevelSpec, create_escalation_policy, create_rotation

WEEKDAYS_9_TO_5 = {str(d): [["09:00", "17:00"]] for d in range(5)}


class Hook:
    """A tiny webhook receiver on 127.0.0.1 that records every POST and answers from a script."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []  # answered in order; 200 once exhausted
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                hook.requests.append(
                    {
                        "path": self.path,
                        "type": self.headers.get("Content-Type"),
                        "json": json.loads(self.rfile.read(length)),
                    }
                )
                status = hook.statuses.pop(0) if hook.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/page"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.close()


def at(text: str) -> datetime:
    """An instant written as ISO 8601 with its offset."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value


@pytest.fixture
def nights(cast: Cast) -> Rotation:
    """Bob and Dave take turns daily at 09:00 London time; Bob's first shift starts 8 March 2025."""
    return create_rotation(
        name="Nights",
        participants=[cast.bob, cast.dave],
        cadence="daily",
        handoff_time=time(9, 0),
        starts_on=date(2025, 3, 8),
        time_zone="Europe/London",
        actor=cast.alice,
    )


@pytest.fixture
def policy(cast: Cast, nights: Rotation) -> EscalationPolicy:
    """Nights (re-page 5, up after 15), then Dave (re-page 5, up after 10), then Alice (every 10, 3 times)."""
    return create_escalation_policy(
        name="After hours",
        is_default=True,
        time_zone="Europe/London",
        business_hours=WEEKDAYS_9_TO_5,
        levels=[
            LevelSpec(rotation=nights, repage_after_minutes=5, move_up_after_minutes=15),
            LevelSpec(agent=cast.dave, repage_after_minutes=5, move_up_after_minutes=10),
            LevelSpec(agent=cast.alice, repage_after_minutes=10, move_up_after_minutes=10),
        ],
        final_page_limit=3,
        actor=cast.alice,
    )
