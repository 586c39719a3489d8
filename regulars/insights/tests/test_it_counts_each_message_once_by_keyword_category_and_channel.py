"""Each customer message bumps hourly counters once: its channel, its normalised keyword keys
and (for a new ticket) its category. A redelivered event counts nothing more; agents' replies,
blocked customers and problem tickets count nothing."""

from __future__ import annotations

from regulars.customers.services import block_customer
from regulars.insights.emerging import bucket_of, record_trends
from regulars.insights.keywords import keyword_keys
from regulars.insights.models import MessageInsight, TrendCount, TrendDimension
from regulars.insights.services import on_message_created
from regulars.tickets.services import post_message

from .conftest import open_and_triage


def _count(dimension, key):
    row = TrendCount.objects.filter(series__dimension=dimension, series__key=key).first()
    return row.count if row else 0


def test_it_normalises_words_into_keyword_keys():
    assert keyword_keys("Payments FAILING since this morning!") == [
        "payment",
        "payment fail",
        "fail",
        "fail morn",
        "morn",
    ]
    assert keyword_keys("My payment failed") == ["payment", "payment fail", "fail"]
    assert keyword_keys("Hi, thanks, please help!") == []


def test_it_counts_a_message_once_in_each_of_its_series(
    cast, trained, categories, django_capture_on_commit_callbacks
):
    ticket = open_and_triage(
        django_capture_on_commit_callbacks, cast.carol, "I was charged twice on my invoice"
    )
    insight = MessageInsight.objects.get(ticket=ticket)
    assert insight.counted_at is not None and insight.channel == "api"
    assert _count(TrendDimension.CHANNEL, "api") == 1
    assert _count(TrendDimension.KEYWORD, "charg twice") == 1
    assert _count(TrendDimension.CATEGORY, categories["Billing"].public_id) == 1
    assert (
        TrendCount.objects.filter(bucket=bucket_of(insight.created_at)).count() == len(insight.keywords) + 2
    )

    assert record_trends(insight) is False  # the event was delivered again
    with django_capture_on_commit_callbacks(execute=True):
        post_message(ticket, author=cast.bob, body="Refunded the second charge twice over", public=True)
    on_message_created("message.created", {"message_id": insight.message_id, "kind": "reply",
                                           "author_type": "customer"})  # fmt: skip
    assert _count(TrendDimension.CHANNEL, "api") == 1
    assert _count(TrendDimension.KEYWORD, "charg twice") == 1


def test_it_ignores_blocked_customers(cast, django_capture_on_commit_callbacks):
    block_customer(cast.erin, actor=cast.bob, reason="abuse")
    open_and_triage(django_capture_on_commit_callbacks, cast.erin, "Payment failed payment failed")
    assert not TrendCount.objects.exists()
