"""How a message reads: VADER sentiment and urgency signals. Pure functions, no database.

VADER (vaderSentiment, MIT licence, lexicon shipped in the package) is a rule-based scorer made
for short informal text; it needs no training data, so nothing non-commercial is shipped.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

# VADER's authors' own cut-offs for the compound score.
NEGATIVE_BELOW = -0.05
POSITIVE_ABOVE = 0.05

# Signal name -> phrases matched as whole words, case-insensitively. Kept short and specific:
# "down" alone would flag "I want to downgrade" and "not working" every how-to question.
URGENCY_PHRASES: dict[str, tuple[str, ...]] = {
    "outage": (
        "outage", "is down", "are down", "went down", "site down", "service down", "server down",
        "not loading", "cannot log in", "can't log in", "cant log in", "unable to log in",
        "stopped working", "data loss", "lost data", "lost all", "completely broken", "emergency",
    ),
    "legal": (
        "lawyer", "attorney", "solicitor", "legal action", "sue", "sue you", "lawsuit", "court",
        "ombudsman", "regulator", "small claims", "chargeback", "trading standards",
    ),
    "cancellation": ("cancel my account", "close my account", "switching to", "never again"),
    "deadline": ("urgent", "urgently", "asap", "immediately", "right now", "today"),
}  # fmt: skip

# The Nth message from the same customer on open tickets within 24 hours counts as a signal.
REPEATED_CONTACT_FROM = 3


@cache
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@cache
def _pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w'])" + re.escape(phrase) + r"(?![\w'])", re.IGNORECASE)


def compound(text: str) -> float:
    return float(_analyzer().polarity_scores(text[:5000])["compound"])


def sentiment_of(score: float) -> str:
    if score <= NEGATIVE_BELOW:
        return "negative"
    if score >= POSITIVE_ABOVE:
        return "positive"
    return "neutral"


def urgency_signals(text: str, *, contact_count: int = 1) -> list[str]:
    """The signals found, each as ``kind:phrase`` (and ``repeated_contact:N``), in a stable order."""
    found = []
    for kind, phrases in URGENCY_PHRASES.items():
        hit = next((p for p in phrases if _pattern(p).search(text)), None)
        if hit is not None:
            found.append(f"{kind}:{hit}")
    if contact_count >= REPEATED_CONTACT_FROM:
        found.append(f"repeated_contact:{contact_count}")
    return found
