"""A cluster of messages rising well above its usual level raises an alert within the hour it
starts, with the messages and customers involved; ordinary traffic does not."""

from __future__ import annotations

import datetime as dt

from regulars.insights.emerging import HOUR, bucket_of, detect
from regulars.insights.models import AlertMessage, AlertState, EmergingAlert, TrendDimension

from .streams import MONDAY, Clock, burst, customers, ordinary_history, write


def test_it_alerts_within_one_bucket_of_onset(cast, monkeypatch, django_capture_on_commit_callbacks):
    clock = Clock(monkeypatch, MONDAY)
    ordinary_history()
    people = customers(14)
    write(django_capture_on_commit_callbacks, clock, people[0], "Where is my parcel?", at=MONDAY)
    assert detect(clock.at(MONDAY + dt.timedelta(minutes=5))).opened == []

    onset = MONDAY + dt.timedelta(minutes=10)
    tickets = burst(django_capture_on_commit_callbacks, clock, people[1:13], start=onset)
    outcome = detect(clock.at(onset + dt.timedelta(minutes=15)))

    keyword = [a for a in outcome.opened if a.dimension == TrendDimension.KEYWORD]
    assert len(keyword) == 1, [a.key for a in outcome.opened]
    alert = keyword[0]
    assert alert.key == "payment fail"
    assert alert.state == AlertState.OPEN
    assert alert.onset_bucket == bucket_of(onset)
    assert alert.detected_at - alert.onset_bucket < HOUR  # found in the very hour it began
    assert alert.customer_count == 12 and alert.ticket_count == 12
    assert {m.ticket_id for m in AlertMessage.objects.filter(alert=alert)} == {t.pk for t in tickets}
    # The other words of the same messages fold into this alert instead of raising their own.
    assert {"payment", "fail"} <= set(alert.related_keys)


def test_it_needs_several_customers_not_one_customer_writing_many_times(
    cast, monkeypatch, django_capture_on_commit_callbacks
):
    clock = Clock(monkeypatch, MONDAY)
    ordinary_history()
    burst(django_capture_on_commit_callbacks, clock, [cast.carol] * 12, start=MONDAY)
    detect(clock.at(MONDAY + dt.timedelta(minutes=20)))
    assert not EmergingAlert.objects.filter(dimension=TrendDimension.KEYWORD).exists()


def test_it_says_nothing_about_an_ordinary_hour(cast, monkeypatch, django_capture_on_commit_callbacks):
    clock = Clock(monkeypatch, MONDAY)
    ordinary_history()
    people = customers(6)
    subjects = ["Where is my parcel?", "Invoice for October", "Password reset link", "Refund for my order",
                "Order not arrived", "Parcel tracking"]  # fmt: skip
    for i, (person, subject) in enumerate(zip(people, subjects, strict=True)):
        write(
            django_capture_on_commit_callbacks,
            clock,
            person,
            subject,
            at=MONDAY + dt.timedelta(minutes=i * 5),
        )
    outcome = detect(clock.at(MONDAY + dt.timedelta(minutes=40)))
    assert outcome.opened == []
    assert not EmergingAlert.objects.exists()
