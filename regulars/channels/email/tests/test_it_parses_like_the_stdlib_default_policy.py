"""The parser's shortcuts (header classes built once, parsed headers shared between messages)
change nothing: every .eml of the corpus parses to the same ``ParsedEmail`` as with the stdlib's
own ``policy.default``, read in any order, twice."""

from __future__ import annotations

from email import policy
from pathlib import Path

import pytest

from regulars.channels.email import parsing

CORPUS = Path(__file__).parent / "corpus"
NAMES = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.eml"))


def test_it_parses_every_corpus_message_as_the_default_policy_does(monkeypatch: pytest.MonkeyPatch) -> None:
    raws = {name: (CORPUS / name).read_bytes() for name in NAMES}
    with monkeypatch.context() as plain:
        plain.setattr(parsing, "_POLICY", policy.default)
        expected = {name: parsing.parse_email(raw, inbox_id=1) for name, raw in raws.items()}

    parsing._PARSED.clear()
    for order in (NAMES, list(reversed(NAMES)), NAMES):
        for name in order:
            assert parsing.parse_email(raws[name], inbox_id=1) == expected[name], name
    assert len(NAMES) >= 150 and parsing._PARSED  # the shared headers were used


def test_it_keeps_the_shared_headers_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsing, "_PARSED_MAX", 10)
    parsing._PARSED.clear()
    for n in range(30):
        parsing.parse_email(
            f"From: P <p{n}@example.com>\r\nTo: s{n}@example.com\r\nSubject: {n}\r\n\r\nHi\r\n".encode()
        )
        assert len(parsing._PARSED) <= 10
