"""Writes of the priority policy: assessing tickets, recording overrides, editing the policy."""

from __future__ import annotations

import datetime as dt
import logging
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from regulars.accounts.models import User
from regulars.accounts.services import record_audit
from regulars.core.errors import Forbidden, ValidationFailed
from regulars.sla.priority.evidence import gather
from regulars.sla.priority.models import PriorityAssessment, PriorityPolicy, Severity, SeverityRule
from regulars.sla.priority.rules import (
    SEVERITIES,
    URGENCIES,
    Factors,
    SeveritySource,
    apply_value_modifier,
    check_scoring_table,
    default_scoring_table,
    find_urgency_words,
    reason_sentence,
    stated_level,
    strongest,
    table_key,
)
from regulars.tickets.models import Message, StatusCategory, Ticket, TicketEvent, TicketType
from regulars.tickets.services import apply_priority

logger = logging.getLogger(__name__)

# Ticket changes that alter the facts the policy looks at. Tag changes are announced as a bare
# "updated_at" (the tag list is not a column), so that counts too.
_ISSUE_FIELDS = frozenset({"ticket_type", "custom_fields", "subject", "requester"})


def get_policy() -> PriorityPolicy:
    policy, _ = PriorityPolicy.objects.get_or_create(pk=1)
    return policy


# --- assessing -----------------------------------------------------------------------------


def evaluate(
    ticket: Ticket, *, policy: PriorityPolicy, rules: list[SeverityRule], now: dt.datetime
) -> Factors:
    """What the policy says about ``ticket`` now. Reads only; writes nothing."""
    tags = set(ticket.tags.values_list("name", flat=True))
    fields = ticket.custom_fields or {}

    sources = [
        SeveritySource(rule.severity, ", ".join(rule.conditions()))
        for rule in rules
        if rule.matches(ticket.ticket_type, tags, fields)
    ]
    sources += [SeveritySource(sev, f'word "{phrase}"') for phrase, sev in _words_found(ticket, policy)]
    evidence = gather(ticket)
    sources += evidence.severity
    sources.sort(key=lambda s: -SEVERITIES.index(s.severity))
    severity = strongest(sources)

    window = policy.impact_window_hours
    impact, customers, impact_because = _impact(ticket, tags, fields, policy, now)
    urgency, urgency_because = _stated_urgency(tags, fields, policy)
    if urgency_because == "not stated" and evidence.urgency:
        # Nothing stated outright: what the customer's words show counts, the strongest first.
        urgency, urgency_because = max(evidence.urgency, key=lambda pair: URGENCIES.index(pair[0]))

    table = policy.scoring_table or {}
    base = (
        table.get(table_key(severity, impact, urgency))
        or default_scoring_table()[table_key(severity, impact, urgency)]
    )
    final, steps, note = apply_value_modifier(
        base,
        severity,
        enabled=policy.value_modifier_enabled,
        lifetime_value=ticket.requester.lifetime_value,
        threshold=policy.value_modifier_min_lifetime_value,
    )
    return Factors(
        severity=severity,
        severity_sources=sources,
        impact=impact,
        impact_customers=customers,
        impact_because=impact_because,
        window_hours=window,
        urgency=urgency,
        urgency_because=urgency_because,
        base_priority=base,
        modifier_enabled=policy.value_modifier_enabled,
        modifier_steps=steps,
        modifier_note=note,
        priority=final,
    )


def _words_found(ticket: Ticket, policy: PriorityPolicy) -> list[tuple[str, str]]:
    # The subject, the request itself and the customer's latest message: a follow-up such as
    # "now we have lost data" must count, without reading a long conversation every time.
    customer_messages = Message.objects.filter(
        ticket=ticket, author_type=Message.AuthorType.CUSTOMER, kind=Message.Kind.REPLY
    ).order_by("id")
    first = customer_messages.values_list("body_text", flat=True).first() or ""
    latest = customer_messages.reverse().values_list("body_text", flat=True).first() or ""
    text = "\n".join([ticket.subject, first, latest if latest != first else ""])
    words = {str(k): str(v) for k, v in (policy.urgency_words or {}).items() if v in SEVERITIES}
    return find_urgency_words(text, words)


def _impact(
    ticket: Ticket, tags: set[str], fields: dict[str, Any], policy: PriorityPolicy, now: dt.datetime
) -> tuple[str, int, str]:
    """How many distinct customers report the same thing.

    The window runs from N hours before the ticket was opened until now, so a ticket re-assessed
    later keeps counting the outage it was part of instead of decaying with time.
    """
    since = min(now, ticket.created_at) - dt.timedelta(hours=policy.impact_window_hours)
    prefix = policy.stated_urgency_tag_prefix
    issue_tags = sorted(t for t in tags if not (prefix and t.startswith(prefix)))
    window = {"ticket__created_at__gte": since, "ticket__created_at__lte": now}
    best, because = 1, "only this customer"
    if issue_tags:
        counts = (
            Ticket.tags.through.objects.filter(
                tag__name__in=issue_tags, ticket__merged_into__isnull=True, **window
            )
            .values("tag__name")
            .annotate(n=Count("ticket__requester_id", distinct=True))
            .order_by("-n", "tag__name")
        )
        top = counts.first()
        if top is not None and top["n"] > best:
            best, because = top["n"], f"tag {top['tag__name']}"
    key = policy.impact_custom_field
    value = fields.get(key) if key else None
    if isinstance(value, str | int) and not isinstance(value, bool):
        n = (
            Ticket.objects.filter(
                merged_into__isnull=True,
                created_at__gte=since,
                created_at__lte=now,
                **{f"custom_fields__{key}": value},
            )
            .values("requester_id")
            .distinct()
            .count()
        )
        if n > best:
            best, because = n, f"{key} {value}"
    hours = policy.impact_window_hours
    counted = f"{best} customer{'s' if best != 1 else ''} in {hours}h" + (
        f" with {because}" if best > 1 else ""
    )
    org_wide = sorted(tags & set(policy.org_wide_tags or []))
    if org_wide:
        return "widespread", best, f"tag {org_wide[0]}; {counted}"
    if best >= policy.impact_widespread_customers:
        return "widespread", best, counted
    if best >= policy.impact_several_customers:
        return "several", best, counted
    return "single", best, counted


def _stated_urgency(tags: set[str], fields: dict[str, Any], policy: PriorityPolicy) -> tuple[str, str]:
    key = policy.stated_urgency_field
    if key and key in fields:
        level = stated_level(fields[key])
        if level is not None:
            return level, f"field {key}={fields[key]}"
    prefix = policy.stated_urgency_tag_prefix
    if prefix:
        stated = [
            (level, tag)
            for tag in sorted(tags)
            if tag.startswith(prefix) and (level := stated_level(tag[len(prefix) :])) is not None
        ]
        if stated:
            # Two urgency tags: the customer's strongest word counts.
            level, tag = max(stated, key=lambda pair: ("low", "normal", "high").index(pair[0]))
            return level, f"tag {tag}"
    return "normal", "not stated"


def agent_override(ticket: Ticket) -> tuple[User, dt.datetime] | None:
    """The agent who last chose this ticket's priority by hand, if the last choice was a person's.

    The policy's own changes carry no actor, so any priority change by an agent (including
    choosing one when opening the ticket) makes the priority theirs for good.
    """
    last = (
        TicketEvent.objects.filter(ticket=ticket, field="priority")
        .select_related("actor")
        .order_by("-id")
        .first()
    )
    if last is None:
        created = TicketEvent.objects.filter(ticket=ticket, action="created").select_related("actor").first()
        if created is not None and ticket.priority_reason not in ("", "default"):
            last = created
    if last is not None and last.actor is not None and last.actor.is_agent:
        return last.actor, last.created_at
    return None


@transaction.atomic
def assess_ticket(ticket: Ticket, *, now: dt.datetime | None = None) -> PriorityAssessment | None:
    """Decide ``ticket``'s priority by the policy, record why, and apply it unless an agent chose.

    Safe to run twice: the same facts give the same priority and reason, and ``apply_priority``
    writes nothing when neither changed.
    """
    now = now or timezone.now()
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("requester").get(pk=ticket.pk)
    if ticket.merged_into_id is not None or ticket.status_category == StatusCategory.CLOSED:
        return PriorityAssessment.objects.filter(ticket=ticket).first()
    policy = get_policy()
    factors = evaluate(ticket, policy=policy, rules=list(SeverityRule.objects.all()), now=now)
    reason = reason_sentence(factors)[:500]
    override = agent_override(ticket)
    assessment, _ = PriorityAssessment.objects.update_or_create(
        ticket=ticket,
        defaults={
            "priority": factors.priority,
            "severity": factors.severity,
            "impact": factors.impact,
            "stated_urgency": factors.urgency,
            "reason": reason,
            "factors": dict(factors.as_json()),
            "assessed_at": now,
            "overridden_by": override[0] if override else None,
            "overridden_at": override[1] if override else None,
        },
    )
    if override is None:
        apply_priority(ticket, priority=factors.priority, reason=reason)
    return assessment


def note_priority_change(ticket: Ticket) -> None:
    """After a priority change: if a person made it, the policy stands back from now on."""
    override = agent_override(ticket)
    if override is None:
        return
    PriorityAssessment.objects.filter(ticket=ticket, overridden_by__isnull=True).update(
        overridden_by=override[0], overridden_at=override[1]
    )


def on_ticket_event(name: str, payload: dict[str, Any]) -> None:
    """Subscribed in PriorityConfig.ready(); runs after the ticket's transaction committed."""
    ticket_id = payload.get("ticket_id")
    ticket = Ticket.objects.filter(pk=ticket_id).first() if isinstance(ticket_id, int) else None
    if ticket is None:
        return
    if name == "ticket.created":
        assess_ticket(ticket)
    elif name == "message.created":
        if payload.get("author_type") == Message.AuthorType.CUSTOMER and payload.get("kind") == "reply":
            assess_ticket(ticket)
    elif name == "ticket.updated":
        fields = set(payload.get("fields") or ())
        if "priority" in fields:
            note_priority_change(ticket)
        if fields & _ISSUE_FIELDS or fields == {"updated_at"}:
            assess_ticket(ticket)


# --- editing the policy ----------------------------------------------------------------------

_KEY = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
_TAG = re.compile(r"^[a-z0-9][a-z0-9_\-:.]{0,63}$")
_RULE_FIELDS = ("name", "severity", "ticket_type", "tag", "custom_field", "custom_value")
POLICY_FIELDS = frozenset(
    {
        "urgency_words",
        "impact_window_hours",
        "impact_several_customers",
        "impact_widespread_customers",
        "impact_custom_field",
        "org_wide_tags",
        "stated_urgency_field",
        "stated_urgency_tag_prefix",
        "scoring_table",
        "value_modifier_enabled",
        "value_modifier_min_lifetime_value",
        "fairness_bands",
        "fairness_gap_percent",
        "fairness_gap_minutes",
        "fairness_min_tickets",
        "minutes_per_agent_message",
    }
)
_INT_LIMITS = {
    "impact_window_hours": (1, 24 * 30),
    "impact_several_customers": (2, 1_000_000),
    "impact_widespread_customers": (2, 1_000_000),
    "fairness_gap_percent": (0, 1000),
    "fairness_gap_minutes": (0, 60 * 24 * 7),
    "fairness_min_tickets": (1, 1_000_000),
    "minutes_per_agent_message": (0, 600),
}


def _check_int(name: str, value: Any, errors: dict[str, str]) -> int:
    low, high = _INT_LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors[name] = f"a whole number from {low} to {high}"
        return low
    return value


def check_bands(raw: Any) -> list[dict[str, Any]]:
    """Value bands as [{"label", "min"}] in ascending order of ``min``; [] means quartiles."""
    if not isinstance(raw, list) or len(raw) > 20:
        raise ValidationFailed("Bands are a list of at most 20.", fields={"fairness_bands": "invalid"})
    bands: list[dict[str, Any]] = []
    for item in raw:
        if not isinstance(item, dict) or not str(item.get("label", "")).strip():
            raise ValidationFailed("Each band needs a label.", fields={"fairness_bands": "label required"})
        try:
            low = Decimal(str(item.get("min", "0")))
        except InvalidOperation:
            raise ValidationFailed("A band's min is a number.", fields={"fairness_bands": "min"}) from None
        if bands and low <= Decimal(bands[-1]["min"]):
            raise ValidationFailed("Band minimums must increase.", fields={"fairness_bands": "order"})
        bands.append({"label": str(item["label"]).strip()[:40], "min": str(low)})
    if len({b["label"] for b in bands}) != len(bands):
        raise ValidationFailed("Band labels must differ.", fields={"fairness_bands": "duplicate label"})
    return bands


def _clean(changes: dict[str, Any], policy: PriorityPolicy) -> dict[str, Any]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name in _INT_LIMITS:
            clean[name] = _check_int(name, value, errors)
        elif name == "urgency_words":
            ok = (
                isinstance(value, dict)
                and len(value) <= 200
                and all(isinstance(k, str) and 0 < len(k.strip()) <= 100 for k in value)
                and all(v in SEVERITIES for v in value.values())
            )
            if not ok:
                errors[name] = f"phrase -> one of {', '.join(SEVERITIES)} (at most 200 phrases)"
            else:
                clean[name] = {" ".join(k.lower().split()): v for k, v in value.items()}
        elif name in ("impact_custom_field", "stated_urgency_field"):
            if not isinstance(value, str) or (value and not _KEY.match(value)):
                errors[name] = "a custom-field key (letters, digits, - _) or empty"
            else:
                clean[name] = value
        elif name == "stated_urgency_tag_prefix":
            if not isinstance(value, str) or (value and not _TAG.match(value + "x")) or len(value) > 32:
                errors[name] = "a tag prefix such as urgency: or empty"
            else:
                clean[name] = value
        elif name == "org_wide_tags":
            if not isinstance(value, list) or len(value) > 50:
                errors[name] = "a list of at most 50 tags"
            else:
                tags = [str(t).strip().lower() for t in value]
                if not all(_TAG.match(t) for t in tags):
                    errors[name] = "letters, digits, - _ : . only"
                clean[name] = sorted(set(tags))
        elif name == "scoring_table":
            # Cells not given keep their current value, so one cell can change on its own.
            table = {**(policy.scoring_table or {}), **value} if isinstance(value, dict) else None
            problems = check_scoring_table(table) if table is not None else {"table": "an object"}
            if problems:
                errors.update({f"scoring_table.{k}": v for k, v in list(problems.items())[:20]})
            else:
                clean[name] = table
        elif name == "value_modifier_enabled":
            if not isinstance(value, bool):
                errors[name] = "true or false"
            clean[name] = bool(value)
        elif name == "value_modifier_min_lifetime_value":
            try:
                amount = Decimal(str(value))
                if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
                    raise InvalidOperation
                clean[name] = amount.quantize(Decimal("0.01"))
            except InvalidOperation:
                errors[name] = "a non-negative amount"
        elif name == "fairness_bands":
            clean[name] = check_bands(value)
    several = clean.get("impact_several_customers", policy.impact_several_customers)
    widespread = clean.get("impact_widespread_customers", policy.impact_widespread_customers)
    if not errors and several > widespread:
        errors["impact_several_customers"] = "at most impact_widespread_customers"
    if errors:
        raise ValidationFailed("The priority policy is not valid.", fields=errors)
    return clean


def _clean_rules(rules: list[dict[str, Any]]) -> list[SeverityRule]:
    if len(rules) > 200:
        raise ValidationFailed("At most 200 severity rules.", fields={"severity_rules": "too many"})
    built = []
    for index, raw in enumerate(rules):
        unknown = set(raw) - set(_RULE_FIELDS)
        where = f"severity_rules.{index}"
        if unknown:
            raise ValidationFailed("Unknown rule fields.", fields={where: ", ".join(sorted(unknown))})
        rule = SeverityRule(
            position=index,
            name=str(raw.get("name") or "").strip()[:120],
            severity=str(raw.get("severity") or ""),
            ticket_type=str(raw.get("ticket_type") or ""),
            tag=str(raw.get("tag") or "").strip().lower(),
            custom_field=str(raw.get("custom_field") or ""),
            custom_value=str(raw.get("custom_value") or "").strip()[:200],
        )
        if not rule.name:
            raise ValidationFailed("A rule needs a name.", fields={where: "name required"})
        if rule.severity not in Severity.values:
            raise ValidationFailed("Unknown severity.", fields={where: f"one of {', '.join(SEVERITIES)}"})
        if rule.ticket_type and rule.ticket_type not in TicketType.values:
            raise ValidationFailed("Unknown ticket type.", fields={where: "ticket_type"})
        if rule.tag and not _TAG.match(rule.tag):
            raise ValidationFailed("Not a valid tag.", fields={where: "tag"})
        if rule.custom_field and not _KEY.match(rule.custom_field):
            raise ValidationFailed("Not a custom-field key.", fields={where: "custom_field"})
        if not rule.conditions():
            raise ValidationFailed("A rule needs at least one condition.", fields={where: "no condition"})
        built.append(rule)
    return built


@transaction.atomic
def update_policy(
    *, actor: User, changes: dict[str, Any], rules: list[dict[str, Any]] | None = None
) -> PriorityPolicy:
    """Change the policy's settings and, when ``rules`` is given, replace its severity rules.

    Admins only. Tickets are re-assessed as they next change; nothing is rewritten in bulk.
    """
    if not actor.is_admin or not actor.is_active:
        raise Forbidden("Only admins may change the priority policy.", code="admins_only")
    unknown = set(changes) - POLICY_FIELDS
    if unknown:
        raise ValidationFailed("Unknown settings.", fields={k: "unknown" for k in sorted(unknown)})
    policy = get_policy()
    policy = PriorityPolicy.objects.select_for_update().get(pk=policy.pk)
    clean = _clean(changes, policy)
    changed = sorted(k for k, v in clean.items() if getattr(policy, k) != v)
    for name in changed:
        setattr(policy, name, clean[name])
    if changed:
        policy.save(update_fields=[*changed, "updated_at"])
    rules_note: dict[str, Any] = {}
    if rules is not None:
        built = _clean_rules(rules)
        before = [(r.name, r.severity, *r.conditions()) for r in SeverityRule.objects.all()]
        after = [(r.name, r.severity, *r.conditions()) for r in built]
        if before != after:
            SeverityRule.objects.all().delete()
            SeverityRule.objects.bulk_create(built)
            rules_note = {"rules_before": len(before), "rules_after": len(after)}
    if changed or rules_note:
        record_audit(
            actor,
            "priority_policy.updated",
            "priority_policy",
            str(policy.pk),
            fields=changed,
            values={k: _plain(clean[k]) for k in changed},
            **rules_note,
        )
    return policy


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value
