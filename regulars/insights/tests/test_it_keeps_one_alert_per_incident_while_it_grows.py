"""An incident is one alert: created once, updated while it grows, closed once it is back to
normal for two complete hours; a later rise is a new alert. Running detection twice for the
same moment changes nothing."""

from __future__ import annotations

import datetime as dt

from regulars.insights.emerging import HOUR, bucket_of, detect
from regulars.insights.models import AlertMessage, AlertState, EmergingAlert, TrendDimension
from regulars.insights.tasks import detect_emerging_issues

from .streams import MONDAY, Clock, burst, customers, ordinary_history

MIN = dt.timedelta(minutes=1)


def _keyword_alerts():
    return list(
        EmergingAlert.objects.filter(dimension=TrendDimension.KEYWORD, key="payment fail").order_by("id")
    )


def test_it_creates_the_alert_once_and_updates_it_while_it_grows(
    cast, monkeypatch, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    clock = Clock(monkeypatch, MONDAY)
    ordinary_history()
    people = customers(60)
    burst(capture, clock, people[:10], start=MONDAY)
    detect(clock.at(MONDAY + 15 * MIN))
    detect(clock.at(MONDAY + 15 * MIN))  # the scheduler ran the slot twice
    (alert,) = _keyword_alerts()
    first = (alert.current_count, alert.total_count, alert.ticket_count)
    assert first == (10, 10, 10)

    burst(capture, clock, people[10:25], start=MONDAY + 20 * MIN)
    detect(clock.at(MONDAY + 40 * MIN))
    (alert,) = _keyword_alerts()
    assert alert.current_count == 25 and alert.peak_count == 25 and alert.ticket_count == 25

    next_hour = bucket_of(MONDAY) + HOUR
    burst(capture, clock, people[25:45], start=next_hour + 5 * MIN)
    detect(clock.at(next_hour + 30 * MIN))
    (alert,) = _keyword_alerts()
    assert alert.state == AlertState.OPEN
    assert alert.onset_bucket == bucket_of(MONDAY)
    assert alert.last_elevated_bucket == next_hour
    assert alert.total_count == 45 and alert.peak_count == 25 and alert.current_count == 20
    assert len(alert.buckets) == 2
    assert AlertMessage.objects.filter(alert=alert).count() == 45


def test_it_closes_after_two_quiet_hours_and_opens_a_new_alert_for_a_new_rise(
    cast, monkeypatch, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    clock = Clock(monkeypatch, MONDAY)
    ordinary_history()
    people = customers(30)
    burst(capture, clock, people[:12], start=MONDAY)
    hour = bucket_of(MONDAY)
    # Through the periodic task, as the scheduler would run it.
    detect_emerging_issues.call(slot=(MONDAY + 20 * MIN).isoformat())
    detect_emerging_issues.call(slot=(hour + 2 * HOUR + 5 * MIN).isoformat())
    assert _keyword_alerts()[0].state == AlertState.OPEN  # one complete quiet hour is not enough
    detect_emerging_issues.call(slot=(hour + 3 * HOUR + 5 * MIN).isoformat())
    (closed,) = _keyword_alerts()
    assert closed.state == AlertState.CLOSED and closed.closed_at is not None

    burst(capture, clock, people[12:26], start=hour + 5 * HOUR)
    detect(clock.at(hour + 5 * HOUR + 30 * MIN))
    alerts = _keyword_alerts()
    assert [a.state for a in alerts] == [AlertState.CLOSED, AlertState.OPEN]
    assert alerts[1].onset_bucket == hour + 5 * HOUR
