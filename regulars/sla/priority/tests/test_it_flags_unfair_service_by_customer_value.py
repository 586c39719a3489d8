"""The fairness report on data built to contain an unfair pattern flags exactly that pattern.

Eight customers, two per value quartile. Everyone's tickets are answered in one hour and solved an
hour later, except urgent tickets: in the unfair data set the high band's are answered in 10
minutes and the low band's in 4 hours. Time is controlled by patching django.utils.timezone.now
while the services write, so created_at and each reply's created_at are exact.
"""

from __future__ import annotations

import datetime as dt
from unittest.mock import patch

import pytest

from regulars.core.errors import Forbidden, ValidationFailed
from regulars.sla.priority.selectors import fairness_report
from regulars.tickets.models import Status
from regulars.tickets.services import open_ticket, post_message, update_ticket

from .conftest import customer

START = dt.datetime(2025, 1, 6, 8, 0, tzinfo=dt.UTC)
VALUES = {"low": (100, 200), "mid-low": (1_000, 2_000), "mid-high": (5_000, 6_000), "high": (50_000, 60_000)}
PER_GROUP = 5  # the policy's default minimum of answered tickets before a group is compared


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


def served(cast, clock, requester, priority, reply_after, solve_after=dt.timedelta(hours=1)):
    opened = clock.now
    t = open_ticket(subject="Help", body="Please help.", requester=requester, priority=priority)
    clock.now = opened + reply_after
    post_message(t, author=cast.bob, body="On it.", public=True)
    post_message(t, author=cast.bob, body="Checked the logs.", public=False)
    clock.now += solve_after
    update_ticket(t, actor=cast.bob, status=Status.objects.get(category="solved", is_default=True))
    clock.now = opened + dt.timedelta(minutes=7)  # the next ticket opens a little later
    return t


def build(cast, *, urgent_low: dt.timedelta, urgent_high: dt.timedelta) -> None:
    clock = Clock()
    people = {band: [customer(v) for v in values] for band, values in VALUES.items()}
    hour = dt.timedelta(hours=1)
    with patch("django.utils.timezone.now", clock):
        for n in range(PER_GROUP):
            for band, folks in people.items():
                who = folks[n % 2]
                served(cast, clock, who, "normal", hour)
                if band != "low":
                    served(cast, clock, who, "low", hour)
            served(cast, clock, people["low"][n % 2], "urgent", urgent_low)
            served(cast, clock, people["high"][n % 2], "urgent", urgent_high)


def report(cast):
    return fairness_report(cast.alice, START, START + dt.timedelta(days=2))


def test_it_flags_exactly_the_injected_unfair_pattern(cast):
    build(cast, urgent_low=dt.timedelta(hours=4), urgent_high=dt.timedelta(minutes=10))
    result = report(cast)
    assert [
        (f["kind"], f["priority"], f["band"], f["compared_priority"], f["compared_bands"])
        for f in result["flags"]
    ] == [
        ("unequal_service", "urgent", "low", "urgent", ["high"]),
        ("urgent_waits_longer", "urgent", "low", "low", ["mid-low", "mid-high", "high"]),
    ]
    unequal, headline = result["flags"]
    assert unequal["message"] == (
        "Unequal service for equal need: urgent-priority tickets from customers in the low value band "
        "waited a median 4 h for a first reply, against 10 min for the high band."
    )
    assert headline["message"] == (
        "Customers in the low value band with urgent issues waited longer for a first reply (median 4 h) "
        "than higher-value customers with low-priority issues (1 h in the mid-low band, 1 h in the mid-high "
        "band and 1 h in the high band)."
    )


def test_it_raises_no_flag_on_fair_service(cast):
    build(cast, urgent_low=dt.timedelta(minutes=10), urgent_high=dt.timedelta(minutes=10))
    assert report(cast)["flags"] == []


def test_it_ignores_differences_below_the_threshold(cast):
    build(cast, urgent_low=dt.timedelta(minutes=19), urgent_high=dt.timedelta(minutes=10))  # +90% but 9 min
    assert report(cast)["flags"] == []


def test_it_reports_times_and_effort_per_priority_and_band(cast):
    build(cast, urgent_low=dt.timedelta(hours=4), urgent_high=dt.timedelta(minutes=10))
    result = report(cast)
    assert result["band_source"] == "quartiles"
    assert [b["label"] for b in result["bands"]] == ["low", "mid-low", "mid-high", "high"]
    assert result["bands"][3]["min"] == "50000.00"
    rows = {(r["priority"], r["band"]): r for r in result["rows"]}
    assert set(rows) == {
        ("urgent", "low"), ("urgent", "high"),
        *(("normal", b) for b in VALUES), *(("low", b) for b in ("mid-low", "mid-high", "high")),
    }  # fmt: skip
    low_urgent = rows[("urgent", "low")]
    assert low_urgent["tickets"] == low_urgent["answered"] == low_urgent["resolved"] == PER_GROUP
    assert low_urgent["first_reply_median_minutes"] == 240.0
    assert low_urgent["first_reply_p90_minutes"] == 240.0
    assert low_urgent["resolution_median_minutes"] == 300.0
    assert low_urgent["agent_messages"] == 2 * PER_GROUP
    assert low_urgent["agent_minutes"] == 2 * PER_GROUP * 6
    assert low_urgent["agent_minutes_per_ticket"] == 12.0
    assert rows[("urgent", "high")]["first_reply_median_minutes"] == 10.0
    assert result["tickets"] == 9 * PER_GROUP


def test_it_uses_the_bands_an_admin_configures(cast):
    build(cast, urgent_low=dt.timedelta(hours=4), urgent_high=dt.timedelta(minutes=10))
    result = fairness_report(
        cast.alice, START, START + dt.timedelta(days=2),
        bands=[{"label": "small", "min": 0}, {"label": "large", "min": 10_000}],
    )  # fmt: skip
    assert result["band_source"] == "configured"
    assert [(f["kind"], f["band"], f["compared_bands"]) for f in result["flags"]] == [
        ("unequal_service", "small", ["large"]),
        ("urgent_waits_longer", "small", ["large"]),
    ]


def test_it_leaves_out_tickets_opened_outside_the_period(cast):
    build(cast, urgent_low=dt.timedelta(hours=4), urgent_high=dt.timedelta(minutes=10))
    later = fairness_report(cast.alice, START + dt.timedelta(days=1), START + dt.timedelta(days=2))
    assert (later["tickets"], later["rows"], later["flags"]) == (0, [], [])


def test_it_is_for_admins_and_agents_only(cast):
    end = START + dt.timedelta(days=1)
    assert fairness_report(cast.bob, START, end)["tickets"] == 0
    for who in (cast.carol_user, cast.charlie):
        with pytest.raises(Forbidden):
            fairness_report(who, START, end)


def test_it_refuses_a_period_that_ends_before_it_starts(cast):
    with pytest.raises(ValidationFailed):
        fairness_report(cast.alice, START, START - dt.timedelta(days=1))
