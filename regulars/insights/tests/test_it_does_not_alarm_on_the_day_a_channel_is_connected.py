"""A newly connected channel's busy first day is not a crisis: its series warms up for
WARM_UP_DAYS, and its messages stay out of keyword and category series meanwhile."""

from __future__ import annotations

import datetime as dt

from regulars.insights.emerging import WARM_UP_DAYS, detect
from regulars.insights.models import EmergingAlert, TrendCount, TrendDimension, TrendSeries

from .streams import MONDAY, Clock, burst, customers, ordinary_history, seed_history


def test_it_raises_nothing_for_a_new_channels_first_day(
    cast, monkeypatch, django_capture_on_commit_callbacks
):
    clock = Clock(monkeypatch, MONDAY)
    ordinary_history()
    # Chat is switched on this morning, and its first customers all have the same trouble.
    burst(django_capture_on_commit_callbacks, clock, customers(20), start=MONDAY, channel="chat")

    outcome = detect(clock.at(MONDAY + dt.timedelta(minutes=30)))

    assert outcome.opened == []
    assert not EmergingAlert.objects.exists()
    chat = TrendSeries.objects.get(dimension=TrendDimension.CHANNEL, key="chat")
    assert TrendCount.objects.get(series=chat).count == 20
    assert not TrendSeries.objects.filter(dimension=TrendDimension.KEYWORD, key="payment fail").exists()


def test_it_watches_the_channel_once_it_has_warmed_up(cast, monkeypatch, django_capture_on_commit_callbacks):
    clock = Clock(monkeypatch, MONDAY)
    ordinary_history()
    seed_history(TrendDimension.CHANNEL, "chat", 1.0, until=MONDAY, days=WARM_UP_DAYS + 1)
    burst(django_capture_on_commit_callbacks, clock, customers(20), start=MONDAY, channel="chat")

    outcome = detect(clock.at(MONDAY + dt.timedelta(minutes=30)))

    assert {(a.dimension, a.key) for a in outcome.opened} >= {
        (TrendDimension.CHANNEL, "chat"),
        (TrendDimension.KEYWORD, "payment fail"),
    }
    chat_alert = next(a for a in outcome.opened if a.key == "chat")
    assert chat_alert.label == "Channel Chat"


def test_it_learns_quietly_through_a_new_installs_first_week(
    cast, monkeypatch, django_capture_on_commit_callbacks
):
    clock = Clock(monkeypatch, MONDAY)
    burst(django_capture_on_commit_callbacks, clock, customers(20), start=MONDAY)

    assert detect(clock.at(MONDAY + dt.timedelta(minutes=30))).opened == []
    # Nothing alerts yet, but everything is counted: this is the history of next week.
    keyword = TrendSeries.objects.get(dimension=TrendDimension.KEYWORD, key="payment fail")
    assert TrendCount.objects.get(series=keyword).count == 20
