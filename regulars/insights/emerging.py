"""Emerging issues: hourly counters per category, keyword cluster and channel, compared with what
is expected for that hour of the week; an alert when a series rises well above it.

Counting (``record_trends``) runs in the event handlers of new customer messages: each message
bumps one counter per series it belongs to, in its hour. Detection (``detect``) runs every ten
minutes from the scheduler and reads only counters, so its cost does not grow with the number
of tickets; it looks at the current (partial) hour and the previous one, and running it twice
for the same time changes nothing.

Expected level of a series for an hour ``b`` (``expected_count``), a Poisson rate:

- ``weekly``: the counts at the same hour of the week over the last ``HISTORY_WEEKS`` weeks,
  the highest left out once there are three (a past incident does not raise the bar for ever);
- ``daily``: the counts at the same hour of the day over the last ``RECENT_DAYS`` days;
- ``overall``: the series' mean hourly count over the last ``RECENT_DAYS`` days.

The hour-of-day mean is shrunk toward the overall rate, and the hour-of-week mean toward that,
each with a weight of a few pseudo-observations, so a series with a week of history leans on
its daily profile and one with a month leans on its weekly profile. Hours before the series'
history starts are not data (they are neither zero nor averaged in).

An alert opens when the count is at least ``MIN_COUNT``, at least ``ALERT_RATIO`` times the
expected rate, the Poisson upper tail at a slightly raised rate (for the uncertainty of a
short history) is below ``ALERT_P``, and at least ``MIN_CUSTOMERS`` different customers wrote.
It stays open while each complete hour stays above ``SUSTAIN_RATIO`` times the expected rate,
and closes after ``CLOSE_AFTER_QUIET_HOURS`` complete quiet hours.

New sources (the warm-up rule): a series is never alerted on before its history is
``WARM_UP_DAYS`` old. A channel's or category's history starts at its own first counted hour,
unless it was there on the first day of the whole dimension (then the install is new, and the
dimension's start counts). Keyword clusters are new all the time, which is the point, so for
them only the dimension's start counts. Messages arriving through a channel that is still
warming up are counted in that channel's series only, not in category or keyword series: a
newly connected mailbox that imports a backlog, or a chat widget's busy first day, cannot look
like a crisis anywhere. After the warm-up its traffic joins the other series, and a step in
volume is absorbed by ``ALERT_RATIO`` and by the daily profile within days.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Min, Q, Sum
from django.utils import timezone

from regulars.accounts.models import User
from regulars.core import events
from regulars.insights.models import (
    AlertMessage,
    AlertNotification,
    AlertState,
    AlertSubscription,
    Category,
    EmergingAlert,
    MessageInsight,
    TrendCount,
    TrendDimension,
    TrendSeries,
)
from regulars.insights.outbox import deliver
from regulars.tickets.models import Channel, Ticket, TicketType

logger = logging.getLogger(__name__)

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
WEEK = dt.timedelta(days=7)

HISTORY_WEEKS = 4
RECENT_DAYS = 7
WEEK_PRIOR = 2.0  # pseudo-weeks of the hour-of-day estimate in the hour-of-week estimate
DAY_PRIOR = 1.0  # pseudo-days of the overall rate in the hour-of-day estimate
EXPECTED_FLOOR = 0.5  # a cluster never seen before is expected at half a message an hour
MIN_COUNT = 5
MIN_CUSTOMERS = 3
ALERT_RATIO = 2.0
ALERT_P = 1e-5
SUSTAIN_RATIO = 1.5
SUSTAIN_MIN = 3
CLOSE_AFTER_QUIET_HOURS = 2
WARM_UP_DAYS = 7
NEW_SOURCE_GRACE = DAY  # series present on the dimension's first day belong to the new install
OVERLAP_TO_FOLD = 0.6  # share of a keyword's messages already in an alert that folds it in
MAX_MESSAGES_PER_ALERT = 1000
MAX_MESSAGES_PER_BUCKET = 20_000
MAX_CANDIDATES_PER_BUCKET = 2000
RETENTION_DAYS = HISTORY_WEEKS * 7 + 7
NOTIFY_RETRY_AFTER = dt.timedelta(minutes=5)
CHUNK = 500

SeriesKey = tuple[str, str]


def bucket_of(moment: dt.datetime) -> dt.datetime:
    """The start of the UTC hour ``moment`` falls in."""
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


# --- the statistics (pure) ---------------------------------------------------------------------


def _robust_mean(values: Sequence[float]) -> float:
    if not values:
        return 0.0
    kept = sorted(values)[:-1] if len(values) >= 3 else list(values)
    return sum(kept) / len(kept)


@dataclass(frozen=True)
class Expected:
    rate: float
    observations: int  # how many past hours the estimate rests on (weekly + daily points)


def expected_count(history: Mapping[dt.datetime, int], bucket: dt.datetime, start: dt.datetime) -> Expected:
    """The expected count of ``bucket`` from ``history`` (bucket -> count; missing hours after
    ``start`` counted nothing). See the module docstring for the model."""
    weekly = [
        float(history.get(bucket - k * WEEK, 0))
        for k in range(1, HISTORY_WEEKS + 1)
        if bucket - k * WEEK >= start
    ]
    daily = [
        float(history.get(bucket - d * DAY, 0))
        for d in range(1, RECENT_DAYS + 1)
        if bucket - d * DAY >= start
    ]
    window_start = max(bucket - RECENT_DAYS * DAY, start)
    hours = (bucket - window_start) / HOUR
    overall = 0.0
    if hours >= 1:
        overall = sum(c for b, c in history.items() if window_start <= b < bucket) / hours
    hour_of_day = (sum(daily) + DAY_PRIOR * overall) / (len(daily) + DAY_PRIOR)
    hour_of_week = (len(weekly) * _robust_mean(weekly) + WEEK_PRIOR * hour_of_day) / (
        len(weekly) + WEEK_PRIOR
    )
    return Expected(max(hour_of_week, EXPECTED_FLOOR), len(weekly) + len(daily))


def poisson_tail(count: int, rate: float) -> float:
    """P(X >= count) for X ~ Poisson(rate)."""
    if count <= 0:
        return 1.0
    from scipy.stats import poisson

    return float(poisson.sf(count - 1, rate))


@dataclass(frozen=True)
class Assessment:
    count: int
    expected: float
    p_value: float
    opens: bool  # high enough to open an alert (customers still to be checked)
    sustains: bool  # high enough to keep an open alert open


def assess(count: int, expected: Expected) -> Assessment:
    rate = expected.rate
    # The rate is estimated from few hours; test against a slightly higher one so a short
    # history does not turn ordinary noise into alerts.
    cautious = rate + 2.0 * math.sqrt(rate / (expected.observations + 1))
    p_value = poisson_tail(count, cautious)
    opens = count >= MIN_COUNT and count >= ALERT_RATIO * rate and p_value <= ALERT_P
    sustains = count >= max(SUSTAIN_MIN, SUSTAIN_RATIO * rate)
    return Assessment(count, round(rate, 3), p_value, opens, sustains)


# --- counting ----------------------------------------------------------------------------------


def _series_ids(keys: Sequence[SeriesKey], bucket: dt.datetime) -> dict[SeriesKey, int]:
    by_dimension: dict[str, list[str]] = {}
    for dimension, key in keys:
        by_dimension.setdefault(dimension, []).append(key)
    condition = Q()
    for dimension, names in by_dimension.items():
        condition |= Q(dimension=dimension, key__in=names)
    found = {
        (d, k): pk for pk, d, k in TrendSeries.objects.filter(condition).values_list("pk", "dimension", "key")
    }
    for dimension, key in keys:
        if (dimension, key) in found:
            continue
        try:
            with transaction.atomic():
                row = TrendSeries.objects.create(
                    dimension=dimension, key=key, first_bucket=bucket, last_bucket=bucket
                )
        except IntegrityError:  # another worker created it first
            row = TrendSeries.objects.get(dimension=dimension, key=key)
        found[(dimension, key)] = row.pk
    ids = list(found.values())
    TrendSeries.objects.filter(pk__in=ids, last_bucket__lt=bucket).update(last_bucket=bucket)
    # A message counted late (a worker backlog) may belong to an hour before the first one.
    TrendSeries.objects.filter(pk__in=ids, first_bucket__gt=bucket).update(first_bucket=bucket)
    return found


def add_counts(keys: Sequence[SeriesKey], bucket: dt.datetime, n: int = 1) -> None:
    """Add ``n`` to the counter of each series in ``keys`` for the hour ``bucket``."""
    bucket = bucket_of(bucket)
    ids = list(_series_ids(list(dict.fromkeys(keys)), bucket).values())
    existing = set(
        TrendCount.objects.filter(series_id__in=ids, bucket=bucket).values_list("series_id", flat=True)
    )
    if existing:
        TrendCount.objects.filter(series_id__in=existing, bucket=bucket).update(count=F("count") + n)
    for series_id in ids:
        if series_id in existing:
            continue
        try:
            with transaction.atomic():
                TrendCount.objects.create(series_id=series_id, bucket=bucket, count=n)
        except IntegrityError:  # created by another worker since we looked
            TrendCount.objects.filter(series_id=series_id, bucket=bucket).update(count=F("count") + n)


def _dimension_starts() -> dict[str, dt.datetime]:
    rows = TrendSeries.objects.values("dimension").annotate(start=Min("first_bucket"))
    return {r["dimension"]: r["start"] for r in rows}


def history_start(series: TrendSeries, dimension_start: dt.datetime) -> dt.datetime:
    """Where the series' history starts (see the warm-up rule in the module docstring)."""
    if series.dimension == TrendDimension.KEYWORD:
        return dimension_start
    if series.first_bucket < dimension_start + NEW_SOURCE_GRACE:
        return dimension_start
    return series.first_bucket


def warming_channels(bucket: dt.datetime, also: str | None = None) -> set[str]:
    """Channels newly connected and still in their warm-up at ``bucket``: their messages count
    in their own series only. ``also``: a channel about to be counted for the first time.

    Channels there on the install's first day are not new: the install is, and the dimension's
    warm-up covers it while their messages build the keyword and category history.
    """
    firsts = dict(
        TrendSeries.objects.filter(dimension=TrendDimension.CHANNEL).values_list("key", "first_bucket")
    )
    if not firsts:
        return set()
    if also is not None and also not in firsts:
        firsts[also] = bucket
    start = min(firsts.values())
    return {
        key
        for key, first in firsts.items()
        if first >= start + NEW_SOURCE_GRACE and first > bucket - WARM_UP_DAYS * DAY
    }


def record_trends(insight: MessageInsight, *, category: Category | None = None) -> bool:
    """Count one customer message into its hour. Safe to run twice: the message is claimed
    first, in the same transaction, so a redelivered event counts nothing. Returns whether it
    counted."""
    ticket_type = Ticket.objects.filter(pk=insight.ticket_id).values_list("ticket_type", flat=True).first()
    if ticket_type is None or ticket_type == TicketType.PROBLEM:
        return False  # a problem ticket summarises other messages; counting it would echo them
    bucket = bucket_of(insight.created_at)
    channel = insight.channel or "unknown"
    with transaction.atomic():
        claimed = MessageInsight.objects.filter(pk=insight.pk, counted_at__isnull=True).update(
            counted_at=timezone.now()
        )
        if not claimed:
            return False
        keys: list[SeriesKey] = [(TrendDimension.CHANNEL, channel)]
        if channel not in warming_channels(bucket, also=channel):
            keys += [(TrendDimension.KEYWORD, k) for k in insight.keywords]
            if category is not None:
                keys.append((TrendDimension.CATEGORY, category.public_id))
        add_counts(keys, bucket)
    return True


# --- detection ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    opened: list[EmergingAlert] = field(default_factory=list)
    updated: list[EmergingAlert] = field(default_factory=list)
    closed: int = 0
    notified: int = 0


@dataclass(frozen=True)
class Member:
    insight_id: int
    message_id: int
    ticket_id: int
    customer_id: int | None


def _history(
    series_ids: Sequence[int], bucket: dt.datetime
) -> tuple[dict[int, dict[dt.datetime, int]], dict[int, int]]:
    """Per series: the hours ``expected_count`` reads one by one, and the total of the recent
    window, in two bounded queries per chunk (never every hour of four weeks)."""
    points = [bucket - d * DAY for d in range(1, RECENT_DAYS + 1)] + [
        bucket - k * WEEK for k in range(2, HISTORY_WEEKS + 1)
    ]
    hours: dict[int, dict[dt.datetime, int]] = {pk: {} for pk in series_ids}
    totals: dict[int, int] = {}
    for i in range(0, len(series_ids), CHUNK):
        chunk = series_ids[i : i + CHUNK]
        rows = TrendCount.objects.filter(series_id__in=chunk, bucket__in=points)
        for pk, at, count in rows.values_list("series_id", "bucket", "count"):
            hours[pk][at] = count
        window = TrendCount.objects.filter(
            series_id__in=chunk, bucket__gte=bucket - RECENT_DAYS * DAY, bucket__lt=bucket
        )
        for row in window.values("series_id").annotate(total=Sum("count")):
            totals[row["series_id"]] = int(row["total"] or 0)
    return hours, totals


def _expected_from(
    hours: dict[dt.datetime, int], total: int, bucket: dt.datetime, start: dt.datetime
) -> Expected:
    # ``expected_count`` reads the overall rate from every hour of the recent window; the part
    # of the window total not among the hours fetched stands in for them, placed two hours
    # before the bucket: inside the window and at none of the hours read one by one.
    history = dict(hours)
    fetched = sum(c for b, c in history.items() if b >= bucket - RECENT_DAYS * DAY)
    rest = total - fetched
    if rest > 0:
        history[bucket - 2 * HOUR] = history.get(bucket - 2 * HOUR, 0) + rest
    return expected_count(history, bucket, start)


def _bucket_members(bucket: dt.datetime) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in MessageInsight.objects.filter(
            created_at__gte=bucket, created_at__lt=bucket + HOUR, counted_at__isnull=False
        )
        .order_by("id")
        .values(
            "id",
            "message_id",
            "ticket_id",
            "customer_id",
            "channel",
            "keywords",
            "ticket__created_at",
            "ticket__triage__category__public_id",
        )[:MAX_MESSAGES_PER_BUCKET]
    ]


def _members_of(
    series: TrendSeries, rows: list[dict[str, Any]], bucket: dt.datetime, warming: set[str]
) -> list[Member]:
    def member(r: dict[str, Any]) -> Member:
        return Member(r["id"], r["message_id"], r["ticket_id"], r["customer_id"])

    if series.dimension == TrendDimension.CHANNEL:
        return [member(r) for r in rows if (r["channel"] or "unknown") == series.key]
    mature = [r for r in rows if (r["channel"] or "unknown") not in warming]
    if series.dimension == TrendDimension.KEYWORD:
        return [member(r) for r in mature if series.key in (r["keywords"] or [])]
    return [
        member(r)
        for r in mature
        if r["ticket__triage__category__public_id"] == series.key and r["ticket__created_at"] >= bucket
    ]


def _label(dimension: str, key: str) -> str:
    if dimension == TrendDimension.CATEGORY:
        name = Category.objects.filter(public_id=key).values_list("name", flat=True).first()
        return f"Category {name or key}"
    if dimension == TrendDimension.CHANNEL:
        names = dict(Channel.choices)
        return f"Channel {names.get(key, key)}"
    return f"Keyword \u201c{key}\u201d"


def _add_members(alert: EmergingAlert, members: Sequence[Member], bucket: dt.datetime) -> None:
    room = MAX_MESSAGES_PER_ALERT - AlertMessage.objects.filter(alert=alert).count()
    if room > 0 and members:
        AlertMessage.objects.bulk_create(
            [
                AlertMessage(
                    alert=alert, message_id=m.message_id, ticket_id=m.ticket_id, customer_id=m.customer_id,
                    bucket=bucket,
                )
                for m in members[:room]
            ],
            ignore_conflicts=True,
        )  # fmt: skip
    rows = AlertMessage.objects.filter(alert=alert)
    alert.ticket_count = rows.values("ticket_id").distinct().count()
    alert.customer_count = rows.filter(customer__isnull=False).values("customer_id").distinct().count()


def _record_bucket(alert: EmergingAlert, bucket: dt.datetime, result: Assessment) -> None:
    buckets = dict(alert.buckets or {})
    buckets[bucket.isoformat()] = [result.count, result.expected]
    if len(buckets) > 24 * 7:  # an incident longer than a week keeps its latest week of hours
        buckets = dict(sorted(buckets.items())[-24 * 7 :])
    alert.buckets = buckets
    alert.total_count = sum(int(v[0]) for v in buckets.values())
    alert.peak_count = max(int(v[0]) for v in buckets.values())
    latest = max(buckets)
    alert.current_count, alert.expected = int(buckets[latest][0]), float(buckets[latest][1])
    if bucket > alert.last_elevated_bucket:
        alert.last_elevated_bucket = bucket


ALERT_FIELDS = [
    "buckets", "total_count", "peak_count", "current_count", "expected", "last_elevated_bucket",
    "ticket_count", "customer_count", "related_keys", "updated_at",
]  # fmt: skip


def _subscribers(alert: EmergingAlert) -> list[User]:
    wanted = (
        Q(dimension="") | Q(dimension=alert.dimension, key="") | Q(dimension=alert.dimension, key=alert.key)
    )
    user_ids = AlertSubscription.objects.filter(wanted).values("user_id")
    return [u for u in User.objects.filter(pk__in=user_ids, is_active=True).order_by("id") if u.is_agent]


def _notify(alert: EmergingAlert, now: dt.datetime) -> int:
    people = _subscribers(alert)
    AlertNotification.objects.bulk_create(
        [
            AlertNotification(alert=alert, user=u, reason=AlertNotification.Reason.OPENED, created_at=now)
            for u in people
        ],
        ignore_conflicts=True,
    )
    if people:
        events.emit("insights.alert_opened", alert_id=alert.pk)
    return len(people)


def _open(
    series: TrendSeries, bucket: dt.datetime, result: Assessment, members: Sequence[Member], now: dt.datetime
) -> EmergingAlert | None:
    try:
        with transaction.atomic():
            alert = EmergingAlert.objects.create(
                dimension=series.dimension, key=series.key, label=_label(series.dimension, series.key)[:200],
                onset_bucket=bucket, last_elevated_bucket=bucket, detected_at=now,
            )  # fmt: skip
            _record_bucket(alert, bucket, result)
            _add_members(alert, members, bucket)
            alert.save(update_fields=ALERT_FIELDS)
    except IntegrityError:  # another detection run opened it a moment ago
        return None
    return alert


def _detect_bucket(bucket: dt.datetime, now: dt.datetime, outcome: Outcome) -> None:
    open_alerts = {(a.dimension, a.key): a for a in EmergingAlert.objects.filter(state=AlertState.OPEN)}
    candidate_ids = list(
        TrendCount.objects.filter(bucket=bucket, count__gte=SUSTAIN_MIN)
        .order_by("-count")
        .values_list("series_id", flat=True)[:MAX_CANDIDATES_PER_BUCKET]
    )
    open_series: list[int] = []
    if open_alerts:
        wanted = reduce(operator.or_, [Q(dimension=d, key=k) for d, k in open_alerts])
        open_series = list(TrendSeries.objects.filter(wanted).values_list("pk", flat=True))
    ids = list(dict.fromkeys([*candidate_ids, *open_series]))
    if not ids:
        return
    series_by_id = TrendSeries.objects.in_bulk(ids)
    counts = dict(
        TrendCount.objects.filter(series_id__in=ids, bucket=bucket).values_list("series_id", "count")
    )
    starts = _dimension_starts()
    hours, totals = _history(ids, bucket)
    assessed: list[tuple[TrendSeries, Assessment, dt.datetime]] = []
    for pk, series in series_by_id.items():
        start = history_start(series, starts.get(series.dimension, series.first_bucket))
        result = assess(counts.get(pk, 0), _expected_from(hours[pk], totals.get(pk, 0), bucket, start))
        assessed.append((series, result, start))
    rows = _bucket_members(bucket)
    warming = warming_channels(bucket)
    touched: list[tuple[EmergingAlert, set[int]]] = []

    # Open alerts first, so related keyword keys fold into them instead of raising their own.
    for series, result, _start in assessed:
        alert = open_alerts.get((series.dimension, series.key))
        if alert is None or not result.sustains or bucket < alert.onset_bucket:
            continue
        members = _members_of(series, rows, bucket, warming)
        _record_bucket(alert, bucket, result)
        _add_members(alert, members, bucket)
        alert.save(update_fields=ALERT_FIELDS)
        touched.append((alert, {m.message_id for m in members}))
        outcome.updated.append(alert)

    def weight(item: tuple[TrendSeries, Assessment, dt.datetime]) -> float:
        series, result, _ = item
        return result.count * (1.25 if " " in series.key else 1.0)

    for series, result, start in sorted(assessed, key=weight, reverse=True):
        if (series.dimension, series.key) in open_alerts or not result.opens:
            continue
        if start > bucket - WARM_UP_DAYS * DAY:
            continue  # still warming up: see the module docstring
        members = _members_of(series, rows, bucket, warming)
        if len({m.customer_id for m in members if m.customer_id is not None}) < MIN_CUSTOMERS:
            continue
        ids_here = {m.message_id for m in members}
        folded = False
        for alert, seen in touched:
            if alert.dimension != series.dimension or series.dimension != TrendDimension.KEYWORD:
                continue
            if series.key in alert.related_keys or len(ids_here & seen) >= OVERLAP_TO_FOLD * len(ids_here):
                if series.key not in alert.related_keys and len(alert.related_keys) < 20:
                    alert.related_keys = [*alert.related_keys, series.key]
                    alert.save(update_fields=["related_keys", "updated_at"])
                folded = True
                break
        if folded:
            continue
        opened = _open(series, bucket, result, members, now)
        if opened is None:
            continue
        open_alerts[(series.dimension, series.key)] = opened
        touched.append((opened, ids_here))
        outcome.opened.append(opened)
        outcome.notified += _notify(opened, now)


def detect(now: dt.datetime) -> Outcome:
    """Look at the previous and the current hour; open, grow and close alerts. Idempotent for
    a given ``now``: alerts are found by their series, counts are set rather than added, and a
    notification exists once per (alert, person)."""
    outcome = Outcome()
    current = bucket_of(now)
    for bucket in (current - HOUR, current):
        with transaction.atomic():
            _detect_bucket(bucket, now, outcome)
    quiet_since = current - (CLOSE_AFTER_QUIET_HOURS + 1) * HOUR
    outcome.closed = EmergingAlert.objects.filter(
        state=AlertState.OPEN, last_elevated_bucket__lte=quiet_since
    ).update(state=AlertState.CLOSED, closed_at=now, updated_at=now)
    retry_notifications(now)
    return outcome


def prune(now: dt.datetime) -> int:
    """Forget counters older than the history detection reads, and series seen by nobody since."""
    cutoff = bucket_of(now) - RETENTION_DAYS * DAY
    deleted, _ = TrendCount.objects.filter(bucket__lt=cutoff).delete()
    gone, _ = TrendSeries.objects.filter(last_bucket__lt=cutoff).delete()
    return deleted + gone


# --- notifications -----------------------------------------------------------------------------


def _mail(row: AlertNotification) -> None:
    alert = row.alert
    subject = f"[Regulars] Emerging issue: {alert.label}"[:200]
    body = (
        f"{row.user.name or row.user.email},\n\n"
        f"{alert.label} is well above its usual level: {alert.current_count} messages this hour "
        f"where about {alert.expected:.1f} are expected.\n"
        f"So far: {alert.total_count} messages on {alert.ticket_count} tickets from "
        f"{alert.customer_count} customers.\n\n"
        f"Alert {alert.public_id}; turn it into a problem ticket to answer everyone together.\n"
    )
    send_mail(subject, body, None, [row.user.email], fail_silently=False)


def deliver_notifications(alert_id: int | None = None, *, now: dt.datetime | None = None) -> int:
    """Mail unsent notifications (of one alert, or every one due for a retry). Safe to run
    twice (``outbox.deliver``)."""
    rows = AlertNotification.objects.select_related("alert", "user")
    rows = rows.filter(alert_id=alert_id) if alert_id is not None else rows
    return deliver(rows, _mail, now=now)


def retry_notifications(now: dt.datetime) -> int:
    if not AlertNotification.objects.filter(
        sent_at__isnull=True, tries__lt=AlertNotification.MAX_TRIES, created_at__lte=now - NOTIFY_RETRY_AFTER
    ).exists():
        return 0
    return deliver_notifications(now=now)


def on_alert_opened(name: str, payload: dict[str, Any]) -> None:
    deliver_notifications(payload["alert_id"])
