"""From a ticket's anchors, its policy and calendar to due times and states. No writes here.

``PolicyBook`` loads the active policies and their calendars once, so recomputing many tickets
costs no query per ticket. ``compute`` is a pure function of its arguments and ``now``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from regulars.sla.business_time import CALENDAR_TIME, CalendarSpec, add_business_time, business_time_between
from regulars.sla.models import TARGETS, BusinessCalendar, SlaPolicy, TargetState

Pause = tuple[datetime, datetime | None]
KINDS = ("at_risk", "breached")
BIT = {(target, kind): 1 << i for i, (target, kind) in enumerate((t, k) for t in TARGETS for k in KINDS)}
TARGET_BITS = {target: BIT[(target, "at_risk")] | BIT[(target, "breached")] for target in TARGETS}


class PolicyBook:
    """The active policies, most specific first, and the specs of their calendars."""

    def __init__(self, policies: Sequence[SlaPolicy] | None = None) -> None:
        if policies is None:
            policies = list(SlaPolicy.objects.filter(is_active=True).select_related("calendar"))
        self.policies = sorted(policies, key=lambda p: (-p.specificity, p.position, p.pk or 0))
        self.by_id = {p.pk: p for p in self.policies}
        calendar_ids = {p.calendar_id for p in self.policies if p.calendar_id}
        calendars = BusinessCalendar.objects.filter(pk__in=calendar_ids).prefetch_related("exceptions")
        self.specs: dict[int, CalendarSpec] = {c.pk: c.spec(list(c.exceptions.all())) for c in calendars}
        self._matches: dict[tuple[object, ...], SlaPolicy | None] = {}
        self.needs_tags = any(p.conditions.get("tags") for p in self.policies)
        # Per policy: (target, budget, at-risk budget, calendar spec), looked up once, not per ticket.
        self.plans: dict[int, list[tuple[str, timedelta, timedelta, CalendarSpec]]] = {}
        for p in self.policies:
            steps = []
            for name in TARGETS:
                budget, business = p.target(name)
                if budget is not None:
                    steps.append((name, budget, budget * p.at_risk_share, self.spec(p, business)))
            self.plans[p.pk] = steps

    def match(
        self, *, plan_id: int | None, priority: str, channel: str, ticket_type: str, tags: Sequence[str]
    ) -> SlaPolicy | None:
        key = (plan_id, priority, channel, ticket_type, tuple(sorted(tags)) if self.needs_tags else ())
        if key not in self._matches:
            self._matches[key] = next(
                (
                    p
                    for p in self.policies
                    if p.matches(
                        plan_id=plan_id,
                        priority=priority,
                        channel=channel,
                        ticket_type=ticket_type,
                        tags=list(tags),
                    )
                ),
                None,
            )
        return self._matches[key]

    def spec(self, policy: SlaPolicy, business: bool) -> CalendarSpec:
        if business and policy.calendar_id is not None:
            return self.specs[policy.calendar_id]
        return CALENDAR_TIME


@dataclass(slots=True)
class TargetClock:
    due: datetime | None = None
    at_risk_at: datetime | None = None
    state: str = TargetState.NONE


@dataclass(slots=True)
class Outcome:
    policy_id: int | None
    targets: dict[str, TargetClock] = field(default_factory=dict)
    is_paused: bool = False
    elapsed_business: timedelta = timedelta(0)
    next_check_at: datetime | None = None


def parse_pauses(raw: list[list[str | None]]) -> list[Pause]:
    return [
        (datetime.fromisoformat(str(start)), datetime.fromisoformat(end) if end else None)
        for start, end in raw
    ]


def _walk(
    spec: CalendarSpec, anchor: datetime, budget: timedelta, pauses: Sequence[Pause], stop: datetime | None
) -> tuple[datetime | None, bool]:
    """When ``budget`` of running clock has passed since ``anchor``, skipping pauses.

    Returns ``(None, True)`` when an ongoing pause starts before the budget is used up: the due
    time is unknown until the ticket leaves the paused state.
    """
    cursor, remaining = anchor, budget
    for start, end in pauses:
        if end is not None and end <= cursor:
            continue
        if stop is not None and start >= stop:
            break
        if start > cursor:
            candidate = add_business_time(spec, cursor, remaining)
            if candidate <= start:
                return candidate, False
            remaining -= business_time_between(spec, cursor, start)
        if end is None:
            return None, True
        cursor = max(cursor, end)
    return add_business_time(spec, cursor, remaining), False


def _running(spec: CalendarSpec, anchor: datetime, until: datetime, pauses: Sequence[Pause]) -> timedelta:
    total = business_time_between(spec, anchor, until)
    for start, end in pauses:
        s, e = max(start, anchor), min(end or until, until)
        if e > s:
            total -= business_time_between(spec, s, e)
    return total


def compute(
    book: PolicyBook,
    *,
    now: datetime,
    plan_id: int | None,
    priority: str,
    channel: str,
    ticket_type: str,
    tags: Sequence[str],
    started_at: datetime,
    first_reply_at: datetime | None,
    next_reply_from: datetime | None,
    next_reply_replied_at: datetime | None,
    resolved_at: datetime | None,
    pauses: Sequence[Pause],
    notified: int,
    with_elapsed: bool = True,
) -> Outcome:
    policy = book.match(
        plan_id=plan_id, priority=priority, channel=channel, ticket_type=ticket_type, tags=tags
    )
    outcome = Outcome(policy_id=policy.pk if policy else None)
    outcome.is_paused = bool(pauses) and pauses[-1][1] is None
    if policy is None:
        outcome.targets = {t: TargetClock() for t in TARGETS}
        return outcome
    anchors = {
        "first_reply": (started_at, first_reply_at),
        "next_reply": (next_reply_from, next_reply_replied_at),
        "resolution": (started_at, resolved_at),
    }
    checks: list[datetime] = []
    outcome.targets = {name: TargetClock() for name in TARGETS}
    for name, budget, risk_budget, spec in book.plans[policy.pk]:
        anchor, stop = anchors[name]
        clock = outcome.targets[name]
        if anchor is None:
            continue
        due, paused = _walk(spec, anchor, budget, pauses, stop)
        # Once a target is met or missed, its at-risk moment no longer matters.
        risk = None if stop is not None else _walk(spec, anchor, risk_budget, pauses, stop)[0]
        clock.due, clock.at_risk_at = due, risk
        if name == "resolution" and with_elapsed:
            outcome.elapsed_business = _running(spec, anchor, min(stop or now, now), pauses)
        breach_sent = bool(notified & BIT[(name, "breached")])
        risk_sent = bool(notified & BIT[(name, "at_risk")])
        if stop is not None:
            late = due is not None and stop > due
            clock.state = TargetState.BREACHED if late else TargetState.MET
            if late and not breach_sent and due is not None:
                checks.append(due)  # a late reply still raises its (missed) breach once
            continue
        if paused or due is None:
            clock.state = TargetState.AT_RISK if risk is not None and risk <= now else TargetState.ON_TRACK
            continue
        if now >= due:
            clock.state = TargetState.BREACHED
        elif risk is not None and now >= risk:
            clock.state = TargetState.AT_RISK
        else:
            clock.state = TargetState.ON_TRACK
        if not breach_sent:
            checks.append(due)
            if not risk_sent and risk is not None and risk < due:
                checks.append(risk)
    outcome.next_check_at = min(checks) if checks else None
    return outcome
