"""Normalised keyword keys of a message: the clusters emerging-issue detection counts.

Pure functions, no database. A message becomes lower-case words; stop words (scikit-learn's
English list plus help-desk pleasantries) and numbers go; each word is stemmed lightly (plural
and -ing/-ed endings only, so keys stay readable); the keys are the remaining words and the
pairs of neighbouring ones ("payment fail", "app crash"). A key is a cluster: "payments failing"
and "payment failed" land on the same key. Only the start of a message is read, so a quoted
email history does not count again.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

MAX_CHARS = 2000
MAX_KEYS = 24
MIN_WORD = 3
MAX_KEY_LENGTH = 100

_WORD = re.compile(r"[a-z][a-z']*[a-z]|[a-z]")
_NOISE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+")

# Words every support message is full of: they say nothing about what is going wrong.
_HELP_DESK_WORDS = (
    "hi hello hey dear thanks thank thx regards cheers please pls kind best team support help helpful "
    "hope hoping just really still also got get getting able unable know let need want would could "
    "since today yesterday tomorrow asap urgent urgently issue problem question ticket message email "
    "sent send reply wrote write writing contact contacted customer service sir madam ok okay yes "
    "there's it's i'm i've can't don't doesn't won't didn't isn't wasn't haven't"
)
HELP_DESK_WORDS = frozenset(_HELP_DESK_WORDS.split())


@cache
def stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | HELP_DESK_WORDS


@lru_cache(maxsize=65536)  # a help desk's vocabulary is small and repeats endlessly
def stem(word: str) -> str:
    """A deliberately light stemmer: plurals and -ing/-ed, nothing that makes words unreadable."""
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ied"):
        word = word[:-3] + "y"
    elif len(word) > 4 and word.endswith("ed") and not word.endswith("eed"):
        word = word[:-2]
    elif len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes", "zes")):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeioulsz":
        word = word[:-1]  # "stopped" -> "stopp" -> "stop"
    return word


def content_words(text: str) -> list[str]:
    """The message's words that carry meaning, in order, unstemmed (what a search would use)."""
    text = _NOISE.sub(" ", text[:MAX_CHARS].lower().replace("\u2019", "'"))
    stops = stop_words()
    return [w for w in _WORD.findall(text) if len(w) >= MIN_WORD and w not in stops]


def keyword_keys(text: str, limit: int = MAX_KEYS) -> list[str]:
    """The message's keyword keys: stemmed words and neighbouring pairs, each once, at most
    ``limit``, in the order they first appear (the subject comes first)."""
    words = [stem(w) for w in content_words(text)]
    keys: dict[str, None] = {}
    for i, word in enumerate(words):
        if len(keys) >= limit:
            break
        keys.setdefault(word[:MAX_KEY_LENGTH], None)
        if i + 1 < len(words) and words[i + 1] != word:
            keys.setdefault(f"{word} {words[i + 1]}"[:MAX_KEY_LENGTH], None)
    return list(keys)[:limit]
