"""The priority policy's vocabulary and its pure arithmetic (no database access).

Priority follows the issue, not the invoice (PRODUCT.md, seed 002). Three factors decide it:

- **severity** (low, normal, high, critical): the most severe of the admin's severity rules that
  match the ticket (type, tag, custom-field value) and of the urgency words found in the subject
  and the customer's messages; ``normal`` when nothing matches;
- **impact** (single, several, widespread): how many distinct customers opened tickets about the
  same thing (a shared tag, or the same value of the impact custom field) in the last N hours, or
  ``widespread`` at once when an organisation-wide tag such as ``org-wide-outage`` is present;
- **stated urgency** (low, normal, high): what the customer says, from a custom field or an
  ``urgency:<level>`` tag; ``normal`` when unstated.

A scoring table maps every severity x impact x urgency to a priority. Customer value may then
nudge the result only through the value modifier, which is off by default and capped (see
``apply_value_modifier``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypedDict

SEVERITIES = ("low", "normal", "high", "critical")
IMPACTS = ("single", "several", "widespread")
URGENCIES = ("low", "normal", "high")
PRIORITIES = ("low", "normal", "high", "urgent")

# Words a customer uses when something is really wrong. Matched as whole words, case-insensitive.
DEFAULT_URGENCY_WORDS: dict[str, str] = {
    "outage": "high",
    "down": "high",
    "cannot log in": "high",
    "can't log in": "high",
    "data loss": "critical",
    "security": "critical",
    "breach": "critical",
    "legal": "high",
    "lawyer": "high",
    "refund now": "high",
}

# Stated urgency as customers and forms spell it, mapped onto our three levels.
_STATED = {
    "low": "low",
    "minor": "low",
    "normal": "normal",
    "medium": "normal",
    "high": "high",
    "urgent": "high",
    "critical": "high",
}


def stated_level(raw: Any) -> str | None:
    """A stated urgency value as one of URGENCIES, or None when it means nothing to us."""
    if not isinstance(raw, str):
        return None
    return _STATED.get(raw.strip().lower())


def _bump(severity: str, impact: str, urgency: str) -> int:
    impact_bump = {"single": 0, "several": 1 if severity != "low" else 0, "widespread": 1}[impact]
    urgency_bump = {"low": -1, "normal": 0, "high": 1}[urgency]
    # Severity sets the level; impact and the customer's urgency may move it one step at most,
    # so a trivial question can never become urgent because many people asked loudly.
    return max(-1, min(1, impact_bump + urgency_bump))


def default_scoring_table() -> dict[str, str]:
    """Severity low/normal/high/critical starts at low/normal/high/urgent; impact (several on a
    non-trivial issue, or widespread) and high stated urgency each add a step, low stated urgency
    takes one away, and together they move the result by one step at most."""
    table = {}
    for s_index, severity in enumerate(SEVERITIES):
        for impact in IMPACTS:
            for urgency in URGENCIES:
                index = max(0, min(3, s_index + _bump(severity, impact, urgency)))
                table[table_key(severity, impact, urgency)] = PRIORITIES[index]
    return table


def table_key(severity: str, impact: str, urgency: str) -> str:
    return f"{severity}/{impact}/{urgency}"


def check_scoring_table(table: dict[str, Any]) -> dict[str, str]:
    """Every cell present with a known priority; returns the problems by cell."""
    problems: dict[str, str] = {}
    expected = {table_key(s, i, u) for s in SEVERITIES for i in IMPACTS for u in URGENCIES}
    for key in sorted(expected - set(table)):
        problems[key] = "missing"
    for key, value in table.items():
        if key not in expected:
            problems[key] = "unknown cell"
        elif value not in PRIORITIES:
            problems[key] = f"must be one of {', '.join(PRIORITIES)}"
    return problems


def compile_words(words: dict[str, str]) -> list[tuple[re.Pattern[str], str, str]]:
    compiled = []
    for phrase, severity in words.items():
        words_in = [re.escape(w) for w in phrase.lower().split()]
        if words_in:
            compiled.append((re.compile(r"(?<!\w)" + r"\s+".join(words_in) + r"(?!\w)"), phrase, severity))
    return compiled


def find_urgency_words(text: str, words: dict[str, str]) -> list[tuple[str, str]]:
    """(phrase, severity) for every configured phrase found in ``text`` as whole words."""
    lowered = text.lower()
    return [
        (phrase, severity) for pattern, phrase, severity in compile_words(words) if pattern.search(lowered)
    ]


@dataclass
class SeveritySource:
    severity: str
    because: str  # "tag outage", "word \"down\"", "rule Incidents", "no rule matched"


@dataclass
class Factors:
    """Everything the decision looked at, kept on the assessment for display."""

    severity: str
    severity_sources: list[SeveritySource]
    impact: str
    impact_customers: int
    impact_because: str
    window_hours: int
    urgency: str
    urgency_because: str
    base_priority: str
    modifier_enabled: bool
    modifier_steps: int = 0
    modifier_note: str = ""
    priority: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> FactorsJson:
        return {
            "severity": {
                "level": self.severity,
                "sources": [{"severity": s.severity, "because": s.because} for s in self.severity_sources],
            },
            "impact": {
                "level": self.impact,
                "customers": self.impact_customers,
                "window_hours": self.window_hours,
                "because": self.impact_because,
            },
            "urgency": {"level": self.urgency, "because": self.urgency_because},
            "base_priority": self.base_priority,
            "value_modifier": {
                "enabled": self.modifier_enabled,
                "steps": self.modifier_steps,
                "note": self.modifier_note,
            },
            "priority": self.priority,
        }


class FactorsJson(TypedDict):
    severity: dict[str, Any]
    impact: dict[str, Any]
    urgency: dict[str, Any]
    base_priority: str
    value_modifier: dict[str, Any]
    priority: str


def strongest(sources: Iterable[SeveritySource]) -> str:
    levels = [s.severity for s in sources]
    return max(levels, key=SEVERITIES.index) if levels else "normal"


def apply_value_modifier(
    base: str, severity: str, *, enabled: bool, lifetime_value: Decimal, threshold: Decimal
) -> tuple[str, int, str]:
    """The only place customer value touches priority.

    Off by default. When an admin switches it on, a requester whose lifetime value is at least the
    threshold moves up ONE step at most, and never to urgent unless the issue's own severity is
    high or critical: value may break ties between similar issues, never outrank a worse one.
    It never lowers anyone's priority.
    """
    if not enabled:
        return base, 0, "value modifier off"
    if lifetime_value < threshold:
        return base, 0, f"value modifier on, no change (lifetime value {lifetime_value} below {threshold})"
    index = PRIORITIES.index(base)
    if index == len(PRIORITIES) - 1:
        return base, 0, "value modifier on, no change (already urgent)"
    raised = PRIORITIES[index + 1]
    if raised == "urgent" and SEVERITIES.index(severity) < SEVERITIES.index("high"):
        return base, 0, f"value modifier on, capped (urgent needs severity high; severity is {severity})"
    return raised, 1, f"value modifier on, +1 step (lifetime value {lifetime_value} at least {threshold})"


def reason_sentence(f: Factors) -> str:
    """A human sentence listing every factor, stored as the ticket's priority reason."""
    sources = ", ".join(s.because for s in f.severity_sources) or "no rule matched"
    impact = f"impact {f.impact} ({f.impact_because})"
    return (
        f"Priority {f.priority}: severity {f.severity} ({sources}); {impact}; "
        f"stated urgency {f.urgency} ({f.urgency_because}); {f.modifier_note}"
    )
