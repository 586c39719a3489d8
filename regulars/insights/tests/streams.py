"""Synthetic message streams for the emerging-issue tests: a controlled clock, weeks of hourly
history written straight into the counters (what weeks of counted messages leave behind), and
today's messages written through the real services and event handlers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from regulars.customers.models import Customer
from regulars.customers.services import create_customer
from regulars.insights.emerging import HOUR, bucket_of
from regulars.insights.models import TrendCount, TrendDimension, TrendSeries
from regulars.tickets.models import Ticket
from regulars.tickets.services import open_ticket

# A Monday morning; history and bursts are placed relative to it.
MONDAY = dt.datetime(2026, 11, 16, 10, 5, tzinfo=dt.UTC)

# Ordinary traffic: the words customers use every day, and how often per hour.
ORDINARY_KEYWORDS = {"invoice": 1.0, "parcel": 1.5, "password": 0.8, "refund": 0.7, "order": 2.0}
CHANNEL_RATES = {"email": 4.0, "web": 2.0}


class Clock:
    def __init__(self, monkeypatch: Any, start: dt.datetime) -> None:
        self.now = start
        monkeypatch.setattr("django.utils.timezone.now", lambda: self.now)

    def at(self, moment: dt.datetime) -> dt.datetime:
        self.now = moment
        return moment


def profile(hour: int, weekday: int) -> float:
    """Busier by day than by night, quieter at weekends."""
    day = 0.4 + 1.2 * np.exp(-(((hour - 13) / 4.0) ** 2))
    return float(day * (0.6 if weekday >= 5 else 1.0))


def seed_history(
    dimension: str,
    key: str,
    rate: float,
    *,
    until: dt.datetime,
    days: int = 28,
    seed: int = 7,
) -> TrendSeries:
    """``days`` days of Poisson counts for one series, ending just before ``until``'s hour."""
    rng = np.random.default_rng(seed)
    end = bucket_of(until)
    start = end - dt.timedelta(days=days)
    series = TrendSeries.objects.create(
        dimension=dimension, key=key, first_bucket=start, last_bucket=end - HOUR
    )
    rows = []
    at = start
    while at < end:
        count = int(rng.poisson(rate * profile(at.hour, at.weekday())))
        if count:
            rows.append(TrendCount(series=series, bucket=at, count=count))
        at += HOUR
    TrendCount.objects.bulk_create(rows)
    return series


def ordinary_history(until: dt.datetime = MONDAY, days: int = 28) -> None:
    for i, (key, rate) in enumerate(ORDINARY_KEYWORDS.items()):
        seed_history(TrendDimension.KEYWORD, key, rate, until=until, days=days, seed=i)
    for i, (key, rate) in enumerate(CHANNEL_RATES.items()):
        seed_history(TrendDimension.CHANNEL, key, rate, until=until, days=days, seed=100 + i)


def customers(n: int, prefix: str = "c") -> list[Customer]:
    return [
        create_customer(name=f"Customer {prefix}{i}", emails=[f"{prefix}{i}@example.com"]) for i in range(n)
    ]


def write(
    captured: Any, clock: Clock, customer: Customer, subject: str, *, at: dt.datetime, channel: str = "email"
) -> Ticket:
    """A customer opens a ticket at ``at``; the after-commit handlers run as the worker would."""
    clock.at(at)
    with captured(execute=True):
        return open_ticket(subject=subject, body=f"{subject}. Can you look into it?", requester=customer,
                           channel=channel)  # fmt: skip


BURST_SUBJECTS = [
    "Payment failed at checkout",
    "My card payment failed again",
    "Checkout says payment failed",
    "Payment failed, card was declined",
]


def burst(
    captured: Any,
    clock: Clock,
    people: list[Customer],
    *,
    start: dt.datetime,
    every: dt.timedelta = dt.timedelta(minutes=1),
    channel: str = "email",
) -> list[Ticket]:
    tickets = []
    for i, person in enumerate(people):
        subject = BURST_SUBJECTS[i % len(BURST_SUBJECTS)]
        tickets.append(write(captured, clock, person, subject, at=start + i * every, channel=channel))
    return tickets
