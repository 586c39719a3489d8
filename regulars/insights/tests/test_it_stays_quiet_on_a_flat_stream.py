"""Ordinary Poisson noise around a daily and weekly rhythm never opens an alert, at any volume;
the same stream with a burst added opens one in the hour the burst starts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from regulars.insights.emerging import HOUR, assess, expected_count

from .streams import profile

START = dt.datetime(2026, 10, 5, 0, 0, tzinfo=dt.UTC)  # a Monday
WEEKS = 5


def stream(rate: float, seed: int) -> dict[dt.datetime, int]:
    rng = np.random.default_rng(seed)
    hours = WEEKS * 7 * 24
    out = {}
    for i in range(hours):
        at = START + i * HOUR
        out[at] = int(rng.poisson(rate * profile(at.hour, at.weekday())))
    return out


def evaluated_hours() -> list[dt.datetime]:
    last_week = START + (WEEKS - 1) * 7 * 24 * HOUR
    return [last_week + i * HOUR for i in range(7 * 24)]


@pytest.mark.parametrize("rate", [0.2, 1.0, 5.0, 20.0, 80.0])
@pytest.mark.parametrize("seed", range(4))
def test_it_never_alerts_on_noise(rate, seed):
    counts = stream(rate, seed)
    opened = [
        at
        for at in evaluated_hours()
        if assess(counts[at], expected_count({b: c for b, c in counts.items() if b < at}, at, START)).opens
    ]
    assert opened == []


@pytest.mark.parametrize("rate", [0.2, 1.0, 5.0, 20.0])
def test_it_alerts_in_the_hour_a_burst_starts(rate):
    counts = stream(rate, seed=1)
    onset = evaluated_hours()[34]  # a Tuesday, 10:00
    extra = max(12, int(4 * rate * profile(onset.hour, onset.weekday())))
    counts[onset] += extra
    history = {b: c for b, c in counts.items() if b < onset}
    assert assess(counts[onset], expected_count(history, onset, START)).opens


def test_it_does_not_hold_a_past_incident_against_the_future():
    counts = stream(2.0, seed=3)
    hours = evaluated_hours()
    last_week_same_hour = hours[34] - 7 * 24 * HOUR
    counts[last_week_same_hour] += 60  # last Tuesday's outage
    history = {b: c for b, c in counts.items() if b < hours[34]}
    expected = expected_count(history, hours[34], START)
    assert expected.rate < 6  # the outage week is the highest and is left out
