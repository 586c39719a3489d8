"""Agents who subscribe hear about new alerts (a row in the notification outbox, then a mail),
once per alert; others do not, and a customer cannot subscribe."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from regulars.core.errors import Forbidden, NotFound
from regulars.insights.emerging import detect
from regulars.insights.models import AlertNotification, EmergingAlert, TrendDimension
from regulars.insights.services import subscribe_to_alerts, unsubscribe_from_alerts

from .streams import MONDAY, Clock, burst, customers, ordinary_history


def test_it_mails_each_subscriber_once(cast, monkeypatch, django_capture_on_commit_callbacks):
    clock = Clock(monkeypatch, MONDAY)
    ordinary_history()
    subscribe_to_alerts(actor=cast.bob, dimension="keyword")
    subscribe_to_alerts(actor=cast.charlie, dimension="channel", key="chat")
    dave, _ = subscribe_to_alerts(actor=cast.dave)
    unsubscribe_from_alerts(actor=cast.dave, subscription=dave)
    burst(django_capture_on_commit_callbacks, clock, customers(12), start=MONDAY)

    with django_capture_on_commit_callbacks(execute=True):
        detect(clock.at(MONDAY + dt.timedelta(minutes=20)))
    with django_capture_on_commit_callbacks(execute=True):
        detect(clock.at(MONDAY + dt.timedelta(minutes=20)))  # twice: nobody hears twice

    alert = EmergingAlert.objects.get(dimension=TrendDimension.KEYWORD, key="payment fail")
    rows = AlertNotification.objects.filter(alert=alert)
    assert [r.user for r in rows] == [cast.bob]
    assert rows[0].sent_at is not None
    to_bob = [m for m in mail.outbox if m.to == [cast.bob.email]]
    assert len(to_bob) == 1
    assert "payment fail" in to_bob[0].subject
    assert not [m for m in mail.outbox if cast.charlie.email in m.to or cast.dave.email in m.to]


def test_it_retries_a_mail_that_failed(cast, monkeypatch, django_capture_on_commit_callbacks):
    clock = Clock(monkeypatch, MONDAY)
    ordinary_history()
    subscribe_to_alerts(actor=cast.bob)
    burst(django_capture_on_commit_callbacks, clock, customers(12), start=MONDAY)

    def broken(*args, **kwargs):
        raise OSError("relay down")

    monkeypatch.setattr("regulars.insights.emerging.send_mail", broken)
    with django_capture_on_commit_callbacks(execute=True):
        detect(clock.at(MONDAY + dt.timedelta(minutes=20)))
    row = AlertNotification.objects.filter(user=cast.bob).first()
    assert row.sent_at is None and "relay down" in row.error
    monkeypatch.undo()
    clock = Clock(monkeypatch, MONDAY)
    detect(clock.at(MONDAY + dt.timedelta(minutes=30)))
    row.refresh_from_db()
    assert row.sent_at is not None


def test_it_refuses_customers_and_hides_other_peoples_subscriptions(cast):
    with pytest.raises(Forbidden):
        subscribe_to_alerts(actor=cast.carol_user)
    bobs, created = subscribe_to_alerts(actor=cast.bob, dimension="keyword", key="refund")
    again, created_again = subscribe_to_alerts(actor=cast.bob, dimension="keyword", key="refund")
    assert created and not created_again and again == bobs
    with pytest.raises(NotFound):
        unsubscribe_from_alerts(actor=cast.alice, subscription=bobs)
